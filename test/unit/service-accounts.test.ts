/** The service-account token issuer and the service-account resource, against a mocked Grafana client. */
import {
  ConflictException, CreateWorkspaceServiceAccountCommand, CreateWorkspaceServiceAccountTokenCommand, DeleteWorkspaceServiceAccountCommand,
  DeleteWorkspaceServiceAccountTokenCommand, GrafanaClient, ListWorkspaceServiceAccountsCommand, ListWorkspaceServiceAccountTokensCommand,
  ResourceNotFoundException,
} from '@aws-sdk/client-grafana';
import { mockClient } from 'aws-sdk-client-mock';
import { serviceAccountTokenIssuer as issuer } from '../../lambda/issuers/service-account-token';
import { NameInUseError } from '../../lambda/issuers/types';
import { FAILED_CREATE_ID } from '../../lambda/engine/cfn-events';
import { handleServiceAccountEvent } from '../../lambda/service-account';
import { captureLogs, WS } from './helpers';

process.env.GRAFANA_CREDENTIALS_MAX_ATTEMPTS = '1';
const grafana = mockClient(GrafanaClient);
let logs: ReturnType<typeof captureLogs>;
beforeEach(() => { grafana.reset(); logs = captureLogs(); });
afterEach(() => logs.restore());

const definition = issuer.definitionFrom({ Kind: 'amg-service-account-token', SecretArn: 'arn:secret', WorkspaceId: WS, ServiceAccountId: '7', SecondsToLive: '3600', NamePrefix: 'Stack-Token' });
const notFound = () => new ResourceNotFoundException({ message: 'gone', $metadata: {} } as any);

describe('service-account token issuer', () => {
  test('issues a token and records its id, name and account, never the key in a field', async () => {
    grafana.on(CreateWorkspaceServiceAccountTokenCommand).resolves({ serviceAccountToken: { id: '3', name: 'Stack-Token-0123456789', key: 'glsa_secret' }, serviceAccountId: '7', workspaceId: WS });
    const issued = await issuer.issue(definition, 'Stack-Token-0123456789');
    expect(issued.token).toBe('glsa_secret');
    expect(issued.fields).toEqual({ tokenName: 'Stack-Token-0123456789', tokenId: '3', serviceAccountId: '7', workspaceId: WS });
    expect(grafana.commandCalls(CreateWorkspaceServiceAccountTokenCommand)[0].args[0].input).toEqual({ workspaceId: WS, serviceAccountId: '7', name: 'Stack-Token-0123456789', secondsToLive: 3600 });
  });

  test('a taken name is reported as such; a missing account names the account', async () => {
    grafana.on(CreateWorkspaceServiceAccountTokenCommand).rejectsOnce(new ConflictException({ message: 'exists', $metadata: {} } as any)).rejects(notFound());
    await expect(issuer.issue(definition, 'n')).rejects.toBeInstanceOf(NameInUseError);
    await expect(issuer.issue(definition, 'n')).rejects.toThrow(`Service account 7 in workspace ${WS} not found (ResourceNotFoundException): check serviceAccount and workspaceId`);
  });

  test('revoking a token whose account is gone counts as revoked', async () => {
    grafana.on(DeleteWorkspaceServiceAccountTokenCommand).rejects(notFound());
    await expect(issuer.revoke({ key: '', expiresAt: '', fields: { workspaceId: WS, serviceAccountId: '7', tokenId: '3' }, lifecycle: {} as any })).resolves.toBeUndefined();
  });

  test('leftovers are found by listing, across pages, and only under this prefix', async () => {
    grafana.on(ListWorkspaceServiceAccountTokensCommand, { nextToken: undefined }).resolves({ serviceAccountTokens: [
      { id: '1', name: 'Stack-Token-aaaaaaaaaa' } as any, { id: '2', name: 'Other-Token-bbbbbbbbbb' } as any,
    ], nextToken: 'p2' });
    grafana.on(ListWorkspaceServiceAccountTokensCommand, { nextToken: 'p2' }).resolves({ serviceAccountTokens: [
      { id: '3', name: 'Stack-Token-cccccccccc' } as any, { id: '4', name: 'Stack-Token-extra' } as any,
    ] });
    expect(await issuer.listIssuedNames!(definition)).toEqual(['Stack-Token-aaaaaaaaaa', 'Stack-Token-cccccccccc']);
  });

  test('revoking by name finds the token id by listing', async () => {
    grafana.on(ListWorkspaceServiceAccountTokensCommand).resolves({ serviceAccountTokens: [{ id: '9', name: 'Stack-Token-aaaaaaaaaa' } as any] });
    grafana.on(DeleteWorkspaceServiceAccountTokenCommand).resolves({});
    await issuer.revokeByName(definition, 'Stack-Token-aaaaaaaaaa');
    expect(grafana.commandCalls(DeleteWorkspaceServiceAccountTokenCommand)[0].args[0].input).toEqual({ workspaceId: WS, serviceAccountId: '7', tokenId: '9' });
  });
});

describe('service-account resource', () => {
  const props = (role = 'VIEWER') => ({ ServiceToken: 'x', Kind: 'amg-service-account', WorkspaceId: WS, ServiceAccountName: 'ci-viewer', Role: role });
  const event = (RequestType: string, extra: Record<string, unknown> = {}): any => ({
    RequestType, RequestId: 'r', ResponseURL: 'http://x', StackId: 's', LogicalResourceId: 'Sa', ResourceType: 'Custom::GrafanaWorkspaceServiceAccount', ResourceProperties: props(), ...extra,
  });

  test('create answers the account id as physical id and attribute', async () => {
    grafana.on(CreateWorkspaceServiceAccountCommand).resolves({ id: '12', name: 'ci-viewer', grafanaRole: 'VIEWER', workspaceId: WS });
    expect(await handleServiceAccountEvent(event('Create'))).toEqual({ physicalResourceId: '12', data: { ServiceAccountId: '12' } });
  });

  test('a retried create adopts the account it made; a stranger holding the name is refused', async () => {
    grafana.on(CreateWorkspaceServiceAccountCommand).rejects(new ConflictException({ message: 'exists', $metadata: {} } as any));
    grafana.on(ListWorkspaceServiceAccountsCommand).resolvesOnce({ serviceAccounts: [{ id: '12', name: 'ci-viewer', grafanaRole: 'VIEWER' } as any] })
      .resolves({ serviceAccounts: [{ id: '13', name: 'ci-viewer', grafanaRole: 'ADMIN' } as any] });
    expect((await handleServiceAccountEvent(event('Create'))).physicalResourceId).toBe('12');
    await expect(handleServiceAccountEvent(event('Create'))).rejects.toThrow(`Service account name 'ci-viewer' is already in use in workspace ${WS}: choose another serviceAccountName`);
  });

  test('a role change with the same explicit name says to rename', async () => {
    grafana.on(CreateWorkspaceServiceAccountCommand).rejects(new ConflictException({ message: 'exists', $metadata: {} } as any));
    grafana.on(ListWorkspaceServiceAccountsCommand).resolves({ serviceAccounts: [{ id: '12', name: 'ci-viewer', grafanaRole: 'VIEWER' } as any] });
    await expect(handleServiceAccountEvent(event('Update', { PhysicalResourceId: '12', ResourceProperties: props('ADMIN'), OldResourceProperties: props() })))
      .rejects.toThrow(/by the account this update replaces: give the replacement a new serviceAccountName/);
  });

  test('an update that changes nothing makes no call; delete tolerates a missing account; a failed create deletes nothing', async () => {
    expect(await handleServiceAccountEvent(event('Update', { PhysicalResourceId: '12', OldResourceProperties: props() }))).toMatchObject({ physicalResourceId: '12' });
    grafana.on(DeleteWorkspaceServiceAccountCommand).rejects(notFound());
    await handleServiceAccountEvent(event('Delete', { PhysicalResourceId: '12' }));
    await handleServiceAccountEvent(event('Delete', { PhysicalResourceId: FAILED_CREATE_ID }));
    expect(grafana.calls()).toHaveLength(1);
  });
});
