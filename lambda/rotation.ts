/**
 * Secrets Manager's four rotation steps, independent of the credential kind.
 * Each step is idempotent: the new credential is named from the
 * ClientRequestToken, so a retried step can never issue two, and the version
 * it is stored in is that token. At most two credentials live per secret: the
 * one behind AWSPREVIOUS is revoked before a new one is issued.
 */
import type { Issuer } from './issuers/types';
import { credentialName, EngineDeps, mint, recordOf, revokeDisplaced, revokeOrThrow, revokeQuietly, revokeUnreachable } from './lifecycle';
import { isServiceError } from './clients';
import { describeError, log } from './log';
import { DisplacedCredential, SecretStore, SecretState, Stage, versionWithStage } from './secret-store';

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

export async function handleRotationEvent(event: RotationEvent, deps: EngineDeps): Promise<void> {
  const { Step: step, SecretId: secretId, ClientRequestToken: token } = event;
  const logStep = (outcome: string, fields: Record<string, unknown> = {}) =>
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

type StepLog = (outcome: string, fields?: Record<string, unknown>) => void;

async function describeOrFail(store: SecretStore, step: string, secretId: string): Promise<SecretState> {
  const state = await store.describe(secretId);
  if (!state) throw new RotationError(step, secretId, 'the secret does not exist');
  return state;
}

async function createSecret(secretId: string, token: string, deps: EngineDeps, logStep: StepLog): Promise<void> {
  const { store } = deps;
  const state = await describeOrFail(store, 'createSecret', secretId);
  const currentId = versionWithStage(state, Stage.CURRENT);
  if (currentId === token) return logStep('already finished: this version is AWSCURRENT');
  const current = currentId ? await store.read(secretId, { versionId: currentId }) : undefined;
  if (!current?.record) {
    throw new RotationError('createSecret', secretId, 'AWSCURRENT holds no credential written by this library; deploy the stack first');
  }
  const issuer = deps.issuerFor(current.record.lifecycle.kind);
  const { definition, generation } = current.record.lifecycle;
  // A displaced credential that still cannot be revoked stays an obligation: the new version carries it on.
  const [stillDisplaced] = await revokeUnreachable(issuer, state, [current.record], current);

  // A leftover AWSPENDING from an abandoned rotation with another token: revoke it, drop its label.
  for (const [versionId, stages] of state.stagesByVersion) {
    if (versionId === token || versionId === currentId || !stages.includes(Stage.PENDING)) continue;
    const stray = await store.read(secretId, { versionId });
    if (stray?.record && issuer.nameOf(stray.record) !== issuer.nameOf(current.record)) {
      await revokeOrThrow(issuer, stray.record, 'left behind by an abandoned rotation');
    }
    await store.removeStage(secretId, Stage.PENDING, versionId);
  }

  // Overlap is AWSCURRENT and the new one; the credential behind AWSPREVIOUS is retired now.
  let displaces: DisplacedCredential | undefined = stillDisplaced;
  const previousId = versionWithStage(state, Stage.PREVIOUS);
  if (previousId && previousId !== currentId && previousId !== token) {
    const predecessor = current.record.lifecycle.predecessor;
    // The current record names the credential it replaced; read the version only if that is not what AWSPREVIOUS holds.
    const retiring = predecessor?.versionId === previousId
      ? recordOf(current.record, predecessor)
      : (await store.read(secretId, { versionId: previousId }))?.record;
    // A previous key of another generation belongs to CloudFormation (its cleanup deletes it, or a rollback restores
    // it) for as long as it keeps its label; this rotation's promotion takes the label away, so finishSecret revokes it.
    if (retiring && retiring.lifecycle.generation === generation && issuer.nameOf(retiring) !== issuer.nameOf(current.record)) {
      await revokeOrThrow(issuer, retiring, 'it is older than the overlap');
    } else if (retiring && retiring.lifecycle.generation !== generation) {
      displaces = { versionId: previousId, generation: retiring.lifecycle.generation, fields: retiring.fields };
    }
  }

  const name = credentialName(issuer.namePrefix(definition), token);
  const record = await mint(deps, issuer, definition, {
    secretArn: secretId, name, versionId: token, stages: [Stage.PENDING], generation, basedOnVersionId: currentId,
    replaces: current, displaces,
  });
  logStep('stored the new credential as AWSPENDING', { credentialName: issuer.nameOf(record), expiresAt: record.expiresAt });
}

async function testSecret(secretId: string, token: string, deps: EngineDeps, logStep: StepLog): Promise<void> {
  const { store } = deps;
  const pending = await store.read(secretId, { versionId: token });
  if (!pending?.record) throw new RotationError('testSecret', secretId, `version ${token} holds no credential written by this library`);
  const record = pending.record;
  const issuer = deps.issuerFor(record.lifecycle.kind);
  let verified: boolean;
  try {
    verified = await issuer.verify(record);
  } catch (err) {
    await abandonPending(deps, issuer, secretId, token, await describeOrFail(store, 'testSecret', secretId));
    throw new RotationError('testSecret', secretId, `${describeError(err)}; the pending credential was discarded and AWSCURRENT is unchanged`);
  }
  if (!verified) return logStep('verification is off (verifyRotatedKey: false)', { credentialName: issuer.nameOf(record) });
  logStep('the new credential works', { credentialName: issuer.nameOf(record) });
}

async function finishSecret(secretId: string, token: string, deps: EngineDeps, logStep: StepLog): Promise<void> {
  const { store } = deps;
  const pending = await store.read(secretId, { versionId: token });
  if (!pending?.record) throw new RotationError('finishSecret', secretId, `version ${token} holds no credential written by this library`);
  const issuer = deps.issuerFor(pending.record.lifecycle.kind);
  const basedOn = pending.record.lifecycle.basedOnVersionId;
  if (basedOn) {
    // Compare-and-swap: Secrets Manager refuses the move if AWSCURRENT is no longer where this rotation started.
    let moved = false;
    try {
      await store.moveStage(secretId, Stage.CURRENT, token, basedOn);
      moved = true;
    } catch (err) {
      if (!isServiceError(err, 'InvalidParameterException') && !isServiceError(err, 'InvalidRequestException')) throw err;
    }
    if (moved) {
      // The other generation's credential this promotion took the last label from (see `displaces`).
      await revokeDisplaced(issuer, pending.record);
      return logStep('promoted to AWSCURRENT; the outgoing credential stays valid as AWSPREVIOUS', { credentialName: issuer.nameOf(pending.record) });
    }
  }
  const state = await describeOrFail(store, 'finishSecret', secretId);
  const currentId = versionWithStage(state, Stage.CURRENT);
  if (currentId === token) {
    // A retry after the promotion landed: finish what it left.
    await revokeDisplaced(issuer, pending.record);
    return logStep('already finished: this version is AWSCURRENT');
  }
  if (basedOn) {
    // The stack reissued the credential while this rotation ran; promoting ours would undo that.
    await abandonPending(deps, issuer, secretId, token, state);
    return logStep('superseded: AWSCURRENT changed during rotation; the new credential was discarded', { credentialName: issuer.nameOf(pending.record) });
  }
  await store.moveStage(secretId, Stage.CURRENT, token, currentId);
  logStep('promoted to AWSCURRENT; the outgoing credential stays valid as AWSPREVIOUS', { credentialName: issuer.nameOf(pending.record) });
}

/** Revokes the pending credential (unless another labelled version shares it) and removes AWSPENDING. */
async function abandonPending(deps: EngineDeps, issuer: Issuer, secretId: string, token: string, state: SecretState): Promise<void> {
  const { store } = deps;
  const pending = await store.read(secretId, { versionId: token });
  const labels = state.stagesByVersion.get(token) ?? [];
  // A version that was promoted (a retried finishSecret after the stack moved on) is the stack's to retire, not ours.
  const promoted = labels.includes(Stage.CURRENT) || labels.includes(Stage.PREVIOUS);
  if (pending?.record && !promoted) {
    const name = issuer.nameOf(pending.record);
    let shared = false;
    for (const [versionId, stages] of state.stagesByVersion) {
      if (versionId === token || stages.length === 0) continue;
      const other = await store.read(secretId, { versionId });
      if (other?.record && issuer.nameOf(other.record) === name) shared = true;
    }
    if (!shared) await revokeQuietly(issuer, pending.record, 'its rotation was abandoned');
  }
  const stages = state.stagesByVersion.get(token) ?? [];
  if (stages.includes(Stage.PENDING) || !stages.length) {
    await store.removeStage(secretId, Stage.PENDING, token).catch((err) =>
      log('warn', 'could not remove AWSPENDING', { secretArn: secretId, versionId: token, error: describeError(err) }));
  }
}
