/**
 * The ledger is the credential's secret. The whole engine rests on one invariant:
 *
 *   Every credential that may still work has its name on a custom staging label
 *   OWN-<generation>-<slot> of its secret. Only retire() takes such a label off,
 *   and only after it has revoked the credential of that name.
 *
 * A label names a slot, and a slot's credential name is derived (ids.ts), so a label alone is enough to revoke:
 * from a version that holds no credential yet (the intent, written before issuing), or from a secret scheduled
 * for deletion whose values can no longer be read. Secrets Manager never moves a custom label by itself (it
 * moves AWSPREVIOUS on every AWSCURRENT move, which is why AWS labels cannot be the ledger). A write moves an
 * OWN label only onto a version that names the same credential, so no write takes a name off the ledger.
 * Revoking without taking the label off is always allowed. A definition change the issuer applies in place
 * (Issuer.inPlaceFields) keeps every credential and its name: its record is rewritten under the same labels,
 * the new definition written ahead of the service calls as an intent is (in-place.ts).
 * Every CloudFormation event and rotation step decides
 * which generations to keep, issues or promotes, and leaves the rest to reconcile(), which calls retire().
 */
import { Definition, Issuer, NameInUseError, ServiceError } from '../issuers/types';
import { describeError, log } from '../log';
import { isLabelConflict, SecretState, SecretStore, Stage } from '../clients/secrets-manager';
import { Guard } from './guard';
import { credentialName, generationOf, nextSlot, ownLabel, parseOwnLabel, physicalIdOf } from './ids';

import { CredentialRecord, Entry, Intent, LabelledSlot, parseValue, serializeRecord } from './record';
export type { CredentialRecord, Entry, Intent, LabelledSlot, Lifecycle } from './record';
export { parseValue, serializeRecord } from './record';

export const definitionOf = (entry: Entry | undefined): Definition | undefined => entry?.record?.lifecycle.definition ?? entry?.intent?.definition;

/** Every OWN label of the secret, grouped by generation. */
export function ownSlots(state: SecretState): Map<string, LabelledSlot[]> {
  const out = new Map<string, LabelledSlot[]>();
  for (const [versionId, stages] of state.stagesByVersion) {
    for (const label of stages) {
      const own = parseOwnLabel(label);
      if (!own) continue;
      out.set(own.generation, [...(out.get(own.generation) ?? []), { ...own, label, versionId }]);
    }
  }
  return out;
}

export function sameDefinition(a: Definition, b: Definition): boolean {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  for (const k of keys) if (a[k] !== b[k]) return false;
  return true;
}

/** A failed issue after which a credential may exist: CloudFormation's next event must reconcile its generation. */
export class UncertainIssueError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UncertainIssueError';
  }
}

/** Thrown when work resumes after the invocation already answered (the guard fired). */
export class AbandonedError extends Error {
  constructor() {
    super('the invocation already answered CloudFormation; this work was abandoned');
    this.name = 'AbandonedError';
  }
}

export interface IssueRequest {
  readonly definition: Definition;
  /** Generation (ten hex digits) and slot of the credential. */
  readonly generation: string;
  readonly slot: number;
  /** The version the credential is written to, with `stages` besides its OWN labels. */
  readonly versionId: string;
  readonly stages: readonly string[];
  /** Where to write the intent first; rotation has none (its slot is already labelled, see issue()). */
  readonly intentVersionId?: string;
  readonly basedOnVersionId?: string;
  readonly rollbackTo?: string;
}

export class Ledger {
  constructor(readonly store: SecretStore, readonly issuer: Issuer, readonly secretArn: string, private readonly guard?: Guard) {}

  describe(): Promise<SecretState | undefined> {
    return this.store.describe(this.secretArn);
  }

  async read(selector: { versionId?: string; stage?: string }): Promise<Entry | undefined> {
    const stored = await this.store.read(this.secretArn, selector);
    return stored && { versionId: stored.versionId, stages: stored.stages, ...parseValue(stored.value) };
  }

  nameOf(definition: Definition, generation: string, slot: number): string {
    return credentialName(this.issuer.namePrefix(definition), generation, slot);
  }

  /**
   * Issues the credential of one slot and writes it with the slot's label and the next slot's: the next
   * rotation issues into that one, so its name is on the ledger before anything is issued under it. The
   * intent, when asked for, puts both labels on the ledger before this issue. Idempotent for one versionId.
   */
  async issue(req: IssueRequest): Promise<CredentialRecord> {
    const { definition, generation, slot } = req;
    const name = this.nameOf(definition, generation, slot);
    const labels = [ownLabel(generation, slot), ownLabel(generation, nextSlot(slot))];
    const physicalId = physicalIdOf(this.issuer.namePrefix(definition), generation);
    if (req.intentVersionId) {
      this.guard?.check();
      const intent: Intent = { kind: this.issuer.kind, generation: physicalId, definition };
      await this.store.put(this.secretArn, req.intentVersionId, JSON.stringify({ intent }), labels);
    }
    this.guard?.check();
    let issued;
    try {
      issued = await this.issuer.issue(definition, name);
    } catch (err) {
      if (!(err instanceof NameInUseError)) throw await this.afterFailedIssue(definition, name, err);
      const existing = await this.read({ versionId: req.versionId });
      if (existing?.record && this.issuer.nameOf(existing.record) === name) {
        log('info', `${this.issuer.noun} was already issued and stored by an earlier attempt`, { credentialName: name, versionId: req.versionId });
        return existing.record;
      }
      // The name is on the ledger, so whatever holds it is ours: an attempt that died before writing.
      log('warn', `${this.issuer.noun} name is taken by a credential that was never stored; replacing it`, { credentialName: name });
      await this.issuer.revokeByName(definition, name);
      issued = await this.issuer.issue(definition, name);
    }
    const record: CredentialRecord = {
      key: issued.token, expiresAt: issued.expiresAt, fields: issued.fields,
      lifecycle: {
        kind: this.issuer.kind, generation: physicalId, slot, definition,
        ...(req.basedOnVersionId ? { basedOnVersionId: req.basedOnVersionId } : {}),
        ...(req.rollbackTo ? { rollbackTo: req.rollbackTo } : {}),
      },
    };
    try {
      // Once the guard gave up, nothing is written or promoted: the credential is revoked instead.
      this.guard?.check();
      await this.store.put(this.secretArn, req.versionId, serializeRecord(record), [...labels, ...req.stages]);
    } catch (err) {
      const revoked = await this.revokeQuietly(definition, name, err instanceof AbandonedError ? 'issued after the invocation gave up' : 'it could not be stored');
      if (err instanceof AbandonedError) throw err;
      const message = `Storing ${this.issuer.noun} ${name} in secret ${this.secretArn} failed (${describeError(err)}); the ${this.issuer.noun} `;
      if (!revoked) throw new UncertainIssueError(`${message}could not be revoked: it is on the ledger, and the rollback retires it`);
      throw new Error(`${message}was revoked`);
    }
    return record;
  }

  /**
   * An issue call that failed may still have landed (a throttled or timed-out request the service completed).
   * Unless the service refused it outright, the name is revoked; if even that fails, the caller cannot tell
   * that nothing was issued, and says so with an UncertainIssueError.
   */
  private async afterFailedIssue(definition: Definition, name: string, err: unknown): Promise<unknown> {
    if (err instanceof ServiceError && !err.retryable) return err;
    if (await this.revokeQuietly(definition, name, 'its issue failed and may have landed')) return err;
    return new UncertainIssueError(`${describeError(err)}; ${this.issuer.noun} ${name} may exist and could not be revoked: it is on the ledger, and the rollback retires it`);
  }

  /**
   * Writes an issued credential again under another version (same labels), e.g. with a new rollbackTo or a
   * definition changed in place. `reserveNext: false` leaves the next slot's label where it is: for a credential
   * behind AWSPREVIOUS, whose next slot is AWSCURRENT's own credential.
   */
  async rewrite(credential: CredentialRecord, versionId: string, stages: readonly string[] = [], reserveNext = true): Promise<void> {
    // A copy is no rotation's result: without basedOnVersionId, an Update racing it does not take it for one.
    const { basedOnVersionId: _notRotated, ...lifecycle } = credential.lifecycle;
    const record = { ...credential, lifecycle };
    const { slot } = record.lifecycle;
    const gen = generationOf(record.lifecycle.generation)!;
    this.guard?.check();
    const labels = reserveNext ? [ownLabel(gen, slot), ownLabel(gen, nextSlot(slot))] : [ownLabel(gen, slot)];
    await this.store.put(this.secretArn, versionId, serializeRecord(record), [...labels, ...stages]);
  }

  /**
   * Brings an issued credential to a definition that differs only in the issuer's inPlaceFields (Issuer.reconfigure),
   * resolving to its new fields. A change in the service is a write like an issue: once the guard gave up, none is
   * made, because the rollback that follows the guard's answer may be reconfiguring the same credential back.
   */
  async reconfigure(credential: CredentialRecord, definition: Definition, replaced: Definition): Promise<Record<string, string>> {
    this.guard?.check();
    return this.issuer.reconfigure!(credential, definition, replaced);
  }

  /** Moves AWSCURRENT to `versionId` if it is still on `fromVersionId`; false when it moved meanwhile. */
  async promote(versionId: string, fromVersionId: string | undefined): Promise<boolean> {
    this.guard?.check();
    try {
      await this.store.moveStage(this.secretArn, Stage.CURRENT, versionId, fromVersionId);
      return true;
    } catch (err) {
      if (isLabelConflict(err)) return false;
      throw err;
    }
  }

  /** Revokes the credential of one slot by name; its label stays (allowed: a label may outlive its credential). */
  async revokeSlot(definition: Definition, generation: string, slot: number, why: string): Promise<void> {
    const name = this.nameOf(definition, generation, slot);
    await this.issuer.revokeByName(definition, name);
    log('info', `revoked ${this.issuer.noun}`, { credentialName: name, why });
  }

  /**
   * The one function that takes an OWN label off: revokes every named slot of a generation, then (with
   * `unlabel`) removes those labels. A label that has moved meanwhile names the same credential on another
   * version, so it is left there.
   */
  async retire(definition: Definition, generation: string, slots: readonly LabelledSlot[], why: string, unlabel = true, state?: SecretState): Promise<void> {
    for (const slot of new Set(slots.map((s) => s.slot))) await this.revokeSlot(definition, generation, slot, why);
    if (!unlabel) return;
    // AWSPREVIOUS or AWSPENDING on a retired version would point a reader at a revoked credential: they go too.
    const versions = new Set(slots.map((s) => s.versionId));
    const aws = [...versions].flatMap((versionId) => (state?.stagesByVersion.get(versionId) ?? [])
      .filter((label) => label === Stage.PREVIOUS || label === Stage.PENDING).map((label) => ({ label, versionId })));
    for (const { label, versionId } of [...slots, ...aws]) {
      await this.store.removeStage(this.secretArn, label, versionId).catch((err) => {
        if (!isLabelConflict(err)) throw err;
      });
    }
  }

  /**
   * Retires every generation on the ledger that is not in `keep`. Its definition comes from `known` or from
   * reading one of its versions (the intent or any credential of it: they share the definition).
   */
  async reconcile(state: SecretState, keep: ReadonlySet<string>, why: string, known: ReadonlyMap<string, Definition> = new Map(), unlabel = true): Promise<void> {
    for (const [generation, slots] of ownSlots(state)) {
      if (keep.has(generation)) continue;
      const definition = known.get(generation) ?? definitionOf(await this.read({ versionId: slots[0].versionId }));
      if (!definition) {
        log('error', 'an OWN label is on a version this library did not write; left alone', { secretArn: this.secretArn, label: slots[0].label });
        continue;
      }
      await this.retire(definition, generation, slots, why, unlabel && !state.deleted, state);
    }
  }

  /** Revokes by name, logging instead of throwing; tries three times, for a credential nobody else may find. */
  async revokeQuietly(definition: Definition, name: string, why: string): Promise<boolean> {
    for (let attempt = 1; ; attempt++) {
      try {
        await this.issuer.revokeByName(definition, name);
        log('info', `revoked ${this.issuer.noun}`, { credentialName: name, why });
        return true;
      } catch (err) {
        if (attempt < 3) continue;
        log('error', `could not revoke ${this.issuer.noun}; delete it by hand`, { credentialName: name, why, error: describeError(err) });
        return false;
      }
    }
  }
}
