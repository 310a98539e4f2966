/** The self-managed Grafana issuers (lambda/issuers/grafana-server.ts) against the Grafana server stand-in, with a mocked admin secret. */
import * as fs from 'fs';
import * as https from 'https';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { grafanaRequest } from '../../lambda/clients/grafana-http';
import { explainRefusal, serverApiKeyIssuer, serverServiceAccountTokenIssuer } from '../../lambda/issuers/grafana-server';
import { NameInUseError, ServiceError } from '../../lambda/issuers/types';
import { HANDLER_ENV } from '../../lib/private/contract';
import { GrafanaServerStandIn } from '../testbed/grafana/server';
import { startHttpsWorkspace } from './helpers/https-workspace';

const ADMIN_ARN = 'arn:aws:secretsmanager:us-east-1:111111111111:secret:grafana-admin-AbCdEf';
const sm = mockClient(SecretsManagerClient);
let grafana: GrafanaServerStandIn;

beforeEach(async () => {
  grafana = await GrafanaServerStandIn.start({ version: '10.4.2' });
  https.globalAgent.options.ca = fs.readFileSync(grafana.caCertPath);
  sm.reset();
  sm.on(GetSecretValueCommand).resolves({ SecretString: JSON.stringify({ user: grafana.adminUser, password: grafana.adminPassword }) });
  process.env[HANDLER_ENV.servers] = JSON.stringify([[grafana.url, ADMIN_ARN]]);
});

afterEach(async () => {
  delete process.env[HANDLER_ENV.servers];
  await grafana.stop();
});

async function serviceAccount(): Promise<string> {
  const answer = await grafanaRequest({
    baseUrl: grafana.url, method: 'POST', path: '/api/serviceaccounts', auth: { user: grafana.adminUser, password: grafana.adminPassword }, body: { name: 'ci', role: 'Editor' },
  });
  return String(answer.body.id);
}

const definition = (serviceAccountId: string, secondsToLive = '86400') =>
  ({ grafanaUrl: grafana.url, serviceAccountId, secondsToLive, namePrefix: 'ci' });

test('a taken token name (Grafana 10: 400 serviceaccounts.ErrTokenAlreadyExists) is NameInUseError, so the engine adopts or replaces it', async () => {
  const def = definition(await serviceAccount());
  const first = await serverServiceAccountTokenIssuer.issue(def, 'ci-0123456789');
  expect(grafana.isValid(first.token)).toBe(true);
  await expect(serverServiceAccountTokenIssuer.issue(def, 'ci-0123456789')).rejects.toBeInstanceOf(NameInUseError);
  expect(grafana.live()).toHaveLength(1);
});

test('Grafana 9.0 answered a taken token name with 409: also NameInUseError', async () => {
  grafana.version = '9.0.9';
  const def = definition(await serviceAccount());
  await serverServiceAccountTokenIssuer.issue(def, 'ci-0123456789');
  await expect(serverServiceAccountTokenIssuer.issue(def, 'ci-0123456789')).rejects.toBeInstanceOf(NameInUseError);
});

test("any other 400 stays a refusal with Grafana's reason, and never carries a token", async () => {
  grafana.tokenExpirationDayLimit = 1;
  const def = definition(await serviceAccount(), String(2 * 86_400));
  const err = await serverServiceAccountTokenIssuer.issue(def, 'ci-0123456789').catch((e) => e);
  expect(err).toBeInstanceOf(ServiceError);
  expect(err).not.toBeInstanceOf(NameInUseError);
  expect(err.message).toMatch(/HTTP 400: token_expiration_day_limit: the expiration exceeds the limit/);
  for (const secret of grafana.secrets()) expect(err.message.includes(secret)).toBe(false);
});

test('a status Grafana never answers on these endpoints (412, say from a proxy in front) names the server, the status and its message, and invents no fix', () => {
  const err = explainRefusal({ status: 412, body: { message: 'Precondition Failed' } }, { url: 'https://grafana.example.com', allowHttp: false }, 'Creating API key k');
  expect(err.message).toBe('Creating API key k on https://grafana.example.com failed (HTTP 412: Precondition Failed): see the server log');
});

test('listing: the tokens of a deleted service account are gone (undefined); an API-key list answering 404 is refused, never read as empty', async () => {
  const id = await serviceAccount();
  const def = definition(id);
  await serverServiceAccountTokenIssuer.issue(def, 'ci-0123456789');
  expect(await serverServiceAccountTokenIssuer.listIssuedNames!(def)).toEqual(['ci-0123456789']);
  await grafanaRequest({ baseUrl: grafana.url, method: 'DELETE', path: `/api/serviceaccounts/${id}`, auth: { user: grafana.adminUser, password: grafana.adminPassword } });
  expect(await serverServiceAccountTokenIssuer.listIssuedNames!(def)).toBeUndefined();
  await expect(serverServiceAccountTokenIssuer.revokeByName(def, 'ci-0123456789')).resolves.toBeUndefined();

  const proxy = await startHttpsWorkspace((_req, res) => { res.writeHead(404, { 'content-type': 'application/json' }).end('{"message":"Not found"}'); });
  try {
    process.env[HANDLER_ENV.servers] = JSON.stringify([[proxy.url, ADMIN_ARN]]);
    const keys = { grafanaUrl: proxy.url, keyRole: 'VIEWER', secondsToLive: '86400', namePrefix: 'ci' };
    await expect(serverApiKeyIssuer.listIssuedNames!(keys)).rejects.toThrow(/Listing API keys on https:\/\/127.0.0.1:\d+ failed \(HTTP 404: Not found\)/);
    await expect(serverApiKeyIssuer.revokeByName(keys, 'ci-0123456789')).rejects.toThrow(/HTTP 404/);
  } finally {
    await proxy.close();
  }
});
