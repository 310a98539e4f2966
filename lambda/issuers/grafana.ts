/** Pieces shared by the Amazon Managed Grafana issuers. */
import * as https from 'https';
import * as http from 'http';
import { grafanaClient, grafanaSdk } from '../clients';
import { InputError, ServiceError } from './types';
import { GRAFANA_ROLES, LIMITS, WORKSPACE_ID_PATTERN } from '../../lib/private/contract';

export function requireString(props: Readonly<Record<string, unknown>>, name: string): string {
  const value = props[name];
  if (typeof value !== 'string' || value.length === 0) throw new InputError(`Property ${name} is required`);
  return value;
}

export function parseWorkspaceId(value: string): string {
  if (!WORKSPACE_ID_PATTERN.test(value)) {
    throw new InputError(`WorkspaceId '${value}' is not a workspace id: expected 'g-' and 10 hex digits, e.g. g-0123456789`);
  }
  return value;
}

export function parseRole(value: string): string {
  if (!(GRAFANA_ROLES as readonly string[]).includes(value)) {
    throw new InputError(`Role '${value}' is not one of ${GRAFANA_ROLES.join(', ')}`);
  }
  return value;
}

export function parseSecondsToLive(value: string): string {
  const seconds = Number(value);
  if (!Number.isInteger(seconds) || seconds < 1 || seconds > LIMITS.maxSecondsToLive) {
    throw new InputError(`SecondsToLive '${value}' must be a whole number from 1 to ${LIMITS.maxSecondsToLive} (30 days)`);
  }
  return String(seconds);
}

export function expiresAt(secondsToLive: string, now = Date.now()): string {
  return new Date(now + Number(secondsToLive) * 1000).toISOString();
}

/** Turns an SDK error from the Grafana control plane into a message naming resource, cause and fix. */
export function explainGrafanaError(err: unknown, workspaceId: string, action: string): Error {
  const name = (err as { name?: string })?.name ?? 'Error';
  const message = (err as { message?: string })?.message ?? String(err);
  const fix: Record<string, string> = {
    ResourceNotFoundException: 'check workspaceId and the stack region',
    AccessDeniedException: "check the handler role's grafana permissions and the workspace's account",
    ServiceQuotaExceededException: 'delete unused keys or tokens, or raise the quota',
    ThrottlingException: 'too many requests; retries were exhausted, deploy again later',
    InternalServerException: 'the service failed repeatedly; deploy again later',
    ValidationException: 'check the construct props',
  };
  const hint = fix[name] ?? 'see the handler log for the request id';
  const what = name === 'ResourceNotFoundException' ? `Workspace ${workspaceId} or the resource was not found` : `${action} in workspace ${workspaceId} failed`;
  return new ServiceError(`${what} (${name}: ${message}): ${hint}`, name === 'ThrottlingException' || name === 'InternalServerException');
}

export async function describeWorkspace(workspaceId: string): Promise<{ endpoint?: string; grafanaVersion?: string }> {
  try {
    const out = await (await grafanaClient()).send(new (await grafanaSdk()).DescribeWorkspaceCommand({ workspaceId }));
    return { endpoint: out.workspace?.endpoint, grafanaVersion: out.workspace?.grafanaVersion };
  } catch (err) {
    throw explainGrafanaError(err, workspaceId, 'DescribeWorkspace');
  }
}

export async function workspaceUrlOf(workspaceId: string): Promise<string> {
  const { endpoint } = await describeWorkspace(workspaceId);
  if (!endpoint) throw new ServiceError(`Workspace ${workspaceId} has no endpoint yet: wait until it is ACTIVE, or set workspaceUrl`);
  return `https://${endpoint}`;
}

export function grafanaMajorVersion(version: string | undefined): number | undefined {
  const major = Number((version ?? '').split('.')[0]);
  return Number.isFinite(major) && major > 0 ? major : undefined;
}

const VERIFY_TIMEOUT_MS = 5000;
const VERIFY_ATTEMPTS = 3;

/**
 * Checks a token against the workspace: GET {baseUrl}/api/org answers 200 for a
 * working token. Network errors and 5xx are retried; 401/403 are final.
 */
export async function verifyToken(baseUrl: string, token: string, what: string): Promise<void> {
  const url = new URL(baseUrl.replace(/\/+$/, '') + '/api/org');
  let lastProblem = '';
  for (let attempt = 1; attempt <= VERIFY_ATTEMPTS; attempt++) {
    const status = await getStatus(url, token).catch((err: Error) => err);
    if (status === 200) return;
    if (status === 401 || status === 403) {
      throw new ServiceError(`${what} was rejected by ${url.origin} (HTTP ${status}): the credential does not work`);
    }
    lastProblem = typeof status === 'number' ? `HTTP ${status}` : status.message;
    if (attempt < VERIFY_ATTEMPTS) await new Promise((r) => setTimeout(r, 200 * 2 ** attempt));
  }
  throw new ServiceError(`${what} could not be verified at ${url.origin} (${lastProblem}): check workspaceUrl, or set verifyRotatedKey to false if the function cannot reach the workspace`);
}

function getStatus(url: URL, token: string): Promise<number> {
  const transport = url.protocol === 'http:' ? http : https;
  return new Promise((resolve, reject) => {
    const req = transport.request(url, { method: 'GET', headers: { authorization: `Bearer ${token}` }, timeout: VERIFY_TIMEOUT_MS }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('timeout', () => req.destroy(new Error('request timed out')));
    req.on('error', reject);
    req.end();
  });
}
