/**
 * The engine's in-place path (Issuer.inPlaceFields / reconfigure), with a fake
 * credential kind that is neither Grafana nor API Gateway: an Update that
 * changes only in-place fields keeps the generation and every live credential,
 * reconfigures each, and rewrites its record under the same OWN labels; its
 * rollback is the same path back. Secrets Manager is the in-memory model.
 */
import { handleCredentialEvent, EngineDeps } from '../../lambda/engine/cfn-events';
import { handleRotationEvent, RotationStep } from '../../lambda/engine/rotation-steps';
import { SecretStore } from '../../lambda/clients/secrets-manager';
import { Guard } from '../../lambda/engine/guard';
import { AbandonedError } from '../../lambda/engine/ledger';
import type { CredentialRecord } from '../../lambda/engine/ledger';
import { Definition, Issuer } from '../../lambda/issuers/types';
import { keyProps, SECRET_ARN, STACK_ID, useBed } from './helpers/bed';
import { PASS } from './helpers/fake-aws';

const bed = useBed();

/** Credentials of the fake kind that exist, by name: their token and their scope (the in-place field). */
let live: Map<string, { token: string; scope: string }>;
let calls: { issue: number; reconfigure: Array<{ name: string; from: string; to: string }> };
/** Runs once, inside the next reconfigure, before its change lands in the fake service. */
let beforeReconfigure: (() => Promise<void>) | undefined;

function fakeIssuer(inPlace: boolean): Issuer {
  return {
    kind: 'fake', noun: 'fake credential', maxNameLength: 100,
    // Role stands for the in-place field, WorkspaceId for one that reissues.
    definitionFrom: (p) => ({ namePrefix: p.NamePrefix, workspaceId: (p as any).WorkspaceId, scope: (p as any).Role }),
    namePrefix: (d) => d.namePrefix,
    async issue(d: Definition, name: string) {
      calls.issue++;
      const token = `tok-${name}-${calls.issue}`;
      live.set(name, { token, scope: d.scope });
      return { token, expiresAt: '9999-12-31T23:59:59.000Z', fields: { keyName: name, scope: d.scope } };
    },
    async revokeByName(_d, name) { live.delete(name); },
    async revoke(r) { live.delete(r.fields.keyName); },
    nameOf: (r) => r.fields.keyName,
    verify: async (r) => live.get(r.fields.keyName)?.token === r.key,
    ...(inPlace ? {
      inPlaceFields: ['scope'],
      async reconfigure(record: CredentialRecord, d: Definition) {
        const name = record.fields.keyName;
        const before = beforeReconfigure;
        beforeReconfigure = undefined;
        await before?.();
        calls.reconfigure.push({ name, from: record.lifecycle.definition.scope, to: d.scope });
        const key = live.get(name);
        if (key) key.scope = d.scope;
        return { ...record.fields, scope: d.scope };
      },
    } : {}),
  };
}

let deps: EngineDeps;
beforeEach(() => {
  live = new Map();
  calls = { issue: 0, reconfigure: [] };
  beforeReconfigure = undefined;
  deps = { store: new SecretStore(), issuerFor: () => fakeIssuer(true) };
});

const secret = () => bed.world.secret(SECRET_ARN);
const at = (stage: string) => secret().valueAt(stage);
const ownLabels = () => Object.values(secret().labels()).flat().filter((l) => l.startsWith('OWN-')).sort();
const base = { ServiceToken: 'x', ResponseURL: 'x', StackId: STACK_ID, LogicalResourceId: 'Key', ResourceType: 'Custom::Fake' };

async function create(props = keyProps()) {
  return handleCredentialEvent({ ...base, RequestType: 'Create', RequestId: 'c1', ResourceProperties: props } as any, deps);
}
async function update(physicalId: string, props: Record<string, string>, oldProps: Record<string, string>, requestId: string) {
  return handleCredentialEvent({ ...base, RequestType: 'Update', RequestId: requestId, PhysicalResourceId: physicalId, ResourceProperties: props, OldResourceProperties: oldProps } as any, deps);
}
async function rotate(token: string, steps: RotationStep[] = ['createSecret', 'setSecret', 'testSecret', 'finishSecret']) {
  bed.world.sm.beginRotation(SECRET_ARN, token);
  for (const step of steps) await handleRotationEvent({ Step: step, SecretId: SECRET_ARN, ClientRequestToken: token }, deps);
}

test('an Update of an in-place field keeps the physical id, the credential and its labels; the record holds the new definition', async () => {
  const { physicalResourceId: id } = await create();
  const before = at('AWSCURRENT');
  const labels = ownLabels();
  const answer = await update(id, keyProps({ Role: 'ADMIN' }), keyProps(), 'u1');
  expect(answer.physicalResourceId).toBe(id);
  expect(calls.issue).toBe(1);
  expect(calls.reconfigure).toEqual([{ name: before.keyName, from: 'VIEWER', to: 'ADMIN' }]);
  expect(at('AWSCURRENT')).toMatchObject({ key: before.key, keyName: before.keyName, scope: 'ADMIN', lifecycle: { generation: id, slot: 0, definition: { scope: 'ADMIN' } } });
  expect(ownLabels()).toEqual(labels);
  expect([...live.keys()]).toEqual([before.keyName]);
  // Rotation issues under the current definition.
  await rotate('11111111-2222-3333-4444-555555555555');
  expect(at('AWSCURRENT').scope).toBe('ADMIN');
  expect(live.get(at('AWSCURRENT').keyName)!.scope).toBe('ADMIN');

  // The boundary: an in-place field changed together with another one reissues, and so does a kind without in-place fields.
  const rotated = at('AWSCURRENT');
  const moved = await update(id, keyProps({ Role: 'EDITOR', WorkspaceId: 'g-9999999999' }), keyProps({ Role: 'ADMIN' }), 'u2');
  expect(moved.physicalResourceId).not.toBe(id);
  expect(at('AWSCURRENT').key).not.toBe(rotated.key);
  expect(calls.reconfigure).toHaveLength(1);
  deps = { ...deps, issuerFor: () => fakeIssuer(false) };
  const again = await update(moved.physicalResourceId, keyProps({ Role: 'ADMIN', WorkspaceId: 'g-9999999999' }), keyProps({ Role: 'EDITOR', WorkspaceId: 'g-9999999999' }), 'u3');
  expect(again.physicalResourceId).not.toBe(moved.physicalResourceId);
  expect(calls.issue).toBe(4);
});

test('its rollback is the same path back: the credential returns to exactly the old definition; a repeated delivery changes nothing', async () => {
  const { physicalResourceId: id } = await create();
  const token = at('AWSCURRENT').key;
  await update(id, keyProps({ Role: 'ADMIN' }), keyProps(), 'u1');
  expect((await update(id, keyProps(), keyProps({ Role: 'ADMIN' }), 'rollback')).physicalResourceId).toBe(id);
  expect(at('AWSCURRENT')).toMatchObject({ key: token, scope: 'VIEWER', lifecycle: { definition: { scope: 'VIEWER' } } });
  expect(live.get(at('AWSCURRENT').keyName)!.scope).toBe('VIEWER');
  // A repeated delivery applies the same definition again (its calls are idempotent) and keeps the credential.
  await update(id, keyProps(), keyProps({ Role: 'ADMIN' }), 'rollback');
  expect(at('AWSCURRENT')).toMatchObject({ key: token, scope: 'VIEWER', lifecycle: { generation: id, definition: { scope: 'VIEWER' } } });
  expect(live.get(at('AWSCURRENT').keyName)!.scope).toBe('VIEWER');
  expect(calls.issue).toBe(1);
});

test('during an overlap both credentials are reconfigured; AWSCURRENT and AWSPREVIOUS hold the same credentials as before', async () => {
  const { physicalResourceId: id } = await create();
  await rotate('11111111-2222-3333-4444-555555555555');
  const current = at('AWSCURRENT');
  const previous = at('AWSPREVIOUS');
  expect(previous.keyName).not.toBe(current.keyName);
  await update(id, keyProps({ Role: 'ADMIN' }), keyProps(), 'u1');
  expect(calls.reconfigure.map((c) => c.name).sort()).toEqual([current.keyName, previous.keyName].sort());
  expect(at('AWSCURRENT')).toMatchObject({ key: current.key, scope: 'ADMIN' });
  expect(at('AWSPREVIOUS')).toMatchObject({ key: previous.key, scope: 'ADMIN' });
  for (const name of [current.keyName, previous.keyName]) expect(live.get(name)!.scope).toBe('ADMIN');
  // The next rotation revokes the previous one as usual: at most two live.
  await rotate('22222222-2222-3333-4444-555555555555');
  expect(live.size).toBe(2);
  expect(at('AWSPREVIOUS').key).toBe(current.key);
});

test('a rotation in flight when the Update lands is superseded: its credential, issued under the old definition, is never promoted', async () => {
  const { physicalResourceId: id } = await create();
  const token = '33333333-2222-3333-4444-555555555555';
  const current = at('AWSCURRENT');
  await rotate(token, ['createSecret', 'setSecret', 'testSecret']);
  await update(id, keyProps({ Role: 'ADMIN' }), keyProps(), 'u1');
  await handleRotationEvent({ Step: 'finishSecret', SecretId: SECRET_ARN, ClientRequestToken: token }, deps);
  expect(at('AWSCURRENT')).toMatchObject({ key: current.key, scope: 'ADMIN' });
});

test('a promotion refused because another event (not a rotation) moved AWSCURRENT fails the Update instead of deciding again', async () => {
  const { physicalResourceId: id } = await create();
  const intentId = secret().holderOf('AWSPREVIOUS')!.id;
  let moved = false;
  bed.world.intercept('PutSecretValue', (input: any) => {
    if (!moved && JSON.parse(input.SecretString).lifecycle?.definition?.scope === 'ADMIN') {
      moved = true;
      // Another event moves AWSCURRENT between this Update's read and its promotion.
      const from = secret().holderOf('AWSCURRENT')!.id;
      bed.world.sm.call('UpdateSecretVersionStage', { SecretId: SECRET_ARN, VersionStage: 'AWSCURRENT', MoveToVersionId: intentId, RemoveFromVersionId: from });
    }
    return PASS;
  });
  await expect(update(id, keyProps({ Role: 'ADMIN' }), keyProps(), 'u1')).rejects.toThrow(/was moved by another event while the fake credential was reconfigured; deploy again/);
  expect(calls.issue).toBe(1);
});

// Found by the model (test/model, plans-as-deployed): [create, rotate, update(plans)], with createSecret issuing
// before the Update promoted its copy. The superseded rotation's credential, issued under the old definition,
// stayed live in the plans the Update had left, until the next rotation.
test('a rotation superseded by an in-place Update revokes its credential: none is left under the old definition', async () => {
  const { physicalResourceId: id } = await create();
  const token = '44444444-2222-3333-4444-555555555555';
  const current = at('AWSCURRENT');
  await rotate(token, ['createSecret', 'setSecret', 'testSecret']);
  const rotated = JSON.parse(secret().versions.get(token)!.value!);
  expect(live.get(rotated.keyName)!.scope).toBe('VIEWER');
  await update(id, keyProps({ Role: 'ADMIN' }), keyProps(), 'u1');
  await handleRotationEvent({ Step: 'finishSecret', SecretId: SECRET_ARN, ClientRequestToken: token }, deps);
  expect(at('AWSCURRENT')).toMatchObject({ key: current.key, scope: 'ADMIN' });
  expect([...live.keys()]).toEqual([current.keyName]);
  expect(live.get(current.keyName)!.scope).toBe('ADMIN');
  // Its label stays: the next rotation issues into that slot again, under the new definition.
  await rotate('55555555-2222-3333-4444-555555555555');
  expect(at('AWSCURRENT').keyName).toBe(rotated.keyName);
  expect(live.get(rotated.keyName)!.scope).toBe('ADMIN');
});

test('a finishSecret delivered twice, after an in-place Update copied the version its twin promoted, revokes nothing', async () => {
  const { physicalResourceId: id } = await create();
  const token = '66666666-2222-3333-4444-555555555555';
  await rotate(token);
  const rotated = at('AWSCURRENT');
  await update(id, keyProps({ Role: 'ADMIN' }), keyProps(), 'u1');
  expect(secret().holderOf('AWSCURRENT')!.id).not.toBe(token);
  await handleRotationEvent({ Step: 'finishSecret', SecretId: SECRET_ARN, ClientRequestToken: token }, deps);
  expect(at('AWSCURRENT')).toMatchObject({ key: rotated.key, scope: 'ADMIN' });
  expect(live.get(rotated.keyName)).toMatchObject({ token: rotated.key, scope: 'ADMIN' });
});

// Found in review: a finishSecret delivered again after the next rotation finished found AWSCURRENT on the next slot
// of the same generation, took that for an in-place Update, and revoked its own credential, which consumers read
// as AWSPREVIOUS during the overlap.
test('a finishSecret delivered again after the next rotation finished revokes nothing: its credential is AWSPREVIOUS', async () => {
  await create();
  const first = '77777777-2222-3333-4444-555555555555';
  await rotate(first);
  const outgoing = at('AWSCURRENT');
  await rotate('88888888-2222-3333-4444-555555555555');
  expect(at('AWSPREVIOUS').keyName).toBe(outgoing.keyName);
  await handleRotationEvent({ Step: 'finishSecret', SecretId: SECRET_ARN, ClientRequestToken: first }, deps);
  expect(live.get(outgoing.keyName)).toMatchObject({ token: outgoing.key });
  expect(at('AWSPREVIOUS').keyName).toBe(outgoing.keyName);
});

// Found by the model (plans-as-deployed, [create, update(plans), guard]): the guard answered FAILED while the Update
// was reading the ledger; its rollback and the abandoned Update then reconfigured the key at the same time, and the
// key ended in neither definition's plans.
test('an in-place Update the guard gave up on makes no change in the service, which its rollback is making', async () => {
  const { physicalResourceId: id } = await create();
  const name = at('AWSCURRENT').keyName;
  const guard = new Guard();
  // The guard gives up while the Update reads AWSCURRENT.
  bed.world.intercept('GetSecretValue', async () => { await guard.run(new Promise(() => undefined), 0); return PASS; }, 1);
  deps = { ...deps, guard };
  await expect(update(id, keyProps({ Role: 'ADMIN' }), keyProps(), 'u1')).rejects.toThrow(AbandonedError);
  expect(calls.reconfigure).toEqual([]);
  expect(live.get(name)!.scope).toBe('VIEWER');
});

// Found by the model (plans-as-deployed, then none-after-delete once the stack is deleted): a reissuing Update
// delivered twice, whose first delivery failed at once; CloudFormation's rollback found nothing to retire and left
// AWSCURRENT where it was, so the twin then promoted the generation the rollback had undone.
test('a twin of a reissuing Update, outrun by its rollback before it labelled anything, neither promotes nor keeps its credential', async () => {
  const { physicalResourceId: id } = await create();
  const original = at('AWSCURRENT');
  const moved = keyProps({ WorkspaceId: 'g-9999999999' });
  let rolledBack = false;
  bed.world.intercept('PutSecretValue', async (input: any) => {
    if (!rolledBack && JSON.parse(input.SecretString).intent) {
      rolledBack = true;
      // The rollback runs to its end before the twin writes its intent.
      expect((await update(id, keyProps(), moved, 'rollback')).physicalResourceId).toBe(id);
    }
    return PASS;
  });
  await expect(update(id, moved, keyProps(), 'u1')).rejects.toThrow(/was moved by another event while the fake credential was reissued/);
  expect(rolledBack).toBe(true);
  expect(at('AWSCURRENT')).toMatchObject({ key: original.key, lifecycle: { generation: id } });
  expect([...live.keys()]).toEqual([original.keyName]);
  expect(ownLabels().every((l) => l.startsWith(`OWN-${id.slice(-10)}-`))).toBe(true);
});

// The window suspected before the model had an in-place field, found by it with plans-as-deployed:
// [create, update(plans, the stack then fails, twice at once), releases in a chosen order]. The twin of the Update
// read AWSCURRENT after the first delivery promoted, so its record already had the new definition; its service call
// landed after the rollback's, and it promoted nothing, so nothing told it that the rollback had come in between.
test("a twin of an in-place Update whose call lands after its rollback's is brought back to the rollback's definition", async () => {
  const { physicalResourceId: id } = await create();
  const name = at('AWSCURRENT').keyName;
  await update(id, keyProps({ Role: 'ADMIN' }), keyProps(), 'u1');
  beforeReconfigure = async () => {
    // The stack fails and CloudFormation rolls back while the twin's call is on its way.
    expect((await update(id, keyProps(), keyProps({ Role: 'ADMIN' }), 'rollback')).physicalResourceId).toBe(id);
    expect(live.get(name)!.scope).toBe('VIEWER');
  };
  await expect(update(id, keyProps({ Role: 'ADMIN' }), keyProps(), 'u1')).rejects.toThrow(/was moved by another event while the fake credential was reconfigured/);
  expect(beforeReconfigure).toBeUndefined();
  expect(at('AWSCURRENT')).toMatchObject({ keyName: name, scope: 'VIEWER', lifecycle: { definition: { scope: 'VIEWER' } } });
  expect(live.get(name)!.scope).toBe('VIEWER');
  expect(calls.issue).toBe(1);
});
