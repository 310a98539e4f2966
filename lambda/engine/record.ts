/**
 * What the engine stores in a credential's secret: the record (the token, the issuer's fields, the lifecycle) or,
 * before issuing, the intent; and how a version's value is read back. The ledger (ledger.ts) is the OWN labels.
 */
import type { Definition } from '../issuers/types';

/** Engine bookkeeping stored beside the credential; nothing here is secret. */
export interface Lifecycle {
  /** Issuer module that issued the credential. */
  readonly kind: string;
  /** Physical id of the custom-resource generation that owns this credential; rotation keeps it. */
  readonly generation: string;
  /** Which of the generation's slots this credential is. */
  readonly slot: number;
  /** What the credential is, in the issuer's terms; a change means reissue. */
  readonly definition: Definition;
  /** Version that was AWSCURRENT when rotation created this one (finishSecret's compare-and-swap). */
  readonly basedOnVersionId?: string;
  /** The replaced generation's version that a rollback of the stack update restores; rotation carries it on. */
  readonly rollbackTo?: string;
}

/** The secret's JSON. `key` is the token; the other fields are the issuer's, plus `expiresAt`. */
export interface CredentialRecord {
  readonly key: string;
  readonly expiresAt: string;
  readonly fields: Record<string, string>;
  readonly lifecycle: Lifecycle;
}

/** Written before issuing, under the labels the credential will have: what is needed to revoke it by name. */
export interface Intent {
  readonly kind: string;
  readonly generation: string;
  readonly definition: Definition;
}

export interface Entry {
  readonly versionId: string;
  readonly stages: readonly string[];
  readonly record?: CredentialRecord;
  readonly intent?: Intent;
}

/** One OWN label: a slot of a generation, and the version it is on. */
export interface LabelledSlot {
  readonly generation: string;
  readonly slot: number;
  readonly label: string;
  readonly versionId: string;
}

export function serializeRecord(record: CredentialRecord): string {
  return JSON.stringify({ key: record.key, ...record.fields, expiresAt: record.expiresAt, lifecycle: record.lifecycle });
}

export function parseValue(value: string | undefined): { record?: CredentialRecord; intent?: Intent } {
  let parsed: any;
  try {
    parsed = JSON.parse(value ?? '');
  } catch {
    return {};
  }
  if (typeof parsed !== 'object' || parsed === null) return {};
  if (parsed.intent && typeof parsed.intent.generation === 'string' && typeof parsed.intent.definition === 'object') return { intent: parsed.intent };
  const { key, expiresAt, lifecycle, ...rest } = parsed;
  if (typeof key !== 'string' || typeof expiresAt !== 'string' || !lifecycle || typeof lifecycle !== 'object') return {};
  if (typeof lifecycle.kind !== 'string' || typeof lifecycle.generation !== 'string' || typeof lifecycle.definition !== 'object') return {};
  const fields: Record<string, string> = {};
  for (const [name, v] of Object.entries(rest)) if (typeof v === 'string') fields[name] = v;
  return { record: { key, expiresAt, fields, lifecycle: { ...lifecycle, slot: Number(lifecycle.slot ?? 0) } } };
}
