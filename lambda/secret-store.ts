/**
 * The secret is the single source of truth shared by the custom resource and
 * rotation: every issued credential lives in exactly one labelled version, and
 * a credential whose version loses its last label must be revoked first.
 */
import { isServiceError, secretsManagerClient, secretsManagerSdk } from './clients';
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';

export const Stage = {
  CURRENT: 'AWSCURRENT',
  PREVIOUS: 'AWSPREVIOUS',
  PENDING: 'AWSPENDING',
} as const;

/** Engine bookkeeping stored beside the credential; nothing here is secret. */
export interface LifecycleMeta {
  /** Issuer module that issued the credential. */
  readonly kind: string;
  /** Physical id of the custom-resource generation that owns this credential; rotation keeps it. */
  readonly generation: string;
  /** What the credential is (workspace, role, lifetime, name prefix…); a change means reissue. */
  readonly definition: Record<string, string>;
  /** Version that was AWSCURRENT when rotation created this one. */
  readonly basedOnVersionId?: string;
  /**
   * The credential this one replaced: its version and non-secret fields. The
   * next rotation retires it without reading that version again.
   */
  readonly predecessor?: { readonly versionId: string; readonly generation?: string; readonly fields: Record<string, string> };
  /**
   * Set by createSecret when AWSPREVIOUS holds another generation's credential (a stack update has not been
   * cleaned up or rolled back yet): promoting this version pushes that one off its last label, so finishSecret
   * revokes it once the promotion has happened.
   */
  readonly displaces?: DisplacedCredential;
}

/** Another generation's credential that a rotation's promotion leaves with no label: its version and non-secret fields. */
export interface DisplacedCredential { readonly versionId: string; readonly generation: string; readonly fields: Record<string, string> }

/** The secret's JSON. `key` is the token; the other fields are the issuer's, plus `expiresAt`. */
export interface CredentialRecord {
  readonly key: string;
  readonly expiresAt: string;
  readonly fields: Record<string, string>;
  readonly lifecycle: LifecycleMeta;
}

export interface StoredVersion {
  readonly versionId: string;
  /** Undefined when the version was not written by this library (for example a placeholder). */
  readonly record?: CredentialRecord;
}

export interface SecretState {
  readonly arn: string;
  readonly stagesByVersion: ReadonlyMap<string, readonly string[]>;
}

export function serializeRecord(record: CredentialRecord): string {
  return JSON.stringify({ key: record.key, ...record.fields, expiresAt: record.expiresAt, lifecycle: record.lifecycle });
}

export function parseRecord(secretString: string | undefined): CredentialRecord | undefined {
  if (!secretString) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(secretString);
  } catch {
    return undefined;
  }
  if (typeof parsed !== 'object' || parsed === null) return undefined;
  const { key, expiresAt, lifecycle, ...rest } = parsed as Record<string, unknown>;
  if (typeof key !== 'string' || typeof expiresAt !== 'string') return undefined;
  if (!lifecycle || typeof lifecycle !== 'object') return undefined;
  const meta = lifecycle as LifecycleMeta;
  if (typeof meta.kind !== 'string' || typeof meta.generation !== 'string' || typeof meta.definition !== 'object') return undefined;
  const fields: Record<string, string> = {};
  for (const [name, value] of Object.entries(rest)) if (typeof value === 'string') fields[name] = value;
  return { key, expiresAt, fields, lifecycle: meta };
}

export class SecretStore {
  constructor(private readonly client: SecretsManagerClient | (() => Promise<SecretsManagerClient>) = secretsManagerClient) {}

  private async sm(): Promise<SecretsManagerClient> {
    return typeof this.client === 'function' ? this.client() : this.client;
  }

  /** The secret's versions and labels, or undefined when the secret is gone. */
  async describe(secretId: string): Promise<SecretState | undefined> {
    try {
      const out = await (await this.sm()).send(new (await secretsManagerSdk()).DescribeSecretCommand({ SecretId: secretId }));
      if (out.DeletedDate) return undefined;
      const stagesByVersion = new Map<string, string[]>();
      for (const [versionId, stages] of Object.entries(out.VersionIdsToStages ?? {})) stagesByVersion.set(versionId, stages);
      // The secret's tags are deliberately not read: anyone allowed to tag it could otherwise steer the handler.
      return { arn: out.ARN ?? secretId, stagesByVersion };
    } catch (err) {
      if (isServiceError(err, 'ResourceNotFoundException')) return undefined;
      throw err;
    }
  }

  /** Reads one version by id or by label; undefined when it does not exist or holds no value yet. */
  async read(secretId: string, selector: { versionId?: string; stage?: string }): Promise<StoredVersion | undefined> {
    try {
      const out = await (await this.sm()).send(new (await secretsManagerSdk()).GetSecretValueCommand({
        SecretId: secretId, VersionId: selector.versionId, VersionStage: selector.stage,
      }));
      return { versionId: out.VersionId!, record: parseRecord(out.SecretString) };
    } catch (err) {
      if (isServiceError(err, 'ResourceNotFoundException')) return undefined;
      throw err;
    }
  }

  /** Writes a version; the same versionId and value twice is a no-op, as Secrets Manager guarantees. */
  async put(secretId: string, versionId: string, record: CredentialRecord, stages: string[], abortSignal?: AbortSignal): Promise<void> {
    // Once aborted, no further attempt starts (an attempt already sent may still land).
    await (await this.sm()).send(new (await secretsManagerSdk()).PutSecretValueCommand({
      SecretId: secretId, ClientRequestToken: versionId, SecretString: serializeRecord(record), VersionStages: stages,
    }), abortSignal ? { abortSignal } : {});
  }

  /** Writes a version that holds no credential (a fence), with one label so that it is not deprecated. */
  async putPlaceholder(secretId: string, versionId: string, stage: string, note: string): Promise<void> {
    await (await this.sm()).send(new (await secretsManagerSdk()).PutSecretValueCommand({
      SecretId: secretId, ClientRequestToken: versionId, SecretString: JSON.stringify({ placeholder: note }), VersionStages: [stage],
    }));
  }

  /** Moves a label to a version; moving AWSCURRENT also moves AWSPREVIOUS to the version that had it. */
  async moveStage(secretId: string, stage: string, toVersionId: string, fromVersionId?: string): Promise<void> {
    await (await this.sm()).send(new (await secretsManagerSdk()).UpdateSecretVersionStageCommand({
      SecretId: secretId, VersionStage: stage, MoveToVersionId: toVersionId, RemoveFromVersionId: fromVersionId,
    }));
  }

  async removeStage(secretId: string, stage: string, fromVersionId: string): Promise<void> {
    await (await this.sm()).send(new (await secretsManagerSdk()).UpdateSecretVersionStageCommand({
      SecretId: secretId, VersionStage: stage, RemoveFromVersionId: fromVersionId,
    }));
  }
}

export function versionWithStage(state: SecretState, stage: string): string | undefined {
  for (const [versionId, stages] of state.stagesByVersion) if (stages.includes(stage)) return versionId;
  return undefined;
}

/** True when the version carries no staging label: nothing reads it again, so its credential is unreachable. */
export function hasNoLabel(state: SecretState, versionId: string): boolean {
  return (state.stagesByVersion.get(versionId) ?? []).length === 0;
}
