/**
 * The secrets this function may rotate, as the construct lists them in its
 * environment (MANAGED_SECRETS_ENV). A rotation event for any other secret is
 * refused before any AWS call: Secrets Manager can only send one for a secret
 * the invoke permissions cover, but anyone allowed lambda:InvokeFunction can
 * send any event.
 */
import { MANAGED_SECRETS_ENV, ManagedSecretsList } from '../lib/private/contract';
import { log } from './log';

/** Secrets Manager appends '-' and 6 characters to a secret's name in its ARN. */
const ARN_SUFFIX = /^(.*)-.{6}$/;

export function parseManagedSecrets(text: string | undefined): ManagedSecretsList | undefined {
  if (!text) return undefined;
  try {
    const list = JSON.parse(text) as ManagedSecretsList;
    if (typeof list?.arnPrefix !== 'string' || !Array.isArray(list.prefixes) || typeof list.names !== 'object' || list.names === null) return undefined;
    return list;
  } catch {
    return undefined;
  }
}

/** Whether the secret with this ARN is one the list names: by name prefix, or by exact name plus the 6-character suffix. */
export function isManagedSecret(secretArn: string, list: ManagedSecretsList): boolean {
  if (!list.arnPrefix || !secretArn.startsWith(list.arnPrefix)) return false;
  const nameWithSuffix = secretArn.slice(list.arnPrefix.length);
  if (list.prefixes.some((prefix) => prefix.length > 0 && nameWithSuffix.startsWith(prefix))) return true;
  const name = ARN_SUFFIX.exec(nameWithSuffix)?.[1];
  if (name === undefined) return false;
  const slash = name.lastIndexOf('/');
  return list.names[name.slice(0, slash + 1)]?.includes(name.slice(slash + 1)) ?? false;
}

/** Throws, after an error log line naming the secret, unless this function manages the secret. */
export function assertManagedSecret(secretId: string, step: string, env: NodeJS.ProcessEnv = process.env): void {
  const list = parseManagedSecrets(env[MANAGED_SECRETS_ENV]);
  if (list && isManagedSecret(secretId, list)) return;
  const cause = list ? 'it is not one of the secrets this function manages' : `${MANAGED_SECRETS_ENV} is missing or unreadable, so no secret is`;
  log('error', `rotation ${step}: refused: ${cause}`, { step, secretArn: secretId, outcome: 'refused' });
  throw new Error(`Refused to rotate secret ${secretId}: ${cause}. Only the stack's credential constructs may set this function as a secret's rotation function`);
}
