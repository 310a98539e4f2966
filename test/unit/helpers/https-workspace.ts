/**
 * A local stand-in of a workspace's Grafana HTTP API over https (rotation
 * verifies only over https), with the test bed's self-signed certificate for
 * 127.0.0.1 trusted by this process's default https agent.
 */
import * as fs from 'fs';
import * as http from 'http';
import * as https from 'https';
import type { AddressInfo } from 'net';
import * as path from 'path';

const TLS = path.join(__dirname, '..', '..', 'testbed', 'aws', 'tls');

export interface HttpsWorkspace {
  /** `https://127.0.0.1:<port>` */
  readonly url: string;
  /** `127.0.0.1:<port>`, as DescribeWorkspace would give the endpoint. */
  readonly host: string;
  close(): Promise<void>;
}

export async function startHttpsWorkspace(handle: (req: http.IncomingMessage, res: http.ServerResponse) => void): Promise<HttpsWorkspace> {
  const cert = fs.readFileSync(path.join(TLS, 'cert.pem'));
  https.globalAgent.options.ca = cert;
  const server = https.createServer({ key: fs.readFileSync(path.join(TLS, 'key.pem')), cert }, handle);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url: `https://${host}`,
    host,
    close: () => new Promise((r) => { server.closeAllConnections(); server.close(() => r()); }),
  };
}

/** A plain-http listener that records every request it receives (a token must never arrive here). */
export async function startRecordingListener(): Promise<{ url: string; requests: string[]; close(): Promise<void> }> {
  const requests: string[] = [];
  const server = http.createServer((req, res) => { requests.push(`${req.method} ${req.url}`); res.writeHead(200).end('{}'); });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    close: () => new Promise((r) => { server.closeAllConnections(); server.close(() => r()); }),
  };
}
