import * as https from 'https';
import * as fs from 'fs';
import {
  ConflictException, CreateWorkspaceApiKeyCommand, DeleteWorkspaceApiKeyCommand, GrafanaClient,
  ResourceNotFoundException, ValidationException, ThrottlingException,
} from '@aws-sdk/client-grafana';
import {
  CreateSecretCommand, GetSecretValueCommand, PutSecretValueCommand, ResourceExistsException, SecretsManagerClient,
  UpdateSecretVersionStageCommand, InvalidParameterException,
} from '@aws-sdk/client-secrets-manager';
import { AwsStandIns } from '../testbed/aws/standins';

let s: AwsStandIns;
let grafana: GrafanaClient;
let sm: SecretsManagerClient;

beforeAll(async () => {
  s = await AwsStandIns.start();
  const common = { region: 'us-east-1', credentials: { accessKeyId: 'a', secretAccessKey: 'b' }, endpoint: s.url, maxAttempts: 3 };
  grafana = new GrafanaClient(common);
  sm = new SecretsManagerClient(common);
});
afterAll(async () => { grafana.destroy(); sm.destroy(); await s.stop(); });
afterEach(() => s.faults.clear());

function apiOrg(token: string): Promise<number> {
  return new Promise((resolve, reject) => {
    https.get(`${s.grafanaHttpsUrl}/api/org`, { headers: { authorization: `Bearer ${token}` }, ca: fs.readFileSync(s.caCertPath) }, (res) => {
      res.resume(); resolve(res.statusCode!);
    }).on('error', reject);
  });
}

test('API keys: create, conflict, validation, expiry on the simulated clock, delete', async () => {
  const ws = s.addWorkspace();
  const out = await grafana.send(new CreateWorkspaceApiKeyCommand({ workspaceId: ws.id, keyName: 'k1', keyRole: 'VIEWER', secondsToLive: 60 }));
  expect(await apiOrg(out.key!)).toBe(200);
  await expect(grafana.send(new CreateWorkspaceApiKeyCommand({ workspaceId: ws.id, keyName: 'k1', keyRole: 'VIEWER', secondsToLive: 60 }))).rejects.toBeInstanceOf(ConflictException);
  await expect(grafana.send(new CreateWorkspaceApiKeyCommand({ workspaceId: ws.id, keyName: 'k2', keyRole: 'VIEWER', secondsToLive: 2_592_001 }))).rejects.toBeInstanceOf(ValidationException);
  await expect(grafana.send(new CreateWorkspaceApiKeyCommand({ workspaceId: 'g-ffffffffff', keyName: 'k2', keyRole: 'VIEWER', secondsToLive: 5 }))).rejects.toBeInstanceOf(ResourceNotFoundException);
  s.clock.advance(61_000);
  expect(await apiOrg(out.key!)).toBe(401);
  expect(s.existingKeys(ws.id)).toHaveLength(1);
  expect(s.liveKeys(ws.id)).toHaveLength(0);
  await grafana.send(new DeleteWorkspaceApiKeyCommand({ workspaceId: ws.id, keyName: 'k1' }));
  await expect(grafana.send(new DeleteWorkspaceApiKeyCommand({ workspaceId: ws.id, keyName: 'k1' }))).rejects.toBeInstanceOf(ResourceNotFoundException);
});

test('Grafana 11 refuses API keys', async () => {
  const ws = s.addWorkspace({ grafanaVersion: '11.0' });
  await expect(grafana.send(new CreateWorkspaceApiKeyCommand({ workspaceId: ws.id, keyName: 'k', keyRole: 'ADMIN', secondsToLive: 5 })))
    .rejects.toThrow(/not supported in Grafana version 11/);
});

test('throttling that passes is retried by the SDK; persistent throttling surfaces', async () => {
  const ws = s.addWorkspace();
  s.faults.add({ operation: 'CreateWorkspaceApiKey', kind: 'throttle', times: 2 });
  await grafana.send(new CreateWorkspaceApiKeyCommand({ workspaceId: ws.id, keyName: 'a', keyRole: 'VIEWER', secondsToLive: 5 }));
  expect(s.counts().CreateWorkspaceApiKey).toBeGreaterThanOrEqual(3);
  s.faults.add({ operation: 'CreateWorkspaceApiKey', kind: 'throttle', times: Infinity });
  await expect(grafana.send(new CreateWorkspaceApiKeyCommand({ workspaceId: ws.id, keyName: 'b', keyRole: 'VIEWER', secondsToLive: 5 }))).rejects.toBeInstanceOf(ThrottlingException);
});

test('Secrets Manager versions and stages move as the service moves them', async () => {
  const { ARN } = await sm.send(new CreateSecretCommand({ Name: 'sec' }));
  await expect(sm.send(new GetSecretValueCommand({ SecretId: ARN }))).rejects.toThrow(/can't find/);
  const v1 = 'a'.repeat(32); const v2 = 'b'.repeat(32);
  await sm.send(new PutSecretValueCommand({ SecretId: ARN, ClientRequestToken: v1, SecretString: 'one' }));
  await sm.send(new PutSecretValueCommand({ SecretId: ARN, ClientRequestToken: v1, SecretString: 'one' })); // idempotent
  await expect(sm.send(new PutSecretValueCommand({ SecretId: ARN, ClientRequestToken: v1, SecretString: 'other' }))).rejects.toBeInstanceOf(ResourceExistsException);
  await sm.send(new PutSecretValueCommand({ SecretId: ARN, ClientRequestToken: v2, SecretString: 'two', VersionStages: ['AWSPENDING'] }));
  await expect(sm.send(new UpdateSecretVersionStageCommand({ SecretId: ARN, VersionStage: 'AWSCURRENT', MoveToVersionId: v2 }))).rejects.toBeInstanceOf(InvalidParameterException);
  await sm.send(new UpdateSecretVersionStageCommand({ SecretId: ARN, VersionStage: 'AWSCURRENT', MoveToVersionId: v2, RemoveFromVersionId: v1 }));
  expect((await sm.send(new GetSecretValueCommand({ SecretId: ARN }))).SecretString).toBe('two');
  expect((await sm.send(new GetSecretValueCommand({ SecretId: ARN, VersionStage: 'AWSPREVIOUS' }))).SecretString).toBe('one');
});
