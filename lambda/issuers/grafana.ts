/** Pieces shared by the Amazon Managed Grafana issuers. */
import * as https from 'https';
import { grafanaClient, grafanaSdk } from '../clients/aws';
import { ServiceError } from './types';
import { CredentialResourceProperties, HANDLER_ENV, normaliseHttpsUrl } from '../../lib/private/contract';
import { log } from '../log';

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
  // Only an outright refusal says the request did nothing; after anything else (throttling, a timeout) it may have landed.
  const refused = ['ResourceNotFoundException', 'AccessDeniedException', 'ServiceQuotaExceededException', 'ValidationException', 'ConflictException'].includes(name);
  return new ServiceError(`${what} (${name}: ${message}): ${hint}`, !refused);
}

export async function describeWorkspace(workspaceId: string): Promise<{ endpoint?: string; grafanaVersion?: string }> {
  try {
    const out = await (await grafanaClient()).send(new (await grafanaSdk()).DescribeWorkspaceCommand({ workspaceId }));
    return { endpoint: out.workspace?.endpoint, grafanaVersion: out.workspace?.grafanaVersion };
  } catch (err) {
    throw explainGrafanaError(err, workspaceId, 'DescribeWorkspace');
  }
}

async function workspaceEndpoint(workspaceId: string): Promise<string> {
  const { endpoint } = await describeWorkspace(workspaceId);
  if (!endpoint) throw new ServiceError(`Workspace ${workspaceId} has no endpoint yet: wait until it is ACTIVE, or set workspaceUrl`);
  return endpoint;
}

/**
 * How rotation verifies a credential, from the parsed properties (that is,
 * from the template). Part of the definition, so changing `workspaceUrl` or
 * `verifyRotatedKey` reissues the credential.
 */
export function verificationFrom(props: CredentialResourceProperties): { verifyUrl?: string; verifyRotatedKey?: string } {
  return { ...(props.VerifyUrl ? { verifyUrl: props.VerifyUrl } : {}), ...(props.VerifyRotatedKey === 'false' ? { verifyRotatedKey: 'false' } : {}) };
}

/** The `workspaceUrl`s the stack's template names, from the function's environment. */
function urlsTheStackNames(): Set<string> {
  const raw = process.env[HANDLER_ENV.verifyUrls];
  if (!raw) return new Set();
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    log('error', `${HANDLER_ENV.verifyUrls} is not JSON; no workspaceUrl is trusted`);
    return new Set();
  }
  const urls = Array.isArray(parsed) ? parsed.filter((u): u is string => typeof u === 'string') : [];
  return new Set(urls.map(normaliseHttpsUrl).filter((u): u is string => u !== undefined));
}

/**
 * Where a credential of `workspaceId` may be verified. The only trusted
 * sources are the template (the `workspaceUrl`s the stack names, in the
 * function's environment) and the workspace itself (DescribeWorkspace's
 * endpoint, for a workspace the role may describe). `verifyUrl` comes from
 * the stored record, which anyone allowed to write the secret could change,
 * so it is only ever a choice among those. Always https.
 */
export async function verificationTarget(workspaceId: string, verifyUrl: string | undefined): Promise<string> {
  if (verifyUrl === undefined) return `https://${await workspaceEndpoint(workspaceId)}`;
  const url = normaliseHttpsUrl(verifyUrl);
  if (!url) {
    throw new ServiceError(`Refusing to verify at '${verifyUrl}': only https URLs are used for Amazon Managed Grafana; fix workspaceUrl and deploy again`);
  }
  if (urlsTheStackNames().has(url)) return url;
  const endpoint = await workspaceEndpoint(workspaceId);
  if (new URL(url).host === endpoint) return url;
  throw new ServiceError(`Refusing to send a credential of workspace ${workspaceId} to ${new URL(url).origin}: it is neither the workspace's endpoint (${endpoint}) ` +
    "nor a workspaceUrl this stack's template names; the stored record may have been tampered with. Deploy the stack again to reissue");
}

/** Verifies a credential at its workspace as its definition says; false when verification is off. */
export async function verifyAtWorkspace(definition: Readonly<Record<string, string>>, token: string, what: string): Promise<boolean> {
  if (definition.verifyRotatedKey === 'false') return false;
  await verifyToken(await verificationTarget(definition.workspaceId, definition.verifyUrl), token, what);
  return true;
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
  if (url.protocol !== 'https:') throw new ServiceError(`Refusing to send ${what} over ${url.protocol} to ${url.origin}: https only`);
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
  return new Promise((resolve, reject) => {
    const req = https.request(url, { method: 'GET', headers: { authorization: `Bearer ${token}` }, timeout: VERIFY_TIMEOUT_MS }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('timeout', () => req.destroy(new Error('request timed out')));
    req.on('error', reject);
    req.end();
  });
}
