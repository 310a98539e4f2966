/** Fixtures for handler unit tests: events, stored versions, a local ResponseURL. */
import * as http from 'http';
import type { AddressInfo } from 'net';
import { serializeRecord, CredentialRecord } from '../../lambda/engine/ledger';

export const WS = 'g-0123456789';
export const SECRET = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:grafana-credentials/S/Key-abcdef';

export function props(overrides: Record<string, string> = {}): Record<string, string> {
  return { ServiceToken: 'arn:fn', Kind: 'amg-api-key', SecretArn: SECRET, WorkspaceId: WS, NamePrefix: 'S-Key', SecondsToLive: '2592000', Role: 'VIEWER', ...overrides };
}

export function apiKeyRecord(name: string, generation: string, overrides: Partial<Record<string, string>> = {}, extra: Partial<CredentialRecord['lifecycle']> = {}): string {
  const definition = {
    workspaceId: WS, keyRole: overrides.keyRole ?? 'VIEWER', secondsToLive: overrides.secondsToLive ?? '2592000', namePrefix: overrides.namePrefix ?? 'S-Key',
    ...(overrides.verifyUrl ? { verifyUrl: overrides.verifyUrl } : {}),
    ...(overrides.verifyRotatedKey ? { verifyRotatedKey: overrides.verifyRotatedKey } : {}),
  };
  return serializeRecord({
    key: `token-of-${name}`,
    expiresAt: overrides.expiresAt ?? new Date(Date.now() + 10 * 86400_000).toISOString(),
    fields: { keyName: name, keyRole: definition.keyRole, workspaceId: WS },
    lifecycle: { kind: 'amg-api-key', generation, definition, slot: 0, ...extra },
  });
}

/** A local ResponseURL that records the bodies PUT to it. */
export async function responseServer(): Promise<{ url: string; bodies: string[]; close: () => Promise<void> }> {
  const bodies: string[] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => { body += c; });
    req.on('end', () => { bodies.push(body); res.writeHead(200).end(); });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/response`,
    bodies,
    close: () => new Promise((r) => { server.closeAllConnections(); server.close(() => r()); }),
  };
}

export const context = (remainingMs = 60_000) => {
  const deadline = Date.now() + remainingMs;
  return { getRemainingTimeInMillis: () => deadline - Date.now(), awsRequestId: 'req', functionName: 'fn' } as any;
};

/** Captures console output so tests can assert no token reached a log line. */
export function captureLogs(): { lines: string[]; restore: () => void } {
  const lines: string[] = [];
  const log = jest.spyOn(console, 'log').mockImplementation((...a: unknown[]) => { lines.push(a.join(' ')); });
  const err = jest.spyOn(console, 'error').mockImplementation((...a: unknown[]) => { lines.push(a.join(' ')); });
  return { lines, restore: () => { log.mockRestore(); err.mockRestore(); } };
}
