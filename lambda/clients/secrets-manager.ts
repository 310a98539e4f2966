/** A thin Secrets Manager client: the five calls the engine makes, and nothing about what the values mean. */
import { isServiceError, secretsManagerClient, secretsManagerSdk } from './aws';
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';

export const Stage = {
  CURRENT: 'AWSCURRENT',
  PREVIOUS: 'AWSPREVIOUS',
  PENDING: 'AWSPENDING',
} as const;

export interface SecretState {
  readonly arn: string;
  /** Set when the secret is scheduled for deletion: its labels can still be described, its values not read. */
  readonly deleted: boolean;
  /** Labelled versions only, as DescribeSecret answers. */
  readonly stagesByVersion: ReadonlyMap<string, readonly string[]>;
}

export interface StoredValue {
  readonly versionId: string;
  readonly value?: string;
  readonly stages: readonly string[];
}

/** A secret as ListSecrets describes it: metadata only, never a value. */
export interface ListedSecret {
  readonly arn: string;
  readonly name: string;
  readonly rotationEnabled: boolean;
  /** When Secrets Manager next rotates the secret, if it is rotated. */
  readonly nextRotationDate?: Date;
  /** The function that rotates the secret, if any. */
  readonly rotationLambdaArn?: string;
}

/** ListSecrets takes up to 10 values per filter. */
const FILTER_VALUES_MAX = 10;

export class SecretStore {
  constructor(private readonly client: SecretsManagerClient | (() => Promise<SecretsManagerClient>) = secretsManagerClient) {}

  private async sm(): Promise<SecretsManagerClient> {
    return typeof this.client === 'function' ? this.client() : this.client;
  }

  /** The secret's labels, or undefined when the secret does not exist (or was deleted without recovery). */
  async describe(secretId: string): Promise<SecretState | undefined> {
    try {
      const out = await (await this.sm()).send(new (await secretsManagerSdk()).DescribeSecretCommand({ SecretId: secretId }));
      const stagesByVersion = new Map<string, string[]>();
      for (const [versionId, stages] of Object.entries(out.VersionIdsToStages ?? {})) if (stages.length) stagesByVersion.set(versionId, stages);
      // The secret's tags are deliberately not read: anyone allowed to tag it could otherwise steer the handler.
      return { arn: out.ARN ?? secretId, deleted: out.DeletedDate !== undefined, stagesByVersion };
    } catch (err) {
      if (isServiceError(err, 'ResourceNotFoundException')) return undefined;
      throw err;
    }
  }

  /** Reads one version by id or by label; undefined when it does not exist or holds no value. */
  async read(secretId: string, selector: { versionId?: string; stage?: string }): Promise<StoredValue | undefined> {
    try {
      const out = await (await this.sm()).send(new (await secretsManagerSdk()).GetSecretValueCommand({
        SecretId: secretId, VersionId: selector.versionId, VersionStage: selector.stage,
      }));
      return { versionId: out.VersionId!, value: out.SecretString, stages: out.VersionStages ?? [] };
    } catch (err) {
      if (isServiceError(err, 'ResourceNotFoundException')) return undefined;
      throw err;
    }
  }

  /** Writes a version with these labels (each moves to it); the same versionId and value twice is a no-op. */
  async put(secretId: string, versionId: string, value: string, stages: readonly string[]): Promise<void> {
    await (await this.sm()).send(new (await secretsManagerSdk()).PutSecretValueCommand({
      SecretId: secretId, ClientRequestToken: versionId, SecretString: value, VersionStages: [...stages],
    }));
  }

  /**
   * Moves a label to a version, refused unless it is on `fromVersionId` (a compare-and-swap). Moving
   * AWSCURRENT also moves AWSPREVIOUS; custom labels never move by themselves.
   */
  async moveStage(secretId: string, stage: string, toVersionId: string, fromVersionId?: string): Promise<void> {
    await (await this.sm()).send(new (await secretsManagerSdk()).UpdateSecretVersionStageCommand({
      SecretId: secretId, VersionStage: stage, MoveToVersionId: toVersionId, RemoveFromVersionId: fromVersionId,
    }));
  }

  /**
   * The secrets whose names start with one of `namePrefixes` (not those
   * scheduled for deletion). ListSecrets matches a filter value as a prefix and
   * may ignore case, so names are checked again here.
   */
  async listByNamePrefix(namePrefixes: readonly string[]): Promise<ListedSecret[]> {
    const out = new Map<string, ListedSecret>();
    const sdk = await secretsManagerSdk();
    for (let i = 0; i < namePrefixes.length; i += FILTER_VALUES_MAX) {
      const values = namePrefixes.slice(i, i + FILTER_VALUES_MAX);
      let nextToken: string | undefined;
      do {
        const page = await (await this.sm()).send(new sdk.ListSecretsCommand({ Filters: [{ Key: 'name', Values: values }], MaxResults: 100, NextToken: nextToken }));
        for (const s of page.SecretList ?? []) {
          if (!s.ARN || !s.Name || s.DeletedDate !== undefined || !values.some((prefix) => s.Name!.startsWith(prefix))) continue;
          out.set(s.ARN, { arn: s.ARN, name: s.Name, rotationEnabled: s.RotationEnabled ?? false, nextRotationDate: s.NextRotationDate, rotationLambdaArn: s.RotationLambdaARN });
        }
        nextToken = page.NextToken;
      } while (nextToken);
    }
    return [...out.values()];
  }

  async removeStage(secretId: string, stage: string, fromVersionId: string): Promise<void> {
    await (await this.sm()).send(new (await secretsManagerSdk()).UpdateSecretVersionStageCommand({
      SecretId: secretId, VersionStage: stage, RemoveFromVersionId: fromVersionId,
    }));
  }
}

/** True when Secrets Manager refused a label move because the label was not where the caller expected it. */
export function isLabelConflict(err: unknown): boolean {
  return isServiceError(err, 'InvalidParameterException') || isServiceError(err, 'InvalidRequestException');
}

export function versionWithStage(state: SecretState, stage: string): string | undefined {
  for (const [versionId, stages] of state.stagesByVersion) if (stages.includes(stage)) return versionId;
  return undefined;
}
