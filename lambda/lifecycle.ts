/**
 * Create / Update / Delete for credential custom resources, independent of the
 * credential kind. Every credential lives in one labelled version of the
 * secret; the custom resource's physical id is its *generation* (the name of
 * the first credential it issued), and rotation keeps the generation. That
 * tells a real Delete (the secret's AWSCURRENT belongs to this physical id)
 * from CloudFormation's cleanup of a replaced one (it does not), and lets a
 * rollback restore the original credential instead of minting another.
 */
import { createHash } from 'crypto';
import type {
  CloudFormationCustomResourceCreateEvent,
  CloudFormationCustomResourceDeleteEvent,
  CloudFormationCustomResourceEvent,
  CloudFormationCustomResourceUpdateEvent,
} from 'aws-lambda';
import { ATTRIBUTES, NAME_SUFFIX_LENGTH } from '../lib/private/contract';
import { Definition, InputError, Issuer, NameInUseError } from './issuers/types';
import { isServiceError } from './clients';
import { describeError, log } from './log';
import { CredentialRecord, DisplacedCredential, hasNoLabel, SecretStore, SecretState, Stage, StoredVersion, versionWithStage } from './secret-store';

/** Physical id answered by a failed Create; the Delete CloudFormation sends next touches nothing. */
export const FAILED_CREATE_ID = 'grafana-credentials-create-failed';

/** A previous credential is restored on rollback only if it stays valid at least this long. */
const RESTORE_MIN_REMAINING_MS = 15 * 60 * 1000;

export interface Outcome {
  readonly physicalResourceId: string;
  readonly data?: Record<string, string>;
}

/**
 * Credentials issued but not yet stored by this invocation. If the invocation
 * must give up (timeout guard), whatever is here is revoked before answering.
 */
export class MintJournal {
  private readonly unstored = new Map<string, Unstored>();
  private readonly aborter = new AbortController();
  /** Set when the invocation gave up (timeout guard): anything issued after that is revoked, not stored. */
  closed = false;
  /** Aborted when the invocation gives up: a write still retrying starts no further attempt. */
  get signal(): AbortSignal { return this.aborter.signal; }
  minted(issuer: Issuer, record: CredentialRecord, target?: { store: SecretStore; target: MintTarget }) {
    this.unstored.set(issuer.nameOf(record), { issuer, record, ...target });
  }
  stored(issuer: Issuer, record: CredentialRecord) { this.unstored.delete(issuer.nameOf(record)); }
  /**
   * Revokes every credential issued but not (yet) stored. Its write stops
   * retrying, but an attempt already sent may still land, so the version is
   * then fenced: a placeholder is written under the same ClientRequestToken,
   * which makes a late write fail instead of landing a revoked credential; if
   * the write already landed, its labels are taken off again. A credential
   * that could not be revoked is not fenced: it works, and the version that
   * records it is what lets a rollback or Delete find it later.
   */
  async revokeUnstored(): Promise<void> {
    this.closed = true;
    this.aborter.abort();
    // Revoke first: the fence needs Secrets Manager, which may be what is hanging.
    for (const { issuer, record, store, target } of [...this.unstored.values()]) {
      const revoked = await revokeQuietly(issuer, record, 'issued but never stored');
      if (revoked && store && target) {
        await fenceVersion(store, target).catch((err) => log('error', 'could not fence the secret version of an abandoned write', {
          secretArn: target.secretArn, versionId: target.versionId, error: describeError(err),
        }));
      }
    }
    this.unstored.clear();
  }
}

interface Unstored {
  readonly issuer: Issuer;
  readonly record: CredentialRecord;
  readonly store?: SecretStore;
  readonly target?: MintTarget;
}

/** The label on a version written to fence off an abandoned write (it holds no credential). */
export const ABANDONED_STAGE = 'GRAFANA_CREDENTIALS_ABANDONED';
const PLACEHOLDER_NOTE = 'Placeholder: the credential meant for this version was revoked when its invocation gave up.';

async function fenceVersion(store: SecretStore, target: MintTarget): Promise<void> {
  const { secretArn, versionId } = target;
  try {
    await store.putPlaceholder(secretArn, versionId, ABANDONED_STAGE, PLACEHOLDER_NOTE);
    log('warn', 'fenced the secret version of an abandoned write: a late write of it will fail', { secretArn, versionId });
    return;
  } catch (err) {
    if (!isServiceError(err, 'ResourceExistsException')) throw err;
  }
  // The write landed: its credential is revoked, so no label may point at it. The labels are read now, not taken
  // from when the write started: a rotation may have moved them since.
  const state = await store.describe(secretArn);
  const stages = state?.stagesByVersion.get(versionId) ?? [];
  // Every label it holds comes off; AWSCURRENT by a move, which leaves AWSPREVIOUS on it instead.
  const toRemove = stages.filter((s) => s !== Stage.CURRENT);
  if (state && stages.includes(Stage.CURRENT)) {
    if (!toRemove.includes(Stage.PREVIOUS)) toRemove.push(Stage.PREVIOUS);
    // AWSCURRENT can be moved, never removed. It goes back to the version the write displaced (which Secrets
    // Manager labelled AWSPREVIOUS); with none, to a placeholder. The move hands AWSPREVIOUS to this version.
    let to = [...state.stagesByVersion].find(([id, s]) => id !== versionId && s.includes(Stage.PREVIOUS))?.[0];
    if (!to) {
      to = versionIdFor(`fence:${versionId}`);
      await store.putPlaceholder(secretArn, to, ABANDONED_STAGE, PLACEHOLDER_NOTE);
    }
    await store.moveStage(secretArn, Stage.CURRENT, to, versionId);
  }
  for (const stage of toRemove) {
    try {
      await store.removeStage(secretArn, stage, versionId);
    } catch (err) {
      // The label is not (or no longer) on this version: nothing to take off.
      if (!isServiceError(err, 'InvalidParameterException') && !isServiceError(err, 'InvalidRequestException')) throw err;
    }
  }
  log('warn', 'an abandoned write had landed; its labels were taken off', { secretArn, versionId, stages });
}

/** Thrown when work resumes after the invocation already answered (the guard fired). */
export class AbandonedError extends Error {
  constructor() {
    super('the invocation already answered CloudFormation; this work was abandoned');
    this.name = 'AbandonedError';
  }
}

export interface EngineDeps {
  readonly store: SecretStore;
  readonly issuerFor: (kind: unknown) => Issuer;
  readonly journal: MintJournal;
  readonly now?: () => number;
}

export async function handleCredentialEvent(event: CloudFormationCustomResourceEvent, deps: EngineDeps): Promise<Outcome> {
  switch (event.RequestType) {
    case 'Create': return onCreate(event, deps);
    case 'Update': return onUpdate(event, deps);
    case 'Delete': return onDelete(event, deps);
  }
}

/** Deterministic name for a credential issued by one request: a retried request reuses it. */
export function credentialName(prefix: string, seed: string): string {
  return `${prefix}-${createHash('sha256').update(seed).digest('hex').slice(0, NAME_SUFFIX_LENGTH - 1)}`;
}

/** Deterministic secret version id (a ClientRequestToken, 32 to 64 characters) for one request. */
export function versionIdFor(seed: string): string {
  const h = createHash('sha256').update(`version:${seed}`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

export function sameDefinition(a: Definition, b: Definition): boolean {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  for (const k of keys) if (a[k] !== b[k]) return false;
  return true;
}

function secretArnOf(props: Readonly<Record<string, unknown>>): string {
  const arn = props.SecretArn;
  if (typeof arn !== 'string' || !arn) throw new InputError('Property SecretArn is required');
  return arn;
}

function outcome(generation: string, secretArn: string): Outcome {
  return { physicalResourceId: generation, data: { [ATTRIBUTES.credentialName]: generation, [ATTRIBUTES.secretArn]: secretArn } };
}

async function onCreate(event: CloudFormationCustomResourceCreateEvent, deps: EngineDeps): Promise<Outcome> {
  const props = event.ResourceProperties;
  const issuer = deps.issuerFor(props.Kind);
  const definition = issuer.definitionFrom(props);
  const secretArn = secretArnOf(props);
  const name = credentialName(issuer.namePrefix(definition), event.RequestId);
  const record = await mint(deps, issuer, definition, {
    secretArn, name, versionId: versionIdFor(event.RequestId), stages: [Stage.CURRENT], generation: name,
  });
  log('info', `created ${issuer.noun}`, { credentialName: name, secretArn, expiresAt: record.expiresAt });
  return outcome(record.lifecycle.generation, secretArn);
}

async function onUpdate(event: CloudFormationCustomResourceUpdateEvent, deps: EngineDeps): Promise<Outcome> {
  const props = event.ResourceProperties;
  const issuer = deps.issuerFor(props.Kind);
  const definition = issuer.definitionFrom(props);
  const secretArn = secretArnOf(props);
  const incomingId = event.PhysicalResourceId;

  const old = event.OldResourceProperties;
  if (old.SecretArn !== secretArn) {
    // Moving back to a secret that still holds what is asked (the rollback of a secret change): keep it.
    const target = await deps.store.describe(secretArn);
    const targetCurrent = target ? await readStage(deps.store, target, Stage.CURRENT) : undefined;
    const kept = targetCurrent?.record;
    if (kept && kept.lifecycle.kind === issuer.kind && sameDefinition(kept.lifecycle.definition, definition)
        && Date.parse(kept.expiresAt) - (deps.now ?? Date.now)() > RESTORE_MIN_REMAINING_MS) {
      log('info', `the secret still holds the requested ${issuer.noun}; keeping it`, { credentialName: issuer.nameOf(kept), secretArn });
      return outcome(kept.lifecycle.generation, secretArn);
    }
    // A new secret: issue into it as on Create; cleanup deletes the old id, which empties the old secret.
    const name = credentialName(issuer.namePrefix(definition), event.RequestId);
    await mint(deps, issuer, definition, { secretArn, name, versionId: versionIdFor(event.RequestId), stages: [Stage.CURRENT], generation: name });
    log('info', `issued ${issuer.noun} into a new secret`, { credentialName: name, secretArn });
    return outcome(name, secretArn);
  }
  if (old.Kind === props.Kind && definitionsMatch(issuer, old, definition)) {
    log('info', `nothing about the ${issuer.noun} changed; keeping it`, { physicalResourceId: incomingId, secretArn });
    return outcome(incomingId, secretArn);
  }

  const state = await requireSecret(deps.store, secretArn);
  const current = await readStage(deps.store, state, Stage.CURRENT);
  const previous = await readStage(deps.store, state, Stage.PREVIOUS);
  await revokeUnreachable(issuer, state, [current?.record, previous?.record], current);
  const now = (deps.now ?? Date.now)();
  const revoked = new Set<string>();
  let generation: string;

  if (current?.record && current.record.lifecycle.kind === issuer.kind && sameDefinition(current.record.lifecycle.definition, definition)) {
    // Already what is asked: a retried request that stored its credential, or the rollback of an update that stored nothing.
    generation = current.record.lifecycle.generation;
    log('info', `secret already holds the requested ${issuer.noun}`, { credentialName: issuer.nameOf(current.record), secretArn });
  } else if (previous?.record && current?.record && previous.versionId !== current.versionId
      && previous.record.lifecycle.generation !== current.record.lifecycle.generation
      && previous.record.lifecycle.kind === issuer.kind
      && sameDefinition(previous.record.lifecycle.definition, definition)
      && Date.parse(previous.record.expiresAt) - now > RESTORE_MIN_REMAINING_MS) {
    // Rollback: the credential we replaced is still valid and is what is asked for again: restore it, mint nothing.
    await deps.store.moveStage(secretArn, Stage.CURRENT, previous.versionId, current.versionId);
    generation = previous.record.lifecycle.generation;
    log('info', `restored the previous ${issuer.noun}`, { credentialName: issuer.nameOf(previous.record), secretArn });
  } else {
    // AWSPREVIOUS is about to lose its label, and with it our only record of that credential: revoke it first.
    if (previous?.record && previous.versionId !== current?.versionId) {
      await revokeOrThrow(issuer, previous.record, 'its version is about to lose its last label');
      revoked.add(previous.versionId);
    }
    const name = credentialName(issuer.namePrefix(definition), event.RequestId);
    await mint(deps, issuer, definition, {
      secretArn, name, versionId: versionIdFor(event.RequestId), stages: [Stage.CURRENT], generation: name,
      replaces: current?.record?.lifecycle.kind === issuer.kind ? current : undefined,
    });
    generation = name;
    log('info', `reissued ${issuer.noun}`, { credentialName: name, replaces: incomingId, secretArn });
    await revokeDelabelled(deps.store, issuer, secretArn, [current, previous], revoked);
  }

  // CloudFormation deletes `incomingId` at cleanup if we answer another id. Any other generation is unknown to it.
  for (const version of [current, previous]) {
    const record = version?.record;
    if (!version || !record || revoked.has(version.versionId)) continue;
    const gen = record.lifecycle.generation;
    if (gen === generation || gen === incomingId) continue;
    await revokeOrThrow(issuer, record, 'it belongs to no generation CloudFormation knows');
    await deps.store.removeStage(secretArn, Stage.PREVIOUS, version.versionId).catch((err) =>
      log('warn', 'could not remove label from a revoked version', { secretArn, versionId: version.versionId, error: describeError(err) }));
  }
  return outcome(generation, secretArn);
}

/**
 * After a write that moved AWSCURRENT: revokes the credential of any version read before it that has since lost
 * every label. That happens when rotations finished in between (each moved AWSCURRENT first, so the write pushed
 * the last version they demoted off AWSPREVIOUS); nothing reads an unlabelled version, so it would never be found
 * again. With more than one such rotation, the versions between are found through each record's predecessor.
 */
async function revokeDelabelled(store: SecretStore, issuer: Issuer, secretArn: string,
  versionsRead: ReadonlyArray<StoredVersion | undefined>, revoked: Set<string>): Promise<void> {
  const candidates = versionsRead.filter((v): v is StoredVersion => !!v?.record && !revoked.has(v.versionId));
  if (!candidates.length) return;
  const state = await store.describe(secretArn);
  if (!state) return;
  const why = 'a rotation finished during this update and its version lost its last label';
  const read = new Set(versionsRead.map((v) => v?.versionId));
  // Without a race AWSPREVIOUS now holds the version read as AWSCURRENT, and this loop reads nothing.
  let holder = versionWithStage(state, Stage.PREVIOUS);
  for (let hops = 0; holder && !read.has(holder) && hops < 10; hops++) {
    const record = (await store.read(secretArn, { versionId: holder }))?.record;
    const predecessor = record?.lifecycle.predecessor;
    if (!record || !predecessor) break;
    if (!read.has(predecessor.versionId) && hasNoLabel(state, predecessor.versionId)) {
      await revokeOrThrow(issuer, recordOf(record, predecessor), why);
    }
    holder = predecessor.versionId;
  }
  for (const version of candidates) {
    if (!hasNoLabel(state, version.versionId)) continue;
    await revokeOrThrow(issuer, version.record!, why);
    revoked.add(version.versionId);
  }
}

/** A record standing for another credential, known only by its non-secret fields (enough to revoke it). */
export function recordOf(template: CredentialRecord, other: { readonly generation?: string; readonly fields: Record<string, string> }): CredentialRecord {
  return { ...template, key: '', fields: other.fields, lifecycle: { ...template.lifecycle, generation: other.generation ?? template.lifecycle.generation } };
}

/**
 * Revokes what a race left valid behind no label, found through the records that are still labelled:
 * - `displaces`: the other generation's credential a rotation's promotion took the last label from (finishSecret
 *   revokes it; should that have failed, whoever reads the record next does);
 * - AWSCURRENT's predecessor, when it is not AWSPREVIOUS and has no label (an Update raced by rotations that could
 *   not finish its own check, or a timeout guard's fence that moved AWSCURRENT back).
 * An unlabelled version is never read again, so revoking its credential is always safe, and revoking twice is
 * harmless. Failures are logged, not thrown: a credential that cannot be revoked must not block rotation or delete.
 * Returns the `displaces` entries that could not be revoked, for a rotation to carry forward.
 */
export async function revokeUnreachable(issuer: Issuer, state: SecretState, records: ReadonlyArray<CredentialRecord | undefined>,
  current?: StoredVersion): Promise<DisplacedCredential[]> {
  const failed: DisplacedCredential[] = [];
  for (const record of records) {
    const displaced = record?.lifecycle.displaces;
    if (!record || !displaced || !hasNoLabel(state, displaced.versionId)) continue;
    if (!await revokeDisplaced(issuer, record)) failed.push(displaced);
  }
  const predecessor = current?.record?.lifecycle.predecessor;
  const previousId = versionWithStage(state, Stage.PREVIOUS);
  // With no AWSPREVIOUS, a predecessor of another generation is one CloudFormation's cleanup already revoked and unlabelled.
  const cleanedUp = !previousId && predecessor?.generation !== undefined && predecessor.generation !== current?.record?.lifecycle.generation;
  if (current?.record && predecessor && predecessor.versionId !== previousId && hasNoLabel(state, predecessor.versionId) && !cleanedUp) {
    await revokeQuietly(issuer, recordOf(current.record, predecessor), 'the credential AWSCURRENT replaced lost its label in a race');
  }
  return failed;
}

/**
 * Revokes the credential a rotated record `displaces` (none: nothing to do). Quiet: the promotion that displaced it
 * has landed, so a failure is logged and the obligation stays with the record. Returns false when revoking failed.
 */
export async function revokeDisplaced(issuer: Issuer, record: CredentialRecord): Promise<boolean> {
  const displaced = record.lifecycle.displaces;
  if (!displaced) return true;
  return revokeQuietly(issuer, recordOf(record, displaced), 'a stack update had left it as AWSPREVIOUS and a rotation took that label away');
}

async function onDelete(event: CloudFormationCustomResourceDeleteEvent, deps: EngineDeps): Promise<Outcome> {
  const id = event.PhysicalResourceId;
  if (id === FAILED_CREATE_ID) {
    log('info', 'nothing to delete: the create failed and cleaned up after itself', { physicalResourceId: id });
    return { physicalResourceId: id };
  }
  const props = event.ResourceProperties;
  const issuer = deps.issuerFor(props.Kind);
  const secretArn = secretArnOf(props);
  const state = await deps.store.describe(secretArn);
  if (!state) {
    log('warn', 'secret is already gone; nothing recorded to delete', { physicalResourceId: id, secretArn });
    return { physicalResourceId: id };
  }
  const labelled = await readLabelled(deps.store, state);
  const current = labelled.find((v) => v.stages.includes(Stage.CURRENT));
  await revokeUnreachable(issuer, state, labelled.map((v) => v.record), current);
  const isCleanup = current?.record !== undefined && current.record.lifecycle.generation !== id;

  for (const version of labelled) {
    const record = version.record;
    if (!record || record.lifecycle.kind !== issuer.kind) continue;
    if (isCleanup && record.lifecycle.generation !== id) continue;
    await revokeOrThrow(issuer, record, isCleanup ? 'CloudFormation replaced it' : 'the resource is deleted');
    if (isCleanup) {
      for (const stage of version.stages) {
        await deps.store.removeStage(secretArn, stage, version.versionId).catch((err) =>
          log('warn', 'could not remove label from a revoked version', { secretArn, versionId: version.versionId, stage, error: describeError(err) }));
      }
    }
  }

  if (!isCleanup && issuer.listIssuedNames) {
    // Leftovers a crash left behind: credentials under our prefix that no version records.
    let definition: Definition | undefined;
    try { definition = issuer.definitionFrom(props); } catch { definition = undefined; }
    const known = new Set(labelled.flatMap((v) => (v.record ? [issuer.nameOf(v.record)] : [])));
    const names = definition ? await issuer.listIssuedNames(definition) : undefined;
    for (const name of names ?? []) {
      if (known.has(name)) continue;
      log('info', `deleting leftover ${issuer.noun}`, { credentialName: name, secretArn });
      await issuer.revokeByName(definition!, name);
    }
  }
  log('info', isCleanup ? 'cleaned up the replaced generation' : 'deleted every credential this resource issued', { physicalResourceId: id, secretArn });
  return { physicalResourceId: id };
}

function definitionsMatch(issuer: Issuer, oldProps: Readonly<Record<string, unknown>>, definition: Definition): boolean {
  try {
    return sameDefinition(issuer.definitionFrom(oldProps), definition);
  } catch {
    return false;
  }
}

async function requireSecret(store: SecretStore, secretArn: string): Promise<SecretState> {
  const state = await store.describe(secretArn);
  if (!state) throw new InputError(`Secret ${secretArn} not found: it must exist before the credential is issued`);
  return state;
}

async function readStage(store: SecretStore, state: SecretState, stage: string): Promise<StoredVersion | undefined> {
  for (const [versionId, stages] of state.stagesByVersion) {
    if (stages.includes(stage)) return store.read(state.arn, { versionId });
  }
  return undefined;
}

interface LabelledVersion extends StoredVersion { readonly stages: readonly string[] }

export async function readLabelled(store: SecretStore, state: SecretState): Promise<LabelledVersion[]> {
  const out: LabelledVersion[] = [];
  for (const [versionId, stages] of state.stagesByVersion) {
    if (stages.length === 0) continue;
    const version = await store.read(state.arn, { versionId });
    out.push({ versionId, stages, record: version?.record });
  }
  return out;
}

export interface MintTarget {
  readonly secretArn: string;
  readonly name: string;
  readonly versionId: string;
  readonly stages: string[];
  readonly generation: string;
  readonly basedOnVersionId?: string;
  /** The version this credential replaces as AWSCURRENT, if any. */
  readonly replaces?: StoredVersion;
  /** A credential of another generation that this version's promotion will leave with no label (rotation only). */
  readonly displaces?: DisplacedCredential;
}

/**
 * Issues a credential and stores it as a secret version. Idempotent for one
 * (name, versionId): a retry finds the stored version; a name taken by a
 * credential that was never stored is revoked and issued again. A credential
 * that cannot be stored is revoked before the error propagates.
 */
export async function mint(deps: EngineDeps, issuer: Issuer, definition: Definition, target: MintTarget): Promise<CredentialRecord> {
  const { secretArn, name, versionId } = target;
  let issued;
  try {
    issued = await issuer.issue(definition, name);
  } catch (err) {
    if (!(err instanceof NameInUseError)) throw err;
    const existing = await deps.store.read(secretArn, { versionId });
    if (existing?.record && issuer.nameOf(existing.record) === name) {
      log('info', `${issuer.noun} was already issued and stored by an earlier attempt`, { credentialName: name, secretArn, versionId });
      return existing.record;
    }
    log('warn', `${issuer.noun} name is taken by a credential that was never stored; replacing it`, { credentialName: name, secretArn });
    await issuer.revokeByName(definition, name);
    issued = await issuer.issue(definition, name);
  }
  const record: CredentialRecord = {
    key: issued.token,
    expiresAt: issued.expiresAt,
    fields: issued.fields,
    lifecycle: {
      kind: issuer.kind, generation: target.generation, definition,
      ...(target.basedOnVersionId ? { basedOnVersionId: target.basedOnVersionId } : {}),
      ...(target.replaces?.record ? { predecessor: { versionId: target.replaces.versionId, generation: target.replaces.record.lifecycle.generation, fields: target.replaces.record.fields } } : {}),
      ...(target.displaces ? { displaces: target.displaces } : {}),
    },
  };
  if (deps.journal.closed) {
    // The guard answered FAILED while Grafana was issuing: nobody will store or delete this key but us.
    await revokeQuietly(issuer, record, 'issued after the invocation gave up');
    throw new AbandonedError();
  }
  deps.journal.minted(issuer, record, { store: deps.store, target });
  try {
    await deps.store.put(secretArn, versionId, record, target.stages, deps.journal.signal);
  } catch (err) {
    await revokeQuietly(issuer, record, 'it could not be stored');
    deps.journal.stored(issuer, record);
    throw new Error(`Storing ${issuer.noun} ${name} in secret ${secretArn} failed (${describeError(err)}); the ${issuer.noun} was revoked`);
  }
  deps.journal.stored(issuer, record);
  return record;
}

export async function revokeOrThrow(issuer: Issuer, record: CredentialRecord, why: string): Promise<void> {
  await issuer.revoke(record);
  log('info', `revoked ${issuer.noun}`, { credentialName: issuer.nameOf(record), why });
}

/** Revokes, logging instead of throwing; true when the credential is revoked. */
export async function revokeQuietly(issuer: Issuer, record: CredentialRecord, why: string): Promise<boolean> {
  try {
    await revokeOrThrow(issuer, record, why);
    return true;
  } catch (err) {
    log('error', `could not revoke ${issuer.noun}; delete it by hand`, { credentialName: issuer.nameOf(record), why, error: describeError(err) });
    return false;
  }
}
