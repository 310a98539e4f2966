/**
 * Monitoring end to end: the stack's scheduled health check and a failed
 * rotation, run by the bundled handler against the stand-ins, read back from
 * the metric lines (Embedded Metric Format) it writes; and the stack's
 * onRotationFailed rule, as deployed, against the RotationFailed event Secrets
 * Manager would send for that failure.
 */
import { Duration } from 'aws-cdk-lib';
import { GrafanaCredentialsHandler, WorkspaceApiKey } from '../../lib';
import type { InvocationResult } from '../testbed/cfn/lambda-host';
import { rotate } from '../testbed/cfn/rotation';
import { matchesEventPattern, rotationFailedEvent } from '../testbed/events/event-pattern';
import { ACCOUNT, REGION } from '../testbed/aws/standins';
import { newStack, useTestBed, versionWith } from './harness';

const bed = useTestBed();

function twoKeys(opts: { healthCheck?: boolean } = {}) {
  const stack = newStack();
  const key = new WorkspaceApiKey(stack, 'Key', { workspaceId: bed.ws, timeToLive: Duration.days(7) });
  new WorkspaceApiKey(stack, 'Other', { workspaceId: bed.ws, timeToLive: Duration.days(7) });
  key.onRotationFailed('KeyRotationFailed');
  if (opts.healthCheck !== undefined) GrafanaCredentialsHandler.configure(stack, { healthCheck: opts.healthCheck });
  return stack;
}

/** The metric lines an invocation wrote, parsed. */
const metricLines = (invocations: InvocationResult[]) => invocations.flatMap((i) => i.logs.split('\n'))
  .filter((line) => line.startsWith('{"_aws"')).map((line) => JSON.parse(line) as Record<string, any>);
const secretName = (logicalPrefix: string) => bed.standins.secret(bed.driver.secretArn(logicalPrefix))!.name;

test('the scheduled health check reports both keys working, then CredentialWorks 0 for the key revoked in Grafana\'s UI', async () => {
  expect(await bed.driver.deploy(twoKeys())).toMatchObject({ ok: true });
  const [keyName, otherName] = [secretName('KeySecret'), secretName('OtherSecret')];

  bed.standins.resetCounts();
  const first = await bed.driver.fireScheduledRules();
  expect(first).toHaveLength(1);
  expect(first[0]).toMatchObject({ ok: true });
  const calls = bed.standins.counts();
  const before = metricLines(first);
  expect(before.map((m) => m.SecretName).sort()).toEqual([keyName, otherName].sort());
  for (const m of before) {
    expect(m).toMatchObject({ CredentialWorks: 1, RotationOverdue: 0 });
    expect(m.SecondsUntilExpiry).toBeGreaterThan(7 * 86_400 - 120);
  }
  // One ListSecrets for the stack's prefix, then per credential one read, one DescribeWorkspace to find where to verify (no workspaceUrl) and one GET /api/org.
  expect(calls).toEqual({ ListSecrets: 1, GetSecretValue: 2, DescribeWorkspace: 2, GrafanaApiOrg: 2 });

  const current = versionWith(bed.standins, bed.driver.secretArn('KeySecret'))!.value;
  bed.standins.revokeOutOfBand(bed.ws, current.keyName);
  const after = metricLines(await bed.driver.fireScheduledRules());
  expect(after.find((m) => m.SecretName === keyName)).toMatchObject({ CredentialWorks: 0 });
  expect(after.find((m) => m.SecretName === otherName)).toMatchObject({ CredentialWorks: 1 });
});

test('a failed rotation publishes RotationFailures with its step and cause, and the deployed onRotationFailed rule matches Secrets Manager\'s event for it', async () => {
  expect(await bed.driver.deploy(twoKeys())).toMatchObject({ ok: true });
  const secretArn = bed.driver.secretArn('KeySecret');
  const outcome = await rotate(bed.driver, bed.standins, secretArn, {
    between: async (step, token) => {
      if (step !== 'testSecret') return;
      const pending = JSON.parse(bed.standins.secret(secretArn)!.versions.find((v) => v.versionId === token)!.secretString!);
      bed.standins.revokeOutOfBand(bed.ws, pending.keyName);
    },
  });
  expect(outcome).toMatchObject({ ok: false, failedStep: 'testSecret' });

  const failures = metricLines(outcome.invocations).filter((m) => m.RotationFailures !== undefined);
  expect(failures).toEqual([expect.objectContaining({ SecretName: secretName('KeySecret'), Step: 'testSecret', Cause: 'VerificationFailed', RotationFailures: 1 })]);

  const [ruleId] = bed.driver.logicalIdsOfType('AWS::Events::Rule').filter((id) => id.startsWith('KeyKeyRotationFailed'));
  const pattern = bed.driver.resourceProperties(ruleId).EventPattern;
  expect(matchesEventPattern(pattern, rotationFailedEvent(secretArn, { account: ACCOUNT, region: REGION }))).toBe(true);
  expect(matchesEventPattern(pattern, rotationFailedEvent(bed.driver.secretArn('OtherSecret'), { account: ACCOUNT, region: REGION }))).toBe(false);
});

test('healthCheck: false deploys no schedule: nothing runs', async () => {
  expect(await bed.driver.deploy(twoKeys({ healthCheck: false }))).toMatchObject({ ok: true });
  expect(await bed.driver.fireScheduledRules()).toEqual([]);
  expect(bed.driver.logicalIdsOfType('AWS::Events::Rule').filter((id) => !id.startsWith('KeyKeyRotationFailed'))).toEqual([]);
});
