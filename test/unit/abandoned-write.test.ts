/**
 * The timeout guard gives up on a write that Secrets Manager keeps throttling.
 * Real SDK client (retries and HTTP handler included) against a local HTTP
 * server, because what matters is what reaches the service after giving up.
 */
import * as http from 'http';
import type { AddressInfo } from 'net';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { ConfiguredRetryStrategy } from '@smithy/core/retry';
import type { Issuer } from '../../lambda/issuers/types';
import { MintJournal, mint, versionIdFor } from '../../lambda/lifecycle';
import { SecretStore } from '../../lambda/secret-store';
import { captureLogs } from './helpers';

const SECRET = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:grafana-credentials/Stack/Key-AbCdEf';
const TOKEN = 'tok-never-stored-0123456789';

let server: http.Server;
let client: SecretsManagerClient;
const seen: Array<{ target: string; placeholder: boolean }> = [];
let logs: ReturnType<typeof captureLogs>;

beforeAll(async () => {
  server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d) => { body += d; });
    req.on('end', () => {
      const target = String(req.headers['x-amz-target'] ?? '').split('.').pop()!;
      const input = JSON.parse(body || '{}');
      const placeholder = typeof input.SecretString === 'string' && input.SecretString.includes('placeholder');
      seen.push({ target, placeholder });
      if (target === 'PutSecretValue' && !placeholder) {
        res.writeHead(400, { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-errortype': 'ThrottlingException' });
        res.end(JSON.stringify({ __type: 'ThrottlingException', message: 'Rate exceeded' }));
        return;
      }
      res.writeHead(200, { 'content-type': 'application/x-amz-json-1.1' });
      res.end(JSON.stringify({ ARN: SECRET, Name: 'Key', VersionId: input.ClientRequestToken }));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  client = new SecretsManagerClient({
    region: 'us-east-1',
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    credentials: { accessKeyId: 'AKID', secretAccessKey: 'secret' },
    // As the handler's clients: many attempts, here 20 ms apart.
    retryStrategy: new ConfiguredRetryStrategy(11, () => 20),
  });
});
afterAll(async () => {
  client.destroy();
  await new Promise((r) => server.close(r));
});
beforeEach(() => { seen.length = 0; logs = captureLogs(); });
afterEach(() => {
  logs.restore();
  for (const line of logs.lines) expect(line).not.toContain(TOKEN);
});

const revoked: string[] = [];
const issuer: Issuer = {
  kind: 'ApiKey', noun: 'API key', maxNameLength: 100,
  definitionFrom: () => ({}),
  namePrefix: () => 'S-Key',
  issue: async (_d, name) => ({ token: TOKEN, expiresAt: new Date(Date.now() + 86_400_000).toISOString(), fields: { keyName: name } }),
  revokeByName: async (_d, name) => { revoked.push(name); },
  revoke: async (record) => { revoked.push(record.fields.keyName); },
  nameOf: (record) => record.fields.keyName,
  verify: async () => true,
};

const writes = () => seen.filter((s) => s.target === 'PutSecretValue' && !s.placeholder).length;

test('once the invocation gives up, a throttled write starts no further attempt, and its version is fenced', async () => {
  const journal = new MintJournal();
  const deps = { store: new SecretStore(client), issuerFor: () => issuer, journal };
  const minting = mint(deps, issuer, {}, { secretArn: SECRET, name: 'S-Key-abc', versionId: versionIdFor('req-1'), stages: ['AWSCURRENT'], generation: 'S-Key-abc' })
    .then(() => undefined, (err: Error) => err);
  for (let i = 0; i < 200 && writes() < 2; i++) await new Promise((r) => setTimeout(r, 10));
  expect(writes()).toBeGreaterThanOrEqual(2); // being throttled and retried

  await journal.revokeUnstored();
  const atGiveUp = writes();
  await new Promise((r) => setTimeout(r, 500)); // 20+ more attempts' worth of time

  // At most the attempt already on its way when the guard gave up; before, the retries went on (12 attempts in all).
  expect(writes() - atGiveUp).toBeLessThanOrEqual(1);
  expect(await minting).toBeInstanceOf(Error);
  expect(revoked).toContain('S-Key-abc');
  expect(seen.filter((s) => s.placeholder)).toHaveLength(1);
});
