/**
 * Monitoring end to end: the stack's scheduled health check and a failed
 * rotation, run by the bundled handler against the stand-ins, read back from
 * the metric lines (Embedded Metric Format) it writes; and the stack's
 * onRotationFailed rule, as deployed, against the RotationFailed event Secrets
 * Manager would send for that failure.
 */
import { Duration } from 'aws-cdk-lib';
import * as apigateway from 'aws-cdk-lib/aws-apigateway';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { GrafanaCredentialsHandler, GrafanaRole, GrafanaServiceAccount, RotatingApiKey, SelfManagedGrafana, WorkspaceApiKey } from '../../lib';
import { GrafanaServerStandIn } from '../testbed/grafana/server';
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

test('the health check covers every kind in the stack: a self-managed Grafana token and an API Gateway key (no SecondsUntilExpiry: it never expires) report CredentialWorks 0 once revoked or out of their plan', async () => {
  const grafana = await GrafanaServerStandIn.start({ version: '11.3.0', now: () => bed.standins.clock.now() });
  try {
    const adminSecretArn = bed.standins.cloudFormationCall('CreateSecret', {
      Name: 'ops/grafana-admin', SecretString: JSON.stringify({ user: grafana.adminUser, password: grafana.adminPassword }),
    }).ARN;
    const stack = newStack();
    const server = SelfManagedGrafana.fromAttributes(stack, 'Grafana', {
      url: grafana.url, adminSecret: secretsmanager.Secret.fromSecretCompleteArn(stack, 'AdminSecret', adminSecretArn),
    });
    new GrafanaServiceAccount(stack, 'Ci', { grafana: server, grafanaRole: GrafanaRole.EDITOR }).addToken('Deploy', { timeToLive: Duration.days(7) });
    const gold = new apigateway.UsagePlan(stack, 'Gold', { name: 'Gold' });
    new RotatingApiKey(stack, 'Partner', { usagePlans: [gold], apiKeyNamePrefix: 'partner' });
    expect(await bed.driver.deploy(stack)).toMatchObject({ ok: true });
    const [tokenName, keyName] = [secretName('CiDeploySecret'), secretName('PartnerSecret')];

    const before = metricLines(await bed.driver.fireScheduledRules());
    expect(before.map((m) => m.SecretName).sort()).toEqual([tokenName, keyName].sort());
    const token = before.find((m) => m.SecretName === tokenName)!;
    expect(token).toMatchObject({ CredentialWorks: 1, RotationOverdue: 0 });
    expect(token.SecondsUntilExpiry).toBeGreaterThan(7 * 86_400 - 120);
    const key = before.find((m) => m.SecretName === keyName)!;
    expect(key).toMatchObject({ CredentialWorks: 1, RotationOverdue: 0 });
    expect(key.SecondsUntilExpiry).toBeUndefined();
    expect(key._aws.CloudWatchMetrics[0].Metrics.map((m: { Name: string }) => m.Name)).toEqual(['CredentialWorks', 'RotationOverdue']);

    grafana.revokeByName(versionWith(bed.standins, bed.driver.secretArn('CiDeploySecret'))!.value.tokenName);
    bed.standins.apiGateway.deleteUsagePlan(bed.standins.apiGateway.usagePlanId('Gold'));
    const after = metricLines(await bed.driver.fireScheduledRules());
    expect(after.find((m) => m.SecretName === tokenName)).toMatchObject({ CredentialWorks: 0 });
    expect(after.find((m) => m.SecretName === keyName)).toMatchObject({ CredentialWorks: 0 });
    for (const secret of grafana.secrets()) for (const text of bed.driver.logs()) expect(text.includes(secret)).toBe(false);
  } finally {
    await grafana.stop();
  }
});

test('with handlers in two network placements, each credential is checked once, by the handler that rotates it (both share the stack\'s default-name prefix)', async () => {
  const stack = newStack();
  const vpc = new ec2.Vpc(stack, 'Vpc', { maxAzs: 1, natGateways: 0, subnetConfiguration: [{ name: 'private', subnetType: ec2.SubnetType.PRIVATE_ISOLATED }] });
  new WorkspaceApiKey(stack, 'Key', { workspaceId: bed.ws, timeToLive: Duration.days(7) });
  new WorkspaceApiKey(stack, 'Private', { workspaceId: bed.ws, timeToLive: Duration.days(7), vpc });
  expect(await bed.driver.deploy(stack)).toMatchObject({ ok: true });

  const runs = await bed.driver.fireScheduledRules();
  expect(runs).toHaveLength(2);
  const reported = runs.map((run) => metricLines([run]).map((m) => m.SecretName).sort());
  expect(reported.flat().sort()).toEqual([secretName('KeySecret'), secretName('PrivateSecret')].sort());
  expect(reported.map((names) => names.length)).toEqual([1, 1]);
});
