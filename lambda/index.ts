/**
 * Entry point of the singleton handler. It tells a CloudFormation event from a
 * Secrets Manager rotation event, and owns the guaranteed answer: every
 * CloudFormation event is answered, FAILED on an exception, and FAILED by a
 * guard shortly before the function's own timeout.
 */
import type { CloudFormationCustomResourceEvent, Context } from 'aws-lambda';
import { CfnAnswer, sendAnswer } from './cfn-response';
import { issuerFor } from './issuers';
import { EngineDeps, FAILED_CREATE_ID, handleCredentialEvent, MintJournal, Outcome } from './lifecycle';
import { describeError, log } from './log';
import { assertManagedSecret } from './managed-secrets';
import { handleRotationEvent, isRotationEvent } from './rotation';
import { SecretStore } from './secret-store';
import { handleServiceAccountEvent } from './service-account';
import { ResourceKind } from '../lib/private/contract';

/** How long before the function's timeout the guard answers FAILED. */
export function guardMarginMs(timeoutMs: number): number {
  return Math.min(20_000, Math.max(1_000, Math.round(timeoutMs * 0.15)));
}

function engineDeps(journal: MintJournal): EngineDeps {
  return { store: new SecretStore(), issuerFor, journal };
}

function isCloudFormationEvent(event: unknown): event is CloudFormationCustomResourceEvent {
  const e = event as Partial<CloudFormationCustomResourceEvent>;
  return typeof e?.RequestType === 'string' && typeof e.ResponseURL === 'string';
}

export async function handler(event: unknown, context: Context): Promise<void> {
  if (isRotationEvent(event)) {
    log('info', 'rotation event', { step: event.Step, secretArn: event.SecretId, versionId: event.ClientRequestToken });
    assertManagedSecret(event.SecretId, event.Step);
    return handleRotationEvent(event, engineDeps(new MintJournal()));
  }
  if (isCloudFormationEvent(event)) return handleCloudFormation(event, context);
  log('error', 'unrecognised event: neither CloudFormation nor Secrets Manager rotation');
  throw new Error('Unrecognised event: expected a CloudFormation custom-resource event or a Secrets Manager rotation event');
}

async function handleCloudFormation(event: CloudFormationCustomResourceEvent, context: Context): Promise<void> {
  const physicalResourceId = event.RequestType === 'Create' ? undefined : event.PhysicalResourceId;
  log('info', 'CloudFormation event', {
    requestType: event.RequestType, logicalResourceId: event.LogicalResourceId, physicalResourceId,
    resourceType: event.ResourceType, requestId: event.RequestId, stackId: event.StackId,
  });
  const journal = new MintJournal();
  const failed = (reason: string): CfnAnswer => ({
    status: 'FAILED',
    physicalResourceId: physicalResourceId ?? FAILED_CREATE_ID,
    reason,
  });

  const remaining = context.getRemainingTimeInMillis();
  const guardMs = Math.max(0, remaining - guardMarginMs(remaining));
  let timer: NodeJS.Timeout | undefined;
  const guard = new Promise<'timeout'>((resolve) => { timer = setTimeout(() => resolve('timeout'), guardMs); });

  const isServiceAccount = event.ResourceProperties.Kind === ResourceKind.SERVICE_ACCOUNT;
  const work = (isServiceAccount ? handleServiceAccountEvent(event) : handleCredentialEvent(event, engineDeps(journal))).then(
    (outcome: Outcome): CfnAnswer => ({ status: 'SUCCESS', physicalResourceId: outcome.physicalResourceId, data: outcome.data }),
    async (err: unknown): Promise<CfnAnswer> => {
      await journal.revokeUnstored();
      return failed(`${describeError(err)}`);
    });

  let answer = await Promise.race([work, guard]);
  clearTimeout(timer);
  if (answer === 'timeout') {
    log('error', 'giving up before the function times out', { requestId: event.RequestId, afterMs: guardMs });
    await Promise.race([journal.revokeUnstored(), new Promise((r) => setTimeout(r, Math.min(5000, guardMarginMs(remaining) / 2)))]);
    answer = failed(`Timed out after ${Math.round(guardMs / 1000)} s waiting for AWS (throttling or an unreachable endpoint?); anything issued was revoked. Deploy again later.`);
  }
  if (answer.status === 'FAILED') log('error', 'request failed', { requestId: event.RequestId, reason: answer.reason });
  await sendAnswer(event, answer, () => context.getRemainingTimeInMillis());
}
