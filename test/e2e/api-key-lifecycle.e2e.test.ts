/**
 * WorkspaceApiKey's CloudFormation lifecycle, end to end: the real bundled
 * handler, in its own process per event, against the stand-ins.
 */
import { Duration } from 'aws-cdk-lib';
import { GrafanaRole, WorkspaceApiKey, WorkspaceApiKeyProps } from '../../lib';
import type { AwsStandIns } from '../testbed/aws/standins';
import type { CfnDriver } from '../testbed/cfn/driver';
import { rotate } from '../testbed/cfn/rotation';
import { apiOrg, assertNoLeaks, newStack, useTestBed, versionWith, withBed } from './harness';
import { MAX_ATTEMPTS } from '../../lambda/clients/aws';

const bed = useTestBed();
let standins: AwsStandIns;
let driver: CfnDriver;
let ws: string;
beforeEach(() => ({ standins, driver, ws } = bed));

const callsByEvent: Record<string, Record<string, number>> = {};
afterAll(() => {
  // Calls per lifecycle event, for the closing note and the benchmarks.
  process.stdout.write(`calls per lifecycle event: ${JSON.stringify(callsByEvent)}\n`);
});

function keyStack(props: Partial<WorkspaceApiKeyProps> = {}, workspaceId = ws) {
  const stack = newStack();
  new WorkspaceApiKey(stack, 'Key', { workspaceId, ...props });
  return stack;
}

const secret = () => driver.secretArn('KeySecret');
const current = () => versionWith(standins, secret())!.value;
const lastCalls = (requestType: string) => [...driver.records].reverse().find((r) => r.requestType === requestType)!.calls;

test('1. create: AWSCURRENT holds a working key with the requested role and lifetime; exactly one key exists', async () => {
  const result = await driver.deploy(keyStack({ keyRole: GrafanaRole.EDITOR, timeToLive: Duration.days(7) }));
  expect(result).toMatchObject({ ok: true });
  const value = current();
  expect(value).toMatchObject({ keyRole: 'EDITOR', workspaceId: ws, keyName: expect.stringMatching(/^E2EStack-Key.*-[0-9a-f]{10}$/) });
  expect(await apiOrg(standins, value.key)).toBe(200);
  const live = standins.liveKeys(ws);
  expect(live).toHaveLength(1);
  expect(live[0]).toMatchObject({ name: value.keyName, role: 'EDITOR' });
  expect(live[0].expiresAt - standins.clock.now()).toBe(7 * 86400 * 1000);
  expect(Math.abs(Date.parse(value.expiresAt) - (standins.clock.now() + 7 * 86400 * 1000))).toBeLessThan(60_000);
  expect(driver.attribute(driver.logicalIdsOfType('Custom::GrafanaWorkspaceApiKey')[0], 'CredentialName')).toBe(value.keyName);
  callsByEvent.create = lastCalls('Create');
  // The intent (what to revoke should this process die before its write), the key, its write.
  expect(callsByEvent.create).toEqual({ CreateWorkspaceApiKey: 1, PutSecretValue: 2 });
});

test.each([
  ['keyRole', { keyRole: GrafanaRole.ADMIN }],
  ['timeToLive', { timeToLive: Duration.days(10) }],
  ['keyNamePrefix', { keyNamePrefix: 'renamed' }],
])('2. an update of %s issues and stores a new key before deleting the old; one key after cleanup', async (_name, change) => {
  await driver.deploy(keyStack());
  const before = current();
  standins.resetCounts();
  let beforeCleanup: { stored?: string; oldWorks?: number } = {};
  expect(await driver.deploy(keyStack(change), {
    // The Update has answered; CloudFormation's cleanup of the old id has not run yet.
    afterUpdates: async () => { beforeCleanup = { stored: current().keyName, oldWorks: await apiOrg(standins, before.key) }; },
  })).toMatchObject({ ok: true });
  const after = current();
  expect(after.keyName).not.toBe(before.keyName);
  expect(beforeCleanup).toEqual({ stored: after.keyName, oldWorks: 200 });
  expect(await apiOrg(standins, after.key)).toBe(200);
  expect(await apiOrg(standins, before.key)).toBe(401);
  expect(standins.liveKeys(ws).map((k) => k.name)).toEqual([after.keyName]);
  if (_name === 'keyRole') {
    callsByEvent.reissuingUpdate = lastCalls('Update');
    callsByEvent.cleanupDelete = lastCalls('Delete');
  }
});

test('3. an update that changes nothing about the key issues nothing', async () => {
  await driver.deploy(keyStack());
  const before = current();
  standins.resetCounts();
  // The rotation schedule is not part of the key; workspaceUrl is (it decides where a rotated key may be sent), so it is not changed here.
  expect(await driver.deploy(keyStack({ rotateAfter: Duration.days(20) }))).toMatchObject({ ok: true });
  expect(standins.counts().CreateWorkspaceApiKey ?? 0).toBe(0);
  expect(current().keyName).toBe(before.keyName);
  expect(standins.liveKeys(ws)).toHaveLength(1);
});

test('4. an update rolled back leaves the original, working key and no orphan', async () => {
  await driver.deploy(keyStack());
  const original = current();
  const result = await driver.deploy(keyStack({ keyRole: GrafanaRole.ADMIN }), { failAfterUpdates: true });
  expect(result.ok).toBe(false);
  const after = current();
  expect(after.keyName).toBe(original.keyName);
  expect(after.keyRole).toBe('VIEWER');
  expect(await apiOrg(standins, after.key)).toBe(200);
  expect(standins.liveKeys(ws).map((k) => k.name)).toEqual([original.keyName]);
  expect(driver.physicalId(driver.logicalIdsOfType('Custom::GrafanaWorkspaceApiKey')[0])).toBe(original.keyName);
  // The stack still works afterwards: a later real update and a delete leave nothing behind.
  expect(await driver.deploy(keyStack({ keyRole: GrafanaRole.EDITOR }))).toMatchObject({ ok: true });
  expect(standins.liveKeys(ws)).toHaveLength(1);
  await driver.destroy();
  expect(standins.existingKeys()).toHaveLength(0);
});

test('4b. a rollback after the update itself failed keeps the original key', async () => {
  await driver.deploy(keyStack());
  const original = current();
  standins.denyAccess('CreateWorkspaceApiKey');
  const result = await driver.deploy(keyStack({ keyRole: GrafanaRole.ADMIN }));
  standins.denyAccess('CreateWorkspaceApiKey', false);
  expect(result.ok).toBe(false);
  expect(result.failures[0]).toMatch(/AccessDeniedException/);
  expect(current().keyName).toBe(original.keyName);
  expect(standins.liveKeys(ws).map((k) => k.name)).toEqual([original.keyName]);
});

test('5. replacement: a new workspace gets a new key; the old workspace\'s key is deleted at cleanup', async () => {
  await driver.deploy(keyStack());
  const ws2 = standins.addWorkspace().id;
  expect(await driver.deploy(keyStack({}, ws2))).toMatchObject({ ok: true });
  expect(standins.existingKeys(ws)).toHaveLength(0);
  expect(standins.liveKeys(ws2)).toHaveLength(1);
  expect(current().workspaceId).toBe(ws2);
});

test('6. delete removes every key; a key already gone counts as deleted', async () => {
  await driver.deploy(keyStack());
  const stackKey = current();
  standins.resetCounts();
  expect(await driver.destroy()).toMatchObject({ ok: true });
  expect(standins.existingKeys()).toHaveLength(0);
  callsByEvent.delete = lastCalls('Delete');
  expect(Object.values(callsByEvent.delete).reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(3);
  expect(await apiOrg(standins, stackKey.key)).toBe(401);

  // Already gone: delete the key behind the handler's back, then delete the stack.
  const { driver: d2, standins: s2, stop: stop2 } = await withBed();
  try {
    const ws3 = s2.addWorkspace().id;
    const stack = newStack();
    new WorkspaceApiKey(stack, 'Key', { workspaceId: ws3 });
    await d2.deploy(stack);
    s2.setGrafanaVersion(ws3, '10.4');
    const name = versionWith(s2, d2.secretArn('KeySecret'))!.value.keyName;
    (s2 as any).workspaces.get(ws3).apiKeys.get(name).deleted = true;
    (s2 as any).workspaces.get(ws3).apiKeys.delete(name);
    expect(await d2.destroy()).toMatchObject({ ok: true });
  } finally {
    await stop2();
  }
});

test.each([
  ['an unknown workspace', (): string => 'g-ffffffffff', /Workspace g-ffffffffff.*ResourceNotFoundException.*check workspaceId/],
  ['denied access', (): string => { standins.denyAccess('CreateWorkspaceApiKey'); return ws; }, new RegExp('AccessDeniedException')],
  ['an exhausted quota', (): string => { standins.setQuota(ws, 0); return ws; }, /ServiceQuotaExceededException.*delete unused keys/],
  ['Grafana 11', (): string => { standins.setGrafanaVersion(ws, '11.0'); return ws; }, /Grafana 11\.0, which has no API keys.*WorkspaceServiceAccountToken/],
])('7. a failed create (%s) answers FAILED with a clear reason, and the Delete that follows touches nothing', async (_label, arrange, reason) => {
  const workspaceId = arrange();
  const result = await driver.deploy(keyStack({}, workspaceId));
  expect(result.ok).toBe(false);
  expect(result.failures[0]).toMatch(reason);
  if (workspaceId !== 'g-ffffffffff') expect(result.failures[0]).toContain(workspaceId);
  const del = driver.records.find((r) => r.requestType === 'Delete')!;
  expect(del.response?.Status).toBe('SUCCESS');
  expect(del.calls).toEqual({});
  expect(standins.existingKeys()).toHaveLength(0);
});

test('8. every event delivered twice ends as if delivered once', async () => {
  expect(await driver.deploy(keyStack(), { duplicateEvents: true })).toMatchObject({ ok: true });
  expect(standins.liveKeys(ws)).toHaveLength(1);
  const first = current();
  expect(await driver.deploy(keyStack({ keyRole: GrafanaRole.EDITOR }), { duplicateEvents: true })).toMatchObject({ ok: true });
  expect(standins.liveKeys(ws)).toHaveLength(1);
  expect(current().keyName).not.toBe(first.keyName);
  expect(standins.counts().CreateWorkspaceApiKey).toBe(3); // create, reissue, and the retried reissue's Conflict
  expect(await driver.destroy({ duplicateEvents: true })).toMatchObject({ ok: true });
  expect(standins.existingKeys()).toHaveLength(0);
});

test.each([['throttle'], ['serverError']] as const)('9. %s that passes succeeds; that persists answers FAILED, leaving nothing', async (kind) => {
  standins.faults.add({ operation: 'CreateWorkspaceApiKey', kind, times: 2 });
  standins.faults.add({ operation: 'PutSecretValue', kind, times: 1 });
  expect(await driver.deploy(keyStack())).toMatchObject({ ok: true });
  expect(standins.liveKeys(ws)).toHaveLength(1);
  await driver.destroy();

  standins.faults.add({ operation: 'CreateWorkspaceApiKey', kind, times: Infinity });
  standins.resetCounts();
  const result = await driver.deploy(keyStack());
  expect(result.ok).toBe(false);
  expect(result.failures[0]).toMatch(kind === 'throttle' ? /ThrottlingException.*retries were exhausted/ : /InternalServerException/);
  // Retries are bounded (the SDK's attempts, once; MAX_ATTEMPTS at most), and the function answered on its own, not at its timeout.
  expect(standins.counts().CreateWorkspaceApiKey).toBeGreaterThan(1);
  expect(standins.counts().CreateWorkspaceApiKey).toBeLessThanOrEqual(MAX_ATTEMPTS);
  expect(driver.records.find((r) => r.requestType === 'Create' && r.response?.Status === 'FAILED')!.invocation.timedOut).toBe(false);
  expect(standins.existingKeys()).toHaveLength(0);
});

test('9c. a call that hangs once is cut off by the per-request timeout and retried', async () => {
  standins.faults.add({ operation: 'CreateWorkspaceApiKey', kind: 'hang', times: 1 });
  const result = await driver.deploy(keyStack());
  expect(result).toMatchObject({ ok: true });
  // Cut off by the per-request timeout and retried, not ended by the function's timeout.
  const create = driver.records.find((r) => r.requestType === 'Create')!;
  expect(create.invocation.timedOut).toBe(false);
  expect(standins.faults.injected.hang).toBe(1);
  expect(standins.counts().CreateWorkspaceApiKey).toBe(2);
  expect(standins.liveKeys(ws)).toHaveLength(1);
});

test('9b. a PutSecretValue that keeps failing revokes the key it could not store', async () => {
  // The write of the key fails once the key is issued.
  standins.faults.add({ operation: 'CreateWorkspaceApiKey', kind: 'delay', delayMs: 0, onHit: () => standins.faults.add({ operation: 'PutSecretValue', kind: 'serverError', times: Infinity }) });
  const result = await driver.deploy(keyStack());
  expect(result.ok).toBe(false);
  expect(result.failures[0]).toMatch(/was revoked/);
  expect(standins.existingKeys()).toHaveLength(0);
});

test('10b. an Update whose secret write arrives after the guard gave up: it never becomes AWSCURRENT, the rollback keeps a working key, and so does deploying the change again', async () => {
  const { standins: s, driver: d, stop: stopBed } = await withBed({ lambdaTimeoutMs: 4000 });
  try {
    const w = s.addWorkspace().id;
    const stackWith = (keyRole: GrafanaRole) => {
      const stack = newStack();
      new WorkspaceApiKey(stack, 'Key', { workspaceId: w, keyRole });
      return stack;
    };
    expect(await d.deploy(stackWith(GrafanaRole.VIEWER))).toMatchObject({ ok: true });
    const secretArn = d.secretArn('KeySecret');
    const original = versionWith(s, secretArn)!;

    // The reissue's PutSecretValue reaches Secrets Manager late: it is held until the guard has answered FAILED and
    // CloudFormation has rolled back, then lands.
    let release!: () => void;
    s.faults.add({ operation: 'PutSecretValue', kind: 'delay', until: new Promise<void>((r) => { release = r; }), times: 1 });
    const failed = await d.deploy(stackWith(GrafanaRole.ADMIN));
    expect(failed.ok).toBe(false);
    expect(failed.failures[0]).toMatch(/Timed out after \d+ s waiting for AWS/);
    expect(s.faults.injected.delay).toBe(1); // the write was held
    s.resetCounts();
    release();
    await s.settled(); // the late write has arrived
    // It lands, but under its own label only: AWSCURRENT is still the original key's version.
    expect(s.callLog()).toEqual([expect.objectContaining({ op: 'PutSecretValue', status: 200 })]);
    expect(s.secret(secretArn)!.versions.find((v) => v.stages.some((l) => l.startsWith('OWN-')) && !v.stages.includes('AWSCURRENT'))).toBeDefined();

    // The rollback keeps the original key, in a fresh copy of its version (so that a late duplicate of the Update,
    // holding the original version as its compare-and-swap source, can no longer promote).
    const afterRollback = versionWith(s, secretArn)!;
    expect(afterRollback.value.key).toBe(original.value.key);
    expect(afterRollback.value.keyName).toBe(original.value.keyName);
    expect(await apiOrg(s, afterRollback.value.key)).toBe(200);
    expect(s.existingKeys(w)).toHaveLength(1);

    expect(await d.deploy(stackWith(GrafanaRole.ADMIN))).toMatchObject({ ok: true });
    const redeployed = versionWith(s, secretArn)!;
    expect(redeployed.value.keyRole).toBe('ADMIN');
    expect(await apiOrg(s, redeployed.value.key)).toBe(200);
    expect(s.existingKeys(w)).toHaveLength(1);
    assertNoLeaks(s, d);
  } finally {
    await stopBed();
  }
});

test('10. a hanging API ends in FAILED before the function times out, and revokes what it issued', async () => {
  const { standins: s, driver: d, stop: stopBed } = await withBed({ lambdaTimeoutMs: 8000 });
  try {
    const w = s.addWorkspace().id;
    s.faults.add({ operation: 'PutSecretValue', kind: 'hang', times: Infinity });
    const stack = newStack();
    new WorkspaceApiKey(stack, 'Key', { workspaceId: w });
    const result = await d.deploy(stack);
    expect(result.ok).toBe(false);
    expect(result.failures[0]).toMatch(/Timed out after \d+ s waiting for AWS/);
    // The guard answered; the function was not ended by its timeout (the test bed kills it there).
    const create = d.records.find((r) => r.requestType === 'Create')!;
    expect(create.response?.Status).toBe('FAILED');
    expect(create.invocation.timedOut).toBe(false);
    expect(s.existingKeys(w)).toHaveLength(0);
    assertNoLeaks(s, d);
  } finally {
    await stopBed();
  }
});

describe('no orphan when the ledger or the process goes away', () => {
  test.each([
    ['scheduled for deletion', false],
    ['deleted without recovery', true],
  ])('11. the secret is %s out of band, then the stack is deleted: no key is left, and the Delete answers promptly', async (_what, force) => {
    await driver.deploy(keyStack());
    expect(await rotate(driver, standins, secret())).toMatchObject({ ok: true }); // two live keys: AWSCURRENT and AWSPREVIOUS
    expect(standins.liveKeys(ws)).toHaveLength(2);
    standins.cloudFormationCall('DeleteSecret', { SecretId: secret(), ForceDeleteWithoutRecovery: force });
    expect(await driver.destroy()).toMatchObject({ ok: true });
    const del = driver.records.filter((r) => r.requestType === 'Delete').pop()!;
    expect(del.response?.Status).toBe('SUCCESS');
    expect(del.invocation.timedOut).toBe(false);
    expect(standins.liveKeys(ws)).toEqual([]);
  });

  test('12. the function dies after issuing the key and before writing it; the rollback Delete after ServiceTimeout leaves no key', async () => {
    const { standins: s, driver: d, stop: stopBed } = await withBed({ serviceTimeoutMs: 1500 });
    try {
      const w = s.addWorkspace().id;
      let died!: () => void;
      const dies = new Promise<void>((r) => { died = r; });
      // The key is issued; the next write (the key's) is where the runtime kills the process.
      s.faults.add({ operation: 'CreateWorkspaceApiKey', kind: 'delay', delayMs: 0, onHit: () => s.faults.add({ operation: 'PutSecretValue', kind: 'hang', onHit: died }) });
      const stack = newStack();
      new WorkspaceApiKey(stack, 'Key', { workspaceId: w });
      const result = await d.deploy(stack, { crash: { requestType: 'Create', when: dies } });
      expect(result.ok).toBe(false);
      const create = d.records.find((r) => r.requestType === 'Create')!;
      expect(create.response).toBeUndefined();
      const del = d.records.find((r) => r.requestType === 'Delete')!;
      expect(del.response?.Status).toBe('SUCCESS');
      expect(s.existingKeys(w)).toEqual([]);
      assertNoLeaks(s, d);
    } finally {
      await stopBed();
    }
  });
});
