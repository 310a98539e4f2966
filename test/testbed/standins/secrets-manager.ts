/**
 * AWS Secrets Manager (awsJson1.1) with real versions and staging labels.
 *
 * Semantics modelled (AWS API reference):
 * - A label is on at most one version. PutSecretValue/UpdateSecret/CreateSecret
 *   move the labels they attach; moving AWSCURRENT moves AWSPREVIOUS to the
 *   version that was current. The first version of a secret gets AWSCURRENT
 *   whatever VersionStages says.
 * - UpdateSecretVersionStage moves a label only when told where it comes from:
 *   a label attached elsewhere needs RemoveFromVersionId naming that version.
 * - ClientRequestToken is the VersionId; the same token with the same value is
 *   a no-op, with another value ResourceExistsException.
 * - Versions without labels are deprecated: hidden from ListSecretVersionIds
 *   unless IncludeDeprecated, and purged (oldest first, when older than 24 h)
 *   once a secret has more than 100 versions.
 * - DeleteSecret schedules deletion (7-30 days, default 30) on the simulated
 *   clock; the secret then refuses reads and writes (InvalidRequestException)
 *   until RestoreSecret, and vanishes at the deletion date.
 *   ForceDeleteWithoutRecovery deletes at once and succeeds for unknown secrets.
 * - RotateSecret records the rotation configuration. It starts a rotation
 *   (AWSPENDING on a new, value-less version) only when a rotation handler is
 *   installed (`onRotate`); otherwise the test bed drives rotation itself
 *   (see AwsStandIns.beginRotation).
 */
import type { SimClock } from './clock';
import { ConstraintChecker, ServiceError } from './errors';
import { ACCOUNT, REGION } from './grafana';
import type { Rng } from './rng';

const DAY = 86_400_000;
const MAX_VERSIONS = 100;
const NAME_CHARS = /^[A-Za-z0-9/_+=.@-]+$/;

interface Version {
  readonly id: string;
  string?: string;
  binary?: string;
  readonly stages: string[];
  readonly createdAt: number;
  lastAccessedAt?: number;
}

interface Tag { Key: string; Value: string }

interface Secret {
  readonly arn: string;
  readonly name: string;
  description?: string;
  kmsKeyId?: string;
  tags: Tag[];
  readonly versions: Map<string, Version>;
  readonly createdAt: number;
  lastChangedAt: number;
  lastAccessedAt?: number;
  state: 'active' | 'pendingDeletion' | 'deleted';
  deletionDate?: number;
  rotation?: { enabled: boolean; lambdaArn?: string; rules?: Record<string, unknown>; lastRotatedAt?: number };
}

/** What `AwsStandIns.secret()` reports. */
export interface SecretInfo {
  readonly arn: string;
  readonly name: string;
  readonly description?: string;
  readonly kmsKeyId?: string;
  readonly tags: Array<{ Key: string; Value: string }>;
  /** True once DeleteSecret was called (scheduled or done). */
  readonly deleted: boolean;
  readonly state: 'active' | 'pendingDeletion' | 'deleted';
  /** Simulated epoch ms at which a scheduled deletion happens (or happened). */
  readonly deletionDate?: number;
  readonly rotation?: { readonly enabled: boolean; readonly lambdaArn?: string; readonly rules?: Record<string, unknown> };
  readonly versions: Array<{ versionId: string; stages: string[]; secretString?: string; secretBinary?: string; createdAt: number }>;
}

export type RotateHandler = (event: { secretId: string; arn: string; token: string }) => void;

const notFound = () => new ServiceError(400, 'ResourceNotFoundException', "Secrets Manager can't find the specified secret.");
const invalidParameter = (m: string) => new ServiceError(400, 'InvalidParameterException', m);
const invalidRequest = (m: string) => new ServiceError(400, 'InvalidRequestException', m);
const markedForDeletion = () => invalidRequest("You can't perform this operation on the secret because it was marked for deletion.");
const validation = (m: string) => new ServiceError(400, 'ValidationException', m);

function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

export class SecretsManagerModel {
  private readonly all: Secret[] = [];
  /** Installed by tests/drivers that want RotateSecret to start rotations. */
  onRotate?: RotateHandler;

  constructor(private readonly clock: SimClock, private readonly rng: Rng) {}

  static readonly OPERATIONS = [
    'CreateSecret', 'DescribeSecret', 'GetSecretValue', 'PutSecretValue', 'UpdateSecret', 'UpdateSecretVersionStage',
    'ListSecretVersionIds', 'ListSecrets', 'DeleteSecret', 'RestoreSecret', 'TagResource', 'UntagResource',
    'RotateSecret', 'CancelRotateSecret',
  ] as const;

  invoke(op: string, input: Record<string, unknown>): unknown {
    this.sweep();
    switch (op) {
      case 'CreateSecret': return this.createSecret(input);
      case 'DescribeSecret': return this.describeSecret(input);
      case 'GetSecretValue': return this.getSecretValue(input);
      case 'PutSecretValue': return this.putSecretValue(input);
      case 'UpdateSecret': return this.updateSecret(input);
      case 'UpdateSecretVersionStage': return this.updateSecretVersionStage(input);
      case 'ListSecretVersionIds': return this.listSecretVersionIds(input);
      case 'ListSecrets': return this.listSecrets(input);
      case 'DeleteSecret': return this.deleteSecret(input);
      case 'RestoreSecret': return this.restoreSecret(input);
      case 'TagResource': return this.tagResource(input);
      case 'UntagResource': return this.untagResource(input);
      case 'RotateSecret': return this.rotateSecret(input);
      case 'CancelRotateSecret': return this.cancelRotateSecret(input);
      default: throw new ServiceError(501, 'NotImplemented', `The stand-in does not model Secrets Manager ${op}`);
    }
  }

  // ---------------- test bed hooks ----------------

  /**
   * The start of a rotation as Secrets Manager does it: a version `token`
   * (created without a value if new) gets AWSPENDING. Returns the token.
   */
  beginRotation(secretId: string, token: string): string {
    this.sweep();
    const s = this.active(secretId);
    let v = s.versions.get(token);
    if (!v) {
      v = { id: token, stages: [], createdAt: this.clock.now() };
      s.versions.set(token, v);
    }
    this.attach(s, 'AWSPENDING', v);
    s.lastChangedAt = this.clock.now();
    return token;
  }

  info(nameOrArn: string): SecretInfo | undefined {
    this.sweep();
    const candidates = this.all.filter((s) => this.matches(s, nameOrArn));
    const s = candidates.find((x) => x.state !== 'deleted') ?? candidates[candidates.length - 1];
    return s ? this.describeForTests(s) : undefined;
  }

  list(includeDeleted: boolean): SecretInfo[] {
    this.sweep();
    return this.all.filter((s) => includeDeleted || s.state === 'active').map((s) => this.describeForTests(s));
  }

  // ---------------- operations ----------------

  private createSecret(input: Record<string, unknown>) {
    const c = new ConstraintChecker();
    c.string('name', input.Name, { required: true, min: 1, max: 512 });
    c.string('clientRequestToken', input.ClientRequestToken, { min: 32, max: 64 });
    c.string('description', input.Description, { max: 2048 });
    c.string('kmsKeyId', input.KmsKeyId, { max: 2048 });
    c.string('secretString', input.SecretString, { max: 65536, sensitive: true });
    c.list('tags', input.Tags, {});
    c.throwIfAny(validation);
    const name = input.Name as string;
    if (!NAME_CHARS.test(name)) {
      throw invalidParameter('Invalid name. Must be a valid name containing alphanumeric characters, or any of the following: -/_+=.@!');
    }
    this.checkValue(input);
    const tags = this.checkTags(input.Tags);
    const existing = this.all.find((s) => s.state !== 'deleted' && s.name === name);
    if (existing?.state === 'pendingDeletion') {
      throw invalidRequest("You can't create this secret because a secret with this name is already scheduled for deletion.");
    }
    if (existing) throw new ServiceError(400, 'ResourceExistsException', `The operation failed because the secret ${name} already exists.`);
    const now = this.clock.now();
    const s: Secret = {
      arn: `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:${name}-${this.rng.alnum(6)}`,
      name, description: str(input.Description), kmsKeyId: str(input.KmsKeyId), tags, versions: new Map(),
      createdAt: now, lastChangedAt: now, state: 'active',
    };
    this.all.push(s);
    let versionId: string | undefined;
    if (input.SecretString !== undefined || input.SecretBinary !== undefined) {
      versionId = str(input.ClientRequestToken) ?? this.rng.uuid();
      this.addVersion(s, versionId, input, ['AWSCURRENT']);
    }
    return { ARN: s.arn, Name: s.name, ...(versionId ? { VersionId: versionId } : {}) };
  }

  private describeSecret(input: Record<string, unknown>) {
    this.checkSecretId(input);
    const s = this.find(input.SecretId as string);
    return this.describe(s, 'VersionIdsToStages');
  }

  private getSecretValue(input: Record<string, unknown>) {
    const c = new ConstraintChecker();
    this.checkSecretId(input, c);
    c.string('versionId', input.VersionId, { min: 32, max: 64 });
    c.string('versionStage', input.VersionStage, { min: 1, max: 256 });
    c.throwIfAny(validation);
    const s = this.find(input.SecretId as string);
    if (s.state !== 'active') throw markedForDeletion();
    const versionId = str(input.VersionId);
    const stage = str(input.VersionStage);
    let v: Version | undefined;
    if (versionId !== undefined) {
      v = s.versions.get(versionId);
      if (!v) throw new ServiceError(400, 'ResourceNotFoundException', `Secrets Manager can't find the specified secret value for VersionId: ${versionId}`);
      if (stage !== undefined && !v.stages.includes(stage)) {
        throw invalidRequest('You provided a VersionStage that is not associated to the provided VersionId.');
      }
    } else {
      v = this.holder(s, stage ?? 'AWSCURRENT');
    }
    if (!v || (v.string === undefined && v.binary === undefined)) {
      const what = versionId !== undefined ? `VersionId: ${versionId}` : `staging label: ${stage ?? 'AWSCURRENT'}`;
      throw new ServiceError(400, 'ResourceNotFoundException', `Secrets Manager can't find the specified secret value for ${what}`);
    }
    const day = Math.floor(this.clock.now() / DAY) * DAY;
    v.lastAccessedAt = day;
    s.lastAccessedAt = day;
    return {
      ARN: s.arn, Name: s.name, VersionId: v.id,
      ...(v.string !== undefined ? { SecretString: v.string } : {}),
      ...(v.binary !== undefined ? { SecretBinary: v.binary } : {}),
      VersionStages: [...v.stages], CreatedDate: v.createdAt / 1000,
    };
  }

  private putSecretValue(input: Record<string, unknown>) {
    const c = new ConstraintChecker();
    this.checkSecretId(input, c);
    c.string('clientRequestToken', input.ClientRequestToken, { min: 32, max: 64 });
    c.string('secretString', input.SecretString, { max: 65536, sensitive: true });
    if (c.list('versionStages', input.VersionStages, { min: 1, max: 20 })) {
      (input.VersionStages as unknown[]).forEach((x, i) => c.string(`versionStages.${i + 1}.member`, x, { required: true, min: 1, max: 256 }));
    }
    c.throwIfAny(validation);
    if (input.SecretString === undefined && input.SecretBinary === undefined) {
      throw invalidParameter('You must provide either SecretString or SecretBinary.');
    }
    this.checkValue(input);
    const s = this.find(input.SecretId as string);
    if (s.state !== 'active') throw markedForDeletion();
    const token = str(input.ClientRequestToken) ?? this.rng.uuid();
    const stages = (input.VersionStages as string[] | undefined) ?? ['AWSCURRENT'];
    const v = this.addVersion(s, token, input, stages);
    return { ARN: s.arn, Name: s.name, VersionId: v.id, VersionStages: [...v.stages] };
  }

  private updateSecret(input: Record<string, unknown>) {
    const c = new ConstraintChecker();
    this.checkSecretId(input, c);
    c.string('clientRequestToken', input.ClientRequestToken, { min: 32, max: 64 });
    c.string('description', input.Description, { max: 2048 });
    c.string('kmsKeyId', input.KmsKeyId, { max: 2048 });
    c.string('secretString', input.SecretString, { max: 65536, sensitive: true });
    c.throwIfAny(validation);
    this.checkValue(input);
    const s = this.find(input.SecretId as string);
    if (s.state !== 'active') throw markedForDeletion();
    if (input.Description !== undefined) s.description = str(input.Description);
    if (input.KmsKeyId !== undefined) s.kmsKeyId = str(input.KmsKeyId);
    s.lastChangedAt = this.clock.now();
    let versionId: string | undefined;
    if (input.SecretString !== undefined || input.SecretBinary !== undefined) {
      versionId = this.addVersion(s, str(input.ClientRequestToken) ?? this.rng.uuid(), input, ['AWSCURRENT']).id;
    }
    return { ARN: s.arn, Name: s.name, ...(versionId ? { VersionId: versionId } : {}) };
  }

  private updateSecretVersionStage(input: Record<string, unknown>) {
    const c = new ConstraintChecker();
    this.checkSecretId(input, c);
    c.string('versionStage', input.VersionStage, { required: true, min: 1, max: 256 });
    c.string('moveToVersionId', input.MoveToVersionId, { min: 32, max: 64 });
    c.string('removeFromVersionId', input.RemoveFromVersionId, { min: 32, max: 64 });
    c.throwIfAny(validation);
    const s = this.find(input.SecretId as string);
    if (s.state !== 'active') throw markedForDeletion();
    const stage = input.VersionStage as string;
    const moveTo = str(input.MoveToVersionId);
    const removeFrom = str(input.RemoveFromVersionId);
    const holder = this.holder(s, stage);
    if (removeFrom !== undefined) {
      if (!s.versions.has(removeFrom)) throw invalidParameter(`Not a valid version: ${removeFrom}`);
      if (holder?.id !== removeFrom) {
        throw invalidParameter(`The staging label ${stage} is not attached to version ${removeFrom}${holder ? `; it is attached to version ${holder.id}` : ''}.`);
      }
    }
    if (moveTo !== undefined) {
      const to = s.versions.get(moveTo);
      if (!to) throw invalidParameter(`Not a valid version: ${moveTo}`);
      if (holder && holder !== to && removeFrom === undefined) {
        throw invalidParameter(`The parameter RemoveFromVersionId can't be empty. Staging label ${stage} is currently attached to version ${holder.id}, so you must explicitly reference that version in RemoveFromVersionId.`);
      }
      if (!to.stages.includes(stage) && to.stages.length >= 20) {
        throw new ServiceError(400, 'LimitExceededException', `Version ${moveTo} already has the maximum of 20 staging labels.`);
      }
      this.attach(s, stage, to);
    } else if (removeFrom !== undefined) {
      if (stage === 'AWSCURRENT') {
        throw invalidParameter("You can't remove the staging label AWSCURRENT from a version without moving it to another version (MoveToVersionId).");
      }
      holder!.stages.splice(holder!.stages.indexOf(stage), 1);
    } else {
      throw invalidParameter('You must specify MoveToVersionId, RemoveFromVersionId, or both.');
    }
    s.lastChangedAt = this.clock.now();
    return { ARN: s.arn, Name: s.name };
  }

  private listSecretVersionIds(input: Record<string, unknown>) {
    const c = new ConstraintChecker();
    this.checkSecretId(input, c);
    c.integer('maxResults', input.MaxResults, { min: 1, max: 100 });
    c.string('nextToken', input.NextToken, { min: 1, max: 4096 });
    c.throwIfAny(validation);
    const s = this.find(input.SecretId as string);
    const all = [...s.versions.values()].filter((v) => input.IncludeDeprecated === true || v.stages.length > 0).map((v) => ({
      VersionId: v.id, VersionStages: [...v.stages], CreatedDate: v.createdAt / 1000,
      ...(v.lastAccessedAt !== undefined ? { LastAccessedDate: v.lastAccessedAt / 1000 } : {}),
    }));
    const { page, next } = this.paginate(all, input);
    return { ARN: s.arn, Name: s.name, Versions: page, ...(next ? { NextToken: next } : {}) };
  }

  private listSecrets(input: Record<string, unknown>) {
    const c = new ConstraintChecker();
    c.integer('maxResults', input.MaxResults, { min: 1, max: 100 });
    c.string('nextToken', input.NextToken, { min: 1, max: 4096 });
    c.list('filters', input.Filters, { max: 10 });
    c.throwIfAny(validation);
    const filters = (input.Filters as Array<{ Key?: string; Values?: string[] }> | undefined) ?? [];
    let list = this.all.filter((s) => s.state === 'active' || (s.state === 'pendingDeletion' && input.IncludePlannedDeletion === true));
    for (const f of filters) {
      const values = f.Values ?? [];
      const test = (text: string | undefined) => values.some((v) => (v.startsWith('!') ? !(text ?? '').startsWith(v.slice(1)) : (text ?? '').startsWith(v)));
      switch (f.Key) {
        case 'name': list = list.filter((s) => test(s.name)); break;
        case 'description': list = list.filter((s) => test(s.description)); break;
        case 'tag-key': list = list.filter((s) => s.tags.some((t) => test(t.Key))); break;
        case 'tag-value': list = list.filter((s) => s.tags.some((t) => test(t.Value))); break;
        case 'all': list = list.filter((s) => test(s.name) || test(s.description) || s.tags.some((t) => test(t.Key) || test(t.Value))); break;
        default: throw invalidParameter(`Invalid filter key: ${f.Key}`);
      }
    }
    if (input.SortOrder === 'desc') list = [...list].reverse();
    const { page, next } = this.paginate(list.map((s) => this.describe(s, 'SecretVersionsToStages')), input);
    return { SecretList: page, ...(next ? { NextToken: next } : {}) };
  }

  private deleteSecret(input: Record<string, unknown>) {
    this.checkSecretId(input);
    const force = input.ForceDeleteWithoutRecovery === true;
    const window = input.RecoveryWindowInDays;
    if (window !== undefined && force) throw invalidParameter("You can't use ForceDeleteWithoutRecovery in conjunction with RecoveryWindowInDays.");
    if (window !== undefined && !(Number.isInteger(window) && (window as number) >= 7 && (window as number) <= 30)) {
      throw invalidParameter('The RecoveryWindowInDays value must be between 7 and 30 days (inclusive).');
    }
    const id = input.SecretId as string;
    const s = this.all.find((x) => x.state !== 'deleted' && this.matches(x, id));
    const now = this.clock.now();
    if (!s) {
      if (!force) throw notFound();
      // "If you forcibly delete an already deleted or nonexistent secret, the operation does not return ResourceNotFoundException."
      const gone = [...this.all].reverse().find((x) => this.matches(x, id));
      return { ARN: gone?.arn ?? (id.startsWith('arn:') ? id : `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:${id}`), Name: gone?.name ?? id, DeletionDate: now / 1000 };
    }
    if (s.state === 'pendingDeletion' && !force) {
      throw invalidRequest("You can't perform this operation on the secret because it was already scheduled for deletion.");
    }
    if (force) {
      s.state = 'deleted';
      s.deletionDate = now;
    } else {
      s.state = 'pendingDeletion';
      s.deletionDate = now + ((window as number | undefined) ?? 30) * DAY;
    }
    return { ARN: s.arn, Name: s.name, DeletionDate: s.deletionDate / 1000 };
  }

  private restoreSecret(input: Record<string, unknown>) {
    this.checkSecretId(input);
    const s = this.find(input.SecretId as string);
    s.state = 'active';
    s.deletionDate = undefined;
    return { ARN: s.arn, Name: s.name };
  }

  private tagResource(input: Record<string, unknown>) {
    const c = new ConstraintChecker();
    this.checkSecretId(input, c);
    c.list('tags', input.Tags, { required: true });
    c.throwIfAny(validation);
    const tags = this.checkTags(input.Tags);
    const s = this.find(input.SecretId as string);
    if (s.state !== 'active') throw markedForDeletion();
    for (const t of tags) {
      const i = s.tags.findIndex((x) => x.Key === t.Key);
      if (i >= 0) s.tags[i] = t;
      else s.tags.push(t);
    }
    if (s.tags.length > 50) throw invalidParameter('A secret can have at most 50 tags.');
    return {};
  }

  private untagResource(input: Record<string, unknown>) {
    const c = new ConstraintChecker();
    this.checkSecretId(input, c);
    c.list('tagKeys', input.TagKeys, { required: true });
    c.throwIfAny(validation);
    const s = this.find(input.SecretId as string);
    if (s.state !== 'active') throw markedForDeletion();
    const keys = input.TagKeys as string[];
    s.tags = s.tags.filter((t) => !keys.includes(t.Key));
    return {};
  }

  private rotateSecret(input: Record<string, unknown>) {
    const c = new ConstraintChecker();
    this.checkSecretId(input, c);
    c.string('clientRequestToken', input.ClientRequestToken, { min: 32, max: 64 });
    c.string('rotationLambdaARN', input.RotationLambdaARN, { max: 2048 });
    c.throwIfAny(validation);
    const rules = input.RotationRules as Record<string, unknown> | undefined;
    if (rules?.AutomaticallyAfterDays !== undefined) {
      const d = rules.AutomaticallyAfterDays;
      if (!(Number.isInteger(d) && (d as number) >= 1 && (d as number) <= 1000)) throw invalidParameter('RotationRules.AutomaticallyAfterDays must be within 1-1000.');
    }
    const s = this.find(input.SecretId as string);
    if (s.state !== 'active') throw markedForDeletion();
    const lambdaArn = str(input.RotationLambdaARN) ?? s.rotation?.lambdaArn;
    if (!lambdaArn) {
      throw invalidRequest("You tried to enable rotation on a secret that doesn't already have a Lambda function ARN configured and you didn't include such an ARN as a parameter in this call.");
    }
    s.rotation = { enabled: true, lambdaArn, rules: rules ?? s.rotation?.rules, lastRotatedAt: s.rotation?.lastRotatedAt };
    s.lastChangedAt = this.clock.now();
    let versionId: string | undefined;
    if (this.onRotate && input.RotateImmediately !== false) {
      const pending = this.holder(s, 'AWSPENDING');
      if (pending && !pending.stages.includes('AWSCURRENT')) {
        throw invalidRequest("A previous rotation isn't complete. That rotation will be reattempted.");
      }
      versionId = this.beginRotation(s.arn, str(input.ClientRequestToken) ?? this.rng.uuid());
      const handler = this.onRotate;
      const event = { secretId: s.arn, arn: s.arn, token: versionId };
      setImmediate(() => handler(event));
    }
    return { ARN: s.arn, Name: s.name, ...(versionId ? { VersionId: versionId } : {}) };
  }

  private cancelRotateSecret(input: Record<string, unknown>) {
    this.checkSecretId(input);
    const s = this.find(input.SecretId as string);
    if (s.state !== 'active') throw markedForDeletion();
    if (!s.rotation?.lambdaArn) {
      throw invalidRequest("You tried to enable rotation on a secret that doesn't already have a Lambda function ARN configured and you didn't include such an ARN as a parameter in this call.");
    }
    s.rotation.enabled = false;
    s.lastChangedAt = this.clock.now();
    const pending = this.holder(s, 'AWSPENDING');
    return { ARN: s.arn, Name: s.name, ...(pending && !pending.stages.includes('AWSCURRENT') ? { VersionId: pending.id } : {}) };
  }

  // ---------------- helpers ----------------

  /** Adds (or idempotently re-adds) version `token` with the value in `input` and attaches `stages`. */
  private addVersion(s: Secret, token: string, input: Record<string, unknown>, stages: string[]): Version {
    const string = str(input.SecretString);
    const binary = str(input.SecretBinary);
    let v = s.versions.get(token);
    if (v && (v.string !== undefined || v.binary !== undefined)) {
      if (v.string === string && v.binary === binary) return v; // same token, same value: nothing happens
      throw new ServiceError(400, 'ResourceExistsException', `A version with ClientRequestToken ${token} already exists with a different value; you can't modify an existing version, only create a new one.`);
    }
    if (!v) {
      v = { id: token, stages: [], createdAt: this.clock.now() };
      s.versions.set(token, v);
    }
    v.string = string;
    v.binary = binary;
    const first = !this.holder(s, 'AWSCURRENT');
    for (const stage of new Set(first ? [...stages, 'AWSCURRENT'] : stages)) this.attach(s, stage, v);
    s.lastChangedAt = this.clock.now();
    this.purgeDeprecated(s);
    return v;
  }

  /** Puts `stage` on `to`, taking it off whichever version had it; AWSCURRENT drags AWSPREVIOUS along. */
  private attach(s: Secret, stage: string, to: Version): void {
    const from = this.holder(s, stage);
    if (from === to) return;
    if (from) from.stages.splice(from.stages.indexOf(stage), 1);
    to.stages.push(stage);
    if (stage === 'AWSCURRENT' && from) {
      const prev = this.holder(s, 'AWSPREVIOUS');
      if (prev) prev.stages.splice(prev.stages.indexOf('AWSPREVIOUS'), 1);
      from.stages.push('AWSPREVIOUS');
    }
  }

  private holder(s: Secret, stage: string): Version | undefined {
    for (const v of s.versions.values()) if (v.stages.includes(stage)) return v;
    return undefined;
  }

  private purgeDeprecated(s: Secret): void {
    if (s.versions.size <= MAX_VERSIONS) return;
    const cutoff = this.clock.now() - DAY;
    for (const v of [...s.versions.values()]) {
      if (s.versions.size <= MAX_VERSIONS) break;
      if (v.stages.length === 0 && v.createdAt < cutoff) s.versions.delete(v.id);
    }
  }

  /** Scheduled deletions whose date has passed on the simulated clock happen now. */
  private sweep(): void {
    const now = this.clock.now();
    for (const s of this.all) if (s.state === 'pendingDeletion' && s.deletionDate !== undefined && s.deletionDate <= now) s.state = 'deleted';
  }

  private matches(s: Secret, id: string): boolean {
    if (s.arn === id || s.name === id) return true;
    // A partial ARN: the full ARN without the "-xxxxxx" suffix Secrets Manager appends.
    return id.startsWith('arn:') && s.arn.slice(0, -7) === id;
  }

  /** A secret that exists (active or scheduled for deletion). */
  private find(id: string): Secret {
    const s = this.all.find((x) => x.state !== 'deleted' && this.matches(x, id));
    if (!s) throw notFound();
    return s;
  }

  private active(id: string): Secret {
    const s = this.find(id);
    if (s.state !== 'active') throw markedForDeletion();
    return s;
  }

  private checkSecretId(input: Record<string, unknown>, c?: ConstraintChecker): void {
    const own = c ?? new ConstraintChecker();
    own.string('secretId', input.SecretId, { required: true, min: 1, max: 2048 });
    if (!c) own.throwIfAny(validation);
  }

  private checkValue(input: Record<string, unknown>): void {
    if (input.SecretString !== undefined && input.SecretBinary !== undefined) {
      throw invalidParameter("You can't specify both a binary secret value and a string secret value in the same secret.");
    }
    if (input.SecretBinary !== undefined && typeof input.SecretBinary !== 'string') throw new ServiceError(400, 'SerializationException', 'SecretBinary must be base64 text');
  }

  private checkTags(tags: unknown): Tag[] {
    if (tags === undefined || tags === null) return [];
    if (!Array.isArray(tags)) throw new ServiceError(400, 'SerializationException', 'Tags must be a list');
    const out: Tag[] = [];
    for (const t of tags as Array<Record<string, unknown>>) {
      const key = t?.Key;
      const value = t?.Value ?? '';
      if (typeof key !== 'string' || key.length < 1 || key.length > 128) throw invalidParameter('Tag keys must be 1 to 128 characters.');
      if (typeof value !== 'string' || value.length > 256) throw invalidParameter('Tag values must be at most 256 characters.');
      if (key.toLowerCase().startsWith('aws:')) throw invalidParameter('Tag keys starting with aws: are reserved.');
      out.push({ Key: key, Value: value });
    }
    return out;
  }

  private paginate<T>(items: T[], input: Record<string, unknown>): { page: T[]; next?: string } {
    const size = (input.MaxResults as number | undefined) ?? 100;
    let start = 0;
    if (input.NextToken !== undefined) {
      try {
        start = JSON.parse(Buffer.from(input.NextToken as string, 'base64').toString('utf8')).o;
      } catch {
        start = NaN;
      }
      if (!Number.isInteger(start) || start < 0) throw new ServiceError(400, 'InvalidNextTokenException', 'The NextToken value is invalid.');
    }
    const page = items.slice(start, start + size);
    return { page, next: start + size < items.length ? Buffer.from(JSON.stringify({ o: start + size })).toString('base64') : undefined };
  }

  private describe(s: Secret, versionsKey: 'VersionIdsToStages' | 'SecretVersionsToStages') {
    const map: Record<string, string[]> = {};
    for (const v of s.versions.values()) if (v.stages.length) map[v.id] = [...v.stages];
    const rules = s.rotation?.rules;
    const days = rules?.AutomaticallyAfterDays as number | undefined;
    return {
      ARN: s.arn,
      Name: s.name,
      ...(s.description !== undefined ? { Description: s.description } : {}),
      ...(s.kmsKeyId !== undefined ? { KmsKeyId: s.kmsKeyId } : {}),
      ...(s.rotation ? {
        RotationEnabled: s.rotation.enabled,
        ...(s.rotation.lambdaArn ? { RotationLambdaARN: s.rotation.lambdaArn } : {}),
        ...(rules ? { RotationRules: rules } : {}),
        ...(s.rotation.enabled && days ? { NextRotationDate: (Math.max(s.rotation.lastRotatedAt ?? s.createdAt, this.clock.now()) + days * DAY) / 1000 } : {}),
      } : {}),
      LastChangedDate: s.lastChangedAt / 1000,
      ...(s.lastAccessedAt !== undefined ? { LastAccessedDate: s.lastAccessedAt / 1000 } : {}),
      ...(s.state === 'pendingDeletion' && s.deletionDate !== undefined ? { DeletedDate: s.deletionDate / 1000 } : {}),
      ...(s.tags.length ? { Tags: s.tags.map((t) => ({ ...t })) } : {}),
      ...(s.versions.size ? { [versionsKey]: map } : {}),
      CreatedDate: s.createdAt / 1000,
    };
  }

  private describeForTests(s: Secret): SecretInfo {
    return {
      arn: s.arn, name: s.name, description: s.description, kmsKeyId: s.kmsKeyId, tags: s.tags.map((t) => ({ ...t })),
      deleted: s.state !== 'active', state: s.state, deletionDate: s.deletionDate,
      rotation: s.rotation ? { enabled: s.rotation.enabled, lambdaArn: s.rotation.lambdaArn, rules: s.rotation.rules } : undefined,
      versions: [...s.versions.values()].map((v) => ({
        versionId: v.id, stages: [...v.stages], createdAt: v.createdAt,
        ...(v.string !== undefined ? { secretString: v.string } : {}),
        ...(v.binary !== undefined ? { secretBinary: v.binary } : {}),
      })),
    };
  }
}
