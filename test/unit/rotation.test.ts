/** The four rotation steps, against mocked AWS SDK clients and a local workspace HTTP API. */
import { CreateWorkspaceApiKeyCommand, DeleteWorkspaceApiKeyCommand, DescribeWorkspaceCommand, GrafanaClient } from '@aws-sdk/client-grafana';
import {
  DescribeSecretCommand, GetSecretValueCommand, InvalidParameterException, PutSecretValueCommand, SecretsManagerClient,
  UpdateSecretVersionStageCommand,
} from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { SecretStore } from '../../lambda/clients/secrets-manager';
import { credentialName } from '../../lambda/engine/ids';
import { handleRotationEvent } from '../../lambda/engine/rotation-steps';
import { issuerFor } from '../../lambda/issuers';
import { apiKeyRecord, captureLogs, SECRET, WS } from './helpers';
import { HttpsWorkspace, startHttpsWorkspace, startRecordingListener } from './helpers/https-workspace';

process.env.GRAFANA_CREDENTIALS_MAX_ATTEMPTS = '1';
const grafana = mockClient(GrafanaClient);
const sm = mockClient(SecretsManagerClient);
const deps = () => ({ store: new SecretStore(), issuerFor });
const TOKEN = '11111111-2222-3333-4444-555555555555';
/** A generation (its physical id) and the names of its three slots. */
const G = '1111111111';
const P1 = `S-Key-${G}`;
const slot = (n: number) => credentialName('S-Key', G, n);
const CURRENT = { VersionStage: 'AWSCURRENT' };
const event = (Step: string) => ({ Step: Step as any, SecretId: SECRET, ClientRequestToken: TOKEN });

let workspace: HttpsWorkspace;
let workspaceUrl = '';
let accepted = new Set<string>();
let logs: ReturnType<typeof captureLogs>;

beforeAll(async () => {
  workspace = await startHttpsWorkspace((req, res) => {
    const token = (req.headers.authorization ?? '').replace('Bearer ', '');
    res.writeHead(req.url === '/api/org' && accepted.has(token) ? 200 : 401).end('{}');
  });
  workspaceUrl = workspace.url;
});
afterAll(() => workspace.close());
beforeEach(() => {
  grafana.reset(); sm.reset(); accepted = new Set(); logs = captureLogs();
  // The workspaceUrls the template names reach the function through its environment.
  process.env.GRAFANA_CREDENTIALS_VERIFY_URLS = JSON.stringify([workspaceUrl]);
});
afterEach(() => {
  logs.restore();
  for (const line of logs.lines) expect(line).not.toMatch(/token-of-|eyJrIjoi/);
});

describe('createSecret', () => {
  test('revokes the key behind AWSPREVIOUS (the slot before AWSCURRENT\'s) by name, then issues the next slot\'s key as AWSPENDING, in 4 calls', async () => {
    sm.on(GetSecretValueCommand, { SecretId: SECRET, ...CURRENT }).resolves({ VersionId: 'v2', VersionStages: ['AWSCURRENT', `OWN-${G}-1`], SecretString: apiKeyRecord(slot(1), P1, {}, { slot: 1 }) });
    grafana.on(DeleteWorkspaceApiKeyCommand).resolves({});
    grafana.on(CreateWorkspaceApiKeyCommand).resolves({ key: 'eyJrIjoi-new' });
    sm.on(PutSecretValueCommand).resolves({});
    await handleRotationEvent(event('createSecret'), deps());
    expect(grafana.commandCalls(DeleteWorkspaceApiKeyCommand).map((c) => c.args[0].input.keyName)).toEqual([slot(0)]);
    expect(grafana.commandCalls(CreateWorkspaceApiKeyCommand)[0].args[0].input.keyName).toBe(slot(2));
    const put = sm.commandCalls(PutSecretValueCommand)[0].args[0].input;
    // The new key's slot label, and the next slot's: that name is on the ledger before the next rotation issues it.
    expect(put).toMatchObject({ ClientRequestToken: TOKEN, VersionStages: [`OWN-${G}-2`, `OWN-${G}-0`, 'AWSPENDING'] });
    expect(JSON.parse(put.SecretString!).lifecycle).toMatchObject({ generation: P1, slot: 2, basedOnVersionId: 'v2' });
    // Read AWSCURRENT, revoke the oldest key, issue, store.
    expect(sm.calls().length + grafana.calls().length).toBe(4);
  });

  test('invoked again for the same token, it finds its own version and issues nothing more', async () => {
    sm.on(GetSecretValueCommand, { SecretId: SECRET, ...CURRENT }).resolves({ VersionId: 'v2', SecretString: apiKeyRecord(slot(0), P1) });
    sm.on(GetSecretValueCommand, { SecretId: SECRET, VersionId: TOKEN }).resolves({ VersionId: TOKEN, SecretString: apiKeyRecord(slot(1), P1, {}, { slot: 1 }) });
    grafana.on(DeleteWorkspaceApiKeyCommand).resolves({});
    const { ConflictException } = await import('@aws-sdk/client-grafana');
    grafana.on(CreateWorkspaceApiKeyCommand).rejects(new ConflictException({ message: 'exists', $metadata: {} } as any));
    await handleRotationEvent(event('createSecret'), deps());
    expect(sm.commandCalls(PutSecretValueCommand)).toHaveLength(0);
    expect(grafana.commandCalls(DeleteWorkspaceApiKeyCommand).map((c) => c.args[0].input.keyName)).not.toContain(slot(1));
  });

  test('refuses a secret the stack has not written yet', async () => {
    sm.on(GetSecretValueCommand, { SecretId: SECRET, ...CURRENT }).resolves({ VersionId: 'v0', SecretString: '{"note":"not ours"}' });
    await expect(handleRotationEvent(event('createSecret'), deps())).rejects.toThrow(/Rotation step createSecret of secret .* AWSCURRENT holds no credential written by this library; deploy the stack first/);
  });
});

describe('testSecret', () => {
  const pending = (verifyUrl = workspaceUrl) => apiKeyRecord(slot(2), P1, { verifyUrl }, { slot: 2 });

  test('a key the workspace accepts passes, with one read and one verification', async () => {
    accepted.add(`token-of-${slot(2)}`);
    sm.on(GetSecretValueCommand, { SecretId: SECRET, VersionId: TOKEN }).resolves({ VersionId: TOKEN, SecretString: pending() });
    await handleRotationEvent(event('testSecret'), deps());
    expect(sm.calls()).toHaveLength(1);
  });

  test('a rejected key fails the step, is discarded, and the error names step and secret but never the token', async () => {
    sm.on(GetSecretValueCommand, { SecretId: SECRET, VersionId: TOKEN }).resolves({ VersionId: TOKEN, SecretString: pending() });
    sm.on(GetSecretValueCommand, { SecretId: SECRET, VersionId: 'v2' }).resolves({ VersionId: 'v2', SecretString: apiKeyRecord('k2', P1) });
    sm.on(DescribeSecretCommand).resolves({ ARN: SECRET, VersionIdsToStages: { v2: ['AWSCURRENT'], [TOKEN]: ['AWSPENDING'] } });
    grafana.on(DeleteWorkspaceApiKeyCommand).resolves({});
    sm.on(UpdateSecretVersionStageCommand).resolves({});
    const err = await handleRotationEvent(event('testSecret'), deps()).catch((e: Error) => e);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toMatch(new RegExp(`Rotation step testSecret of secret ${SECRET.replace(/[/]/g, '.')} failed: .*rejected .*HTTP 401.*AWSCURRENT is unchanged`));
    expect((err as Error).message).not.toContain(`token-of-${slot(2)}`);
    expect(grafana.commandCalls(DeleteWorkspaceApiKeyCommand)[0].args[0].input.keyName).toBe(slot(2));
    expect(sm.commandCalls(UpdateSecretVersionStageCommand)[0].args[0].input).toMatchObject({ VersionStage: 'AWSPENDING', RemoveFromVersionId: TOKEN });
  });

  describe('where a token may be sent (only where the template or the workspace says)', () => {
    const discardMocks = () => {
      sm.on(GetSecretValueCommand, { SecretId: SECRET, VersionId: 'v2' }).resolves({ VersionId: 'v2', SecretString: apiKeyRecord('k2', P1) });
      sm.on(DescribeSecretCommand).resolves({ ARN: SECRET, VersionIdsToStages: { v2: ['AWSCURRENT'], [TOKEN]: ['AWSPENDING'] } });
      grafana.on(DeleteWorkspaceApiKeyCommand).resolves({});
      grafana.on(DescribeWorkspaceCommand).resolves({ workspace: { endpoint: `${WS}.grafana-workspace.us-east-1.amazonaws.com` } as any });
      sm.on(UpdateSecretVersionStageCommand).resolves({});
    };

    test('a stored verifyUrl that is neither named by the template nor the workspace endpoint is refused; that server receives nothing', async () => {
      const received: string[] = [];
      const evil = await startHttpsWorkspace((req, res) => { received.push(`${req.method} ${req.url}`); res.writeHead(200).end('{}'); });
      try {
        accepted.add(`token-of-${slot(2)}`);
        sm.on(GetSecretValueCommand, { SecretId: SECRET, VersionId: TOKEN }).resolves({ VersionId: TOKEN, SecretString: pending(evil.url) });
        discardMocks();
        const err = await handleRotationEvent(event('testSecret'), deps()).catch((e: Error) => e);
        expect((err as Error).message).toMatch(/Refusing to send a credential of workspace g-0123456789 to https:\/\/127\.0\.0\.1:\d+: it is neither the workspace's endpoint/);
        expect(received).toEqual([]);
        // The refused credential is revoked, not left working.
        expect(grafana.commandCalls(DeleteWorkspaceApiKeyCommand)[0].args[0].input.keyName).toBe(slot(2));
      } finally {
        await evil.close();
      }
    });

    test('a plain-http verifyUrl is refused before any connection, even when it names the workspace host', async () => {
      const listener = await startRecordingListener();
      try {
        grafana.on(DescribeWorkspaceCommand).resolves({ workspace: { endpoint: listener.url.replace('http://', '') } as any });
        process.env.GRAFANA_CREDENTIALS_VERIFY_URLS = JSON.stringify([listener.url]);
        sm.on(GetSecretValueCommand, { SecretId: SECRET, VersionId: TOKEN }).resolves({ VersionId: TOKEN, SecretString: pending(listener.url) });
        discardMocks();
        const err = await handleRotationEvent(event('testSecret'), deps()).catch((e: Error) => e);
        expect((err as Error).message).toMatch(/Refusing to verify at 'http:\/\/127\.0\.0\.1:\d+': only https/);
        expect(listener.requests).toEqual([]);
      } finally {
        await listener.close();
      }
    });

    test('without a verifyUrl the target is https:// plus the endpoint DescribeWorkspace returns', async () => {
      process.env.GRAFANA_CREDENTIALS_VERIFY_URLS = '[]';
      accepted.add(`token-of-${slot(2)}`);
      grafana.on(DescribeWorkspaceCommand).resolves({ workspace: { endpoint: workspace.host } as any });
      sm.on(GetSecretValueCommand, { SecretId: SECRET, VersionId: TOKEN }).resolves({ VersionId: TOKEN, SecretString: apiKeyRecord(slot(2), P1, {}, { slot: 2 }) });
      await handleRotationEvent(event('testSecret'), deps());
      expect(grafana.commandCalls(DescribeWorkspaceCommand)).toHaveLength(1);
    });

    test("a verifyUrl on the workspace endpoint's host is allowed without being named in the template", async () => {
      process.env.GRAFANA_CREDENTIALS_VERIFY_URLS = '[]';
      accepted.add(`token-of-${slot(2)}`);
      grafana.on(DescribeWorkspaceCommand).resolves({ workspace: { endpoint: workspace.host } as any });
      sm.on(GetSecretValueCommand, { SecretId: SECRET, VersionId: TOKEN }).resolves({ VersionId: TOKEN, SecretString: pending(`${workspace.url}/`) });
      await handleRotationEvent(event('testSecret'), deps());
    });
  });

  test('verification off: no call to the workspace', async () => {
    sm.on(GetSecretValueCommand).resolves({ VersionId: TOKEN, SecretString: apiKeyRecord(slot(2), P1, { verifyRotatedKey: 'false' }, { slot: 2 }) });
    await handleRotationEvent(event('testSecret'), deps());
    expect(sm.calls()).toHaveLength(1);
  });
});

describe('finishSecret', () => {
  test('moves AWSCURRENT from the version the rotation started from (compare-and-swap), in 2 calls', async () => {
    sm.on(GetSecretValueCommand).resolves({ VersionId: TOKEN, SecretString: apiKeyRecord(slot(2), P1, {}, { slot: 2, basedOnVersionId: 'v2' }) });
    sm.on(UpdateSecretVersionStageCommand).resolves({});
    await handleRotationEvent(event('finishSecret'), deps());
    expect(sm.commandCalls(UpdateSecretVersionStageCommand)[0].args[0].input).toEqual({ SecretId: SECRET, VersionStage: 'AWSCURRENT', MoveToVersionId: TOKEN, RemoveFromVersionId: 'v2' });
    expect(sm.calls()).toHaveLength(2);
  });

  test('when the stack reissued meanwhile, the new key is not promoted: AWSPENDING comes off, and its key stays on the ledger for the stack to retire', async () => {
    sm.on(GetSecretValueCommand, { SecretId: SECRET, VersionId: TOKEN }).resolves({ VersionId: TOKEN, SecretString: apiKeyRecord(slot(2), P1, {}, { slot: 2, basedOnVersionId: 'v2' }) });
    sm.on(GetSecretValueCommand, { SecretId: SECRET, VersionId: 'v9' }).resolves({ VersionId: 'v9', SecretString: apiKeyRecord('k9', 'S-Key-9999999999') });
    sm.on(GetSecretValueCommand, { SecretId: SECRET, VersionId: 'v2' }).resolves({ VersionId: 'v2', SecretString: apiKeyRecord('k2', P1) });
    sm.on(UpdateSecretVersionStageCommand, { VersionStage: 'AWSCURRENT' }).rejects(new InvalidParameterException({ message: 'not attached', $metadata: {} } as any));
    sm.on(UpdateSecretVersionStageCommand, { VersionStage: 'AWSPENDING' }).resolves({});
    sm.on(DescribeSecretCommand).resolves({ ARN: SECRET, VersionIdsToStages: { v9: ['AWSCURRENT'], v2: ['AWSPREVIOUS'], [TOKEN]: ['AWSPENDING'] } });
    grafana.on(DeleteWorkspaceApiKeyCommand).resolves({});
    await handleRotationEvent(event('finishSecret'), deps());
    expect(grafana.commandCalls(DeleteWorkspaceApiKeyCommand)).toHaveLength(0);
    expect(sm.commandCalls(UpdateSecretVersionStageCommand).map((c) => c.args[0].input.VersionStage)).toEqual(['AWSCURRENT', 'AWSPENDING']);
  });

  test('already finished: nothing to do', async () => {
    sm.on(GetSecretValueCommand).resolves({ VersionId: TOKEN, SecretString: apiKeyRecord(slot(2), P1, {}, { slot: 2, basedOnVersionId: 'v2' }) });
    sm.on(UpdateSecretVersionStageCommand).rejects(new InvalidParameterException({ message: 'not attached', $metadata: {} } as any));
    sm.on(DescribeSecretCommand).resolves({ ARN: SECRET, VersionIdsToStages: { [TOKEN]: ['AWSCURRENT', 'AWSPENDING'], v2: ['AWSPREVIOUS'] } });
    await handleRotationEvent(event('finishSecret'), deps());
    expect(grafana.calls()).toHaveLength(0);
  });
});
