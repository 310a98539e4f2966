/**
 * Amazon API Gateway REST API keys (issue #17). API Gateway generates each
 * key's value; the handler adds the key to every usage plan of its definition
 * (the key id changes at every rotation, so CloudFormation cannot hold the
 * association). Keys carry the owner tag, which the handler's IAM policy
 * requires, and API Gateway lets several keys share a name, so "the key called
 * X" always means the keys called X that carry this stack's owner tag.
 */
import * as https from 'https';
import { apiGatewayClient, apiGatewaySdk, isServiceError } from '../clients/aws';
import { API_GATEWAY_OWNER_TAG, CredentialKind, LIMITS, normaliseHttpsUrl } from '../../lib/private/contract';
import type { CredentialRecord } from '../engine/ledger';
import { urlsTheStackNames, verificationFrom } from './grafana';
import { Definition, Issued, Issuer, NameInUseError, NEVER_EXPIRES, ServiceError } from './types';

/** API Gateway keys do not expire; the record still needs a date, and rollback restores only a key that lives on. */

export const apiGatewayKeyIssuer: Issuer = {
  kind: CredentialKind.API_GATEWAY_KEY,
  noun: 'API Gateway key',
  maxNameLength: LIMITS.apiGatewayKeyNameMax,

  definitionFrom(props) {
    return {
      namePrefix: props.NamePrefix,
      usagePlanIds: props.UsagePlanIds ?? '',
      description: props.Description ?? '',
      customerId: props.CustomerId ?? '',
      enabled: props.Enabled ?? 'true',
      ownerTag: props.OwnerTag ?? '',
      ...verificationFrom(props),
    };
  },

  namePrefix: (definition) => definition.namePrefix,

  async issue(definition: Definition, name: string): Promise<Issued> {
    // API Gateway accepts a second key of the same name; the engine needs to hear that the name is taken.
    if ((await ownKeysNamed(definition, name)).length > 0) throw new NameInUseError(name);
    const sdk = await apiGatewaySdk();
    let created;
    try {
      created = await (await apiGatewayClient()).send(new sdk.CreateApiKeyCommand({
        name,
        description: definition.description || undefined,
        enabled: definition.enabled === 'true',
        customerId: definition.customerId || undefined,
        tags: { [API_GATEWAY_OWNER_TAG]: definition.ownerTag },
      }));
    } catch (err) {
      throw explainApiGatewayError(err, `Creating API key ${name}`);
    }
    if (!created.id || !created.value) {
      if (created.id) await deleteKey(created.id);
      throw new ServiceError(`CreateApiKey returned no ${created.id ? 'value' : 'id'} for API key ${name}; deploy again`);
    }
    try {
      for (const usagePlanId of plansOf(definition)) await addToPlan(usagePlanId, created.id, name);
    } catch (err) {
      // A key outside its plans must not live on: remove it before reporting why.
      await deleteKey(created.id).catch(() => undefined);
      throw err;
    }
    return {
      token: created.value,
      expiresAt: NEVER_EXPIRES,
      fields: { apiKeyId: created.id, apiKeyName: name, usagePlanIds: plansOf(definition).join(',') },
    };
  },

  async revokeByName(definition, name) {
    for (const key of await ownKeysNamed(definition, name)) await deleteKey(key.id);
  },

  async revoke(record: CredentialRecord) {
    await deleteKey(record.fields.apiKeyId);
  },

  nameOf: (record) => record.fields.apiKeyName,

  verify: (record) => verifyKey(record.lifecycle.definition, record.fields.apiKeyId, record.fields.apiKeyName, record.key),

  inPlaceFields: ['usagePlanIds'],

  /**
   * A change of usage plans keeps the key: it joins the plans added and leaves the plans removed. A plan that
   * both the record and CloudFormation's old properties name is taken as joined; any other plan either of them
   * names and the new definition does not is left, so that a rollback after an event that died half-way still
   * ends with the key in exactly the plans asked for.
   */
  async reconfigure(record, definition, replaced) {
    const { apiKeyId, apiKeyName } = record.fields;
    const target = plansOf(definition);
    const recorded = plansOf(record.lifecycle.definition);
    const known = recorded.filter((id) => plansOf(replaced).includes(id));
    try {
      for (const usagePlanId of target.filter((id) => !known.includes(id))) await addToPlan(usagePlanId, apiKeyId, apiKeyName);
    } catch (err) {
      if (!await keyExists(apiKeyId, apiKeyName)) return record.fields; // already revoked: nothing to reconfigure
      throw err;
    }
    for (const usagePlanId of new Set([...recorded, ...plansOf(replaced)])) {
      if (!target.includes(usagePlanId)) await removeFromPlan(usagePlanId, apiKeyId, apiKeyName);
    }
    return { ...record.fields, usagePlanIds: target.join(',') };
  },

  async listIssuedNames(definition) {
    const start = `${definition.namePrefix}-`;
    const keys = await ownKeys(definition, start);
    return [...new Set(keys.map((k) => k.name).filter((n) => /^[0-9a-f]{10}$/.test(n.slice(start.length))))];
  },
};

const plansOf = (definition: Definition): string[] => definition.usagePlanIds.split(',').filter((id) => id.length > 0);

/** Turns an SDK error from API Gateway into a message naming the resource, the cause and the fix. */
export function explainApiGatewayError(err: unknown, action: string): Error {
  if (err instanceof ServiceError) return err;
  const name = (err as { name?: string })?.name ?? 'Error';
  const message = (err as { message?: string })?.message ?? String(err);
  const fix: Record<string, string> = {
    NotFoundException: 'check usagePlans: a usage plan may have been deleted outside the stack',
    UnauthorizedException: `check the handler role's apigateway permissions; it may touch only keys tagged ${API_GATEWAY_OWNER_TAG} and the usage plans of its constructs`,
    AccessDeniedException: `check the handler role's apigateway permissions; it may touch only keys tagged ${API_GATEWAY_OWNER_TAG} and the usage plans of its constructs`,
    TooManyRequestsException: "API Gateway's control plane throttled the handler and retries were exhausted; deploy again later, or spread the keys over fewer concurrent deployments",
    LimitExceededException: 'a quota was reached (10,000 API keys per account and region, or a usage plan limit); delete unused keys or ask for a higher quota',
    BadRequestException: 'check the construct props',
    ConflictException: 'another change to the same key or usage plan is in progress; deploy again',
  };
  return new ServiceError(`${action} failed (${name}: ${message}): ${fix[name] ?? 'see the handler log for the request id'}`,
    name === 'TooManyRequestsException' || name === 'LimitExceededException');
}

interface KeySummary { readonly id: string; readonly name: string; readonly enabled: boolean }

/** Keys whose name starts with `nameQuery` and that carry this definition's owner tag (GetApiKeys, every page). */
async function ownKeys(definition: Definition, nameQuery: string): Promise<KeySummary[]> {
  const sdk = await apiGatewaySdk();
  const out: KeySummary[] = [];
  let position: string | undefined;
  try {
    do {
      const page = await (await apiGatewayClient()).send(new sdk.GetApiKeysCommand({ nameQuery, position, limit: 500 }));
      for (const k of page.items ?? []) {
        if (k.id && k.name?.startsWith(nameQuery) && k.tags?.[API_GATEWAY_OWNER_TAG] === definition.ownerTag) {
          out.push({ id: k.id, name: k.name, enabled: k.enabled === true });
        }
      }
      position = page.position;
    } while (position);
  } catch (err) {
    throw explainApiGatewayError(err, `Listing API keys named ${nameQuery}*`);
  }
  return out;
}

const ownKeysNamed = async (definition: Definition, name: string) => (await ownKeys(definition, name)).filter((k) => k.name === name);

async function addToPlan(usagePlanId: string, keyId: string, keyName: string): Promise<void> {
  try {
    await (await apiGatewayClient()).send(new (await apiGatewaySdk()).CreateUsagePlanKeyCommand({ usagePlanId, keyId, keyType: 'API_KEY' }));
  } catch (err) {
    if (isServiceError(err, 'ConflictException')) return; // already in the plan: a retried request
    if (isServiceError(err, 'NotFoundException')) {
      throw new ServiceError(`Usage plan ${usagePlanId} not found (NotFoundException) while adding API key ${keyName}: it was deleted outside the stack, or usagePlans names a plan of another account or region; fix usagePlans and deploy again`);
    }
    throw explainApiGatewayError(err, `Adding API key ${keyName} to usage plan ${usagePlanId}`);
  }
}

/**
 * Takes a key out of a usage plan. A plan deleted outside the stack, or a key no longer in it, is already the
 * outcome asked for. The handler role may still do this for a plan just removed from usagePlans: see
 * grantApiGatewayKeys (lib/private/handler-function.ts).
 */
async function removeFromPlan(usagePlanId: string, keyId: string, keyName: string): Promise<void> {
  try {
    await (await apiGatewayClient()).send(new (await apiGatewaySdk()).DeleteUsagePlanKeyCommand({ usagePlanId, keyId }));
  } catch (err) {
    if (isServiceError(err, 'NotFoundException')) return;
    throw explainApiGatewayError(err, `Removing API key ${keyName} from usage plan ${usagePlanId}`);
  }
}

async function keyExists(apiKey: string, keyName: string): Promise<boolean> {
  try {
    await (await apiGatewayClient()).send(new (await apiGatewaySdk()).GetApiKeyCommand({ apiKey }));
    return true;
  } catch (err) {
    if (isServiceError(err, 'NotFoundException')) return false;
    throw explainApiGatewayError(err, `Reading API key ${keyName}`);
  }
}

async function deleteKey(apiKey: string): Promise<void> {
  try {
    // API Gateway removes a deleted key from its usage plans.
    await (await apiGatewayClient()).send(new (await apiGatewaySdk()).DeleteApiKeyCommand({ apiKey }));
  } catch (err) {
    if (isServiceError(err, 'NotFoundException')) return; // already gone: revoked
    throw explainApiGatewayError(err, `Deleting API key ${apiKey}`);
  }
}

const VERIFY_TIMEOUT_MS = 5000;
/** A new key can take a few seconds to reach API Gateway's endpoints, so a 403 is asked again before it counts. */
const VERIFY_ATTEMPTS = 3;

/**
 * testSecret for an API Gateway key: the key exists, is enabled (unless the
 * definition disables it) and is in every usage plan; with a `verifyUrl`, a
 * request carrying it in `x-api-key` is not refused with 403. The URL must be
 * one the stack's template names, and https.
 */
async function verifyKey(definition: Definition, apiKeyId: string, keyName: string, value: string): Promise<boolean> {
  const sdk = await apiGatewaySdk();
  const client = await apiGatewayClient();
  try {
    const key = await client.send(new sdk.GetApiKeyCommand({ apiKey: apiKeyId }));
    if (definition.enabled === 'true' && key.enabled !== true) throw new ServiceError(`API key ${keyName} (${apiKeyId}) is disabled: it was changed outside the stack`);
  } catch (err) {
    if (isServiceError(err, 'NotFoundException')) throw new ServiceError(`API key ${keyName} (${apiKeyId}) no longer exists: it was deleted outside the stack`);
    throw explainApiGatewayError(err, `Reading API key ${keyName}`);
  }
  for (const usagePlanId of plansOf(definition)) {
    try {
      await client.send(new sdk.GetUsagePlanKeyCommand({ usagePlanId, keyId: apiKeyId }));
    } catch (err) {
      if (isServiceError(err, 'NotFoundException')) {
        throw new ServiceError(`API key ${keyName} (${apiKeyId}) is not in usage plan ${usagePlanId} (NotFoundException): the plan or the association was deleted outside the stack; fix usagePlans and deploy again`);
      }
      throw explainApiGatewayError(err, `Checking API key ${keyName} in usage plan ${usagePlanId}`);
    }
  }
  if (definition.verifyUrl === undefined || definition.verifyRotatedKey === 'false') return true;
  await callWithKey(definition.verifyUrl, value, `API key ${keyName}`);
  return true;
}

async function callWithKey(verifyUrl: string, value: string, what: string): Promise<void> {
  const url = normaliseHttpsUrl(verifyUrl);
  if (!url) throw new ServiceError(`Refusing to send ${what} to '${verifyUrl}': https only; fix verifyUrl and deploy again`);
  if (!urlsTheStackNames().has(url)) {
    throw new ServiceError(`Refusing to send ${what} to ${new URL(url).origin}: it is not a verifyUrl this stack's template names; the stored record may have been tampered with. Deploy the stack again to reissue`);
  }
  let problem = '';
  for (let attempt = 1; attempt <= VERIFY_ATTEMPTS; attempt++) {
    const status = await statusWithKey(new URL(url), value).catch((err: Error) => err);
    if (typeof status === 'number' && status !== 403 && status < 500) return;
    problem = typeof status === 'number' ? `HTTP ${status}` : status.message;
    if (attempt < VERIFY_ATTEMPTS) await new Promise((r) => setTimeout(r, 500 * 2 ** attempt));
  }
  if (problem === 'HTTP 403') throw new ServiceError(`${what} was refused by ${new URL(url).origin} (HTTP 403): the key does not work for that API; check that its usage plans cover the API's stage`);
  throw new ServiceError(`${what} could not be verified at ${new URL(url).origin} (${problem}): check verifyUrl`);
}

function statusWithKey(url: URL, value: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = https.request(url, { method: 'GET', headers: { 'x-api-key': value }, timeout: VERIFY_TIMEOUT_MS }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('timeout', () => req.destroy(new Error('request timed out')));
    req.on('error', reject);
    req.end();
  });
}
