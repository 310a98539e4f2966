/**
 * CloudFormation's Create / Update / Delete for credential custom resources.
 * Each event decides which generations to keep, issues or promotes, and
 * reconciles the rest (ledger.ts). The physical id names the generation.
 */
import type {
  CloudFormationCustomResourceCreateEvent,
  CloudFormationCustomResourceDeleteEvent,
  CloudFormationCustomResourceEvent,
  CloudFormationCustomResourceUpdateEvent,
} from 'aws-lambda';
import { ATTRIBUTES, CredentialResourceProperties, parseProperties } from '../../lib/private/contract';
import { Definition, InputError, Issuer } from '../issuers/types';
import { log } from '../log';
import { SecretState, SecretStore, Stage, versionWithStage } from '../clients/secrets-manager';
import { Guard } from './guard';
import { createGeneration, generationOf, nextGeneration, parseOwnLabel, physicalIdOf, previousSlot, SLOTS, versionIdFor } from './ids';
import { changesOnlyInPlace, finishedRotation, reconfigureInPlace, rotatedFrom } from './in-place';
import { AbandonedError, CredentialRecord, Entry, Ledger, ownSlots, sameDefinition } from './ledger';

/** Physical id answered by a Create that failed and revoked what it issued: the Delete that follows does nothing. */
export const FAILED_CREATE_ID = 'grafana-credentials-create-failed';
/** Physical id answered by a Create the timeout guard gave up on: the Delete that follows reconciles its generation. */
export const ABANDONED_CREATE_ID = 'grafana-credentials-create-abandoned';

/** A replaced credential is restored on rollback only if it stays valid at least this long. */
const RESTORE_MIN_REMAINING_MS = 15 * 60 * 1000;

export interface Outcome {
  readonly physicalResourceId: string;
  readonly data?: Record<string, string>;
}

export interface EngineDeps {
  readonly store: SecretStore;
  readonly issuerFor: (kind: unknown) => Issuer;
  readonly guard?: Guard;
  readonly now?: () => number;
  /**
   * How long an invocation may outlive its answer (the guard's margin before Lambda ends it). A Delete that follows
   * an abandoned Create waits this long before revoking by name, so that a call still in flight has landed or died.
   */
  readonly abandonedLifetimeMs?: number;
}

export async function handleCredentialEvent(event: CloudFormationCustomResourceEvent, deps: EngineDeps): Promise<Outcome> {
  switch (event.RequestType) {
    case 'Create': return onCreate(event, deps);
    case 'Update': return onUpdate(event, deps);
    case 'Delete': return onDelete(event, deps);
  }
}

function credentialProps(raw: unknown): CredentialResourceProperties {
  const props = parseProperties(raw);
  if (!('SecretArn' in props)) throw new InputError(`Kind '${props.Kind}' is not a credential`);
  return props;
}

function outcome(generation: string, secretArn: string): Outcome {
  return { physicalResourceId: generation, data: { [ATTRIBUTES.credentialName]: generation, [ATTRIBUTES.secretArn]: secretArn } };
}

const matches = (issuer: Issuer, definition: Definition, record: CredentialRecord | undefined): record is CredentialRecord =>
  record !== undefined && record.lifecycle.kind === issuer.kind && sameDefinition(record.lifecycle.definition, definition);

async function onCreate(event: CloudFormationCustomResourceCreateEvent, deps: EngineDeps): Promise<Outcome> {
  const props = credentialProps(event.ResourceProperties);
  const issuer = deps.issuerFor(props.Kind);
  const definition = issuer.definitionFrom(props);
  const ledger = new Ledger(deps.store, issuer, props.SecretArn, deps.guard);
  // Derived from what the rollback Delete also carries: it can revoke this credential by name even when the
  // secret is gone too. The intent puts the name on the ledger before issuing; as the secret's first version,
  // Secrets Manager makes it AWSCURRENT, and the credential's write then leaves it AWSPREVIOUS (it holds no key).
  const generation = createGeneration(event.StackId, event.LogicalResourceId);
  const record = await ledger.issue({
    definition, generation, slot: 0, stages: [Stage.CURRENT], versionId: versionIdFor(`${generation}:0:${event.RequestId}`),
    intentVersionId: versionIdFor(`intent:${generation}:${event.RequestId}`),
  });
  log('info', `created ${issuer.noun}`, { credentialName: issuer.nameOf(record), secretArn: props.SecretArn, expiresAt: record.expiresAt });
  return outcome(record.lifecycle.generation, props.SecretArn);
}

async function onUpdate(event: CloudFormationCustomResourceUpdateEvent, deps: EngineDeps): Promise<Outcome> {
  const props = credentialProps(event.ResourceProperties);
  const issuer = deps.issuerFor(props.Kind);
  const definition = issuer.definitionFrom(props);
  let old: CredentialResourceProperties | undefined;
  try { old = credentialProps(event.OldResourceProperties); } catch { old = undefined; }
  const incoming = generationOf(event.PhysicalResourceId);
  if (old && old.SecretArn === props.SecretArn && old.Kind === props.Kind && sameDefinition(issuer.definitionFrom(old), definition)) {
    log('info', `nothing about the ${issuer.noun} changed; keeping it`, { physicalResourceId: event.PhysicalResourceId });
    return outcome(event.PhysicalResourceId, props.SecretArn);
  }
  const ledger = new Ledger(deps.store, issuer, props.SecretArn, deps.guard);
  if (old && old.SecretArn === props.SecretArn && old.Kind === props.Kind && changesOnlyInPlace(issuer, issuer.definitionFrom(old), definition)) {
    const generation = await reconfigureInPlace(event, ledger, definition, issuer.definitionFrom(old), incoming);
    if (generation) return outcome(generation, props.SecretArn);
  }
  const now = (deps.now ?? Date.now)();
  const restorable = (entry: Entry | undefined): entry is Entry & { record: CredentialRecord } =>
    matches(issuer, definition, entry?.record) && Date.parse(entry!.record!.expiresAt) - now > RESTORE_MIN_REMAINING_MS;
  let issued: { record: CredentialRecord; versionId: string } | undefined;

  // A rotation may move AWSCURRENT between our read and our promotion: then decide again from the new state.
  for (let attempt = 0; attempt < 4; attempt++) {
    const state = await ledger.describe();
    if (!state || state.deleted) throw new InputError(`Secret ${props.SecretArn} not found: it must exist before the credential is issued`);
    let currentId = versionWithStage(state, Stage.CURRENT);
    const current = currentId ? await ledger.read({ versionId: currentId }) : undefined;
    const currentGen = current?.record ? generationOf(current.record.lifecycle.generation) : undefined;
    // CloudFormation knows the incoming generation (its cleanup Delete or a rollback comes next) and what we answer.
    const keeping = (answer: string | undefined) => new Set([incoming, answer].filter((g): g is string => g !== undefined));
    const why = 'CloudFormation no longer references its generation';
    if (issued) {
      // Our promotion was refused. Done if a twin delivery promoted this generation; decide again only if
      // rotations moved AWSCURRENT on from what we had read. Anything else (a rollback, a cleanup) outran this
      // event: CloudFormation has had an answer from elsewhere, and promoting now could bring back a retired key.
      if (currentGen === generationOf(issued.record.lifecycle.generation)) return outcome(issued.record.lifecycle.generation, props.SecretArn);
      if (!current?.record || !await rotatedFrom(ledger, current, issued.record.lifecycle.rollbackTo)) {
        await retireUndone(ledger, state, issued.record, current?.record);
        throw new Error(`AWSCURRENT of secret ${props.SecretArn} was moved by another event while the ${issuer.noun} was reissued; deploy again`);
      }
    }

    if (!issued && matches(issuer, definition, current?.record)) {
      // Already what is asked: a repeated Update, or the rollback of one that never promoted its credential.
      // First move AWSCURRENT to a fresh copy, so that a late duplicate of the Update being undone, holding this
      // version as its compare-and-swap source, can no longer promote; also when it has labelled nothing yet.
      const keptId = versionIdFor(`kept:${currentId}:${event.RequestId}`);
      await ledger.rewrite(current!.record!, keptId, finishedRotation(current!));
      if (!await ledger.promote(keptId, currentId)) continue;
      await ledger.reconcile(state, keeping(currentGen), why);
      await keepCurrentOn(ledger, keeping(currentGen), keptId);
      log('info', `secret already holds the requested ${issuer.noun}`, { credentialName: issuer.nameOf(current!.record!), secretArn: props.SecretArn });
      return outcome(current!.record!.lifecycle.generation, props.SecretArn);
    }
    const replaced = !issued && current?.record?.lifecycle.rollbackTo ? await ledger.read({ versionId: current.record.lifecycle.rollbackTo }) : undefined;
    const replacedGen = replaced?.record && generationOf(replaced.record.lifecycle.generation);
    if (restorable(replaced) && replacedGen && ownSlots(state).has(replacedGen)) {
      // A rollback: the replaced generation's credential still works and is what is asked again. Restore it, in a
      // fresh copy of its version: a late duplicate of the Update may still hold the old one as its swap source.
      const restoredId = versionIdFor(`restored:${replaced.versionId}:${event.RequestId}`);
      await ledger.rewrite(replaced.record, restoredId, finishedRotation(replaced));
      if (!await ledger.promote(restoredId, currentId)) continue;
      await ledger.reconcile(state, keeping(replacedGen), why);
      await keepCurrentOn(ledger, keeping(replacedGen), restoredId);
      log('info', `restored the replaced ${issuer.noun}`, { credentialName: issuer.nameOf(replaced.record), secretArn: props.SecretArn });
      return outcome(replaced.record.lifecycle.generation, props.SecretArn);
    }

    const generation = nextGeneration(incoming ?? currentGen ?? 'none', definition, props.SecretArn);
    await ledger.reconcile(state, keeping(generation), why);
    if (current?.record && currentGen && currentGen === incoming) {
      // The replaced generation keeps its current credential (a rollback's), not the one behind AWSPREVIOUS: at most
      // two live after this. The slot after AWSCURRENT's is left alone: a rotation may be issuing into it right now.
      const { definition: replacedDefinition, slot } = current.record.lifecycle;
      if ((ownSlots(state).get(currentGen) ?? []).some((l) => l.slot === previousSlot(slot))) {
        await ledger.revokeSlot(replacedDefinition, currentGen, previousSlot(slot), 'it is older than the overlap');
      }
    }
    const rollbackTo = currentGen === incoming ? currentId : undefined;
    if (!issued) {
      const versionId = versionIdFor(`${generation}:0:${event.RequestId}`);
      const intentVersionId = versionIdFor(`intent:${generation}:${event.RequestId}`);
      const record = await ledger.issue({ definition, generation, slot: 0, stages: [], versionId, rollbackTo, intentVersionId });
      issued = { record, versionId };
      // In a secret with no version yet (a move to a new secret), Secrets Manager made the intent AWSCURRENT.
      if (!currentId) currentId = intentVersionId;
    } else if (issued.record.lifecycle.rollbackTo !== rollbackTo) {
      const { rollbackTo: _stale, ...lifecycle } = issued.record.lifecycle;
      const record = { ...issued.record, lifecycle: { ...lifecycle, ...(rollbackTo ? { rollbackTo } : {}) } };
      const versionId = versionIdFor(`${generation}:0:${event.RequestId}:${currentId}`);
      await ledger.rewrite(record, versionId);
      issued = { record, versionId };
    }
    let promoted: boolean;
    try {
      promoted = currentId === issued.versionId || await ledger.promote(issued.versionId, currentId);
    } catch (err) {
      // The guard gave up before the move was sent: the key is on the ledger, but revoking it now beats the rollback.
      if (err instanceof AbandonedError) await ledger.revokeQuietly(definition, issuer.nameOf(issued.record), 'its Update gave up before promoting it');
      throw err;
    }
    if (promoted) {
      log('info', `reissued ${issuer.noun}`, { credentialName: issuer.nameOf(issued.record), replaces: event.PhysicalResourceId, secretArn: props.SecretArn });
      return outcome(issued.record.lifecycle.generation, props.SecretArn);
    }
  }
  throw new Error(`AWSCURRENT of secret ${props.SecretArn} kept moving while the ${issuer.noun} was reissued (rotations running?); deploy again`);
}

/**
 * A reissue whose promotion another event outran (a rollback, or a cleanup) issued a generation that no event
 * will retire: CloudFormation has its answer from elsewhere, and that event reconciled before this one labelled it.
 * It is retired here, unless AWSCURRENT's record can still roll back to it (an Update that replaced it is in flight).
 */
async function retireUndone(ledger: Ledger, state: SecretState, issued: CredentialRecord, current: CredentialRecord | undefined): Promise<void> {
  const generation = generationOf(issued.lifecycle.generation)!;
  const rollbackTo = current?.lifecycle.rollbackTo;
  if (rollbackTo && (state.stagesByVersion.get(rollbackTo) ?? []).some((label) => parseOwnLabel(label)?.generation === generation)) return;
  await ledger.retire(issued.lifecycle.definition, generation, ownSlots(state).get(generation) ?? [], 'another event undid its Update before it was promoted', true, state);
}

/**
 * After a reconcile: if another event promoted a generation this one has just retired, AWSCURRENT goes back to
 * `versionId`, so that it is not left on a retired generation.
 */
async function keepCurrentOn(ledger: Ledger, keep: ReadonlySet<string>, versionId: string): Promise<void> {
  for (let attempt = 0; attempt < 3; attempt++) {
    const state = await ledger.describe();
    const currentId = state && versionWithStage(state, Stage.CURRENT);
    if (!state || !currentId || currentId === versionId) return;
    const generation = state.stagesByVersion.get(currentId)!.map(parseOwnLabel).find((l) => l)?.generation;
    if (generation && keep.has(generation)) return;
    if (await ledger.promote(versionId, currentId)) return;
  }
}

async function onDelete(event: CloudFormationCustomResourceDeleteEvent, deps: EngineDeps): Promise<Outcome> {
  const id = event.PhysicalResourceId;
  if (id === FAILED_CREATE_ID) {
    log('info', 'nothing to delete: the create failed and revoked what it had issued', { physicalResourceId: id });
    return { physicalResourceId: id };
  }
  let props: CredentialResourceProperties;
  try {
    props = credentialProps(event.ResourceProperties);
  } catch {
    // Nothing was ever issued with properties that do not parse: every event refuses them before any call.
    log('info', 'nothing to delete: the properties never allowed anything to be issued', { physicalResourceId: id });
    return { physicalResourceId: id };
  }
  const issuer = deps.issuerFor(props.Kind);
  const definition = issuer.definitionFrom(props);
  const ledger = new Ledger(deps.store, issuer, props.SecretArn);
  const own = generationOf(id);
  // A Create that never answered (it died or timed out) has the generation derived from stack and logical id.
  const derived = !own || physicalIdOf(issuer.namePrefix(definition), own) !== id ? createGeneration(event.StackId, event.LogicalResourceId) : undefined;
  if (derived && deps.abandonedLifetimeMs) {
    log('info', 'waiting for the abandoned Create to end before revoking what it may have issued', { waitMs: deps.abandonedLifetimeMs });
    await new Promise((resolve) => setTimeout(resolve, deps.abandonedLifetimeMs));
  }
  const state = await ledger.describe();

  const currentId = state && versionWithStage(state, Stage.CURRENT);
  const currentGen = currentId ? state!.stagesByVersion.get(currentId)!.map(parseOwnLabel).find((l) => l)?.generation : undefined;
  if (state && !state.deleted && own && !derived && currentGen && currentGen !== own) {
    // CloudFormation's cleanup of a replaced generation: only that one goes.
    const slots = ownSlots(state).get(own) ?? [];
    await ledger.retire(definition, own, slots, 'CloudFormation replaced it', true, state);
    log('info', 'cleaned up the replaced generation', { physicalResourceId: id, secretArn: props.SecretArn });
    return { physicalResourceId: id };
  }

  // The resource is deleted: every credential on the ledger goes, and those only derivable when the ledger is gone.
  const labelled = state ? ownSlots(state) : new Map();
  const known = new Map<string, Definition>([[own ?? '', definition], [derived ?? '', definition]]);
  // Labels are left on: they name revoked credentials of a secret that goes next, and each removal is a call.
  if (state) await ledger.reconcile(state, new Set(), 'the resource is deleted', state.deleted ? new Map([...labelled.keys()].map((g) => [g, definition])) : known, false);
  for (const generation of [own, derived]) {
    if (!generation || labelled.has(generation)) continue;
    // Off the ledger: the secret is gone, or a Create died before its intent. Its slots are still derivable.
    for (let slot = 0; slot < (state ? 1 : SLOTS); slot++) await ledger.revokeSlot(definition, generation, slot, 'the resource is deleted');
  }
  if (issuer.listIssuedNames) {
    // Leftovers of a kind the service can list: anything under this prefix.
    for (const name of await issuer.listIssuedNames(definition) ?? []) {
      log('info', `deleting leftover ${issuer.noun}`, { credentialName: name, secretArn: props.SecretArn });
      await issuer.revokeByName(definition, name);
    }
  }
  if (!state) log('warn', 'secret is gone; revoked every credential name derivable from the resource', { physicalResourceId: id, secretArn: props.SecretArn });
  log('info', 'deleted every credential this resource issued', { physicalResourceId: id, secretArn: props.SecretArn });
  return { physicalResourceId: id };
}
