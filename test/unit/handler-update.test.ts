/**
 * Update, rollback and CloudFormation's cleanup Delete through the Lambda
 * entry point, against an in-memory Grafana and Secrets Manager. Each test
 * plays the sequence CloudFormation would send and checks which keys still
 * work and what AWSCURRENT holds at every step. Grouped by the guarantee
 * each test checks.
 */
import { deferred, keyProps, PREFIX, SECRET_ARN, settle, useBed, WS } from './helpers/bed';
import { GrafanaErrors, PASS } from './helpers/fake-aws';

const bed = useBed();

const current = () => bed.world.secret(SECRET_ARN).valueAt('AWSCURRENT');
const versionOf = (keyName: string) => [...bed.world.secret(SECRET_ARN).versions.values()].find((v) => JSON.parse(v.value!).keyName === keyName)!;
/** The secret's AWS labels (AWSCURRENT, AWSPREVIOUS, AWSPENDING) by version, without the engine's OWN labels. */
const awsLabels = () => Object.fromEntries(Object.entries(bed.world.secret(SECRET_ARN).labels())
  .map(([v, labels]) => [v, labels.filter((l) => l.startsWith('AWS'))]).filter(([, labels]) => labels.length));
/** Names of the keys that labelled versions hold. */
const labelledNames = () => [...new Set(Object.keys(bed.world.secret(SECRET_ARN).labels())
  .map((v) => JSON.parse(bed.world.secret(SECRET_ARN).versions.get(v)!.value!).keyName).filter(Boolean))].sort();
/** Every working key is one a labelled version holds, and at most two work. */
function expectAtMostTwoOnTheLedger(): void {
  const live = bed.world.liveKeys(WS);
  expect(live.length).toBeLessThanOrEqual(2);
  expect(labelledNames()).toEqual(expect.arrayContaining(live));
}
const isIntent = (input: any) => JSON.parse(input.SecretString).intent !== undefined;
/** Runs `fn` instead of the next PutSecretValue that writes a key (an intent write passes through). */
function onKeyWrite(fn: (input: any, proceed: () => Promise<any>) => any): void {
  let done = false;
  bed.world.intercept('PutSecretValue', (input, proceed) => {
    if (done || isIntent(input)) return PASS;
    done = true;
    return fn(input, proceed);
  });
}

async function createOrFail(props = keyProps()) {
  const answer = await bed.create({ requestId: 'create-1', props });
  expect(answer.Status).toBe('SUCCESS');
  return { id: answer.PhysicalResourceId, token: current().key as string };
}

/** All four rotation steps with one token, each expected to succeed. */
async function rotateAll(token: string) {
  for (const step of ['createSecret', 'setSecret', 'testSecret', 'finishSecret']) expect(await bed.rotate(step, token)).toBeUndefined();
}

/** A VIEWER key, then an Update to ADMIN that CloudFormation has neither cleaned up nor rolled back yet. */
async function updatedToAdmin(requestId: string) {
  const viewer = keyProps();
  const admin = keyProps({ Role: 'ADMIN' });
  const v1 = await createOrFail(viewer);
  const replaced = current().keyName as string;
  const v2 = (await bed.update({ physicalId: v1.id, props: admin, oldProps: viewer, requestId })).PhysicalResourceId;
  return { viewer, admin, v1, replaced, v2 };
}

/**
 * An Update the timeout guard gives up on (3 s left) while its PutSecretValue is held back. With 'commits' the
 * write lands at once and only its answer is late; with 'arrives late' it reaches Secrets Manager only after the
 * guard answered. `meanwhile` runs before the write proceeds. Resolves with the FAILED answer once the held
 * write has gone through and everything left running has settled.
 */
async function updateGivenUpOn(
  update: { physicalId: string; props: Record<string, string>; oldProps: Record<string, string>; requestId: string },
  write: 'commits' | 'arrives late',
  meanwhile?: () => Promise<void>,
) {
  const held = deferred();
  onKeyWrite(async (_input, proceed) => {
    if (meanwhile) await meanwhile();
    if (write === 'arrives late') { await held.promise; return proceed(); }
    await proceed();
    await held.promise;
    return PASS;
  });
  const failed = await bed.update({ ...update, remainingMs: 3000 });
  expect(failed.Status).toBe('FAILED');
  held.resolve();
  await settle();
  return failed;
}


describe('a reissue keeps the replaced key working until CloudFormation cleans it up', () => {
  test.each([
    ['the role', { Role: 'ADMIN' }, { keyRole: 'ADMIN' }],
    ['the lifetime', { SecondsToLive: '7200' }, { keyRole: 'VIEWER' }],
    ['the name prefix', { NamePrefix: 'Other-Prefix' }, { keyRole: 'VIEWER' }],
  ])('changing %s issues and stores a new key under a new physical id; the old key is deleted only at cleanup', async (_what, change, expected) => {
    const oldProps = keyProps();
    const newProps = keyProps(change);
    const v1 = await createOrFail(oldProps);
    bed.world.resetCalls();

    const answer = await bed.update({ physicalId: v1.id, props: newProps, oldProps, requestId: 'update-1' });

    expect(answer.Status).toBe('SUCCESS');
    const newName = answer.PhysicalResourceId;
    expect(newName).not.toBe(v1.id);
    expect(newName.startsWith(`${newProps.NamePrefix}-`)).toBe(true);
    expect(answer.Data).toEqual({ CredentialName: newName, SecretArn: SECRET_ARN });
    // The new key is issued with the new definition and is AWSCURRENT; the old one still works.
    expect(bed.world.inputs('DeleteWorkspaceApiKey').map((i) => i.keyName)).not.toContain(v1.id);
    const [issued] = bed.world.inputs('CreateWorkspaceApiKey');
    expect(issued).toEqual({ workspaceId: WS, keyName: newName, keyRole: newProps.Role, secondsToLive: Number(newProps.SecondsToLive) });
    expect(current()).toMatchObject({ keyName: newName, ...expected });
    expect(bed.world.isLive(current().key)).toBe(true);
    expect(bed.world.isLive(v1.token)).toBe(true);
    expect(bed.world.secret(SECRET_ARN).valueAt('AWSPREVIOUS').keyName).toBe(v1.id);

    // CloudFormation's cleanup: Delete of the old physical id, with the old properties.
    const cleanup = await bed.del({ physicalId: v1.id, props: oldProps });

    expect(cleanup).toMatchObject({ Status: 'SUCCESS', PhysicalResourceId: v1.id });
    expect(bed.world.inputs('DeleteWorkspaceApiKey')).toContainEqual({ workspaceId: WS, keyName: v1.id });
    expect(bed.world.liveKeys(WS)).toEqual([newName]);
    expect(awsLabels()).toEqual({ [versionOf(newName).id]: ['AWSCURRENT'] });
    // The old generation is off the ledger: none of its OWN labels is left.
    const oldGen = v1.id.slice(-10);
    expect(Object.values(bed.world.secret(SECRET_ARN).labels()).flat().filter((l) => l.includes(oldGen))).toEqual([]);
  });

  test('after a rotation, the key behind AWSPREVIOUS is revoked before the new key is issued, so at most two keys live', async () => {
    const v1 = await createOrFail();
    await rotateAll('cccccccc-3333-4333-8333-333333333333');
    const rotated = current();
    expect(rotated.keyName).not.toBe(v1.id);
    bed.world.resetCalls();

    const answer = await bed.update({ physicalId: v1.id, props: keyProps({ Role: 'EDITOR' }), oldProps: keyProps() });

    expect(answer.Status).toBe('SUCCESS');
    const ops = bed.world.ops();
    expect(bed.world.inputs('DeleteWorkspaceApiKey').map((i) => i.keyName)).toContain(v1.id);
    expect(ops.indexOf('DeleteWorkspaceApiKey')).toBeLessThan(ops.indexOf('CreateWorkspaceApiKey'));
    expect(bed.world.liveKeys(WS)).toEqual([answer.PhysicalResourceId, rotated.keyName].sort());

    await bed.del({ physicalId: v1.id, props: keyProps() });
    expect(bed.world.liveKeys(WS)).toEqual([answer.PhysicalResourceId]);
  });

  test('a whole rotation between the Update and the cleanup: after cleanup only the rotated key and the one it replaced work', async () => {
    const viewer = keyProps();
    const admin = keyProps({ Role: 'ADMIN' });
    const v1 = await createOrFail(viewer);
    const updated = await bed.update({ physicalId: v1.id, props: admin, oldProps: viewer, requestId: 'update-then-rotate' });
    const issued = current().keyName as string;
    await rotateAll('88888888-cccc-4ccc-8ccc-888888888888');
    const rotated = current().keyName as string;

    const cleanup = await bed.del({ physicalId: v1.id, props: viewer });
    expect(cleanup.Status).toBe('SUCCESS');
    expect(bed.world.liveKeys(WS)).toEqual([issued, rotated].sort());
    expect(updated.PhysicalResourceId).not.toBe(v1.id);
  });

  test('a replaced key Grafana refuses to revoke blocks neither rotation nor the next events; the cleanup Delete says so', async () => {
    const { viewer, admin, v1, replaced } = await updatedToAdmin('update-denied-cleanup');
    bed.world.intercept('DeleteWorkspaceApiKey', async (input, proceed) => {
      if ((input as { keyName?: string }).keyName === replaced) throw GrafanaErrors.accessDenied('not authorized');
      return proceed();
    });
    await rotateAll('56565656-aaaa-4aaa-8aaa-565656565656');
    await rotateAll('78787878-bbbb-4bbb-8bbb-787878787878');
    expect(current().keyRole).toBe('ADMIN');
    expect(bed.world.isLive(current().key)).toBe(true);
    const cleanup = await bed.del({ physicalId: v1.id, props: viewer });
    expect(cleanup).toMatchObject({ Status: 'FAILED', PhysicalResourceId: v1.id });
    expect(cleanup.Reason).toMatch(/AccessDeniedException/);
    expect(current().keyRole).toBe(admin.Role);
  });
});

describe('an Update that changes nothing about the key makes no call', () => {
  test.each([
    ['a new ServiceToken', keyProps({ ServiceToken: 'arn:aws:lambda:us-east-1:123456789012:function:Handler2' })],
    ['a property the definition ignores', { ...keyProps(), Description: 'now with a description' }],
    ['the same lifetime written differently', keyProps({ SecondsToLive: '086400' })],
  ])('%s: no AWS call at all, same physical id', async (_what, newProps) => {
    const v1 = await createOrFail();
    bed.world.resetCalls();

    const answer = await bed.update({ physicalId: v1.id, props: newProps, oldProps: keyProps() });

    expect(answer).toMatchObject({ Status: 'SUCCESS', PhysicalResourceId: v1.id, Data: { CredentialName: v1.id, SecretArn: SECRET_ARN } });
    expect(bed.world.calls).toEqual([]);
    expect(current().key).toBe(v1.token);
  });
});

describe('a rollback restores the replaced key, and issues nothing', () => {
  test('restores the previous version as AWSCURRENT, answers the original id; cleanup of the new id revokes the new key and takes its generation off the ledger', async () => {
    const viewer = keyProps();
    const admin = keyProps({ Role: 'ADMIN' });
    const v1 = await createOrFail(viewer);
    const v1Version = versionOf(v1.id).id;
    const updated = await bed.update({ physicalId: v1.id, props: admin, oldProps: viewer, requestId: 'update-1' });
    const v2 = { id: updated.PhysicalResourceId, token: current().key as string, version: versionOf(updated.PhysicalResourceId).id };
    bed.world.resetCalls();

    // Another resource failed: CloudFormation rolls back with old and new swapped, physical id = the new one.
    const rollback = await bed.update({ physicalId: v2.id, props: viewer, oldProps: admin, requestId: 'rollback-1' });

    expect(rollback).toMatchObject({ Status: 'SUCCESS', PhysicalResourceId: v1.id, Data: { CredentialName: v1.id, SecretArn: SECRET_ARN } });
    expect(bed.world.count('CreateWorkspaceApiKey')).toBe(0);
    // The same key, in a fresh copy of its version: a late duplicate of the Update cannot swap AWSCURRENT from it.
    const [copy] = bed.world.inputs('PutSecretValue');
    expect(JSON.parse(copy.SecretString).key).toBe(v1.token);
    expect(bed.world.inputs('UpdateSecretVersionStage')[0]).toEqual(
      { SecretId: SECRET_ARN, VersionStage: 'AWSCURRENT', MoveToVersionId: copy.ClientRequestToken, RemoveFromVersionId: v2.version });
    expect(current().key).toBe(v1.token);
    expect(bed.world.isLive(v1.token)).toBe(true);

    // Cleanup Delete of the new physical id (with the properties it was created with).
    const cleanup = await bed.del({ physicalId: v2.id, props: admin });

    expect(cleanup).toMatchObject({ Status: 'SUCCESS', PhysicalResourceId: v2.id });
    expect(bed.world.isLive(v2.token)).toBe(false);
    expect(bed.world.isLive(v1.token)).toBe(true);
    expect(awsLabels()).toEqual({ [copy.ClientRequestToken]: ['AWSCURRENT'] });
    expect(v1Version).not.toBe(copy.ClientRequestToken);

    // And the stack can still be deleted cleanly afterwards.
    await bed.del({ physicalId: v1.id, props: viewer });
    expect(bed.world.liveKeys(WS)).toEqual([]);
  });

  test('a replaced key about to expire is not restored: the rollback issues a new one with the old settings', async () => {
    const viewer = keyProps();
    const admin = keyProps({ Role: 'ADMIN' });
    const v1 = await createOrFail(viewer);
    const v2 = (await bed.update({ physicalId: v1.id, props: admin, oldProps: viewer })).PhysicalResourceId;
    // The replaced key's record says it expires in a minute (the restore needs at least 15).
    const replaced = versionOf(v1.id) as { value: string };
    replaced.value = JSON.stringify({ ...JSON.parse(replaced.value!), expiresAt: new Date(Date.now() + 60_000).toISOString() });
    bed.world.resetCalls();

    const rollback = await bed.update({ physicalId: v2, props: viewer, oldProps: admin });

    expect(rollback.Status).toBe('SUCCESS');
    expect(rollback.PhysicalResourceId).not.toBe(v1.id);
    expect(bed.world.count('CreateWorkspaceApiKey')).toBe(1);
    expect(current().keyRole).toBe('VIEWER');
    expect(bed.world.isLive(current().key)).toBe(true);
  });

  test('rollback after a rotation restores the rotated key (the one that was AWSCURRENT before the update)', async () => {
    const viewer = keyProps();
    const admin = keyProps({ Role: 'ADMIN' });
    const v1 = await createOrFail(viewer);
    await rotateAll('dddddddd-4444-4444-8444-444444444444');
    const rotated = current();
    const v2 = (await bed.update({ physicalId: v1.id, props: admin, oldProps: viewer })).PhysicalResourceId;

    const rollback = await bed.update({ physicalId: v2, props: viewer, oldProps: admin });

    expect(rollback).toMatchObject({ Status: 'SUCCESS', PhysicalResourceId: v1.id });
    expect(current().key).toBe(rotated.key);
    await bed.del({ physicalId: v2, props: admin });
    expect(bed.world.liveKeys(WS)).toEqual([rotated.keyName]);
  });

  test('a restored key that a finished rotation had promoted: AWSPENDING goes with it, so no rotation looks unfinished and the next one completes', async () => {
    const viewer = keyProps();
    const admin = keyProps({ Role: 'ADMIN' });
    const v1 = await createOrFail(viewer);
    await rotateAll('abababab-1111-4111-8111-abababababab'); // AWSPENDING stays on the version it promoted
    const rotated = current().key as string;
    const v2 = (await bed.update({ physicalId: v1.id, props: admin, oldProps: viewer })).PhysicalResourceId;
    expect((await bed.update({ physicalId: v2, props: viewer, oldProps: admin })).Status).toBe('SUCCESS');
    await bed.del({ physicalId: v2, props: admin });

    const secret = bed.world.secret(SECRET_ARN);
    expect(current().key).toBe(rotated);
    // Secrets Manager starts a rotation again with the token of a version holding AWSPENDING but not AWSCURRENT.
    expect(secret.holderOf('AWSPENDING')?.id).toBe(secret.holderOf('AWSCURRENT')?.id);
    await rotateAll('cdcdcdcd-2222-4222-8222-cdcdcdcdcdcd');
    expect(bed.world.isLive(current().key)).toBe(true);
    expect(current().key).not.toBe(rotated);
  });

  test('a whole rotation between the Update and its rollback: the rollback still restores the replaced key itself, and after cleanup only it works', async () => {
    const { viewer, admin, v1, v2 } = await updatedToAdmin('update-rotate-rollback');
    await rotateAll('99999999-dddd-4ddd-8ddd-999999999999');
    expect(current().keyRole).toBe('ADMIN');

    const rollback = await bed.update({ physicalId: v2, props: viewer, oldProps: admin, requestId: 'rollback-after-rotation' });
    const cleanup = await bed.del({ physicalId: v2, props: admin });
    expect(rollback).toMatchObject({ Status: 'SUCCESS', PhysicalResourceId: v1.id });
    expect(cleanup.Status).toBe('SUCCESS');
    expect(bed.world.count('CreateWorkspaceApiKey')).toBe(3); // the Create's, the Update's and the rotation's: the rollback issued none
    expect(current().key).toBe(v1.token);
    expect(bed.world.liveKeys(WS)).toEqual([v1.id]);
  });

  test('a createSecret between the Update and its rollback leaves AWSCURRENT working', async () => {
    const viewer = keyProps();
    const admin = keyProps({ Role: 'ADMIN' });
    const v1 = await createOrFail(viewer);
    const v2 = (await bed.update({ physicalId: v1.id, props: admin, oldProps: viewer })).PhysicalResourceId;
    expect(await bed.rotate('createSecret', 'eeeeeeee-5555-4555-8555-555555555555')).toBeUndefined();

    const rollback = await bed.update({ physicalId: v2, props: viewer, oldProps: admin });
    await bed.del({ physicalId: v2, props: admin });

    expect(rollback.Status).toBe('SUCCESS');
    expect(current().key).toBe(v1.token);
    expect(bed.world.isLive(current().key)).toBe(true);
    expect(bed.world.liveKeys(WS)).toEqual([v1.id]);
  });

  test('rolling back a SecretArn change keeps the original key, mints nothing and answers the original id', async () => {
    const SECRET_B = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:grafana-credentials/Stack/KeyRenamed-GhIjKl';
    bed.world.addSecret(SECRET_B);
    const inA = keyProps();
    const inB = keyProps({ SecretArn: SECRET_B });
    const v1 = await createOrFail(inA);
    const moved = await bed.update({ physicalId: v1.id, props: inB, oldProps: inA, requestId: 'move-secret' });
    expect(moved.Status).toBe('SUCCESS');
    bed.world.resetCalls();

    const rollback = await bed.update({ physicalId: moved.PhysicalResourceId, props: inA, oldProps: inB, requestId: 'rollback-move' });

    expect(rollback).toMatchObject({ Status: 'SUCCESS', PhysicalResourceId: v1.id });
    expect(bed.world.count('CreateWorkspaceApiKey')).toBe(0);
    expect(current().key).toBe(v1.token);
    // The cleanup of the moved-to generation empties the other secret's ledger.
    await bed.del({ physicalId: moved.PhysicalResourceId, props: inB });
    expect(bed.world.liveKeys(WS)).toEqual([v1.id]);
  });

  test('a finishSecret retried after its promotion landed and the stack moved on does not revoke the promoted key', async () => {
    const viewer = keyProps();
    const admin = keyProps({ Role: 'ADMIN' });
    const editor = keyProps({ Role: 'EDITOR' });
    const v1 = await createOrFail(viewer);
    const v2 = (await bed.update({ physicalId: v1.id, props: admin, oldProps: viewer, requestId: 'update-to-admin' })).PhysicalResourceId;
    await bed.del({ physicalId: v1.id, props: viewer });
    const token = 'dddddddd-bbbb-4bbb-8bbb-dddddddddddd';
    for (const step of ['createSecret', 'setSecret', 'testSecret']) expect(await bed.rotate(step, token)).toBeUndefined();
    // The promotion lands but its answer is lost; before Secrets Manager retries the step, another update reissues.
    let v3 = '';
    bed.world.intercept('UpdateSecretVersionStage', async (_input, proceed) => {
      await proceed();
      v3 = (await bed.update({ physicalId: v2, props: editor, oldProps: admin, requestId: 'update-to-editor' })).PhysicalResourceId;
      throw Object.assign(new Error('connection reset'), { name: 'InvalidRequestException', $fault: 'client' });
    }, 1);
    await bed.rotate('finishSecret', token);
    const promoted = JSON.parse(bed.world.secret(SECRET_ARN).versions.get(token)!.value!).key as string;
    expect(bed.world.secret(SECRET_ARN).labels()[token]).toContain('AWSPREVIOUS');

    expect(await bed.rotate('finishSecret', token)).toBeUndefined();
    expect(bed.world.isLive(promoted)).toBe(true);
    // The EDITOR update fails elsewhere and is rolled back: the promoted ADMIN key comes back, and it works.
    expect((await bed.update({ physicalId: v3, props: admin, oldProps: editor, requestId: 'rollback-to-admin' })).Status).toBe('SUCCESS');
    expect(current().keyRole).toBe('ADMIN');
    expect(current().key).toBe(promoted);
  });
});

describe('every event delivered twice ends as if delivered once', () => {
  test('the same Update delivered twice answers the same new id and issues one key', async () => {
    const v1 = await createOrFail();
    const first = await bed.update({ physicalId: v1.id, props: keyProps({ Role: 'ADMIN' }), oldProps: keyProps(), requestId: 'update-dup' });
    const stored = current().key;
    bed.world.resetCalls();

    const second = await bed.update({ physicalId: v1.id, props: keyProps({ Role: 'ADMIN' }), oldProps: keyProps(), requestId: 'update-dup' });

    expect(second).toMatchObject({ Status: 'SUCCESS', PhysicalResourceId: first.PhysicalResourceId, Data: first.Data });
    expect(bed.world.grafanaCalls()).toEqual([]);
    expect(current().key).toBe(stored);
    expect(bed.world.liveKeys(WS)).toEqual([first.PhysicalResourceId, v1.id].sort());
  });

  test('the rollback delivered twice answers the original id again and changes nothing more', async () => {
    const viewer = keyProps();
    const admin = keyProps({ Role: 'ADMIN' });
    const v1 = await createOrFail(viewer);
    const v2 = (await bed.update({ physicalId: v1.id, props: admin, oldProps: viewer, requestId: 'update-1' })).PhysicalResourceId;
    await bed.update({ physicalId: v2, props: viewer, oldProps: admin, requestId: 'rollback-1' });
    bed.world.resetCalls();

    const again = await bed.update({ physicalId: v2, props: viewer, oldProps: admin, requestId: 'rollback-1' });

    expect(again).toMatchObject({ Status: 'SUCCESS', PhysicalResourceId: v1.id });
    expect(bed.world.grafanaCalls()).toEqual([]);
    expect(current().key).toBe(v1.token);
  });

  test('the cleanup Delete delivered twice succeeds twice and touches only the replaced generation', async () => {
    const v1 = await createOrFail();
    const v2 = (await bed.update({ physicalId: v1.id, props: keyProps({ Role: 'ADMIN' }), oldProps: keyProps() })).PhysicalResourceId;
    await bed.del({ physicalId: v1.id, requestId: 'cleanup-dup' });

    const again = await bed.del({ physicalId: v1.id, requestId: 'cleanup-dup' });

    expect(again).toMatchObject({ Status: 'SUCCESS', PhysicalResourceId: v1.id });
    expect(bed.world.liveKeys(WS)).toEqual([v2]);
    expect(current().keyName).toBe(v2);
  });
});

describe('a failed or abandoned Update never moves AWSCURRENT, and what it issued is retired', () => {
  test('a failed reissue answers FAILED with the incoming physical id and leaves AWSCURRENT and its key alone', async () => {
    const v1 = await createOrFail();
    bed.world.fail('CreateWorkspaceApiKey', Object.assign(new Error('User is not authorized'), { name: 'AccessDeniedException' }));

    const answer = await bed.update({ physicalId: v1.id, props: keyProps({ Role: 'ADMIN' }), oldProps: keyProps() });

    expect(answer).toMatchObject({ Status: 'FAILED', PhysicalResourceId: v1.id });
    expect(answer.Reason).toMatch(new RegExp(`Creating API key ${PREFIX}-[0-9a-f]{10} in workspace ${WS} failed \\(AccessDeniedException`));
    expect(current().key).toBe(v1.token);
    expect(bed.world.isLive(v1.token)).toBe(true);
  });

  test('its key write committed but answered after the guard gave up: FAILED; AWSCURRENT never moved, its key is revoked, and the rollback issues nothing', async () => {
    const viewer = keyProps();
    const admin = keyProps({ Role: 'ADMIN' });
    const v1 = await createOrFail(viewer);
    const failed = await updateGivenUpOn({ physicalId: v1.id, props: admin, oldProps: viewer, requestId: 'update-slow' }, 'commits');

    expect(failed).toMatchObject({ Status: 'FAILED', PhysicalResourceId: v1.id });
    expect(failed.Reason).toMatch(/^Timed out after \d+ s waiting for AWS/);
    expect(current().key).toBe(v1.token);
    expect(bed.world.liveKeys(WS)).toEqual([v1.id]);
    expect(bed.world.secret(SECRET_ARN).holderOf('AWSCURRENT')!.id).toBe(versionOf(v1.id).id);

    // Rollback: the physical id never changed, so it is v1.id.
    bed.world.resetCalls();
    const rollback = await bed.update({ physicalId: v1.id, props: viewer, oldProps: admin, requestId: 'rollback-slow' });

    expect(rollback).toMatchObject({ Status: 'SUCCESS', PhysicalResourceId: v1.id });
    expect(bed.world.count('CreateWorkspaceApiKey')).toBe(0);
    expect(current().key).toBe(v1.token);
    expect(bed.world.liveKeys(WS)).toEqual([v1.id]);
  });

  test('its key write arrives only after the guard gave up: it lands under its own label, never as AWSCURRENT, and its key is revoked', async () => {
    const viewer = keyProps();
    const admin = keyProps({ Role: 'ADMIN' });
    const v1 = await createOrFail(viewer);
    await updateGivenUpOn({ physicalId: v1.id, props: admin, oldProps: viewer, requestId: 'update-late' }, 'arrives late');

    expect(current().key).toBe(v1.token);
    expect(bed.world.liveKeys(WS)).toEqual([v1.id]);
    expect(bed.world.secret(SECRET_ARN).holderOf('AWSCURRENT')!.id).toBe(versionOf(v1.id).id);
  });

  test('after it, re-deploying the same change without a rollback leaves a working key in AWSCURRENT', async () => {
    const viewer = keyProps();
    const admin = keyProps({ Role: 'ADMIN' });
    const v1 = await createOrFail(viewer);
    await updateGivenUpOn({ physicalId: v1.id, props: admin, oldProps: viewer, requestId: 'update-slow' }, 'commits');

    const retried = await bed.update({ physicalId: v1.id, props: admin, oldProps: viewer, requestId: 'update-retry' });

    expect(retried.Status).toBe('SUCCESS');
    expect(current().keyRole).toBe('ADMIN');
    expect(bed.world.isLive(current().key)).toBe(true);
  });

  test('a move to a new secret given up on: no key in the new secret\'s AWSCURRENT, and re-deploying the change issues a working one', async () => {
    const SECRET_B = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:grafana-credentials/Stack/KeyMoved-MnOpQr';
    bed.world.addSecret(SECRET_B);
    const inA = keyProps();
    const inB = keyProps({ SecretArn: SECRET_B });
    const v1 = await createOrFail(inA);

    await updateGivenUpOn({ physicalId: v1.id, props: inB, oldProps: inA, requestId: 'move-slow' }, 'commits');

    expect(bed.world.liveKeys(WS)).toEqual([v1.id]);
    // Secrets Manager makes a secret's first version (here the intent) AWSCURRENT; it holds no key.
    expect(bed.world.secret(SECRET_B).valueAt('AWSCURRENT')?.key).toBeUndefined();
    const retried = await bed.update({ physicalId: v1.id, props: inB, oldProps: inA, requestId: 'move-retry' });
    expect(retried.Status).toBe('SUCCESS');
    expect(bed.world.isLive(bed.world.secret(SECRET_B).valueAt('AWSCURRENT').key)).toBe(true);
  });

  test('a key that could not be revoked when the guard gave up stays on the ledger, and the rollback revokes it', async () => {
    const viewer = keyProps();
    const admin = keyProps({ Role: 'ADMIN' });
    const v1 = await createOrFail(viewer);
    let grafanaDown = false;
    bed.world.intercept('DeleteWorkspaceApiKey', async () => { if (grafanaDown) throw GrafanaErrors.throttling(); return PASS; });

    // Grafana stops answering once the Update's key is issued.
    await updateGivenUpOn({ physicalId: v1.id, props: admin, oldProps: viewer, requestId: 'update-unrevoked' }, 'arrives late', async () => { grafanaDown = true; });
    grafanaDown = false;
    expect(bed.world.liveKeys(WS)).toHaveLength(2);

    const rollback = await bed.update({ physicalId: v1.id, props: viewer, oldProps: admin, requestId: 'rollback-unrevoked' });
    expect(rollback).toMatchObject({ Status: 'SUCCESS', PhysicalResourceId: v1.id });
    expect(current().key).toBe(v1.token);
    expect(bed.world.liveKeys(WS)).toEqual([v1.id]);
  });

  test('a rotation that finishes while its abandoned write is on its way keeps AWSCURRENT', async () => {
    const viewer = keyProps();
    const admin = keyProps({ Role: 'ADMIN' });
    const v1 = await createOrFail(viewer);
    let rotated = '';
    await updateGivenUpOn({ physicalId: v1.id, props: admin, oldProps: viewer, requestId: 'update-during-rotation' }, 'commits', async () => {
      await rotateAll('44444444-dddd-4ddd-8ddd-dddddddddddd');
      rotated = current().key;
    });

    expect(rotated).not.toBe(v1.token);
    expect(current().key).toBe(rotated);
    expect(bed.world.isLive(rotated)).toBe(true);
    expectAtMostTwoOnTheLedger();
  });
});

describe('a rotation racing an Update leaves every working key on the ledger and AWSCURRENT working', () => {
  test('a rotation finishes while the Update writes its key: the key it demoted is revoked; after cleanup only the Update\'s key works', async () => {
    const viewer = keyProps();
    const admin = keyProps({ Role: 'ADMIN' });
    const v1 = await createOrFail(viewer);
    await rotateAll('66666666-aaaa-4aaa-8aaa-666666666666');
    const keyA = current().keyName as string;

    let keyB = '';
    onKeyWrite(async (_input, proceed) => {
      await rotateAll('77777777-bbbb-4bbb-8bbb-777777777777');
      keyB = current().keyName;
      return proceed();
    });
    const answer = await bed.update({ physicalId: v1.id, props: admin, oldProps: viewer, requestId: 'update-during-rotation' });
    expect(answer.Status).toBe('SUCCESS');
    expect(current().keyRole).toBe('ADMIN');
    expect(keyB).not.toBe(keyA);
    expect(bed.world.liveKeys(WS)).not.toContain(keyA);

    const cleanup = await bed.del({ physicalId: v1.id, props: admin });
    expect(cleanup.Status).toBe('SUCCESS');
    expect(bed.world.liveKeys(WS)).toEqual([current().keyName]);
  });

  test('two rotations finish while one Update writes its key: after cleanup only the Update\'s key works', async () => {
    const viewer = keyProps();
    const admin = keyProps({ Role: 'ADMIN' });
    const v1 = await createOrFail(viewer);
    onKeyWrite(async (_input, proceed) => {
      await rotateAll('12121212-aaaa-4aaa-8aaa-121212121212');
      await rotateAll('34343434-bbbb-4bbb-8bbb-343434343434');
      return proceed();
    });
    expect((await bed.update({ physicalId: v1.id, props: admin, oldProps: viewer, requestId: 'update-during-two-rotations' })).Status).toBe('SUCCESS');
    await bed.del({ physicalId: v1.id, props: admin });
    expect(bed.world.liveKeys(WS)).toEqual([current().keyName]);
    expect(current().keyRole).toBe('ADMIN');
  });

  test('an Update raced by two rotations that then fails: the rollback leaves at most two keys, each on the ledger', async () => {
    const viewer = keyProps();
    const admin = keyProps({ Role: 'ADMIN' });
    const v1 = await createOrFail(viewer);
    await rotateAll('13131313-aaaa-4aaa-8aaa-131313131313');
    let grafanaDown = false;
    onKeyWrite(async (_input, proceed) => {
      await rotateAll('24242424-bbbb-4bbb-8bbb-242424242424');
      const out = await proceed();
      grafanaDown = true;
      return out;
    });
    bed.world.intercept('DeleteWorkspaceApiKey', async (_input, proceed) => { if (grafanaDown) throw GrafanaErrors.throttling(); return proceed(); });
    const failed = await bed.update({ physicalId: v1.id, props: admin, oldProps: viewer, requestId: 'update-check-fails' });
    expect(failed.Status).toBe('FAILED');
    grafanaDown = false;

    const rollback = await bed.update({ physicalId: v1.id, props: viewer, oldProps: admin, requestId: 'rollback-after-failed-check' });
    expect(rollback.Status).toBe('SUCCESS');
    expect(current().keyRole).toBe('VIEWER');
    expect(bed.world.isLive(current().key)).toBe(true);
    expectAtMostTwoOnTheLedger();
  });

  test('an Update raced by a rotation whose process then freezes for good: the rollback leaves at most two keys, each on the ledger', async () => {
    const viewer = keyProps();
    const admin = keyProps({ Role: 'ADMIN' });
    const v1 = await createOrFail(viewer);
    await rotateAll('35353535-cccc-4ccc-8ccc-353535353535');
    onKeyWrite(async (_input, proceed) => {
      await rotateAll('46464646-dddd-4ddd-8ddd-464646464646');
      await proceed();
      return new Promise(() => undefined);
    });
    const failed = await bed.update({ physicalId: v1.id, props: admin, oldProps: viewer, requestId: 'update-frozen-after-race', remainingMs: 3000 });
    expect(failed.Status).toBe('FAILED');
    await settle();

    const rollback = await bed.update({ physicalId: v1.id, props: viewer, oldProps: admin, requestId: 'rollback-after-freeze' });
    expect(rollback.Status).toBe('SUCCESS');
    expect(current().keyRole).toBe('VIEWER');
    expect(bed.world.isLive(current().key)).toBe(true);
    expectAtMostTwoOnTheLedger();
  });
});
