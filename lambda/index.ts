/**
 * Entry point of the singleton handler. It tells a CloudFormation event from a
 * Secrets Manager rotation event and the stack's scheduled health check,
 * publishes a metric when a rotation step fails, and owns the guaranteed answer: every
 * CloudFormation event is answered, FAILED on an exception, and FAILED by the
 * timeout guard shortly before the function's own timeout.
 */
import type { CloudFormationCustomResourceEvent, Context } from 'aws-lambda';
import { CfnAnswer, sendAnswer } from './cfn-response';
import { SecretStore } from './clients/secrets-manager';
import { ABANDONED_CREATE_ID, FAILED_CREATE_ID, handleCredentialEvent, Outcome } from './engine/cfn-events';
import { Guard, guardMarginMs } from './engine/guard';
import { AbandonedError, UncertainIssueError } from './engine/ledger';
import { handleRotationEvent, isRotationEvent } from './engine/rotation-steps';
import { isHealthCheckEvent, runHealthCheck } from './health-check';
import { issuerFor } from './issuers';
import { describeError, log } from './log';
import { assertManagedSecret } from './managed-secrets';
import { observeFailures, publishRotationFailure } from './rotation-failures';
import { handleServiceAccountEvent } from './service-account';
import { handleServerServiceAccountEvent } from './grafana-server-service-account';
import { ResourceKind } from '../lib/private/contract';

export { guardMarginMs };

function isCloudFormationEvent(event: unknown): event is CloudFormationCustomResourceEvent {
  const e = event as Partial<CloudFormationCustomResourceEvent>;
  return typeof e?.RequestType === 'string' && typeof e.ResponseURL === 'string';
}

export async function handler(event: unknown, context: Context): Promise<void> {
  if (isRotationEvent(event)) {
    log('info', 'rotation event', { step: event.Step, secretArn: event.SecretId, versionId: event.ClientRequestToken });
    assertManagedSecret(event.SecretId, event.Step);
    const observed = observeFailures({ store: new SecretStore(), issuerFor });
    return handleRotationEvent(event, observed.deps).catch((err: unknown) => {
      publishRotationFailure(event.SecretId, event.Step, observed.cause());
      throw err;
    });
  }
  if (isCloudFormationEvent(event)) return handleCloudFormation(event, context);
  if (isHealthCheckEvent(event)) {
    log('info', 'health check event');
    await runHealthCheck({ store: new SecretStore(), issuerFor, remainingMs: () => context.getRemainingTimeInMillis(), functionArn: context.invokedFunctionArn });
    return;
  }
  log('error', 'unrecognised event: neither CloudFormation, Secrets Manager rotation nor the health check');
  throw new Error('Unrecognised event: expected a CloudFormation custom-resource event, a Secrets Manager rotation event or the health-check event');
}

async function handleCloudFormation(event: CloudFormationCustomResourceEvent, context: Context): Promise<void> {
  const physicalResourceId = event.RequestType === 'Create' ? undefined : event.PhysicalResourceId;
  log('info', 'CloudFormation event', {
    requestType: event.RequestType, logicalResourceId: event.LogicalResourceId, physicalResourceId,
    resourceType: event.ResourceType, requestId: event.RequestId, stackId: event.StackId,
  });
  const failed = (reason: string, createId = FAILED_CREATE_ID): CfnAnswer => ({ status: 'FAILED', physicalResourceId: physicalResourceId ?? createId, reason });
  const guard = new Guard();
  const kind = event.ResourceProperties?.Kind;
  const remaining = context.getRemainingTimeInMillis();
  const deps = { store: new SecretStore(), issuerFor, guard, abandonedLifetimeMs: guardMarginMs(remaining) + 1000 };
  const work = (kind === ResourceKind.SERVICE_ACCOUNT ? handleServiceAccountEvent(event)
    : kind === ResourceKind.SERVER_SERVICE_ACCOUNT ? handleServerServiceAccountEvent(event)
      : handleCredentialEvent(event, deps)).then(
    (outcome: Outcome): CfnAnswer => ({ status: 'SUCCESS', physicalResourceId: outcome.physicalResourceId, data: outcome.data }),
    (err: unknown): CfnAnswer => failed(describeError(err), err instanceof AbandonedError || err instanceof UncertainIssueError ? ABANDONED_CREATE_ID : FAILED_CREATE_ID));

  let answer = await guard.run(work, remaining);
  if (answer === 'timeout') {
    const afterS = Math.round((remaining - guardMarginMs(remaining)) / 1000);
    log('error', 'giving up before the function times out', { requestId: event.RequestId, afterS });
    // Nothing is revoked here: whatever this event issued is on the ledger, and it writes or promotes nothing from now on.
    answer = failed(`Timed out after ${afterS} s waiting for AWS (throttling or an unreachable endpoint?); nothing further is written, and the rollback retires what was issued. Deploy again later.`, ABANDONED_CREATE_ID);
  }
  if (answer.status === 'FAILED') log('error', 'request failed', { requestId: event.RequestId, reason: answer.reason });
  await sendAnswer(event, answer, () => context.getRemainingTimeInMillis());
}
