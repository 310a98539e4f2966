/**
 * Definition changes an issuer applies in place (Issuer.inPlaceFields, e.g. an API Gateway key's usage plans):
 * the Update keeps the generation and every credential of it, and rewrites their records under the same labels
 * (ledger.ts). Also the label helpers the reissue path shares with it.
 */
import type { CloudFormationCustomResourceUpdateEvent } from 'aws-lambda';
import { Definition, Issuer } from '../issuers/types';
import { log } from '../log';
import { isLabelConflict, Stage, versionWithStage } from '../clients/secrets-manager';
import { generationOf, previousSlot, versionIdFor } from './ids';
import { CredentialRecord, Entry, Ledger, ownSlots, sameDefinition } from './ledger';

/** True when `to` differs from `from` only in fields the issuer changes without a new credential. */
export function changesOnlyInPlace(issuer: Issuer, from: Definition, to: Definition): boolean {
  const inPlace = issuer.reconfigure ? issuer.inPlaceFields ?? [] : [];
  return [...new Set([...Object.keys(from), ...Object.keys(to)])].every((k) => from[k] === to[k] || inPlace.includes(k));
}

type Stored = Entry & { readonly record: CredentialRecord };

/**
 * An Update that changes only the issuer's inPlaceFields keeps the generation (no replacement, so no cleanup
 * Delete follows) and every credential of it that may work: AWSCURRENT's, and during an overlap the previous
 * slot's, found by its own label (ledger.ts), whichever version AWSPREVIOUS is on. Each is reconfigured in the
 * service first, then its record is rewritten with the new definition under the same labels: no name leaves
 * the ledger. CloudFormation's rollback is the same event the other way round. Returns the generation's physical
 * id; undefined when AWSCURRENT is not this generation's credential: the reissue path decides then.
 */
export async function reconfigureInPlace(event: CloudFormationCustomResourceUpdateEvent, ledger: Ledger, definition: Definition, replaced: Definition,
  incoming: string | undefined): Promise<string | undefined> {
  const issuer = ledger.issuer;
  const ofThisGeneration = (entry: Entry | undefined, slot?: number): entry is Stored => entry?.record !== undefined
    && entry.record.lifecycle.kind === issuer.kind && generationOf(entry.record.lifecycle.generation) === incoming
    && (slot === undefined || entry.record.lifecycle.slot === slot)
    && (sameDefinition(entry.record.lifecycle.definition, definition) || changesOnlyInPlace(issuer, entry.record.lifecycle.definition, definition));
  // A rotation may move AWSCURRENT between our read and our promotion: then reconfigure its new credential too.
  for (let attempt = 0; attempt < 4; attempt++) {
    const state = await ledger.describe();
    if (!state || state.deleted || !incoming) return undefined;
    const currentId = versionWithStage(state, Stage.CURRENT);
    const current = currentId ? await ledger.read({ versionId: currentId }) : undefined;
    if (!ofThisGeneration(current)) return undefined;
    const previousSlotNo = previousSlot(current.record.lifecycle.slot);
    const previousLabel = (ownSlots(state).get(incoming) ?? []).find((l) => l.slot === previousSlotNo && l.versionId !== currentId);
    const candidate = previousLabel ? await ledger.read({ versionId: previousLabel.versionId }) : undefined;
    const previous = ofThisGeneration(candidate, previousSlotNo) ? candidate : undefined;

    // Write-ahead, as an issue writes its intent first: AWSCURRENT takes the new definition (compare-and-swap) before
    // the service is changed, so that events changing the same credential are ordered by their promotions, and
    // whoever promotes later also makes its calls later.
    let baseId = currentId!;
    if (!sameDefinition(current.record.lifecycle.definition, definition)) {
      const intended: CredentialRecord = { ...current.record, lifecycle: { ...current.record.lifecycle, definition } };
      const intendedId = versionIdFor(`reconfiguring:${currentId}:${event.RequestId}`);
      await ledger.rewrite(intended, intendedId, finishedRotation(current));
      const outcomeOf = await promoteOrExplain(ledger, intendedId, baseId);
      if (outcomeOf === 'rotated') continue;
      if (outcomeOf === 'outrun') throw new Error(`AWSCURRENT of secret ${ledger.secretArn} was moved by another event while the ${issuer.noun} was reconfigured; deploy again`);
      baseId = intendedId;
    }
    const reconfigured = async (entry: Stored): Promise<CredentialRecord> => {
      const fields = await ledger.reconfigure(entry.record, definition, replaced);
      return { ...entry.record, fields, lifecycle: { ...entry.record.lifecycle, definition } };
    };
    const newCurrent = await reconfigured(current);
    const newPrevious = previous && await reconfigured(previous);
    // The record with its new fields, promoted only if AWSCURRENT is still where this event put it: otherwise another
    // event promoted after this one, and its calls may have come before some of this event's. AWSCURRENT's record
    // decides then, and the credentials this event touched are brought back to it.
    const versionId = versionIdFor(`reconfigured:${baseId}:${event.RequestId}`);
    await ledger.rewrite(newCurrent, versionId, finishedRotation(current));
    const finished = await promoteOrExplain(ledger, versionId, baseId);
    if (finished !== 'promoted') {
      const moved = await ledger.describe();
      const now = moved && versionWithStage(moved, Stage.CURRENT);
      await restoreInPlace(ledger, [newCurrent, newPrevious], now ? (await ledger.read({ versionId: now }))?.record : undefined, definition, incoming);
      if (finished === 'rotated') continue;
      throw new Error(`AWSCURRENT of secret ${ledger.secretArn} was moved by another event while the ${issuer.noun} was reconfigured; deploy again`);
    }
    let previousId = previous?.versionId;
    if (newPrevious && !(sameDefinition(previous.record.lifecycle.definition, definition) && sameDefinition(previous.record.fields, newPrevious.fields))) {
      // Its own label only: the next slot's is AWSCURRENT's credential.
      previousId = versionIdFor(`reconfigured:${previous.versionId}:${event.RequestId}`);
      await ledger.rewrite(newPrevious, previousId, [], false);
    }
    if (previousId) await keepPreviousOn(ledger, previousId);
    log('info', `reconfigured ${issuer.noun} in place`, {
      credentialName: issuer.nameOf(current.record), ...(previous ? { previousCredentialName: issuer.nameOf(previous.record) } : {}),
      changed: Object.keys(definition).filter((k) => replaced[k] !== definition[k]), secretArn: ledger.secretArn,
    });
    return current.record.lifecycle.generation;
  }
  throw new Error(`AWSCURRENT of secret ${ledger.secretArn} kept moving while the ${issuer.noun} was reconfigured (rotations running?); deploy again`);
}

/**
 * Moves AWSCURRENT from `fromId` to `versionId`: 'promoted' (also when a twin delivery already did), 'rotated' when a
 * rotation of `fromId` finished meanwhile, 'outrun' when any other event moved it.
 */
async function promoteOrExplain(ledger: Ledger, versionId: string, fromId: string): Promise<'promoted' | 'rotated' | 'outrun'> {
  if (await ledger.promote(versionId, fromId)) return 'promoted';
  const moved = await ledger.describe();
  const now = moved && versionWithStage(moved, Stage.CURRENT);
  if (now === versionId) return 'promoted';
  const entry = now ? await ledger.read({ versionId: now }) : undefined;
  return entry?.record && await rotatedFrom(ledger, entry, fromId) ? 'rotated' : 'outrun';
}

/**
 * After another event outran an in-place change: brings each credential the change touched from `applied` back to
 * the definition of AWSCURRENT's record, when that is the same generation's. Its calls come after that event's
 * promotion, and so after every service call it made before promoting.
 */
async function restoreInPlace(ledger: Ledger, touched: ReadonlyArray<CredentialRecord | undefined>, winner: CredentialRecord | undefined,
  applied: Definition, incoming: string | undefined): Promise<void> {
  if (!winner || winner.lifecycle.kind !== ledger.issuer.kind || generationOf(winner.lifecycle.generation) !== incoming) return;
  const target = winner.lifecycle.definition;
  if (sameDefinition(target, applied) || !changesOnlyInPlace(ledger.issuer, applied, target)) return;
  for (const record of touched) if (record) await ledger.reconfigure(record, target, applied);
  log('warn', `another event changed the ${ledger.issuer.noun} meanwhile; brought it back to that event's definition`, { secretArn: ledger.secretArn });
}

/**
 * Moving AWSCURRENT to a copy moved AWSPREVIOUS onto the old copy of the same credential: it goes back to the
 * previous credential's version, for readers of AWSPREVIOUS. Informational (the ledger is the OWN labels), so a
 * rotation moving it meanwhile wins.
 */
async function keepPreviousOn(ledger: Ledger, versionId: string): Promise<void> {
  const state = await ledger.describe();
  const previousNow = state && versionWithStage(state, Stage.PREVIOUS);
  if (previousNow === versionId) return;
  await ledger.store.moveStage(ledger.secretArn, Stage.PREVIOUS, versionId, previousNow).catch((err) => {
    if (!isLabelConflict(err)) throw err;
  });
}

/**
 * AWSPENDING stays on a version a finished rotation promoted; a copy of that version takes it along, or Secrets
 * Manager would take the original for an unfinished rotation and start it again.
 */
export const finishedRotation = (entry: Entry): string[] => (entry.stages.includes(Stage.PENDING) ? [Stage.PENDING] : []);

/** True when `entry` was rotated from version `ancestor` (one to three rotations ago). */
export async function rotatedFrom(ledger: Ledger, entry: Entry, ancestor: string | undefined): Promise<boolean> {
  let at: Entry | undefined = entry;
  for (let hop = 0; hop < 3 && at?.record; hop++) {
    const basedOn = at.record.lifecycle.basedOnVersionId;
    if (!basedOn) return false;
    if (basedOn === ancestor) return true;
    at = await ledger.read({ versionId: basedOn });
  }
  return false;
}
