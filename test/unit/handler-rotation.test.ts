/**
 * The four Secrets Manager rotation steps through the Lambda entry point,
 * against an in-memory Grafana and Secrets Manager, with testSecret verifying
 * against a local stand-in of the workspace's HTTP API (GET /api/org).
 */
import { createHash } from 'crypto';
import { keyProps, PREFIX, SECRET_ARN, STACK_ID, useBed, WS } from './helpers/bed';
import { HttpsWorkspace, startHttpsWorkspace } from './helpers/https-workspace';

/** Stand-in of the workspace HTTP API: 200 on /api/org for a key that is live in the fake Grafana, else 401. */
let grafanaHttp: HttpsWorkspace;
const seen: Array<{ method?: string; url?: string; token: string }> = [];
let rejectEverything = false;

beforeAll(async () => {
  grafanaHttp = await startHttpsWorkspace((req, res) => {
    const token = (req.headers.authorization ?? '').replace(/^Bearer /, '');
    seen.push({ method: req.method, url: req.url, token });
    const ok = req.method === 'GET' && req.url === '/api/org' && !rejectEverything && bed.world.isLive(token);
    res.writeHead(ok ? 200 : 401, { 'content-type': 'application/json' }).end(ok ? '{"id":1,"name":"Main Org."}' : '{"message":"Unauthorized"}');
  });
});
afterAll(() => grafanaHttp.close());
const bed = useBed();
// The workspace's endpoint, as DescribeWorkspace reports it, is the local https stand-in.
beforeEach(() => { seen.length = 0; rejectEverything = false; bed.world.workspaces.get(WS)!.endpoint = grafanaHttp.host; });

const T1 = '11111111-aaaa-4aaa-8aaa-aaaaaaaaaaaa';
const T2 = '22222222-bbbb-4bbb-8bbb-bbbbbbbbbbbb';
const T3 = '33333333-cccc-4ccc-8ccc-cccccccccccc';
const hex10 = (seed: string) => createHash('sha256').update(seed).digest('hex').slice(0, 10);
/** The deployed generation (from stack and logical id); rotation cycles its credentials through three slots. */
const GEN = hex10(`create:${STACK_ID}/ApiKey1A2B3C4D`);
const slotName = (slot: number) => `${PREFIX}-${slot === 0 ? GEN : hex10(`${GEN}:${slot}`)}`;
/** The key each rotation of a fresh deployment issues: T1 into slot 1, T2 into slot 2, T3 into slot 0 again. */
const nameFor = (token: string) => slotName({ [T1]: 1, [T2]: 2, [T3]: 0 }[token]!);
const secret = () => bed.world.secret(SECRET_ARN);
const stageOf = (versionId: string) => secret().labels()[versionId] ?? [];

async function deploy(): Promise<{ id: string; versionId: string; token: string }> {
  const answer = await bed.create({ requestId: 'create-1', props: keyProps() });
  expect(answer.Status).toBe('SUCCESS');
  const v = secret().holderOf('AWSCURRENT')!;
  return { id: answer.PhysicalResourceId, versionId: v.id, token: JSON.parse(v.value!).key };
}

async function rotateFully(token: string): Promise<void> {
  for (const step of ['createSecret', 'setSecret', 'testSecret', 'finishSecret']) {
    const err = await bed.rotate(step, token);
    if (err) throw err;
  }
}

describe('createSecret', () => {
  test('issues the key of the slot after the one AWSCURRENT holds and stores it under the ClientRequestToken as AWSPENDING; AWSCURRENT is untouched', async () => {
    const deployed = await deploy();
    bed.world.resetCalls();

    expect(await bed.rotate('createSecret', T1)).toBeUndefined();

    expect(bed.world.inputs('CreateWorkspaceApiKey')).toEqual([{ workspaceId: WS, keyName: nameFor(T1), keyRole: 'VIEWER', secondsToLive: 86400 }]);
    // Its slot's label and the next slot's (where the next rotation issues) go with it.
    expect(bed.world.inputs('PutSecretValue')).toEqual([expect.objectContaining({ SecretId: SECRET_ARN, ClientRequestToken: T1, VersionStages: [`OWN-${GEN}-1`, `OWN-${GEN}-2`, 'AWSPENDING'] })]);
    expect(stageOf(T1)).toEqual(['AWSPENDING', `OWN-${GEN}-1`, `OWN-${GEN}-2`]);
    expect(secret().valueAt('AWSPENDING')).toMatchObject({ keyName: nameFor(T1), keyRole: 'VIEWER', workspaceId: WS });
    expect(secret().valueAt('AWSCURRENT').key).toBe(deployed.token);
    expect(bed.world.liveKeys(WS)).toEqual([deployed.id, nameFor(T1)].sort());
  });

  test('revokes the key behind AWSPREVIOUS before issuing the new one', async () => {
    const deployed = await deploy();
    await rotateFully(T1); // deployed key is now AWSPREVIOUS
    expect(stageOf(deployed.versionId)).toContain('AWSPREVIOUS');
    bed.world.resetCalls();

    expect(await bed.rotate('createSecret', T2)).toBeUndefined();

    const ops = bed.world.ops();
    expect(bed.world.inputs('DeleteWorkspaceApiKey')).toEqual([{ workspaceId: WS, keyName: deployed.id }]);
    expect(ops.indexOf('DeleteWorkspaceApiKey')).toBeLessThan(ops.indexOf('CreateWorkspaceApiKey'));
    expect(bed.world.liveKeys(WS)).toEqual([nameFor(T1), nameFor(T2)].sort());
  });

  test('a repeated createSecret for the same token does not mint a second key', async () => {
    await deploy();
    expect(await bed.rotate('createSecret', T1)).toBeUndefined();
    const pending = secret().valueAt('AWSPENDING').key;
    bed.world.resetCalls();

    expect(await bed.rotate('createSecret', T1)).toBeUndefined();

    expect(bed.world.count('PutSecretValue')).toBe(0);
    expect(bed.world.inputs('DeleteWorkspaceApiKey').map((i) => i.keyName)).not.toContain(nameFor(T1));
    expect(secret().valueAt('AWSPENDING').key).toBe(pending);
    expect(bed.world.isLive(pending)).toBe(true);
    expect(bed.world.liveKeys(WS)).toHaveLength(2);
  });

  test('an AWSPENDING left by an abandoned rotation (another token) is revoked and unlabelled before the new key is issued', async () => {
    await deploy();
    expect(await bed.rotate('createSecret', T1)).toBeUndefined(); // abandoned: never tested nor finished
    const abandoned = secret().valueAt('AWSPENDING');

    expect(await bed.rotate('createSecret', T2)).toBeUndefined();

    expect(bed.world.isLive(abandoned.key)).toBe(false);
    expect(stageOf(T1)).toEqual([]);
    expect(stageOf(T2)).toContain('AWSPENDING');
    expect(bed.world.liveKeys(WS)).toHaveLength(2);
  });

  test('a createSecret for a step already finished does nothing', async () => {
    await deploy();
    await rotateFully(T1);
    bed.world.resetCalls();

    expect(await bed.rotate('createSecret', T1)).toBeUndefined();
    expect(bed.world.grafanaCalls()).toEqual([]);
  });
});

describe('testSecret', () => {
  test('verifies the pending key with GET https://{workspace endpoint}/api/org', async () => {
    await deploy();
    expect(await bed.rotate('createSecret', T1)).toBeUndefined();
    const pending = secret().valueAt('AWSPENDING').key;

    expect(await bed.rotate('testSecret', T1)).toBeUndefined();

    expect(seen).toEqual([{ method: 'GET', url: '/api/org', token: pending }]);
  });

  test('a 401 fails the step with an error naming step and secret (never the token), discards the pending key, and leaves AWSCURRENT alone', async () => {
    const deployed = await deploy();
    expect(await bed.rotate('createSecret', T1)).toBeUndefined();
    const pending = secret().valueAt('AWSPENDING').key;
    rejectEverything = true;

    const err = await bed.rotate('testSecret', T1);

    expect(err).toBeInstanceOf(Error);
    expect(err!.message).toContain(`Rotation step testSecret of secret ${SECRET_ARN} failed`);
    expect(err!.message).toMatch(/HTTP 401/);
    expect(err!.message).not.toContain(pending);
    expect(bed.world.isLive(pending)).toBe(false);
    expect(stageOf(T1)).not.toContain('AWSPENDING');
    expect(secret().valueAt('AWSCURRENT').key).toBe(deployed.token);
    expect(bed.world.isLive(deployed.token)).toBe(true);
  });
});

describe('finishSecret', () => {
  test('moves AWSCURRENT to the new version (RemoveFromVersionId = the old current); the old key stays valid as AWSPREVIOUS', async () => {
    const deployed = await deploy();
    for (const step of ['createSecret', 'setSecret', 'testSecret']) expect(await bed.rotate(step, T1)).toBeUndefined();
    bed.world.resetCalls();

    expect(await bed.rotate('finishSecret', T1)).toBeUndefined();

    expect(bed.world.inputs('UpdateSecretVersionStage')).toEqual([
      { SecretId: SECRET_ARN, VersionStage: 'AWSCURRENT', MoveToVersionId: T1, RemoveFromVersionId: deployed.versionId },
    ]);
    expect(stageOf(T1)).toContain('AWSCURRENT');
    expect(stageOf(deployed.versionId)).toContain('AWSPREVIOUS');
    expect(bed.world.isLive(secret().valueAt('AWSCURRENT').key)).toBe(true);
    expect(bed.world.isLive(deployed.token)).toBe(true);
    expect(bed.world.grafanaCalls()).toEqual([]);
  });

  test('when AWSCURRENT is no longer the version the rotation started from, the pending key is not promoted, and the cleanup of its generation revokes it', async () => {
    const deployed = await deploy();
    for (const step of ['createSecret', 'setSecret', 'testSecret']) expect(await bed.rotate(step, T1)).toBeUndefined();
    const pending = secret().valueAt('AWSPENDING').key;
    // Meanwhile the stack reissues the key (role change): AWSCURRENT moves under the rotation.
    const updated = await bed.update({ physicalId: deployed.id, props: keyProps({ Role: 'ADMIN' }), oldProps: keyProps() });
    const stackKey = secret().valueAt('AWSCURRENT');
    expect(stackKey.keyName).toBe(updated.PhysicalResourceId);

    expect(await bed.rotate('finishSecret', T1)).toBeUndefined();

    expect(secret().valueAt('AWSCURRENT').key).toBe(stackKey.key);
    expect(stageOf(T1).filter((l) => l.startsWith('AWS'))).toEqual([]);
    // Off AWSPENDING but on the ledger: CloudFormation's cleanup of the replaced generation revokes it.
    expect(stageOf(T1)).toContain(`OWN-${GEN}-1`);
    expect(await bed.del({ physicalId: deployed.id, props: keyProps() })).toMatchObject({ Status: 'SUCCESS' });
    expect(bed.world.isLive(pending)).toBe(false);
    expect(bed.world.isLive(stackKey.key)).toBe(true);
  });

  test('a retried finishSecret after success changes nothing', async () => {
    await deploy();
    await rotateFully(T1);
    const before = JSON.stringify(secret().labels());
    bed.world.resetCalls();

    expect(await bed.rotate('finishSecret', T1)).toBeUndefined();
    expect(JSON.stringify(secret().labels())).toBe(before);
    expect(bed.world.grafanaCalls()).toEqual([]);
  });
});

describe('rotation over time', () => {
  test('three full rotations keep exactly two live keys: AWSCURRENT and AWSPREVIOUS', async () => {
    const deployed = await deploy();
    for (const token of [T1, T2, T3]) {
      await rotateFully(token);
      const cur = secret().valueAt('AWSCURRENT');
      const prev = secret().valueAt('AWSPREVIOUS');
      expect(cur.keyName).toBe(nameFor(token));
      expect(bed.world.liveKeys(WS)).toEqual([cur.keyName, prev.keyName].sort());
    }
    // The physical id (generation) is unchanged by rotation: a no-op Update keeps it and touches nothing.
    bed.world.resetCalls();
    const answer = await bed.update({ physicalId: deployed.id, props: keyProps({ ServiceToken: 'arn:new' }), oldProps: keyProps() });
    expect(answer).toMatchObject({ Status: 'SUCCESS', PhysicalResourceId: deployed.id });
    expect(bed.world.calls).toEqual([]);
    // And a stack Delete of that generation revokes both rotated keys.
    expect(await bed.del({ physicalId: deployed.id })).toMatchObject({ Status: 'SUCCESS' });
    expect(bed.world.liveKeys(WS)).toEqual([]);
  });

  test('a rotation event for a secret that does not exist fails naming step and secret', async () => {
    const missing = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:missing-AbCdEf';
    const err = await bed.rotate('createSecret', T1, missing);
    expect(err?.message).toBe(`Rotation step createSecret of secret ${missing} failed: the secret does not exist or has no AWSCURRENT`);
  });
});
