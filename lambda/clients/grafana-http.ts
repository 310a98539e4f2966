/**
 * The one Grafana HTTP API client, for Amazon Managed Grafana workspaces and
 * self-managed servers alike: a timeout on every attempt, bounded retries with
 * jittered backoff for network errors, 429 and 5xx, and basic or bearer auth.
 * It never logs a header or a body: both can hold a credential.
 */
import * as http from 'http';
import * as https from 'https';
import { REQUEST_TIMEOUT_MS } from './aws';

/** A bearer token (API key or service-account token), or a user name and password for basic auth. */
export type GrafanaAuth = { readonly token: string } | { readonly user: string; readonly password: string };

export interface GrafanaCall {
  /** Base URL of the Grafana HTTP API, without a trailing '/'. */
  readonly baseUrl: string;
  readonly method: 'GET' | 'POST' | 'DELETE';
  /** Path under the base URL, starting with '/api/'. */
  readonly path: string;
  readonly auth?: GrafanaAuth;
  /** Sent as X-Grafana-Org-Id. */
  readonly orgId?: string;
  readonly body?: unknown;
  /** Plain http is refused unless this is true (a server the user declared private). */
  readonly allowHttp?: boolean;
}

export interface GrafanaAnswer {
  readonly status: number;
  /** The parsed JSON body, or undefined. May hold a credential: never log it. */
  readonly body: any;
}

/** The server could not be reached, or kept failing, after every attempt. */
export class GrafanaUnreachableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'GrafanaUnreachableError';
  }
}

/** Attempts per call, including the first. */
export const GRAFANA_HTTP_ATTEMPTS = 3;

function backoffMs(retry: number): number {
  return Math.round(Math.random() * Math.min(2000, 200 * 2 ** retry));
}

/** Sends one call with retries; resolves with the final answer (any status but 429 and 5xx, which are retried), or throws GrafanaUnreachableError. */
export async function grafanaRequest(call: GrafanaCall): Promise<GrafanaAnswer> {
  const url = new URL(call.baseUrl.replace(/\/+$/, '') + call.path);
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && call.allowHttp)) {
    throw new GrafanaUnreachableError(`Refusing to call ${url.origin} over ${url.protocol.replace(":", "")}: https only`);
  }
  let problem = '';
  for (let attempt = 1; attempt <= GRAFANA_HTTP_ATTEMPTS; attempt++) {
    const answer = await once(url, call).catch((err: Error) => err);
    if (!(answer instanceof Error) && answer.status !== 429 && answer.status < 500) return answer;
    problem = answer instanceof Error ? answer.message : `HTTP ${answer.status}`;
    if (attempt < GRAFANA_HTTP_ATTEMPTS) await new Promise((r) => setTimeout(r, backoffMs(attempt)));
  }
  throw new GrafanaUnreachableError(`${call.method} ${url.origin}${url.pathname} failed ${GRAFANA_HTTP_ATTEMPTS} times (${problem})`);
}

function headersFor(call: GrafanaCall, payload: string | undefined): Record<string, string> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (call.auth && 'token' in call.auth) headers.authorization = `Bearer ${call.auth.token}`;
  else if (call.auth) headers.authorization = `Basic ${Buffer.from(`${call.auth.user}:${call.auth.password}`).toString('base64')}`;
  if (call.orgId) headers['x-grafana-org-id'] = call.orgId;
  if (payload !== undefined) {
    headers['content-type'] = 'application/json';
    headers['content-length'] = String(Buffer.byteLength(payload));
  }
  return headers;
}

function once(url: URL, call: GrafanaCall): Promise<GrafanaAnswer> {
  const payload = call.body === undefined ? undefined : JSON.stringify(call.body);
  const transport = url.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const req = transport.request(url, { method: call.method, headers: headersFor(call, payload), timeout: REQUEST_TIMEOUT_MS }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        let body: unknown;
        try {
          body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
        } catch {
          body = undefined;
        }
        resolve({ status: res.statusCode ?? 0, body });
      });
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${REQUEST_TIMEOUT_MS} ms`)));
    req.on('error', reject);
    req.end(payload);
  });
}
