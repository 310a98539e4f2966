/**
 * Create and Delete through the Lambda entry point (lambda/index.ts), answered
 * to a local ResponseURL, against an in-memory Grafana and Secrets Manager.
 */
import { createHash } from 'crypto';
import { GrafanaErrors, PASS, SecretsErrors } from './helpers/fake-aws';
import { keyProps, parsedLogs, PREFIX, SECRET_ARN, STACK_ID, useBed, WS } from './helpers/bed';

const FAILED_CREATE_ID = 'grafana-credentials-create-failed';
/** The naming contract: prefix, '-', the first 10 hex digits of sha256(seed). */
const nameFor = (seed: string, prefix = PREFIX) => `${prefix}-${createHash('sha256').update(seed).digest('hex').slice(0, 10)}`;
/** A Create's generation is derived from what its rollback Delete also carries: the stack id and the logical id. */
const CREATE_GEN = createHash('sha256').update(`create:${STACK_ID}/ApiKey1A2B3C4D`).digest('hex').slice(0, 10);
const CREATED = `${PREFIX}-${CREATE_GEN}`;
/** The name of the generation's slot 1, the one its first rotation issues into. */
const SLOT_1 = nameFor(`${CREATE_GEN}:1`);
const onlyTheKeyWrite = (error: Error) => (input: any) => { if (input.VersionStages.includes('AWSCURRENT')) throw error; return PASS; };

const bed = useBed();

describe('Create', () => {
  test('records its intent, issues one key with the requested role and lifetime and stores it as AWSCURRENT, in exactly 3 AWS calls', async () => {
    const before = Date.now();
    const answer = await bed.create({ requestId: 'create-req-1', props: keyProps({ Role: 'EDITOR', SecondsToLive: '3600' }) });

    expect(answer.Status).toBe('SUCCESS');
    expect(bed.world.ops()).toEqual(['PutSecretValue', 'CreateWorkspaceApiKey', 'PutSecretValue']);
    expect(bed.world.inputs('CreateWorkspaceApiKey')).toEqual([{ workspaceId: WS, keyName: CREATED, keyRole: 'EDITOR', secondsToLive: 3600 }]);

    const secret = bed.world.secret(SECRET_ARN);
    const [intent, put] = bed.world.inputs('PutSecretValue');
    // The intent holds no token, only what is needed to revoke by name, under the labels the key will have.
    expect(JSON.parse(intent.SecretString)).toEqual({ intent: expect.objectContaining({ generation: CREATED }) });
    expect(intent.VersionStages).toEqual([`OWN-${CREATE_GEN}-0`, `OWN-${CREATE_GEN}-1`]);
    // Its slot's label, and the next slot's (where the first rotation issues), move to the key.
    expect(put).toMatchObject({ SecretId: SECRET_ARN, VersionStages: [`OWN-${CREATE_GEN}-0`, `OWN-${CREATE_GEN}-1`, 'AWSCURRENT'] });
    // Secrets Manager made the intent, the secret's first version, AWSCURRENT; the key's write leaves it AWSPREVIOUS.
    expect(secret.labels()).toEqual({ [put.ClientRequestToken]: ['AWSCURRENT', `OWN-${CREATE_GEN}-0`, `OWN-${CREATE_GEN}-1`], [intent.ClientRequestToken]: ['AWSPREVIOUS'] });
    const stored = secret.valueAt('AWSCURRENT');
    expect(stored).toMatchObject({ keyName: CREATED, keyRole: 'EDITOR', workspaceId: WS });
    // The token in the secret is the one Grafana issued, and it works.
    expect(bed.world.isLive(stored.key)).toBe(true);
    expect(bed.world.liveKeys(WS)).toEqual([CREATED]);
    const expires = Date.parse(stored.expiresAt);
    expect(expires).toBeGreaterThanOrEqual(before + 3600_000 - 1000);
    expect(expires).toBeLessThanOrEqual(Date.now() + 3600_000 + 1000);
  });

  test('the answer carries no token: physical id is the key name, Data holds CredentialName and SecretArn only', async () => {
    const answer = await bed.create({ requestId: 'create-req-2' });
    const token = bed.world.secret(SECRET_ARN).valueAt().key as string;

    expect(answer).toEqual({
      Status: 'SUCCESS',
      PhysicalResourceId: CREATED,
      StackId: STACK_ID,
      RequestId: 'create-req-2',
      LogicalResourceId: 'ApiKey1A2B3C4D',
      NoEcho: true,
      Data: { CredentialName: CREATED, SecretArn: SECRET_ARN },
    });
    expect(bed.bodies[0]).not.toContain(token);
    // The leak check after each test only means something if the handler's logs were captured.
    expect(parsedLogs(bed).some((l) => l.message === 'created API key' && l.credentialName === CREATED)).toBe(true);
  });

  test.each([
    ['ResourceNotFoundException', () => bed.world.workspaces.clear(), /Workspace g-0a1b2c3d4e or the resource was not found \(ResourceNotFoundException/],
    ['AccessDeniedException', () => bed.world.fail('CreateWorkspaceApiKey', GrafanaErrors.accessDenied()), /in workspace g-0a1b2c3d4e failed \(AccessDeniedException: User is not authorized/],
    ['ServiceQuotaExceededException', () => bed.world.fail('CreateWorkspaceApiKey', GrafanaErrors.quota()), /in workspace g-0a1b2c3d4e failed \(ServiceQuotaExceededException: You have reached/],
  ])('%s: FAILED with the create-failed id and a reason naming workspace and cause; the Delete that follows makes no AWS call', async (_name, arrange, reason) => {
    arrange();
    const answer = await bed.create();

    expect(answer).toMatchObject({ Status: 'FAILED', PhysicalResourceId: FAILED_CREATE_ID });
    expect(answer.Reason).toMatch(reason);
    expect(answer.Data).toBeUndefined();
    expect(bed.world.secret(SECRET_ARN).valueAt('AWSCURRENT')?.key).toBeUndefined();
    expect(bed.world.liveKeys(WS)).toEqual([]);

    bed.world.resetCalls();
    const deleted = await bed.del({ physicalId: answer.PhysicalResourceId });
    expect(deleted).toMatchObject({ Status: 'SUCCESS', PhysicalResourceId: FAILED_CREATE_ID });
    expect(bed.world.calls).toEqual([]);
  });

  test('a PutSecretValue failure after the key was created revokes the key before answering FAILED', async () => {
    bed.world.intercept('PutSecretValue', onlyTheKeyWrite(SecretsErrors.accessDenied()));
    let liveWhenAnswered: string[] | undefined;
    bed.onAnswer = () => { liveWhenAnswered = bed.world.liveKeys(WS); };

    const answer = await bed.create({ requestId: 'create-req-3' });

    expect(answer).toMatchObject({ Status: 'FAILED', PhysicalResourceId: FAILED_CREATE_ID });
    expect(answer.Reason).toContain(`Storing API key ${CREATED} in secret ${SECRET_ARN} failed`);
    expect(answer.Reason).toMatch(/AccessDeniedException.*the API key was revoked/);
    expect(bed.world.ops()).toEqual(['PutSecretValue', 'CreateWorkspaceApiKey', 'PutSecretValue', 'DeleteWorkspaceApiKey']);
    expect(bed.world.inputs('DeleteWorkspaceApiKey')).toEqual([{ workspaceId: WS, keyName: CREATED }]);
    expect(liveWhenAnswered).toEqual([]);
  });

  test('duplicate delivery of the same Create: the second finds the stored version and answers the same id without a second key', async () => {
    const first = await bed.create({ requestId: 'dup-req' });
    const token = bed.world.secret(SECRET_ARN).valueAt().key;
    bed.world.resetCalls();

    const second = await bed.create({ requestId: 'dup-req' });

    expect(second).toMatchObject({ Status: 'SUCCESS', PhysicalResourceId: first.PhysicalResourceId, Data: first.Data });
    // The intent again (a no-op), ConflictException, then the stored version.
    expect(bed.world.ops()).toEqual(['PutSecretValue', 'CreateWorkspaceApiKey', 'GetSecretValue']);
    expect(bed.world.liveKeys(WS)).toEqual([first.PhysicalResourceId]);
    const secret = bed.world.secret(SECRET_ARN);
    expect(secret.versions.size).toBe(2); // the intent and the key
    expect(secret.valueAt().key).toBe(token);
    expect(bed.world.isLive(token)).toBe(true);
  });

  test('a retried Create whose key exists but was never stored (crash between issue and store) replaces that key', async () => {
    const orphan = bed.world.seedKey(WS, CREATED);
    const answer = await bed.create({ requestId: 'crash-req' });

    expect(answer).toMatchObject({ Status: 'SUCCESS', PhysicalResourceId: CREATED });
    expect(bed.world.ops()).toEqual(['PutSecretValue', 'CreateWorkspaceApiKey', 'GetSecretValue', 'DeleteWorkspaceApiKey', 'CreateWorkspaceApiKey', 'PutSecretValue']);
    expect(bed.world.isLive(orphan.token)).toBe(false);
    const stored = bed.world.secret(SECRET_ARN).valueAt().key;
    expect(stored).not.toBe(orphan.token);
    expect(bed.world.isLive(stored)).toBe(true);
  });

  test('ValidationException on a Grafana 11 workspace: FAILED, reason says Grafana 11 has no API keys and names WorkspaceServiceAccountToken', async () => {
    bed.world.workspaces.get(WS)!.grafanaVersion = '11.0';
    const answer = await bed.create();

    expect(answer).toMatchObject({ Status: 'FAILED', PhysicalResourceId: FAILED_CREATE_ID });
    expect(answer.Reason).toMatch(/Workspace g-0a1b2c3d4e runs Grafana 11\.0, which has no API keys/);
    expect(answer.Reason).toContain('WorkspaceServiceAccountToken');
    expect(bed.world.inputs('DescribeWorkspace')).toEqual([{ workspaceId: WS }]);
    expect(bed.world.secret(SECRET_ARN).valueAt('AWSCURRENT')?.key).toBeUndefined();
    expect(bed.world.liveKeys(WS)).toEqual([]);
  });

  test('ValidationException on Grafana 10 is reported as such, without the Grafana 11 advice', async () => {
    bed.world.fail('CreateWorkspaceApiKey', GrafanaErrors.validation('secondsToLive is out of range'));
    const answer = await bed.create();

    expect(answer.Status).toBe('FAILED');
    expect(answer.Reason).toMatch(/ValidationException: secondsToLive is out of range/);
    expect(answer.Reason).not.toContain('WorkspaceServiceAccountToken');
  });

  test('invalid properties are refused with a reason naming the property, before any AWS call', async () => {
    const answer = await bed.create({ props: keyProps({ Role: 'OWNER' }) });

    expect(answer).toMatchObject({ Status: 'FAILED', PhysicalResourceId: FAILED_CREATE_ID });
    expect(answer.Reason).toMatch(/Role 'OWNER' is not one of ADMIN, EDITOR, VIEWER/);
    expect(bed.world.calls).toEqual([]);
  });
});

describe('Delete', () => {
  const ROTATION_1 = 'aaaaaaaa-1111-4111-8111-111111111111';
  const ROTATION_2 = 'bbbbbbbb-2222-4222-8222-222222222222';

  /** Create, one finished rotation, and a second rotation left pending: AWSCURRENT, AWSPREVIOUS and AWSPENDING all hold keys. */
  async function deployAndRotate(): Promise<string> {
    const created = await bed.create({ requestId: 'create-for-delete' });
    for (const step of ['createSecret', 'setSecret', 'testSecret', 'finishSecret']) expect(await bed.rotate(step, ROTATION_1)).toBeUndefined();
    expect(await bed.rotate('createSecret', ROTATION_2)).toBeUndefined();
    return created.PhysicalResourceId;
  }

  test('revokes every key on the ledger (AWSCURRENT and a pending rotation\'s) and answers SUCCESS with the same id', async () => {
    const id = await deployAndRotate();
    const secret = bed.world.secret(SECRET_ARN);
    expect(Object.values(secret.labels()).flat().filter((l) => l.startsWith('AWS')).sort()).toEqual(['AWSCURRENT', 'AWSPENDING', 'AWSPREVIOUS']);
    const live = bed.world.liveKeys(WS);
    expect(live).toEqual([secret.valueAt('AWSCURRENT').keyName, secret.valueAt('AWSPENDING').keyName].sort());
    bed.world.resetCalls();

    const answer = await bed.del({ physicalId: id });

    expect(answer).toMatchObject({ Status: 'SUCCESS', PhysicalResourceId: id });
    expect(bed.world.inputs('DeleteWorkspaceApiKey').map((i) => i.keyName)).toEqual(expect.arrayContaining(live));
    expect(bed.world.liveKeys(WS)).toEqual([]);
  });

  test('one key: DescribeSecret and a revoke for each of the two names on the ledger, 3 calls', async () => {
    const id = await bed.create().then((a) => a.PhysicalResourceId);
    bed.world.resetCalls();

    expect(await bed.del({ physicalId: id })).toMatchObject({ Status: 'SUCCESS' });
    expect(bed.world.ops()).toEqual(['DescribeSecret', 'DeleteWorkspaceApiKey', 'DeleteWorkspaceApiKey']);
    expect(bed.world.inputs('DeleteWorkspaceApiKey').map((i) => i.keyName)).toEqual([CREATED, SLOT_1]);
  });

  test('a key that is already gone (ResourceNotFoundException) counts as deleted', async () => {
    const id = await bed.create({ requestId: 'create-gone' }).then((a) => a.PhysicalResourceId);
    bed.world.workspaces.get(WS)!.keys.delete(id); // deleted by hand

    const answer = await bed.del({ physicalId: id });

    expect(answer).toMatchObject({ Status: 'SUCCESS', PhysicalResourceId: id });
    expect(bed.world.inputs('DeleteWorkspaceApiKey')).toContainEqual({ workspaceId: WS, keyName: id });
  });

  test('a workspace that is already gone counts as deleted too', async () => {
    const id = await bed.create({ requestId: 'create-ws-gone' }).then((a) => a.PhysicalResourceId);
    bed.world.workspaces.clear();

    const answer = await bed.del({ physicalId: id });
    expect(answer).toMatchObject({ Status: 'SUCCESS', PhysicalResourceId: id });
  });

  test('a secret deleted without recovery (out of band): every name the generation can have is revoked; no key is left', async () => {
    const id = await deployAndRotate();
    bed.world.secrets.delete(SECRET_ARN);
    bed.world.resetCalls();

    const answer = await bed.del({ physicalId: id });

    expect(answer).toMatchObject({ Status: 'SUCCESS', PhysicalResourceId: id });
    expect(bed.world.ops()).toEqual(['DescribeSecret', 'DeleteWorkspaceApiKey', 'DeleteWorkspaceApiKey', 'DeleteWorkspaceApiKey']);
    expect(bed.world.liveKeys(WS)).toEqual([]);
  });

  test('a secret scheduled for deletion (out of band): the names on its labels are revoked without reading it; no key is left', async () => {
    const id = await deployAndRotate();
    bed.world.secret(SECRET_ARN).deletedDate = new Date();
    bed.world.resetCalls();

    const answer = await bed.del({ physicalId: id });

    expect(answer).toMatchObject({ Status: 'SUCCESS', PhysicalResourceId: id });
    expect(bed.world.count('GetSecretValue')).toBe(0);
    expect(bed.world.liveKeys(WS)).toEqual([]);
  });

  test('a Delete Grafana refuses answers FAILED with the same physical id and a reason naming workspace and cause', async () => {
    const id = await bed.create({ requestId: 'create-denied' }).then((a) => a.PhysicalResourceId);
    bed.world.fail('DeleteWorkspaceApiKey', GrafanaErrors.accessDenied('User is not authorized to perform grafana:DeleteWorkspaceApiKey'));

    const answer = await bed.del({ physicalId: id });

    expect(answer).toMatchObject({ Status: 'FAILED', PhysicalResourceId: id });
    expect(answer.Reason).toMatch(/Deleting API key .* in workspace g-0a1b2c3d4e failed \(AccessDeniedException/);
    expect(bed.world.liveKeys(WS)).toEqual([id]);
  });
});
