/**
 * Secrets Manager's four rotation steps, independent of the credential kind.
 * A generation's credentials cycle through its slots (ids.ts): the new one
 * goes into the slot after AWSCURRENT's, whose name is already on the ledger;
 * the one behind AWSPREVIOUS is revoked first, so the overlap is AWSCURRENT
 * and the new one. Each step is idempotent for its ClientRequestToken.
 */
import type { Issuer } from '../issuers/types';
import { describeError, log } from '../log';
import { Stage, versionWithStage } from '../clients/secrets-manager';
import { EngineDeps } from './cfn-events';
import { generationOf, nextSlot, previousSlot } from './ids';
import { CredentialRecord, Ledger } from './ledger';

export type RotationStep = 'createSecret' | 'setSecret' | 'testSecret' | 'finishSecret';

export interface RotationEvent {
  readonly Step: RotationStep;
  readonly SecretId: string;
  readonly ClientRequestToken: string;
  readonly RotationToken?: string;
}

export function isRotationEvent(event: unknown): event is RotationEvent {
  const e = event as Partial<RotationEvent>;
  return typeof e?.Step === 'string' && typeof e.SecretId === 'string' && typeof e.ClientRequestToken === 'string';
}

/** A failed step; the message names the step, the secret and the cause, never the token. */
export class RotationError extends Error {
  constructor(step: string, secretId: string, cause: string) {
    super(`Rotation step ${step} of secret ${secretId} failed: ${cause}`);
    this.name = 'RotationError';
  }
}

type StepLog = (outcome: string, fields?: Record<string, unknown>) => void;

export async function handleRotationEvent(event: RotationEvent, deps: EngineDeps): Promise<void> {
  const { Step: step, SecretId: secretId, ClientRequestToken: token } = event;
  const logStep: StepLog = (outcome, fields = {}) =>
    log('info', `rotation ${step}: ${outcome}`, { step, secretArn: secretId, versionId: token, outcome, ...fields });
  try {
    switch (step) {
      case 'createSecret': return await createSecret(secretId, token, deps, logStep);
      case 'setSecret': return logStep('nothing to set: the service already accepts the new credential');
      case 'testSecret': return await testSecret(secretId, token, deps, logStep);
      case 'finishSecret': return await finishSecret(secretId, token, deps, logStep);
      default: throw new Error(`unknown step '${String(step)}'`);
    }
  } catch (err) {
    log('error', `rotation ${step}: failed`, { step, secretArn: secretId, versionId: token, outcome: 'failed', error: describeError(err) });
    if (err instanceof RotationError) throw err;
    throw new RotationError(step, secretId, describeError(err));
  }
}

/** The ledger of a secret and the record in one of its versions, for a step that needs a credential there. */
async function open(deps: EngineDeps, step: string, secretId: string, selector: { versionId?: string; stage?: string }) {
  const probe = new Ledger(deps.store, undefined as unknown as Issuer, secretId);
  const entry = await probe.read(selector).catch((err) => {
    if (isServiceErrorNamed(err, 'InvalidRequestException')) throw new RotationError(step, secretId, 'the secret is scheduled for deletion');
    throw err;
  });
  if (!entry && selector.stage) throw new RotationError(step, secretId, 'the secret does not exist or has no AWSCURRENT');
  if (!entry?.record) {
    const what = selector.stage ? 'AWSCURRENT' : `version ${selector.versionId}`;
    throw new RotationError(step, secretId, `${what} holds no credential written by this library; deploy the stack first`);
  }
  const issuer = deps.issuerFor(entry.record.lifecycle.kind);
  return { ledger: new Ledger(deps.store, issuer, secretId), issuer, versionId: entry.versionId, record: entry.record };
}

const isServiceErrorNamed = (err: unknown, name: string) => (err as { name?: unknown })?.name === name;
const slotOf = (record: CredentialRecord) => ({ generation: generationOf(record.lifecycle.generation)!, slot: record.lifecycle.slot });

async function createSecret(secretId: string, token: string, deps: EngineDeps, logStep: StepLog): Promise<void> {
  const { ledger, issuer, versionId: currentId, record: current } = await open(deps, 'createSecret', secretId, { stage: Stage.CURRENT });
  if (currentId === token) return logStep('already finished: this version is AWSCURRENT');
  const { generation, slot } = slotOf(current);
  const { definition } = current.lifecycle;
  // Overlap is AWSCURRENT and the new one: the credential behind AWSPREVIOUS is revoked now (its label may stay).
  await ledger.revokeSlot(definition, generation, previousSlot(slot), 'it is older than the overlap');
  const record = await ledger.issue({
    definition, generation, slot: nextSlot(slot), versionId: token, stages: [Stage.PENDING],
    basedOnVersionId: currentId, rollbackTo: current.lifecycle.rollbackTo,
  });
  logStep('stored the new credential as AWSPENDING', { credentialName: issuer.nameOf(record), expiresAt: record.expiresAt });
}

async function testSecret(secretId: string, token: string, deps: EngineDeps, logStep: StepLog): Promise<void> {
  const { ledger, issuer, record } = await open(deps, 'testSecret', secretId, { versionId: token });
  let verified: boolean;
  try {
    verified = await issuer.verify(record);
  } catch (err) {
    // The new credential does not work, or may not be sent where it would be checked: discard it.
    const { generation, slot } = slotOf(record);
    await ledger.revokeSlot(record.lifecycle.definition, generation, slot, 'its verification failed');
    await deps.store.removeStage(secretId, Stage.PENDING, token).catch((e) => log('warn', 'could not remove AWSPENDING', { secretArn: secretId, versionId: token, error: describeError(e) }));
    throw new RotationError('testSecret', secretId, `${describeError(err)}; the pending credential was discarded and AWSCURRENT is unchanged`);
  }
  if (!verified) return logStep('verification is off (verifyRotatedKey: false)', { credentialName: issuer.nameOf(record) });
  logStep('the new credential works', { credentialName: issuer.nameOf(record) });
}

async function finishSecret(secretId: string, token: string, deps: EngineDeps, logStep: StepLog): Promise<void> {
  const { ledger, issuer, record } = await open(deps, 'finishSecret', secretId, { versionId: token });
  const basedOn = record.lifecycle.basedOnVersionId;
  // Compare-and-swap: refused if AWSCURRENT is no longer where this rotation started.
  if (await ledger.promote(token, basedOn)) {
    return logStep('promoted to AWSCURRENT; the outgoing credential stays valid as AWSPREVIOUS', { credentialName: issuer.nameOf(record) });
  }
  const state = await ledger.describe();
  const currentId = state && versionWithStage(state, Stage.CURRENT);
  if (currentId === token) return logStep('already finished: this version is AWSCURRENT');
  const { generation, slot } = slotOf(record);
  const current = currentId ? (await ledger.read({ versionId: currentId }))?.record : undefined;
  const sameGeneration = current !== undefined && generationOf(current.lifecycle.generation) === generation;
  // A twin delivery promoted this version and an event has since moved AWSCURRENT to a copy of it (same slot).
  if (sameGeneration && current.lifecycle.slot === slot) return logStep('already finished: AWSCURRENT is a copy of this version');
  // The stack moved AWSCURRENT while this rotation ran; promoting ours would undo that. Our credential keeps its label.
  if (state?.stagesByVersion.get(token)?.includes(Stage.PENDING)) await deps.store.removeStage(secretId, Stage.PENDING, token);
  if (!sameGeneration) {
    // The event that moved AWSCURRENT to another generation reconciles this one (or the next rotation reuses the slot).
    return logStep('superseded: AWSCURRENT changed during rotation; the new credential was not promoted', { credentialName: issuer.nameOf(record) });
  }
  const replaced = basedOn ? (await ledger.read({ versionId: basedOn }))?.record : undefined;
  if (!replaced || issuer.nameOf(current) !== issuer.nameOf(replaced)) {
    // AWSCURRENT holds another credential than the one this rotation replaced: a later rotation finished (this is a
    // late duplicate), and this credential may be behind AWSPREVIOUS, in the overlap. Rotation keeps its ledger.
    return logStep('superseded by a later rotation; the credential stays as it is', { credentialName: issuer.nameOf(record) });
  }
  // An event kept the generation (a change applied in place, or a repeated Update) and moved AWSCURRENT to a copy of
  // the credential this rotation replaces. It reconciles nothing, no event promotes this version later (each promotes
  // fresh copies), and this credential has the definition AWSCURRENT had before: it is revoked now, its label stays.
  await ledger.revokeSlot(record.lifecycle.definition, generation, slot, 'its rotation was superseded within its generation');
  logStep('superseded: AWSCURRENT changed during rotation; the new credential was revoked, not promoted', { credentialName: issuer.nameOf(record) });
}
