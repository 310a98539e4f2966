/** The one Grafana HTTP client (lambda/clients/grafana-http.ts): auth headers, org header, bounded retries, http only when allowed. */
import * as http from 'http';
import type { AddressInfo } from 'net';
import { GRAFANA_HTTP_ATTEMPTS, grafanaRequest, GrafanaUnreachableError } from '../../lambda/clients/grafana-http';
import { startHttpsWorkspace } from './helpers/https-workspace';

test('bearer and basic auth, X-Grafana-Org-Id and a JSON body reach the server; the JSON answer comes back', async () => {
  const seen: http.IncomingHttpHeaders[] = [];
  const bodies: string[] = [];
  const server = await startHttpsWorkspace((req, res) => {
    seen.push(req.headers);
    let body = '';
    req.on('data', (c) => { body += c; });
    req.on('end', () => { bodies.push(body); res.writeHead(200, { 'content-type': 'application/json' }).end('{"id":7}'); });
  });
  try {
    expect(await grafanaRequest({ baseUrl: server.url, method: 'GET', path: '/api/org', auth: { token: 'tok' } })).toEqual({ status: 200, body: { id: 7 } });
    await grafanaRequest({ baseUrl: `${server.url}/`, method: 'POST', path: '/api/serviceaccounts', auth: { user: 'admin', password: 'p:w' }, orgId: '3', body: { name: 'x' } });
  } finally {
    await server.close();
  }
  expect(seen[0].authorization).toBe('Bearer tok');
  expect(seen[0]['x-grafana-org-id']).toBeUndefined();
  expect(seen[1].authorization).toBe(`Basic ${Buffer.from('admin:p:w').toString('base64')}`);
  expect(seen[1]['x-grafana-org-id']).toBe('3');
  expect(JSON.parse(bodies[1])).toEqual({ name: 'x' });
});

test('5xx and 429 are retried a bounded number of times; 4xx answers at once', async () => {
  let calls = 0;
  let status = 503;
  const server = await startHttpsWorkspace((_req, res) => { calls++; res.writeHead(status).end('{"message":"x"}'); });
  try {
    await expect(grafanaRequest({ baseUrl: server.url, method: 'GET', path: '/api/org' })).rejects.toThrow(GrafanaUnreachableError);
    expect(calls).toBe(GRAFANA_HTTP_ATTEMPTS);
    calls = 0;
    status = 409;
    expect(await grafanaRequest({ baseUrl: server.url, method: 'POST', path: '/api/auth/keys', body: {} })).toEqual({ status: 409, body: { message: 'x' } });
    expect(calls).toBe(1);
  } finally {
    await server.close();
  }
});

test('plain http is refused before any connection unless allowed', async () => {
  let calls = 0;
  const server = http.createServer((_req, res) => { calls++; res.writeHead(200).end('{}'); });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  try {
    await expect(grafanaRequest({ baseUrl: url, method: 'GET', path: '/api/org', auth: { token: 't' } })).rejects.toThrow(/over http: https only/);
    expect(calls).toBe(0);
    expect((await grafanaRequest({ baseUrl: url, method: 'GET', path: '/api/org', allowHttp: true })).status).toBe(200);
  } finally {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  }
});
