/**
 * Update, rollback and CloudFormation's cleanup Delete through the Lambda
 * entry point, against an in-memory Grafana and Secrets Manager. Each test
 * plays the sequence CloudFormation would send and checks which keys still
 * work and what AWSCURRENT holds at every step.
 */
import { deferred, keyProps, PREFIX, SECRET_ARN, settle, useBed, WS } from './helpers/bed';
import { GrafanaErrors, PASS } from './helpers/fake-aws';

const bed = useBed();

const current = () => bed.world.secret(SECRET_ARN).valueAt('AWSCURRENT');
const versionOf = (keyName: string) => [...bed.world.secret(SECRET_ARN).versions.values()].find((v) => JSON.parse(v.value!).keyName === keyName)!;

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
  bed.world.intercept('PutSecretValue', async (_input, proceed) => {
    if (meanwhile) await meanwhile();
    if (write === 'arrives late') { await held.promise; return proceed(); }
    await proceed();
    await held.promise;
    return PASS;
  }, 1);
  const failed = await bed.update({ ...update, remainingMs: 3000 });
  expect(failed.Status).toBe('FAILED');
  held.resolve();
  await settle();
  return failed;
}

describe('Update that changes the key', () => {
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
    // The new key is issued with the new definition and is AWSCURRENT; the old one still works (nothing was deleted yet).
    expect(bed.world.count('DeleteWorkspaceApiKey')).toBe(0);
    const [issued] = bed.world.inputs('CreateWorkspaceApiKey');
    expect(issued).toEqual({ workspaceId: WS, keyName: newName, keyRole: newProps.Role, secondsToLive: Number(newProps.SecondsToLive) });
    expect(current()).toMatchObject({ keyName: newName, ...expected });
    expect(bed.world.isLive(current().key)).toBe(true);
    expect(bed.world.isLive(v1.token)).toBe(true);
    expect(bed.world.secret(SECRET_ARN).valueAt('AWSPREVIOUS').keyName).toBe(v1.id);

    // CloudFormation's cleanup: Delete of the old physical id, with the old properties.
    const cleanup = await bed.del({ physicalId: v1.id, props: oldProps });

    expect(cleanup).toMatchObject({ Status: 'SUCCESS', PhysicalResourceId: v1.id });
    expect(bed.world.inputs('DeleteWorkspaceApiKey')).toEqual([{ workspaceId: WS, keyName: v1.id }]);
    expect(bed.world.liveKeys(WS)).toEqual([newName]);
    expect(bed.world.secret(SECRET_ARN).labels()).toEqual({ [versionOf(newName).id]: ['AWSCURRENT'] });
    // Order over the whole sequence: the new key was stored before the old one was deleted.
    const ops = bed.world.ops();
    expect(ops.indexOf('PutSecretValue')).toBeLessThan(ops.indexOf('DeleteWorkspaceApiKey'));
  });

  test('after a rotation, the key behind AWSPREVIOUS is revoked before the new key is issued, so at most two keys live', async () => {
    const v1 = await createOrFail();
    const R = 'cccccccc-3333-4333-8333-333333333333';
    for (const step of ['createSecret', 'setSecret', 'testSecret', 'finishSecret']) expect(await bed.rotate(step, R)).toBeUndefined();
    const rotated = current();
    expect(rotated.keyName).not.toBe(v1.id);
    bed.world.resetCalls();

    const answer = await bed.update({ physicalId: v1.id, props: keyProps({ Role: 'EDITOR' }), oldProps: keyProps() });

    expect(answer.Status).toBe('SUCCESS');
    const ops = bed.world.ops();
    expect(bed.world.inputs('DeleteWorkspaceApiKey').map((i) => i.keyName)).toEqual([v1.id]);
    expect(ops.indexOf('DeleteWorkspaceApiKey')).toBeLessThan(ops.indexOf('CreateWorkspaceApiKey'));
    expect(bed.world.liveKeys(WS)).toEqual([answer.PhysicalResourceId, rotated.keyName].sort());

    await bed.del({ physicalId: v1.id, props: keyProps() });
    expect(bed.world.liveKeys(WS)).toEqual([answer.PhysicalResourceId]);
  });
});

describe('Update that changes nothing about the key', () => {
  test.each([
    ['a new ServiceToken', keyProps({ ServiceToken: 'arn:aws:lambda:us-east-1:123456789012:function:Handler2' })],
    ['a property the definition ignores', { ...keyProps(), Description: 'now with a description' }],
    ['the same lifetime written differently', keyProps({ SecondsToLive: '086400' })],
  ])('%s: no Grafana call at all, same physical id', async (_what, newProps) => {
    const v1 = await createOrFail();
    bed.world.resetCalls();

    const answer = await bed.update({ physicalId: v1.id, props: newProps, oldProps: keyProps() });

    expect(answer).toMatchObject({ Status: 'SUCCESS', PhysicalResourceId: v1.id, Data: { CredentialName: v1.id, SecretArn: SECRET_ARN } });
    expect(bed.world.grafanaCalls()).toEqual([]);
    expect(current().key).toBe(v1.token);
  });
});

describe('Rollback', () => {
  test('restores the previous version as AWSCURRENT, mints nothing, answers the original id; cleanup of the new id revokes the new key and drops its label', async () => {
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
    expect(bed.world.count('PutSecretValue')).toBe(0);
    expect(bed.world.inputs('UpdateSecretVersionStage')).toEqual([
      { SecretId: SECRET_ARN, VersionStage: 'AWSCURRENT', MoveToVersionId: v1Version, RemoveFromVersionId: v2.version },
    ]);
    expect(current().key).toBe(v1.token);
    expect(bed.world.isLive(v1.token)).toBe(true);

    // Cleanup Delete of the new physical id (with the properties it was created with).
    const cleanup = await bed.del({ physicalId: v2.id, props: admin });

    expect(cleanup).toMatchObject({ Status: 'SUCCESS', PhysicalResourceId: v2.id });
    expect(bed.world.isLive(v2.token)).toBe(false);
    expect(bed.world.isLive(v1.token)).toBe(true);
    expect(bed.world.secret(SECRET_ARN).labels()).toEqual({ [v1Version]: ['AWSCURRENT'] });

    // And the stack can still be deleted cleanly afterwards.
    await bed.del({ physicalId: v1.id, props: viewer });
    expect(bed.world.liveKeys(WS)).toEqual([]);
  });

  test('duplicate delivery of the rollback answers the original id again and changes nothing more', async () => {
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

  test('an Update that timed out after its key was stored: FAILED; the late write is undone and its key revoked, so the rollback changes nothing', async () => {
    const viewer = keyProps();
    const admin = keyProps({ Role: 'ADMIN' });
    const v1 = await createOrFail(viewer);
    // PutSecretValue commits, but its answer is slower than the function's time budget.
    const failed = await updateGivenUpOn({ physicalId: v1.id, props: admin, oldProps: viewer, requestId: 'update-slow' }, 'commits');

    expect(failed).toMatchObject({ Status: 'FAILED', PhysicalResourceId: v1.id });
    expect(failed.Reason).toMatch(/^Timed out after \d+ s waiting for AWS/);
    // The guard found the write had landed: AWSCURRENT is back on the original key, and the new key is revoked.
    expect(current().key).toBe(v1.token);
    expect(bed.world.liveKeys(WS)).toEqual([v1.id]);
    expect(bed.world.secret(SECRET_ARN).labels()).toEqual({ [versionOf(v1.id).id]: ['AWSCURRENT'] });

    // Rollback: the physical id never changed, so it is v1.id.
    bed.world.resetCalls();
    const rollback = await bed.update({ physicalId: v1.id, props: viewer, oldProps: admin, requestId: 'rollback-slow' });

    expect(rollback).toMatchObject({ Status: 'SUCCESS', PhysicalResourceId: v1.id });
    expect(bed.world.count('CreateWorkspaceApiKey')).toBe(0);
    expect(current().key).toBe(v1.token);
    expect(bed.world.isLive(v1.token)).toBe(true);
    expect(bed.world.liveKeys(WS)).toEqual([v1.id]);
  });

  test('an Update whose write is still on its way when the guard gives up: the write is fenced off and never lands', async () => {
    const viewer = keyProps();
    const admin = keyProps({ Role: 'ADMIN' });
    const v1 = await createOrFail(viewer);
    // PutSecretValue is slow to reach Secrets Manager: it arrives only after the guard has answered.
    await updateGivenUpOn({ physicalId: v1.id, props: admin, oldProps: viewer, requestId: 'update-late' }, 'arrives late');

    expect(current().key).toBe(v1.token);
    expect(bed.world.liveKeys(WS)).toEqual([v1.id]);
    const labels = bed.world.secret(SECRET_ARN).labels();
    expect(labels[versionOf(v1.id).id]).toEqual(['AWSCURRENT']);
    // The fence is a labelled placeholder that holds no credential.
    expect(Object.values(labels)).toContainEqual(['GRAFANA_CREDENTIALS_ABANDONED']);
  });

  test('rollback after a rotation restores the rotated key (the one that was AWSCURRENT before the update)', async () => {
    const viewer = keyProps();
    const admin = keyProps({ Role: 'ADMIN' });
    const v1 = await createOrFail(viewer);
    const R = 'dddddddd-4444-4444-8444-444444444444';
    for (const step of ['createSecret', 'setSecret', 'testSecret', 'finishSecret']) expect(await bed.rotate(step, R)).toBeUndefined();
    const rotated = current();
    const v2 = (await bed.update({ physicalId: v1.id, props: admin, oldProps: viewer })).PhysicalResourceId;

    const rollback = await bed.update({ physicalId: v2, props: viewer, oldProps: admin });

    expect(rollback).toMatchObject({ Status: 'SUCCESS', PhysicalResourceId: v1.id });
    expect(current().key).toBe(rotated.key);
    await bed.del({ physicalId: v2, props: admin });
    expect(bed.world.liveKeys(WS)).toEqual([rotated.keyName]);
  });
});

describe('duplicate delivery', () => {
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

describe('Update failures', () => {
  test('a failed reissue answers FAILED with the incoming physical id and leaves AWSCURRENT and its key alone', async () => {
    const v1 = await createOrFail();
    bed.world.fail('CreateWorkspaceApiKey', Object.assign(new Error('User is not authorized'), { name: 'AccessDeniedException' }));

    const answer = await bed.update({ physicalId: v1.id, props: keyProps({ Role: 'ADMIN' }), oldProps: keyProps() });

    expect(answer).toMatchObject({ Status: 'FAILED', PhysicalResourceId: v1.id });
    expect(answer.Reason).toMatch(new RegExp(`Creating API key ${PREFIX}-[0-9a-f]{10} in workspace ${WS} failed \\(AccessDeniedException`));
    expect(current().key).toBe(v1.token);
    expect(bed.world.isLive(v1.token)).toBe(true);
  });
});

describe('defects found by review, now fixed (each test failed before its fix)', () => {
  // Was: the guard revoked a key whose PutSecretValue was still in flight; when that write landed afterwards,
  // AWSCURRENT held the revoked key, and without a rollback (cdk deploy --no-rollback, or a retried deployment)
  // the next Update with the same properties found it "already what is asked" and kept the dead key. Now the
  // guard fences the version (MintJournal.revokeUnstored): a late write fails, a landed one loses its labels.
  test('after an Update timed out and its write landed late, re-deploying the same change leaves a working key in AWSCURRENT', async () => {
    const viewer = keyProps();
    const admin = keyProps({ Role: 'ADMIN' });
    const v1 = await createOrFail(viewer);
    await updateGivenUpOn({ physicalId: v1.id, props: admin, oldProps: viewer, requestId: 'update-slow' }, 'commits');

    // No rollback: the same change is deployed again.
    const retried = await bed.update({ physicalId: v1.id, props: admin, oldProps: viewer, requestId: 'update-retry' });

    expect(retried.Status).toBe('SUCCESS');
    expect(current().keyRole).toBe('ADMIN');
    expect(bed.world.isLive(current().key)).toBe(true);
  });

  // BUG: lambda/lifecycle.ts onUpdate, the `old.SecretArn !== secretArn` branch (lines 110-116) always mints.
  // Rolling back an Update that moved the credential to a new secret (e.g. a changed secretName) sends
  // OldResourceProperties.SecretArn = new secret, ResourceProperties.SecretArn = original secret, whose
  // AWSCURRENT still holds the original, valid key. Expected (rule 4): restore/keep it, mint nothing, answer the
  // original physical id. Actual: a third key is minted into the original secret and a new physical id is
  // answered; the original key stays live as AWSPREVIOUS of a generation CloudFormation no longer knows.
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
  });

  // BUG (race): lambda/rotation.ts createSecret (lines 87-98) revokes the key behind AWSPREVIOUS but leaves the
  // label on it; lambda/lifecycle.ts onUpdate (lines 133-141) restores AWSPREVIOUS on rollback judging only by
  // generation, definition and expiresAt. If a scheduled rotation's createSecret runs between a key Update and
  // that Update's rollback, AWSPREVIOUS is the rollback target of the other generation: rotation revokes it, and
  // the rollback then makes the revoked key AWSCURRENT (the pending key is revoked by the cleanup Delete, so the
  // rotation fails too). Expected: after the rollback, AWSCURRENT works.
  test('a rotation started between an Update and its rollback does not leave a revoked key as AWSCURRENT', async () => {
    const viewer = keyProps();
    const admin = keyProps({ Role: 'ADMIN' });
    const v1 = await createOrFail(viewer);
    const v2 = (await bed.update({ physicalId: v1.id, props: admin, oldProps: viewer })).PhysicalResourceId;
    expect(await bed.rotate('createSecret', 'eeeeeeee-5555-4555-8555-555555555555')).toBeUndefined();

    const rollback = await bed.update({ physicalId: v2, props: viewer, oldProps: admin });
    await bed.del({ physicalId: v2, props: admin });

    expect(rollback.Status).toBe('SUCCESS');
    expect(current().keyRole).toBe('VIEWER');
    expect(bed.world.isLive(current().key)).toBe(true);
  });
});

describe('the timeout guard\'s fence, second review (each test failed before its fix)', () => {
  // Was: when a secret write landed and no version had been replaced (Create, or a move to a new secret), the fence
  // tried to remove AWSCURRENT, which Secrets Manager refuses; the refusal was taken for "label not here", so
  // AWSCURRENT kept the revoked key, and re-deploying the same change kept it as "already what is asked".
  test('an Update that moved the key to a new secret timed out after its write landed: AWSCURRENT of the new secret holds no revoked key, and re-deploying the change issues a working one', async () => {
    const SECRET_B = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:grafana-credentials/Stack/KeyMoved-MnOpQr';
    bed.world.addSecret(SECRET_B);
    const inA = keyProps();
    const inB = keyProps({ SecretArn: SECRET_B });
    const v1 = await createOrFail(inA);

    await updateGivenUpOn({ physicalId: v1.id, props: inB, oldProps: inA, requestId: 'move-slow' }, 'commits');

    const inSecretB = () => bed.world.secret(SECRET_B).valueAt('AWSCURRENT');
    expect(bed.world.liveKeys(WS)).toEqual([v1.id]);
    expect(inSecretB().key).toBeUndefined(); // a placeholder, not the revoked key
    // No rollback (cdk deploy --no-rollback): the same change again.
    const retried = await bed.update({ physicalId: v1.id, props: inB, oldProps: inA, requestId: 'move-retry' });
    expect(retried.Status).toBe('SUCCESS');
    expect(bed.world.isLive(inSecretB().key)).toBe(true);
  });

  // Was: the fence ran even when revoking the key had failed, so a key that still worked was kept out of every
  // secret version: nothing could find it again (API keys cannot be listed), and it lived until it expired.
  test('an Update whose key could not be revoked when the guard gave up: its late write still lands, and the rollback revokes that key', async () => {
    const viewer = keyProps();
    const admin = keyProps({ Role: 'ADMIN' });
    const v1 = await createOrFail(viewer);
    let grafanaDown = true;
    bed.world.intercept('DeleteWorkspaceApiKey', async () => { if (grafanaDown) throw GrafanaErrors.throttling(); return PASS; });

    await updateGivenUpOn({ physicalId: v1.id, props: admin, oldProps: viewer, requestId: 'update-unrevoked' }, 'arrives late');
    grafanaDown = false;

    const rollback = await bed.update({ physicalId: v1.id, props: viewer, oldProps: admin, requestId: 'rollback-unrevoked' });
    expect(rollback).toMatchObject({ Status: 'SUCCESS', PhysicalResourceId: v1.id });
    expect(current().key).toBe(v1.token);
    // Every key that still works is one the secret records: nothing was orphaned.
    expect(bed.world.liveKeys(WS)).toEqual([v1.id]);
  });

  // Was: a landed write's AWSCURRENT went back to the version the Update had read when it started, even if a
  // rotation had finished since: the rotated key lost its label while it still worked.
  test('a rotation that finished while an abandoned write was on its way: the fence gives AWSCURRENT back to the rotated key', async () => {
    const viewer = keyProps();
    const admin = keyProps({ Role: 'ADMIN' });
    const v1 = await createOrFail(viewer);
    let rotated = '';
    await updateGivenUpOn({ physicalId: v1.id, props: admin, oldProps: viewer, requestId: 'update-during-rotation' }, 'commits', async () => {
      for (const step of ['createSecret', 'setSecret', 'testSecret', 'finishSecret']) {
        expect(await bed.rotate(step, '44444444-dddd-4ddd-8ddd-dddddddddddd')).toBeUndefined();
      }
      rotated = current().key;
    });

    expect(rotated).not.toBe(v1.token);
    expect(current().key).toBe(rotated);
    expect(bed.world.isLive(rotated)).toBe(true);
  });
});

describe('a rotation that finishes while an Update mints (failed before its fix)', () => {
  // Was: the Update read AWSCURRENT (key A), then a rotation moved AWSCURRENT to key B (A became AWSPREVIOUS),
  // then the Update's PutSecretValue moved AWSCURRENT to its key C and AWSPREVIOUS to B: A's version lost its
  // last label while A still worked. Nothing reads an unlabelled version, so not even the cleanup Delete found
  // A: it stayed valid, in no secret, until it expired.
  test('the key the rotation demoted is revoked; after cleanup only the Update\'s key works', async () => {
    const viewer = keyProps();
    const admin = keyProps({ Role: 'ADMIN' });
    const v1 = await createOrFail(viewer);
    for (const step of ['createSecret', 'setSecret', 'testSecret', 'finishSecret']) expect(await bed.rotate(step, '66666666-aaaa-4aaa-8aaa-666666666666')).toBeUndefined();
    const keyA = current().keyName as string;

    let keyB = '';
    bed.world.intercept('PutSecretValue', async (_input, proceed) => {
      for (const step of ['createSecret', 'setSecret', 'testSecret', 'finishSecret']) expect(await bed.rotate(step, '77777777-bbbb-4bbb-8bbb-777777777777')).toBeUndefined();
      keyB = current().keyName;
      return proceed();
    }, 1);
    const answer = await bed.update({ physicalId: v1.id, props: admin, oldProps: viewer, requestId: 'update-during-rotation' });
    expect(answer.Status).toBe('SUCCESS');
    expect(current().keyRole).toBe('ADMIN');
    expect(keyB).not.toBe(keyA);
    expect(bed.world.liveKeys(WS)).not.toContain(keyA);

    const cleanup = await bed.del({ physicalId: v1.id, props: admin });
    expect(cleanup.Status).toBe('SUCCESS');
    expect(bed.world.liveKeys(WS)).toEqual([current().keyName]);
  });
});

// Was: the rotation's promotion moved AWSPREVIOUS off the key the Update had replaced (another generation, kept for
// CloudFormation's cleanup or rollback); nothing reads an unlabelled version, so neither found it again and it
// stayed valid until it expired. Now createSecret records it and finishSecret revokes it after the promotion.
describe('two rotations that finish while one Update mints (failed before its fix)', () => {
  test('the key between them, which lost its label, is revoked; after cleanup only the Update\'s key works', async () => {
    const viewer = keyProps();
    const admin = keyProps({ Role: 'ADMIN' });
    const v1 = await createOrFail(viewer);
    bed.world.intercept('PutSecretValue', async (_input, proceed) => {
      for (const token of ['12121212-aaaa-4aaa-8aaa-121212121212', '34343434-bbbb-4bbb-8bbb-343434343434']) {
        for (const step of ['createSecret', 'setSecret', 'testSecret', 'finishSecret']) expect(await bed.rotate(step, token)).toBeUndefined();
      }
      return proceed();
    }, 1);
    expect((await bed.update({ physicalId: v1.id, props: admin, oldProps: viewer, requestId: 'update-during-two-rotations' })).Status).toBe('SUCCESS');
    await bed.del({ physicalId: v1.id, props: admin });
    expect(bed.world.liveKeys(WS)).toEqual([current().keyName]);
    expect(current().keyRole).toBe('ADMIN');
  });
});

describe('a whole rotation between an Update and CloudFormation\'s cleanup or rollback (failed before its fix)', () => {

  test('update succeeds: after cleanup only the rotated key and the one it replaced work', async () => {
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

  test('when finishSecret cannot revoke the displaced key, the promotion still stands and the next rotation revokes it', async () => {
    const { viewer, v1, replaced } = await updatedToAdmin('update-then-flaky-finish');
    const token = 'aaaaaaaa-eeee-4eee-8eee-aaaaaaaaaaaa';
    for (const step of ['createSecret', 'setSecret', 'testSecret']) expect(await bed.rotate(step, token)).toBeUndefined();
    let grafanaDown = true;
    bed.world.intercept('DeleteWorkspaceApiKey', async () => { if (grafanaDown) throw GrafanaErrors.throttling(); return PASS; });

    expect(await bed.rotate('finishSecret', token)).toBeUndefined();
    expect(bed.world.secret(SECRET_ARN).labels()[token]).toContain('AWSCURRENT');
    expect(bed.world.liveKeys(WS)).toContain(replaced);
    expect(bed.logs.some((l) => l.includes('could not revoke') && l.includes(replaced))).toBe(true);

    // Grafana is back; the next rotation (a new token: the last one completed) finds the obligation in AWSCURRENT.
    grafanaDown = false;
    await rotateAll('bbbbbbbb-ffff-4fff-8fff-bbbbbbbbbbbb');
    expect(bed.world.liveKeys(WS)).not.toContain(replaced);
    await bed.del({ physicalId: v1.id, props: viewer });
    expect(bed.world.liveKeys(WS)).toHaveLength(2);
  });

  test('...or, if the update is rolled back first, the rollback revokes it', async () => {
    const { viewer, admin, replaced, v2 } = await updatedToAdmin('update-flaky-rollback');
    const token = 'cccccccc-aaaa-4aaa-8aaa-cccccccccccc';
    for (const step of ['createSecret', 'setSecret', 'testSecret']) expect(await bed.rotate(step, token)).toBeUndefined();
    let grafanaDown = true;
    bed.world.intercept('DeleteWorkspaceApiKey', async () => { if (grafanaDown) throw GrafanaErrors.throttling(); return PASS; });
    expect(await bed.rotate('finishSecret', token)).toBeUndefined();
    grafanaDown = false;

    expect((await bed.update({ physicalId: v2, props: viewer, oldProps: admin, requestId: 'rollback-flaky' })).Status).toBe('SUCCESS');
    await bed.del({ physicalId: v2, props: admin });
    expect(bed.world.liveKeys(WS)).not.toContain(replaced);
    expect(bed.world.liveKeys(WS)).toEqual([current().keyName]);
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
    expect(bed.world.isLive(current().key)).toBe(true);
  });

  test('update rolled back: AWSCURRENT works with the old role, and after cleanup nothing else is left', async () => {
    const viewer = keyProps();
    const admin = keyProps({ Role: 'ADMIN' });
    const v1 = await createOrFail(viewer);
    const v2 = (await bed.update({ physicalId: v1.id, props: admin, oldProps: viewer, requestId: 'update-rotate-rollback' })).PhysicalResourceId;
    await rotateAll('99999999-dddd-4ddd-8ddd-999999999999');

    const rollback = await bed.update({ physicalId: v2, props: viewer, oldProps: admin, requestId: 'rollback-after-rotation' });
    const cleanup = await bed.del({ physicalId: v2, props: admin });
    expect(rollback.Status).toBe('SUCCESS');
    expect(cleanup.Status).toBe('SUCCESS');
    expect(current().keyRole).toBe('VIEWER');
    expect(bed.world.isLive(current().key)).toBe(true);
    expect(bed.world.liveKeys(WS)).toEqual([current().keyName]);
  });
});

describe('races found by the second review (each test failed before its fix)', () => {
  const liveNames = () => bed.world.liveKeys(WS);

  test('a displaced key that can never be revoked does not block the next rotation or the stack delete', async () => {
    const { admin, replaced } = await updatedToAdmin('update-denied-cleanup');
    // From now on Grafana refuses to delete the replaced key (say the role lost access to its workspace).
    bed.world.intercept('DeleteWorkspaceApiKey', async (input, proceed) => {
      if ((input as { keyName?: string }).keyName === replaced) throw GrafanaErrors.accessDenied('not authorized');
      return proceed();
    });
    await rotateAll('56565656-aaaa-4aaa-8aaa-565656565656');
    await rotateAll('78787878-bbbb-4bbb-8bbb-787878787878');
    expect(current().keyRole).toBe('ADMIN');
    // The obligation travels with the rotated versions, and the failure is logged each time.
    expect(JSON.parse(bed.world.secret(SECRET_ARN).versions.get('78787878-bbbb-4bbb-8bbb-787878787878')!.value!).lifecycle.displaces.fields.keyName).toBe(replaced);
    expect(bed.logs.filter((l) => l.includes('could not revoke') && l.includes(replaced)).length).toBeGreaterThanOrEqual(2);
    const deleted = await bed.del({ physicalId: (await bed.world.secret(SECRET_ARN).valueAt('AWSCURRENT')).lifecycle.generation, props: admin });
    expect(deleted.Status).toBe('SUCCESS');
    expect(liveNames()).toEqual([replaced]);
  });

  test('an Update raced by two rotations whose own check then fails: the rollback revokes the key between them', async () => {
    const viewer = keyProps();
    const admin = keyProps({ Role: 'ADMIN' });
    const v1 = await createOrFail(viewer);
    await rotateAll('13131313-aaaa-4aaa-8aaa-131313131313');
    let grafanaDown = false;
    bed.world.intercept('PutSecretValue', async (_input, proceed) => {
      await rotateAll('24242424-bbbb-4bbb-8bbb-242424242424');
      const out = await proceed();
      grafanaDown = true; // the Update's check after its write cannot revoke
      return out;
    }, 1);
    bed.world.intercept('DeleteWorkspaceApiKey', async (_input, proceed) => { if (grafanaDown) throw GrafanaErrors.throttling(); return proceed(); });
    const failed = await bed.update({ physicalId: v1.id, props: admin, oldProps: viewer, requestId: 'update-check-fails' });
    expect(failed.Status).toBe('FAILED');
    grafanaDown = false;

    const rollback = await bed.update({ physicalId: v1.id, props: viewer, oldProps: admin, requestId: 'rollback-after-failed-check' });
    expect(rollback.Status).toBe('SUCCESS');
    expect(current().keyRole).toBe('VIEWER');
    expect(liveNames()).toEqual([current().keyName]);
  });

  test('a timeout guard that fences an Update raced by a rotation: the rollback revokes the key the write pushed off', async () => {
    const viewer = keyProps();
    const admin = keyProps({ Role: 'ADMIN' });
    const v1 = await createOrFail(viewer);
    await rotateAll('35353535-cccc-4ccc-8ccc-353535353535');
    // The write lands, then the process is frozen for good: only the guard's fence runs, never the Update's own check.
    bed.world.intercept('PutSecretValue', async (_input, proceed) => {
      await rotateAll('46464646-dddd-4ddd-8ddd-464646464646');
      await proceed();
      return new Promise(() => undefined);
    }, 1);
    const failed = await bed.update({ physicalId: v1.id, props: admin, oldProps: viewer, requestId: 'update-fenced-after-race', remainingMs: 3000 });
    expect(failed.Status).toBe('FAILED');
    await settle();

    const rollback = await bed.update({ physicalId: v1.id, props: viewer, oldProps: admin, requestId: 'rollback-after-fence' });
    expect(rollback.Status).toBe('SUCCESS');
    expect(current().keyRole).toBe('VIEWER');
    expect(bed.world.isLive(current().key)).toBe(true);
    expect(liveNames()).toEqual([current().keyName]);
  });
});
