/**
 * Credentials on a self-managed Grafana server, through its HTTP API: legacy API keys (`/api/auth/keys`, Grafana 8
 * to 10) and service-account tokens (`/api/serviceaccounts/{id}/tokens`, Grafana 9+). The handler talks only to a
 * server the template names (HANDLER_ENV.servers, in the function's environment), with that server's admin secret,
 * read at run time for each call. A stored record can name a server, never add one.
 */
import { secretsManagerClient, secretsManagerSdk } from '../clients/aws';
import { GrafanaAnswer, GrafanaAuth, grafanaRequest, GrafanaUnreachableError } from '../clients/grafana-http';
import { CredentialKind, CredentialResourceProperties, HANDLER_ENV, LIMITS, normaliseServerUrl, SERVER_ROLE_NAMES } from '../../lib/private/contract';
import type { CredentialRecord } from '../engine/ledger';
import { log } from '../log';
import { expiresAt } from './grafana';
import { Definition, Issued, Issuer, NameInUseError, NEVER_EXPIRES, ServiceError } from './types';

/** What a stored record says about where its credential lives. */
export interface Server {
  readonly url: string;
  readonly orgId?: string;
  readonly allowHttp: boolean;
}

/** The fields of a definition that say where the credential lives (part of what it is: changing them reissues). */
export function serverDefinition(props: { readonly GrafanaUrl?: string; readonly OrgId?: string; readonly AllowHttp?: string }): Record<string, string> {
  return {
    grafanaUrl: props.GrafanaUrl ?? '',
    ...(props.OrgId ? { orgId: props.OrgId } : {}),
    ...(props.AllowHttp === 'true' ? { allowHttp: 'true' } : {}),
  };
}

/** A self-managed credential's definition: where it lives, what the kind adds, its lifetime, name prefix and verification. */
function serverCredentialDefinition(props: CredentialResourceProperties, kindFields: Record<string, string>): Definition {
  return {
    ...serverDefinition(props),
    ...kindFields,
    secondsToLive: props.SecondsToLive ?? '0',
    namePrefix: props.NamePrefix,
    ...(props.VerifyRotatedKey === 'false' ? { verifyRotatedKey: 'false' } : {}),
  };
}

export function serverOf(definition: Definition): Server {
  return { url: definition.grafanaUrl, orgId: definition.orgId, allowHttp: definition.allowHttp === 'true' };
}

/** The servers the template names, each with its admin secret's ARN. */
function serversTheStackNames(): Map<string, string> {
  const raw = process.env[HANDLER_ENV.servers];
  const out = new Map<string, string>();
  if (!raw) return out;
  try {
    const pairs: unknown = JSON.parse(raw);
    for (const pair of Array.isArray(pairs) ? pairs : []) {
      // A url that was a token at synth is normalised here, as the record's is.
      if (Array.isArray(pair) && typeof pair[0] === 'string' && typeof pair[1] === 'string') out.set(normaliseServerUrl(pair[0], true) ?? pair[0], pair[1]);
    }
  } catch {
    log('error', `${HANDLER_ENV.servers} is not JSON; no Grafana server is trusted`);
  }
  return out;
}

/** The admin secret of a server the template names; refuses any other server. */
export function adminSecretFor(server: Server): string {
  const url = normaliseServerUrl(server.url, server.allowHttp);
  const arn = url === undefined ? undefined : serversTheStackNames().get(url);
  if (!url || !arn) {
    throw new ServiceError(`Refusing to call Grafana at '${server.url}': it is not a server this stack's template names (SelfManagedGrafana url); ` +
      'the stored record may have been tampered with, or the server was removed from the stack. Deploy the stack again to reissue');
  }
  return arn;
}

/** Reads the admin credential now (so a rotated admin secret is picked up at once); never logged, never returned. */
async function adminAuth(secretArn: string): Promise<GrafanaAuth> {
  let text: string | undefined;
  try {
    const out = await (await secretsManagerClient()).send(new (await secretsManagerSdk()).GetSecretValueCommand({ SecretId: secretArn }));
    text = out.SecretString;
  } catch (err) {
    const name = (err as { name?: string })?.name ?? 'Error';
    throw new ServiceError(`Reading the admin secret ${secretArn} failed (${name}): check that it exists and that the handler may read it (and decrypt it with its KMS key)`);
  }
  let value: any;
  try {
    value = JSON.parse(text ?? '');
  } catch {
    value = undefined;
  }
  if (typeof value?.token === 'string' && value.token) return { token: value.token };
  if (typeof value?.user === 'string' && typeof value?.password === 'string' && value.user) return { user: value.user, password: value.password };
  throw new ServiceError(`The admin secret ${secretArn} must hold JSON {"token": "..."} or {"user": "...", "password": "..."}: fix its value`);
}

/**
 * One call to the server as its admin. A 401 means the admin credential
 * itself is wrong (or was rotated to one that does not work); every other
 * status goes back to the caller.
 */
export async function callAsAdmin(server: Server, method: 'GET' | 'POST' | 'DELETE', path: string, action: string, body?: unknown): Promise<GrafanaAnswer> {
  const secretArn = adminSecretFor(server);
  const auth = await adminAuth(secretArn);
  let answer: GrafanaAnswer;
  try {
    answer = await grafanaRequest({ baseUrl: server.url, method, path, auth, orgId: server.orgId, body, allowHttp: server.allowHttp });
  } catch (err) {
    const why = err instanceof GrafanaUnreachableError ? err.message : String(err);
    // retryable: the request may have landed (a timeout after the server acted).
    throw new ServiceError(`${action} on ${new URL(server.url).origin} failed: the server did not answer (${why}). ` +
      'Check the url, that the handler can reach it (vpc, subnets, security groups), and that the server is up', true);
  }
  if (answer.status === 401) {
    throw new ServiceError(`${action} on ${new URL(server.url).origin} was refused (HTTP 401): the admin credential in secret ${secretArn} does not work. ` +
      'Put a working admin token or user and password in it and deploy again');
  }
  return answer;
}

/** A refusal from the server as a message naming the server, the cause and the fix. */
export function explainRefusal(answer: GrafanaAnswer, server: Server, action: string): ServiceError {
  const message = typeof answer.body?.message === 'string' ? answer.body.message.slice(0, 300) : '';
  const fix: Record<number, string> = {
    400: 'check the construct props (a timeToLive above the server\'s api_key_max_seconds_to_live or token_expiration_day_limit?)',
    403: 'the admin credential lacks the permission: give it the Admin role (in the organization of orgId)',
    404: 'check the url, orgId and the service account id',
    409: 'the name is taken',
  };
  const where = `${new URL(server.url).origin}${server.orgId ? ` (organization ${server.orgId})` : ''}`;
  return new ServiceError(`${action} on ${where} failed (HTTP ${answer.status}${message ? `: ${message}` : ''}): ${fix[answer.status] ?? 'see the server log'}`);
}

/** The server's major version from GET /api/health (no auth needed); undefined when it does not say. */
async function majorVersion(server: Server): Promise<number | undefined> {
  const answer = await grafanaRequest({ baseUrl: server.url, method: 'GET', path: '/api/health', allowHttp: server.allowHttp }).catch(() => undefined);
  const major = Number(String(answer?.body?.version ?? '').split('.')[0]);
  return Number.isFinite(major) && major > 0 ? major : undefined;
}

/**
 * Verifies a new credential at its server with an endpoint any role may
 * call: GET /api/access-control/user/permissions (Grafana 9+), or /api/org
 * where that does not exist. The target is the template's server only.
 */
async function verifyAtServer(definition: Definition, token: string, what: string): Promise<boolean> {
  if (definition.verifyRotatedKey === 'false') return false;
  const server = serverOf(definition);
  adminSecretFor(server); // the same rule as every other call: a server the template names
  const origin = new URL(server.url).origin;
  const ask = (path: string) => grafanaRequest({ baseUrl: server.url, method: 'GET', path, auth: { token }, allowHttp: server.allowHttp });
  let answer: GrafanaAnswer;
  try {
    answer = await ask('/api/access-control/user/permissions');
    if (answer.status === 404) answer = await ask('/api/org');
  } catch (err) {
    throw new ServiceError(`${what} could not be verified at ${origin} (${(err as Error).message}): check that the handler can reach the server, or set verifyRotatedKey to false`);
  }
  if (answer.status === 200) return true;
  if (answer.status === 401 || answer.status === 403) throw new ServiceError(`${what} was rejected by ${origin} (HTTP ${answer.status}): the credential does not work`);
  throw new ServiceError(`${what} could not be verified at ${origin} (HTTP ${answer.status}): check the url, or set verifyRotatedKey to false`);
}

/** When a credential of `secondsToLive` expires; one that never expires gets the farthest date JSON writes. */
function expiry(secondsToLive: string): string {
  return secondsToLive === '0' ? NEVER_EXPIRES : expiresAt(secondsToLive);
}

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const issuedPattern = (prefix: string) => new RegExp(`^${escapeRegExp(prefix)}-[0-9a-f]{10}$`);

/** The {id, name} of each credential a list returns (one plain JSON array: neither list pages). A 404 is the
 * owner gone (undefined) where `ownerMayBeGone` (a deleted service account), and a refusal otherwise. */
async function listAll(server: Server, path: string, action: string, ownerMayBeGone = false): Promise<Array<{ id: string; name: string }> | undefined> {
  const answer = await callAsAdmin(server, 'GET', path, action);
  if (answer.status === 404 && ownerMayBeGone) return undefined;
  if (answer.status !== 200 || !Array.isArray(answer.body)) throw explainRefusal(answer, server, action);
  return answer.body.map((c: any) => ({ id: String(c.id), name: String(c.name) }));
}

const listApiKeys = (server: Server) => listAll(server, '/api/auth/keys?includeExpired=true', 'Listing API keys');

async function deleteApiKey(server: Server, id: string, name: string): Promise<void> {
  const answer = await callAsAdmin(server, 'DELETE', `/api/auth/keys/${encodeURIComponent(id)}`, `Deleting API key ${name}`);
  if (answer.status === 200 || answer.status === 404) return; // 404: already gone, which is revoked
  throw explainRefusal(answer, server, `Deleting API key ${name}`);
}

export const serverApiKeyIssuer: Issuer = {
  kind: CredentialKind.SERVER_API_KEY,
  noun: 'Grafana API key',
  maxNameLength: LIMITS.apiKeyNameMax,

  definitionFrom: (props) => serverCredentialDefinition(props, { keyRole: props.Role ?? '' }),
  namePrefix: (definition) => definition.namePrefix,

  async issue(definition: Definition, name: string): Promise<Issued> {
    const server = serverOf(definition);
    const { keyRole, secondsToLive } = definition;
    const action = `Creating API key ${name}`;
    const answer = await callAsAdmin(server, 'POST', '/api/auth/keys', action, { name, role: SERVER_ROLE_NAMES[keyRole] ?? keyRole, secondsToLive: Number(secondsToLive) });
    if (answer.status === 409) throw new NameInUseError(name);
    if (answer.status !== 200) {
      const major = answer.status === 404 || answer.status === 410 || answer.status === 400 ? await majorVersion(server) : undefined;
      if (major !== undefined && major >= 11) {
        throw new ServiceError(`${new URL(server.url).origin} runs Grafana ${major}, which has no API keys (Grafana documents them for 8 to 10): ` +
          'use GrafanaServiceAccount with GrafanaServiceAccountToken instead of GrafanaApiKey');
      }
      throw explainRefusal(answer, server, action);
    }
    const key = answer.body?.key;
    // A 200 without a key: the key may exist, so the engine revokes the name (retryable = may have landed).
    if (typeof key !== 'string' || !key) throw new ServiceError(`${action} on ${new URL(server.url).origin} returned no key`, true);
    return {
      token: key,
      expiresAt: expiry(secondsToLive),
      fields: { keyName: name, keyId: String(answer.body.id ?? ''), keyRole, grafanaUrl: server.url },
    };
  },

  async revokeByName(definition, name) {
    const server = serverOf(definition);
    for (const key of await listApiKeys(server) ?? []) if (key.name === name) await deleteApiKey(server, key.id, name);
  },

  async revoke(record: CredentialRecord) {
    const server = serverOf(record.lifecycle.definition);
    const { keyId, keyName } = record.fields;
    if (keyId) await deleteApiKey(server, keyId, keyName);
    else await serverApiKeyIssuer.revokeByName(record.lifecycle.definition, keyName);
  },

  nameOf: (record) => record.fields.keyName,

  verify: (record) => verifyAtServer(record.lifecycle.definition, record.key, `API key ${record.fields.keyName}`),

  async listIssuedNames(definition) {
    const pattern = issuedPattern(definition.namePrefix);
    return (await listApiKeys(serverOf(definition)))?.filter((k) => pattern.test(k.name)).map((k) => k.name);
  },
};

const tokensPath = (serviceAccountId: string) => `/api/serviceaccounts/${encodeURIComponent(serviceAccountId)}/tokens`;

/** A taken token name: 409 on Grafana 9.0, then 400 with this messageId (ErrDuplicateToken became an errutil.BadRequest). */
const tokenNameTaken = (answer: GrafanaAnswer) => answer.status === 409 || (answer.status === 400 && answer.body?.messageId === 'serviceaccounts.ErrTokenAlreadyExists');

/** Every token of a service account; undefined when the account is gone. */
const listTokens = (server: Server, id: string) => listAll(server, tokensPath(id), `Listing tokens of service account ${id}`, true);

async function deleteToken(server: Server, serviceAccountId: string, tokenId: string, name: string): Promise<void> {
  const action = `Deleting token ${name} of service account ${serviceAccountId}`;
  const answer = await callAsAdmin(server, 'DELETE', `${tokensPath(serviceAccountId)}/${encodeURIComponent(tokenId)}`, action);
  if (answer.status === 200 || answer.status === 404) return; // 404: the token or its account is gone
  throw explainRefusal(answer, server, action);
}

export const serverServiceAccountTokenIssuer: Issuer = {
  kind: CredentialKind.SERVER_SERVICE_ACCOUNT_TOKEN,
  noun: 'Grafana service-account token',
  maxNameLength: LIMITS.tokenNameMax,

  definitionFrom: (props) => serverCredentialDefinition(props, { serviceAccountId: props.ServiceAccountId ?? '' }),
  namePrefix: (definition) => definition.namePrefix,

  async issue(definition: Definition, name: string): Promise<Issued> {
    const server = serverOf(definition);
    const { serviceAccountId, secondsToLive } = definition;
    const action = `Creating token ${name} for service account ${serviceAccountId}`;
    const answer = await callAsAdmin(server, 'POST', tokensPath(serviceAccountId), action, { name, secondsToLive: Number(secondsToLive) });
    if (tokenNameTaken(answer)) throw new NameInUseError(name);
    if (answer.status !== 200) throw explainRefusal(answer, server, action);
    const key = answer.body?.key;
    if (typeof key !== 'string' || !key || answer.body?.id === undefined) throw new ServiceError(`${action} on ${new URL(server.url).origin} returned no token`, true);
    return {
      token: key,
      expiresAt: expiry(secondsToLive),
      fields: { tokenName: name, tokenId: String(answer.body.id), serviceAccountId, grafanaUrl: server.url },
    };
  },

  async revokeByName(definition, name) {
    const server = serverOf(definition);
    for (const token of await listTokens(server, definition.serviceAccountId) ?? []) {
      if (token.name === name) await deleteToken(server, definition.serviceAccountId, token.id, name);
    }
  },

  async revoke(record: CredentialRecord) {
    const { serviceAccountId, tokenId, tokenName } = record.fields;
    await deleteToken(serverOf(record.lifecycle.definition), serviceAccountId, tokenId, tokenName);
  },

  nameOf: (record) => record.fields.tokenName,

  verify: (record) => verifyAtServer(record.lifecycle.definition, record.key, `service-account token ${record.fields.tokenName}`),

  async listIssuedNames(definition) {
    const pattern = issuedPattern(definition.namePrefix);
    return (await listTokens(serverOf(definition), definition.serviceAccountId))?.filter((t) => pattern.test(t.name)).map((t) => t.name);
  },
};
