/**
 * One model of Secrets Manager's versions and staging labels, shared by the
 * unit tests' in-memory AWS (test/unit/helpers/fake-aws.ts), the test bed's
 * HTTP stand-ins (test/testbed/aws/standins.ts) and the model-based
 * interleaving test. Pure and synchronous: each operation takes the API's
 * input shape and returns its output shape, or throws SecretsManagerError
 * with the service's error type. The callers only translate transport.
 *
 * The rules modelled, as the service documents them:
 * - a staging label is on at most one version; attaching it moves it;
 * - moving AWSCURRENT moves AWSPREVIOUS to the version that lost AWSCURRENT;
 *   no other label ever moves by itself (custom labels stay where they are put);
 * - the first version of a secret gets AWSCURRENT whatever VersionStages says;
 * - PutSecretValue is idempotent per ClientRequestToken: the same token and
 *   value is a no-op, the same token and another value is ResourceExistsException;
 * - UpdateSecretVersionStage is a compare-and-swap: a label on another version
 *   moves only with RemoveFromVersionId naming that version; AWSCURRENT can be
 *   moved, never removed;
 * - at most 20 staging labels per secret, across all its versions (LimitExceededException);
 * - past 100 versions the oldest versions without labels are removed, but
 *   never one created less than 24 hours ago;
 * - DeleteSecret schedules deletion after a recovery window (7 to 30 days,
 *   default 30; DescribeSecret shows DeletedDate, every other operation answers
 *   InvalidRequestException) or, with ForceDeleteWithoutRecovery, deletes at
 *   once; RestoreSecret cancels a scheduled deletion.
 */
import { randomBytes, randomUUID } from 'crypto';

export const AWSCURRENT = 'AWSCURRENT';
export const AWSPREVIOUS = 'AWSPREVIOUS';
export const AWSPENDING = 'AWSPENDING';

/** Staging labels attached across all versions of one secret. */
export const MAX_LABELS_PER_SECRET = 20;
/** Versions kept before deprecated (unlabelled) ones are removed. */
export const MAX_VERSIONS = 100;
const DAY_MS = 86_400_000;

/** An error as the service answers it: `type` is the exception's name (e.g. ResourceNotFoundException). */
export class SecretsManagerError extends Error {
  constructor(readonly type: string, message: string) {
    super(message);
    this.name = type;
  }
}

export interface ModelVersion {
  readonly id: string;
  /** Undefined for a version RotateSecret created for AWSPENDING before createSecret wrote it. */
  value?: string;
  readonly stages: Set<string>;
  readonly createdAt: number;
}

export interface Tag { readonly Key: string; readonly Value: string }

export class ModelSecret {
  readonly versions = new Map<string, ModelVersion>();
  description?: string;
  kmsKeyId?: string;
  /** When deletion was requested (DescribeSecret's DeletedDate); set while deletion is scheduled. */
  deletedDate?: Date;
  /** When the recovery window ends and the secret is gone for good. */
  deletionDate?: Date;
  /** `nextRotationDate`: what ListSecrets reports as NextRotationDate (tests set it; the model does not schedule). */
  rotation?: { lambdaArn?: string; rules?: Record<string, unknown>; enabled: boolean; nextRotationDate?: Date };

  constructor(readonly arn: string, readonly name: string, public tags: Tag[] = []) {}

  holderOf(stage: string): ModelVersion | undefined {
    for (const v of this.versions.values()) if (v.stages.has(stage)) return v;
    return undefined;
  }

  /** Version id -> labels (sorted), for labelled versions only, as DescribeSecret answers. */
  labels(): Record<string, string[]> {
    const out: Record<string, string[]> = {};
    for (const v of this.versions.values()) if (v.stages.size) out[v.id] = [...v.stages].sort();
    return out;
  }

  /** The parsed JSON stored under `stage`, or undefined. */
  valueAt(stage = AWSCURRENT): any {
    const v = this.holderOf(stage);
    return v?.value !== undefined ? JSON.parse(v.value) : undefined;
  }

  labelCount(): number {
    let n = 0;
    for (const v of this.versions.values()) n += v.stages.size;
    return n;
  }
}

export interface ModelOptions {
  /** The service's clock (ms since the epoch). */
  readonly now?: () => number;
  readonly region?: string;
  readonly account?: string;
}

const notFound = () => new SecretsManagerError('ResourceNotFoundException', "Secrets Manager can't find the specified secret.");

export class SecretsManagerModel {
  /** Every secret, by ARN, including those scheduled for deletion. */
  readonly secrets = new Map<string, ModelSecret>();
  readonly now: () => number;
  private readonly region: string;
  private readonly account: string;

  constructor(opts: ModelOptions = {}) {
    this.now = opts.now ?? (() => Date.now());
    this.region = opts.region ?? 'us-east-1';
    this.account = opts.account ?? '123456789012';
  }

  /** Adds an empty secret with a known ARN (a test's fixture; not an API call). */
  addSecret(arn: string, name = arn.split(':secret:')[1] ?? arn, tags: Tag[] = []): ModelSecret {
    const s = new ModelSecret(arn, name, tags);
    this.secrets.set(arn, s);
    return s;
  }

  /** The secret with this ARN or name; scheduled-for-deletion ones only with `includeDeleted`. */
  find(id: string, includeDeleted = false): ModelSecret | undefined {
    this.purge();
    for (const s of this.secrets.values()) {
      if ((s.arn === id || s.name === id) && (includeDeleted || !s.deletedDate)) return s;
    }
    return undefined;
  }

  /** Secrets Manager's RotateSecret prologue: AWSPENDING on the version `token` (created without a value if new). */
  beginRotation(secretId: string, token: string): void {
    const s = this.usable(secretId);
    const v = this.versionFor(s, token);
    this.attach(s, AWSPENDING, v);
  }

  /** One API call by operation name (the awsJson1.1 target without its prefix). */
  call(op: string, input: any): any {
    switch (op) {
      case 'CreateSecret': return this.createSecret(input);
      case 'DescribeSecret': return this.describeSecret(input);
      case 'GetSecretValue': return this.getSecretValue(input);
      case 'PutSecretValue': return this.putSecretValue(input);
      case 'UpdateSecretVersionStage': return this.updateSecretVersionStage(input);
      case 'ListSecretVersionIds': return this.listSecretVersionIds(input);
      case 'ListSecrets': return this.listSecrets(input);
      case 'DeleteSecret': return this.deleteSecret(input);
      case 'RestoreSecret': return this.restoreSecret(input);
      case 'TagResource': return this.tagResource(input);
      case 'RotateSecret': return this.rotateSecret(input);
      case 'CancelRotateSecret': return this.cancelRotateSecret(input);
      default: throw new SecretsManagerError('InvalidRequestException', `Operation ${op} is not supported by the model`);
    }
  }

  createSecret(input: { Name: string; Description?: string; KmsKeyId?: string; Tags?: Tag[]; SecretString?: string; ClientRequestToken?: string }) {
    const existing = this.find(input.Name, true);
    if (existing?.deletedDate) {
      throw new SecretsManagerError('InvalidRequestException', `You can't create this secret because a secret with the name ${input.Name} is already scheduled for deletion.`);
    }
    if (existing) throw new SecretsManagerError('ResourceExistsException', `The operation failed because the secret ${input.Name} already exists.`);
    const suffix = randomBytes(6).toString('base64url').replace(/[^A-Za-z0-9]/g, 'x').slice(0, 6);
    const s = this.addSecret(`arn:aws:secretsmanager:${this.region}:${this.account}:secret:${input.Name}-${suffix}`, input.Name, [...(input.Tags ?? [])]);
    s.description = input.Description;
    s.kmsKeyId = input.KmsKeyId;
    let versionId: string | undefined;
    if (typeof input.SecretString === 'string') {
      versionId = input.ClientRequestToken ?? randomUUID();
      this.putSecretValue({ SecretId: s.arn, ClientRequestToken: versionId, SecretString: input.SecretString });
    }
    return { ARN: s.arn, Name: s.name, VersionId: versionId };
  }

  describeSecret(input: { SecretId: string }) {
    const s = this.find(requireId(input.SecretId), true);
    if (!s) throw notFound();
    const map: Record<string, string[]> = {};
    for (const v of s.versions.values()) if (v.stages.size) map[v.id] = [...v.stages].sort();
    return {
      ARN: s.arn, Name: s.name, Description: s.description, KmsKeyId: s.kmsKeyId, Tags: s.tags, VersionIdsToStages: map,
      RotationEnabled: s.rotation?.enabled ?? false, RotationLambdaARN: s.rotation?.lambdaArn, RotationRules: s.rotation?.rules,
      ...(s.deletedDate ? { DeletedDate: s.deletedDate } : {}),
    };
  }

  getSecretValue(input: { SecretId: string; VersionId?: string; VersionStage?: string }) {
    const s = this.usable(input.SecretId);
    let v: ModelVersion | undefined;
    if (input.VersionId) {
      v = s.versions.get(input.VersionId);
      if (v && input.VersionStage && !v.stages.has(input.VersionStage)) v = undefined;
    } else {
      v = s.holderOf(input.VersionStage ?? AWSCURRENT);
    }
    if (!v || v.value === undefined) {
      const which = input.VersionId ? `VersionId: ${input.VersionId}` : `staging label: ${input.VersionStage ?? AWSCURRENT}`;
      throw new SecretsManagerError('ResourceNotFoundException', `Secrets Manager can't find the specified secret value for ${which}`);
    }
    return { ARN: s.arn, Name: s.name, VersionId: v.id, SecretString: v.value, VersionStages: [...v.stages], CreatedDate: new Date(v.createdAt) };
  }

  putSecretValue(input: { SecretId: string; ClientRequestToken?: string; SecretString?: string; VersionStages?: string[] }) {
    const s = this.usable(input.SecretId);
    const token = input.ClientRequestToken ?? randomUUID();
    if (token.length < 32 || token.length > 64) throw new SecretsManagerError('InvalidParameterException', 'ClientRequestToken must be 32 to 64 characters');
    if (typeof input.SecretString !== 'string') throw new SecretsManagerError('InvalidParameterException', 'SecretString is required');
    const existing = s.versions.get(token);
    if (existing?.value !== undefined) {
      if (existing.value !== input.SecretString) {
        throw new SecretsManagerError('ResourceExistsException', `A resource with the ID you requested already exists: version ${token} has a different value`);
      }
      return { ARN: s.arn, Name: s.name, VersionId: existing.id, VersionStages: [...existing.stages] };
    }
    const first = ![...s.versions.values()].some((v) => v.value !== undefined);
    const stages = [...new Set([...(input.VersionStages ?? [AWSCURRENT]), ...(first ? [AWSCURRENT] : [])])];
    this.checkLabelQuota(s, stages, existing);
    const v = this.versionFor(s, token);
    v.value = input.SecretString;
    for (const stage of stages) this.attach(s, stage, v);
    this.prune(s);
    return { ARN: s.arn, Name: s.name, VersionId: v.id, VersionStages: [...v.stages] };
  }

  updateSecretVersionStage(input: { SecretId: string; VersionStage: string; MoveToVersionId?: string; RemoveFromVersionId?: string }) {
    const s = this.usable(input.SecretId);
    const stage = input.VersionStage;
    if (!stage) throw new SecretsManagerError('InvalidParameterException', 'VersionStage is required');
    const holder = s.holderOf(stage);
    const from = input.RemoveFromVersionId;
    if (from !== undefined && holder?.id !== from) {
      throw new SecretsManagerError('InvalidParameterException', `The staging label ${stage} is not attached to version ${from}; it is on ${holder?.id ?? 'no version'}.`);
    }
    if (input.MoveToVersionId !== undefined) {
      const to = s.versions.get(input.MoveToVersionId);
      if (!to) throw new SecretsManagerError('ResourceNotFoundException', `Version ${input.MoveToVersionId} not found`);
      if (holder && holder !== to && from === undefined) {
        throw new SecretsManagerError('InvalidParameterException', `The staging label ${stage} is currently attached to version ${holder.id}; specify it as RemoveFromVersionId`);
      }
      if (!holder) this.checkLabelQuota(s, [stage]);
      this.attach(s, stage, to);
    } else if (from !== undefined) {
      if (stage === AWSCURRENT) {
        throw new SecretsManagerError('InvalidParameterException', 'You can only move the staging label AWSCURRENT to another version, not remove it');
      }
      holder!.stages.delete(stage);
    } else {
      throw new SecretsManagerError('InvalidParameterException', 'Specify MoveToVersionId, RemoveFromVersionId or both');
    }
    return { ARN: s.arn, Name: s.name };
  }

  /**
   * ListSecrets with a `name` filter, as the service answers it: a name
   * matches when it begins with one of the filter's values; secrets scheduled
   * for deletion are left out; at most 100 a page. Metadata only, no values.
   */
  listSecrets(input: { Filters?: Array<{ Key: string; Values: string[] }>; MaxResults?: number; NextToken?: string }) {
    this.purge();
    const values = input.Filters?.find((f) => f.Key === 'name')?.Values;
    const all = [...this.secrets.values()].filter((x) => !x.deletedDate && (!values || values.some((v) => x.name.startsWith(v))))
      .sort((a, b) => a.name.localeCompare(b.name));
    const start = Number(input.NextToken ?? 0);
    const page = all.slice(start, start + Math.min(100, input.MaxResults ?? 100));
    return {
      SecretList: page.map((x) => ({
        ARN: x.arn, Name: x.name, Description: x.description, RotationEnabled: x.rotation?.enabled ?? false,
        ...(x.rotation?.lambdaArn ? { RotationLambdaARN: x.rotation.lambdaArn } : {}),
        ...(x.rotation?.nextRotationDate ? { NextRotationDate: x.rotation.nextRotationDate } : {}),
      })),
      ...(start + page.length < all.length ? { NextToken: String(start + page.length) } : {}),
    };
  }

  listSecretVersionIds(input: { SecretId: string; IncludeDeprecated?: boolean }) {
    const s = this.usable(input.SecretId);
    const versions = [...s.versions.values()].filter((v) => input.IncludeDeprecated || v.stages.size > 0);
    return { ARN: s.arn, Name: s.name, Versions: versions.map((v) => ({ VersionId: v.id, VersionStages: [...v.stages], CreatedDate: new Date(v.createdAt) })) };
  }

  deleteSecret(input: { SecretId: string; RecoveryWindowInDays?: number; ForceDeleteWithoutRecovery?: boolean }) {
    if (input.ForceDeleteWithoutRecovery && input.RecoveryWindowInDays !== undefined) {
      throw new SecretsManagerError('InvalidParameterException', "You can't use ForceDeleteWithoutRecovery in conjunction with RecoveryWindowInDays.");
    }
    const s = this.find(requireId(input.SecretId), true);
    if (input.ForceDeleteWithoutRecovery) {
      // Forcing the deletion of a secret that is already gone is not an error.
      if (s) this.secrets.delete(s.arn);
      return { ARN: s?.arn ?? input.SecretId, Name: s?.name, DeletionDate: new Date(this.now()) };
    }
    if (!s) throw notFound();
    if (s.deletedDate) throw new SecretsManagerError('InvalidRequestException', "You can't perform this operation on the secret because it was already scheduled for deletion.");
    const days = input.RecoveryWindowInDays ?? 30;
    if (!Number.isInteger(days) || days < 7 || days > 30) throw new SecretsManagerError('InvalidParameterException', 'RecoveryWindowInDays must be from 7 to 30');
    s.deletedDate = new Date(this.now());
    s.deletionDate = new Date(this.now() + days * DAY_MS);
    return { ARN: s.arn, Name: s.name, DeletionDate: s.deletionDate };
  }

  restoreSecret(input: { SecretId: string }) {
    const s = this.find(requireId(input.SecretId), true);
    if (!s) throw notFound();
    s.deletedDate = undefined;
    s.deletionDate = undefined;
    return { ARN: s.arn, Name: s.name };
  }

  tagResource(input: { SecretId: string; Tags?: Tag[] }) {
    const s = this.usable(input.SecretId);
    for (const t of input.Tags ?? []) s.tags = [...s.tags.filter((x) => x.Key !== t.Key), t];
    return {};
  }

  rotateSecret(input: { SecretId: string; RotationLambdaARN?: string; RotationRules?: Record<string, unknown> }) {
    const s = this.usable(input.SecretId);
    s.rotation = { lambdaArn: input.RotationLambdaARN ?? s.rotation?.lambdaArn, rules: input.RotationRules ?? s.rotation?.rules, enabled: true };
    return { ARN: s.arn, Name: s.name };
  }

  cancelRotateSecret(input: { SecretId: string }) {
    const s = this.usable(input.SecretId);
    if (s.rotation) s.rotation.enabled = false;
    return { ARN: s.arn, Name: s.name };
  }

  // ---------- rules ----------

  /** A secret that exists and is not scheduled for deletion. */
  private usable(id: string): ModelSecret {
    const s = this.find(requireId(id), true);
    if (!s) throw notFound();
    if (s.deletedDate) {
      throw new SecretsManagerError('InvalidRequestException', "You can't perform this operation on the secret because it was marked for deletion.");
    }
    return s;
  }

  private versionFor(s: ModelSecret, id: string): ModelVersion {
    let v = s.versions.get(id);
    if (!v) { v = { id, stages: new Set(), createdAt: this.now() }; s.versions.set(id, v); }
    return v;
  }

  /** Attaches `stage` to `to`, taking it off whichever version had it; AWSPREVIOUS follows a moved AWSCURRENT. */
  private attach(s: ModelSecret, stage: string, to: ModelVersion): void {
    const holder = s.holderOf(stage);
    if (holder === to) return;
    if (holder) holder.stages.delete(stage);
    to.stages.add(stage);
    if (stage === AWSCURRENT) {
      s.holderOf(AWSPREVIOUS)?.stages.delete(AWSPREVIOUS);
      if (holder) holder.stages.add(AWSPREVIOUS);
    }
  }

  /** Refuses a write that would put more than 20 staging labels on the secret. */
  private checkLabelQuota(s: ModelSecret, stages: readonly string[], target?: ModelVersion): void {
    const present = new Set<string>();
    for (const v of s.versions.values()) for (const l of v.stages) present.add(l);
    let after = s.labelCount();
    for (const stage of new Set(stages)) if (!present.has(stage) && !target?.stages.has(stage)) after++;
    // AWSPREVIOUS appears when AWSCURRENT first moves away from a version.
    if (stages.includes(AWSCURRENT) && s.holderOf(AWSCURRENT) && !present.has(AWSPREVIOUS)) after++;
    if (after > MAX_LABELS_PER_SECRET) {
      throw new SecretsManagerError('LimitExceededException', `A secret can have at most ${MAX_LABELS_PER_SECRET} staging labels across its versions; ${s.name} would have ${after}`);
    }
  }

  /** Past 100 versions, the oldest unlabelled versions older than a day go. */
  private prune(s: ModelSecret): void {
    if (s.versions.size <= MAX_VERSIONS) return;
    const deprecated = [...s.versions.values()]
      .filter((v) => v.stages.size === 0 && this.now() - v.createdAt >= DAY_MS)
      .sort((a, b) => a.createdAt - b.createdAt);
    for (const v of deprecated.slice(0, s.versions.size - MAX_VERSIONS)) s.versions.delete(v.id);
  }

  /** Secrets whose recovery window has ended are gone. */
  private purge(): void {
    for (const s of [...this.secrets.values()]) {
      if (s.deletionDate && s.deletionDate.getTime() <= this.now()) this.secrets.delete(s.arn);
    }
  }
}

function requireId(id: unknown): string {
  if (typeof id !== 'string' || !id) throw new SecretsManagerError('InvalidParameterException', 'SecretId is required');
  return id;
}
