/** The lifecycle engine and the API-key issuer, against mocked AWS SDK clients. */
import {
  ConflictException, CreateWorkspaceApiKeyCommand, DeleteWorkspaceApiKeyCommand, DescribeWorkspaceCommand, GrafanaClient,
  ResourceNotFoundException as GrafanaNotFound, ValidationException,
} from '@aws-sdk/client-grafana';
import {
  DescribeSecretCommand, GetSecretValueCommand, PutSecretValueCommand, SecretsManagerClient, UpdateSecretVersionStageCommand,
  InternalServiceError, ResourceNotFoundException,
} from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { issuerFor } from '../../lambda/issuers';
import { FAILED_CREATE_ID, handleCredentialEvent, MintJournal, credentialName, versionIdFor } from '../../lambda/lifecycle';
import { SecretStore } from '../../lambda/secret-store';
import { apiKeyRecord, captureLogs, props, SECRET, WS } from './helpers';

process.env.GRAFANA_CREDENTIALS_MAX_ATTEMPTS = '1';

const grafana = mockClient(GrafanaClient);
const sm = mockClient(SecretsManagerClient);
const deps = () => ({ store: new SecretStore(), issuerFor, journal: new MintJournal() });
let logs: ReturnType<typeof captureLogs>;

beforeEach(() => { grafana.reset(); sm.reset(); logs = captureLogs(); });
afterEach(() => {
  logs.restore();
  for (const line of logs.lines) expect(line).not.toMatch(/token-of-|eyJrIjoi-secret/);
});

const base = { ServiceToken: 'arn:fn', ResponseURL: 'http://x', StackId: 'stack', LogicalResourceId: 'Key', ResourceType: 'Custom::GrafanaWorkspaceApiKey' };
const create = (requestId = 'req-1', p = props()): any => ({ ...base, RequestType: 'Create' as const, RequestId: requestId, ResourceProperties: p });
const update = (physicalId: string, p: Record<string, string>, old: Record<string, string>, requestId = 'req-2'): any => ({
  ...base, RequestType: 'Update' as const, RequestId: requestId, PhysicalResourceId: physicalId, ResourceProperties: p, OldResourceProperties: old,
});
const del = (physicalId: string, p = props()): any => ({ ...base, RequestType: 'Delete' as const, RequestId: 'req-9', PhysicalResourceId: physicalId, ResourceProperties: p });
const calls = () => [...grafana.calls(), ...sm.calls()].map((c) => (c.args[0] as any).constructor.name.replace('Command', ''));

describe('Create', () => {
  test('issues one key, stores it as AWSCURRENT, and answers only non-secret attributes, in 2 calls', async () => {
    grafana.on(CreateWorkspaceApiKeyCommand).resolves({ key: 'eyJrIjoi-secret', keyName: 'n', workspaceId: WS });
    sm.on(PutSecretValueCommand).resolves({});
    const out = await handleCredentialEvent(create(), deps());
    const name = credentialName('S-Key', 'req-1');
    expect(out).toEqual({ physicalResourceId: name, data: { CredentialName: name, SecretArn: SECRET } });
    expect(JSON.stringify(out)).not.toContain('eyJrIjoi-secret');
    expect(grafana.commandCalls(CreateWorkspaceApiKeyCommand)[0].args[0].input).toEqual({ workspaceId: WS, keyName: name, keyRole: 'VIEWER', secondsToLive: 2592000 });
    const put = sm.commandCalls(PutSecretValueCommand)[0].args[0].input;
    expect(put).toMatchObject({ SecretId: SECRET, ClientRequestToken: versionIdFor('req-1'), VersionStages: ['AWSCURRENT'] });
    expect(JSON.parse(put.SecretString!)).toMatchObject({ key: 'eyJrIjoi-secret', keyName: name, keyRole: 'VIEWER', workspaceId: WS, expiresAt: expect.any(String) });
    expect(calls()).toEqual(['CreateWorkspaceApiKey', 'PutSecretValue']);
  });

  test('a retried Create finds its stored version and issues nothing more', async () => {
    const name = credentialName('S-Key', 'req-1');
    grafana.on(CreateWorkspaceApiKeyCommand).rejects(new ConflictException({ message: 'exists', $metadata: {} } as any));
    sm.on(GetSecretValueCommand, { VersionId: versionIdFor('req-1') }).resolves({ VersionId: versionIdFor('req-1'), SecretString: apiKeyRecord(name, name) });
    const out = await handleCredentialEvent(create(), deps());
    expect(out.physicalResourceId).toBe(name);
    expect(calls().sort()).toEqual(['CreateWorkspaceApiKey', 'GetSecretValue']);
  });

  test('a name taken by a key that was never stored is replaced', async () => {
    grafana.on(CreateWorkspaceApiKeyCommand)
      .rejectsOnce(new ConflictException({ message: 'exists', $metadata: {} } as any))
      .resolves({ key: 'eyJrIjoi-secret' });
    sm.on(GetSecretValueCommand).rejects(new ResourceNotFoundException({ message: 'no', $metadata: {} } as any));
    sm.on(PutSecretValueCommand).resolves({});
    await handleCredentialEvent(create(), deps());
    const op = (c: any) => c.args[0].constructor.name.replace('Command', '');
    expect(grafana.calls().map(op)).toEqual(['CreateWorkspaceApiKey', 'DeleteWorkspaceApiKey', 'CreateWorkspaceApiKey']);
    expect(sm.calls().map(op)).toEqual(['GetSecretValue', 'PutSecretValue']);
  });

  test('a key that cannot be stored is revoked before the error propagates', async () => {
    grafana.on(CreateWorkspaceApiKeyCommand).resolves({ key: 'eyJrIjoi-secret' });
    grafana.on(DeleteWorkspaceApiKeyCommand).resolves({});
    sm.on(PutSecretValueCommand).rejects(new InternalServiceError({ message: 'boom', $metadata: {} } as any));
    await expect(handleCredentialEvent(create(), deps())).rejects.toThrow(/Storing API key S-Key-[0-9a-f]{10} in secret .* failed .*the API key was revoked/);
    expect(grafana.commandCalls(DeleteWorkspaceApiKeyCommand)).toHaveLength(1);
  });

  test('an unknown workspace fails naming the workspace, the cause and the fix', async () => {
    grafana.on(CreateWorkspaceApiKeyCommand).rejects(new GrafanaNotFound({ message: 'Workspace not found', $metadata: {} } as any));
    await expect(handleCredentialEvent(create(), deps())).rejects.toThrow(`Workspace ${WS} or the resource was not found (ResourceNotFoundException: Workspace not found): check workspaceId and the stack region`);
  });

  test('Grafana 11 explains that API keys do not exist there', async () => {
    grafana.on(CreateWorkspaceApiKeyCommand).rejects(new ValidationException({ message: 'not supported', $metadata: {} } as any));
    grafana.on(DescribeWorkspaceCommand).resolves({ workspace: { grafanaVersion: '11.0' } as any });
    await expect(handleCredentialEvent(create(), deps())).rejects.toThrow(/runs Grafana 11\.0, which has no API keys .*WorkspaceServiceAccountToken/);
  });

  test('bad properties are refused before any call', async () => {
    await expect(handleCredentialEvent(create('r', props({ SecondsToLive: '0' })), deps())).rejects.toThrow(/SecondsToLive '0' must be a whole number from 1 to 2592000/);
    await expect(handleCredentialEvent(create('r', props({ Role: 'OWNER' })), deps())).rejects.toThrow(/Role 'OWNER' is not one of/);
    await expect(handleCredentialEvent(create('r', props({ Kind: 'x' })), deps())).rejects.toThrow(/Unknown credential kind 'x'/);
    expect(calls()).toEqual([]);
  });
});

describe('Update', () => {
  const P1 = 'S-Key-1111111111';
  const state = (versions: Record<string, string[]>) => sm.on(DescribeSecretCommand).resolves({ ARN: SECRET, VersionIdsToStages: versions });

  test('nothing about the key changed: no call at all', async () => {
    const out = await handleCredentialEvent(update(P1, props({ ServiceToken: 'new' }), props()), deps());
    expect(out.physicalResourceId).toBe(P1);
    expect(calls()).toEqual([]);
  });

  test('a role change revokes the old AWSPREVIOUS first, then issues and stores a new key; the old current is left for cleanup', async () => {
    state({ v1: ['AWSCURRENT'], v0: ['AWSPREVIOUS'] });
    sm.on(GetSecretValueCommand, { SecretId: SECRET, VersionId: 'v1' }).resolves({ VersionId: 'v1', SecretString: apiKeyRecord(P1, P1) });
    sm.on(GetSecretValueCommand, { SecretId: SECRET, VersionId: 'v0' }).resolves({ VersionId: 'v0', SecretString: apiKeyRecord('S-Key-rotated000', P1) });
    grafana.on(DeleteWorkspaceApiKeyCommand).resolves({});
    grafana.on(CreateWorkspaceApiKeyCommand).resolves({ key: 'eyJrIjoi-secret' });
    sm.on(PutSecretValueCommand).resolves({});
    const out = await handleCredentialEvent(update(P1, props({ Role: 'ADMIN' }), props()), deps());
    expect(out.physicalResourceId).toBe(credentialName('S-Key', 'req-2'));
    expect(grafana.commandCalls(DeleteWorkspaceApiKeyCommand).map((c) => c.args[0].input.keyName)).toEqual(['S-Key-rotated000']);
    const stored = JSON.parse(sm.commandCalls(PutSecretValueCommand)[0].args[0].input.SecretString!);
    expect(stored.keyRole).toBe('ADMIN');
    expect(stored.lifecycle.predecessor).toEqual({ versionId: 'v1', generation: P1, fields: expect.objectContaining({ keyName: P1 }) });
  });

  test('a rollback restores the previous, still valid key and mints nothing', async () => {
    const P2 = 'S-Key-2222222222';
    state({ v2: ['AWSCURRENT'], v1: ['AWSPREVIOUS'] });
    sm.on(GetSecretValueCommand, { SecretId: SECRET, VersionId: 'v2' }).resolves({ VersionId: 'v2', SecretString: apiKeyRecord(P2, P2, { keyRole: 'ADMIN' }) });
    sm.on(GetSecretValueCommand, { SecretId: SECRET, VersionId: 'v1' }).resolves({ VersionId: 'v1', SecretString: apiKeyRecord(P1, P1) });
    sm.on(UpdateSecretVersionStageCommand).resolves({});
    const out = await handleCredentialEvent(update(P2, props(), props({ Role: 'ADMIN' })), deps());
    expect(out.physicalResourceId).toBe(P1);
    expect(sm.commandCalls(UpdateSecretVersionStageCommand)[0].args[0].input).toEqual({ SecretId: SECRET, VersionStage: 'AWSCURRENT', MoveToVersionId: 'v1', RemoveFromVersionId: 'v2' });
    expect(grafana.calls()).toHaveLength(0);
  });

  test('a previous key about to expire is not restored: a new one is issued instead', async () => {
    const P2 = 'S-Key-2222222222';
    state({ v2: ['AWSCURRENT'], v1: ['AWSPREVIOUS'] });
    sm.on(GetSecretValueCommand, { SecretId: SECRET, VersionId: 'v2' }).resolves({ VersionId: 'v2', SecretString: apiKeyRecord(P2, P2, { keyRole: 'ADMIN' }) });
    sm.on(GetSecretValueCommand, { SecretId: SECRET, VersionId: 'v1' }).resolves({ VersionId: 'v1', SecretString: apiKeyRecord(P1, P1, { expiresAt: new Date(Date.now() + 60_000).toISOString() }) });
    grafana.on(DeleteWorkspaceApiKeyCommand).resolves({});
    grafana.on(CreateWorkspaceApiKeyCommand).resolves({ key: 'eyJrIjoi-secret' });
    sm.on(PutSecretValueCommand).resolves({});
    sm.on(UpdateSecretVersionStageCommand).resolves({});
    const out = await handleCredentialEvent(update(P2, props(), props({ Role: 'ADMIN' })), deps());
    expect(out.physicalResourceId).toBe(credentialName('S-Key', 'req-2'));
    expect(grafana.commandCalls(CreateWorkspaceApiKeyCommand)).toHaveLength(1);
  });
});

describe('Delete', () => {
  const P1 = 'S-Key-1111111111';
  test('after a failed create: nothing to do, no call', async () => {
    await handleCredentialEvent(del(FAILED_CREATE_ID), deps());
    expect(calls()).toEqual([]);
  });

  test('the resource is deleted: every labelled key goes, a key already gone counts as deleted', async () => {
    sm.on(DescribeSecretCommand).resolves({ ARN: SECRET, VersionIdsToStages: { v2: ['AWSCURRENT'], v1: ['AWSPREVIOUS'], v3: ['AWSPENDING'] } });
    sm.on(GetSecretValueCommand, { SecretId: SECRET, VersionId: 'v2' }).resolves({ VersionId: 'v2', SecretString: apiKeyRecord('k2', P1) });
    sm.on(GetSecretValueCommand, { SecretId: SECRET, VersionId: 'v1' }).resolves({ VersionId: 'v1', SecretString: apiKeyRecord('k1', P1) });
    sm.on(GetSecretValueCommand, { SecretId: SECRET, VersionId: 'v3' }).resolves({ VersionId: 'v3', SecretString: apiKeyRecord('k3', P1) });
    grafana.on(DeleteWorkspaceApiKeyCommand, { keyName: 'k1' }).rejects(new GrafanaNotFound({ message: 'gone', $metadata: {} } as any));
    grafana.on(DeleteWorkspaceApiKeyCommand).resolves({});
    await handleCredentialEvent(del(P1), deps());
    expect(grafana.commandCalls(DeleteWorkspaceApiKeyCommand).map((c) => c.args[0].input.keyName).sort()).toEqual(['k1', 'k2', 'k3']);
  });

  test("CloudFormation's cleanup of a replaced generation revokes only that generation's keys and drops their labels", async () => {
    const P2 = 'S-Key-2222222222';
    sm.on(DescribeSecretCommand).resolves({ ARN: SECRET, VersionIdsToStages: { v2: ['AWSCURRENT'], v1: ['AWSPREVIOUS'] } });
    sm.on(GetSecretValueCommand, { SecretId: SECRET, VersionId: 'v2' }).resolves({ VersionId: 'v2', SecretString: apiKeyRecord(P2, P2) });
    sm.on(GetSecretValueCommand, { SecretId: SECRET, VersionId: 'v1' }).resolves({ VersionId: 'v1', SecretString: apiKeyRecord(P1, P1) });
    grafana.on(DeleteWorkspaceApiKeyCommand).resolves({});
    sm.on(UpdateSecretVersionStageCommand).resolves({});
    await handleCredentialEvent(del(P1), deps());
    expect(grafana.commandCalls(DeleteWorkspaceApiKeyCommand).map((c) => c.args[0].input.keyName)).toEqual([P1]);
    expect(sm.commandCalls(UpdateSecretVersionStageCommand)[0].args[0].input).toEqual({ SecretId: SECRET, VersionStage: 'AWSPREVIOUS', RemoveFromVersionId: 'v1' });
  });

  test('a secret that is already gone: success, nothing touched', async () => {
    sm.on(DescribeSecretCommand).rejects(new ResourceNotFoundException({ message: 'gone', $metadata: {} } as any));
    await handleCredentialEvent(del(P1), deps());
    expect(grafana.calls()).toHaveLength(0);
  });
});
