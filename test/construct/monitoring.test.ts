/**
 * Monitoring and handler settings: the one health-check schedule per stack,
 * the handler options that configure (never key) the function, the metrics
 * and alarms built from them, and the rotation-failure rule's event pattern
 * against a RotationFailed event as Secrets Manager sends it.
 */
import { Duration } from 'aws-cdk-lib';
import { Annotations, Match } from 'aws-cdk-lib/assertions';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import { parseManagedSecrets } from '../../lambda/managed-secrets';
import { GrafanaCredentialsHandler, WorkspaceApiKey, WorkspaceServiceAccount, WorkspaceServiceAccountToken } from '../../lib';
import { matchesEventPattern, rotationFailedEvent } from '../testbed/events/event-pattern';
import { COMMERCIAL_PSEUDO, resolveIntrinsics } from '../testbed/iam-limits';
import { ofType, synth } from './synth';

const WS = 'g-0123456789';

const functionOf = (template: any) => ofType(template, 'AWS::Lambda::Function');
const listSecretsPolicies = (template: any) => ofType(template, 'AWS::IAM::Policy')
  .filter(([, r]) => JSON.stringify(r.Properties.PolicyDocument).includes('secretsmanager:ListSecrets'));

describe('health check schedule', () => {
  test('one rule per stack, however many credentials, invoking the handler with the health-check input daily; only that rule may invoke for it', () => {
    const { template, assert } = synth((stack) => {
      for (let i = 0; i < 5; i++) new WorkspaceApiKey(stack, `Key${i}`, { workspaceId: WS });
    });
    const rules = ofType(template, 'AWS::Events::Rule');
    expect(rules).toHaveLength(1);
    const [[ruleId, rule]] = rules;
    const [[fnId]] = functionOf(template);
    expect(rule.Properties.ScheduleExpression).toBe('rate(1 day)');
    expect(rule.Properties.Targets).toEqual([expect.objectContaining({ Arn: { 'Fn::GetAtt': [fnId, 'Arn'] }, Input: '{"GrafanaCredentials":"HealthCheck"}' })]);
    assert.hasResourceProperties('AWS::Lambda::Permission', {
      Principal: 'events.amazonaws.com', FunctionName: { 'Fn::GetAtt': [fnId, 'Arn'] }, SourceArn: { 'Fn::GetAtt': [ruleId, 'Arn'] },
    });
    const list = listSecretsPolicies(template);
    expect(list).toHaveLength(1);
    expect(list[0][1].Properties.PolicyDocument.Statement).toEqual([{ Sid: 'FindCredentialSecrets', Effect: 'Allow', Action: 'secretsmanager:ListSecrets', Resource: '*' }]);
  });

  test.each([
    ['before the credentials', true],
    ['after the credentials', false],
  ])('healthCheck: false %s leaves no rule, no invoke permission for EventBridge and no ListSecrets', (_when, before) => {
    const { template } = synth((stack) => {
      if (before) GrafanaCredentialsHandler.configure(stack, { healthCheck: false });
      new WorkspaceApiKey(stack, 'Key', { workspaceId: WS });
      if (!before) GrafanaCredentialsHandler.configure(stack, { healthCheck: false });
    });
    expect(ofType(template, 'AWS::Events::Rule')).toEqual([]);
    expect(ofType(template, 'AWS::Lambda::Permission').filter(([, r]) => r.Properties.Principal === 'events.amazonaws.com')).toEqual([]);
    expect(listSecretsPolicies(template)).toEqual([]);
  });

  test('the interval sets the schedule and the metrics\' period', () => {
    let period: Duration | undefined;
    const { template } = synth((stack) => {
      const key = new WorkspaceApiKey(stack, 'Key', { workspaceId: WS });
      GrafanaCredentialsHandler.configure(stack, { healthCheckInterval: Duration.hours(6) });
      period = key.metricCredentialWorks().period;
    });
    expect(ofType(template, 'AWS::Events::Rule')[0][1].Properties.ScheduleExpression).toBe('rate(6 hours)');
    expect(period?.toHours()).toBe(6);
  });

  test('an interval set after a metric took the default period fails at synth, naming the construct', () => {
    expect(() => synth((stack) => {
      const key = new WorkspaceApiKey(stack, 'Key', { workspaceId: WS });
      key.metricCredentialWorks();
      GrafanaCredentialsHandler.configure(stack, { healthCheckInterval: Duration.hours(6) });
    })).toThrow(/healthCheckInterval is set after .*Key made a metric with the default period \(1 day\).*Call configure\(\) before any metric\*\(\) method/);
  });

  test('a named secret that is not rotated is listed for the health check, not for rotation', () => {
    const { template } = synth((stack) => {
      new WorkspaceApiKey(stack, 'Named', { workspaceId: WS, secretName: 'team/grafana/static', rotate: false });
      new WorkspaceApiKey(stack, 'Default', { workspaceId: WS, rotate: false });
    });
    const [[, fn]] = functionOf(template);
    const list = parseManagedSecrets(resolveIntrinsics(fn.Properties.Environment.Variables.GRAFANA_CREDENTIALS_MANAGED_SECRETS, template, COMMERCIAL_PSEUDO) as string)!;
    expect(list.names).toEqual({});
    expect(list.prefixes).toEqual([]);
    expect(list.unrotated).toEqual({ prefixes: [expect.stringMatching(/^grafana-credentials\/TestStack.*\/$/)], names: { 'team/grafana/': ['static'] } });
  });
});

test('named secrets that are not rotated share the list\'s 4 KB budget: too many fail at synth, saying what to do', () => {
  const make = () => synth((stack) => {
    for (let i = 0; i < 80; i++) {
      new WorkspaceApiKey(stack, `K${i}`, { workspaceId: WS, secretName: `team/grafana/a-long-descriptive-secret-name-for-dashboards-${i}`, rotate: false });
    }
  });
  expect(make).toThrow(/^WorkspaceApiKey TestStack\/K\d+: secretName 'team\/grafana\/a-long-[^']+': the handler's list of credential secrets \(\d+ named ones\) would take about [\d,]+ characters of its environment, over the 3,584 it may use of Lambda's 4 KB\. Use default secret names/);
});

describe('handler options', () => {
  test('memory size and reserved concurrency configure the one function; its logical id and every ServiceToken stay the same', () => {
    const plain = synth((stack) => new WorkspaceApiKey(stack, 'Key', { workspaceId: WS })).template;
    const tuned = synth((stack) => {
      new WorkspaceApiKey(stack, 'Key', { workspaceId: WS });
      GrafanaCredentialsHandler.configure(stack, { memorySize: 512, reservedConcurrentExecutions: 5 });
    }).template;
    const [[plainId, plainFn]] = functionOf(plain);
    const fns = functionOf(tuned);
    expect(fns).toHaveLength(1);
    const [[tunedId, tunedFn]] = fns;
    expect(tunedId).toBe(plainId);
    expect(plainFn.Properties.MemorySize).toBe(256);
    expect(plainFn.Properties.ReservedConcurrentExecutions).toBeUndefined();
    expect(tunedFn.Properties).toMatchObject({ MemorySize: 512, ReservedConcurrentExecutions: 5 });
    const tokens = (t: any) => ofType(t, 'Custom::GrafanaWorkspaceApiKey').map(([, r]) => r.Properties.ServiceToken);
    expect(tokens(tuned)).toEqual(tokens(plain));
  });

  test('an option set twice to different values fails, naming both', () => {
    expect(() => synth((stack) => {
      GrafanaCredentialsHandler.configure(stack, { memorySize: 512 });
      GrafanaCredentialsHandler.configure(stack, { memorySize: 512, healthCheck: true });
      GrafanaCredentialsHandler.configure(stack, { memorySize: 1024 });
    })).toThrow("GrafanaCredentialsHandler.configure(TestStack): memorySize is already 512 from an earlier configure() call of this stack, got 1024. The stack has one handler: set each option once");
  });

  test.each([
    ['memorySize 64', { memorySize: 64 }, 'memorySize must be a whole number of MiB from 128 to 10240, got 64'],
    ['reservedConcurrentExecutions 0', { reservedConcurrentExecutions: 0 }, 'reservedConcurrentExecutions must be a whole number of at least 1 (0 would stop every CloudFormation event and rotation), got 0'],
    ['healthCheckInterval 30 minutes', { healthCheckInterval: Duration.minutes(30) }, 'healthCheckInterval must be whole hours from 1 hour to 1 day (a CloudWatch alarm\'s period is at most a day), got 30 minutes'],
    ['healthCheckInterval 2 days', { healthCheckInterval: Duration.days(2) }, 'healthCheckInterval must be whole hours from 1 hour to 1 day (a CloudWatch alarm\'s period is at most a day), got 2 days'],
  ])('%s is refused', (_label, options, message) => {
    expect(() => synth((stack) => GrafanaCredentialsHandler.configure(stack, options))).toThrow(`GrafanaCredentialsHandler.configure(TestStack): ${message}`);
  });
});

describe('metrics and alarms', () => {
  test('each metric names the namespace, the secret and a statistic that suits it', () => {
    synth((stack) => {
      const key = new WorkspaceApiKey(stack, 'Key', { workspaceId: WS, secretName: 'team/key' });
      const expected = { namespace: 'GrafanaCredentials', dimensions: { SecretName: 'team/key' } };
      expect(key.metricSecondsUntilExpiry()).toMatchObject({ ...expected, metricName: 'SecondsUntilExpiry', statistic: 'Minimum' });
      expect(key.metricCredentialWorks()).toMatchObject({ ...expected, metricName: 'CredentialWorks', statistic: 'Minimum' });
      expect(key.metricRotationOverdue()).toMatchObject({ ...expected, metricName: 'RotationOverdue', statistic: 'Maximum' });
      expect(key.metricRotationFailures()).toMatchObject({ ...expected, metricName: 'RotationFailures', statistic: 'Sum' });
      expect(key.metricRotationFailures().period.toDays()).toBe(1);
      expect(key.metricCredentialWorks({ period: Duration.hours(12) }).period.toHours()).toBe(12);
    });
  });

  test('the README recipe synthesizes three alarms per credential on the default-named secret', () => {
    const { assert, template } = synth((stack) => {
      const sa = new WorkspaceServiceAccount(stack, 'Ci', { workspaceId: WS });
      const token = new WorkspaceServiceAccountToken(stack, 'CiToken', { serviceAccount: sa });
      token.metricSecondsUntilExpiry().createAlarm(stack, 'ExpiresSoon', {
        threshold: Duration.days(3).toSeconds(), evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.BREACHING,
      });
      token.metricCredentialWorks().createAlarm(stack, 'StoppedWorking', {
        threshold: 1, evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.BREACHING,
      });
      token.metricRotationFailures().createAlarm(stack, 'RotationFailed', {
        threshold: 1, evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
    });
    expect(ofType(template, 'AWS::CloudWatch::Alarm')).toHaveLength(3);
    const secretName = ofType(template, 'AWS::SecretsManager::Secret')[0][1].Properties.Name;
    const dimensions = [{ Name: 'SecretName', Value: secretName }];
    assert.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'GrafanaCredentials', MetricName: 'SecondsUntilExpiry', Statistic: 'Minimum', Period: 86400, Threshold: 259200,
      ComparisonOperator: 'LessThanThreshold', TreatMissingData: 'breaching', Dimensions: dimensions,
    });
    assert.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'CredentialWorks', Statistic: 'Minimum', Threshold: 1, ComparisonOperator: 'LessThanThreshold', Dimensions: dimensions,
    });
    assert.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'RotationFailures', Statistic: 'Sum', Threshold: 1, ComparisonOperator: 'GreaterThanOrEqualToThreshold', Dimensions: dimensions,
    });
  });
});

describe('onRotationFailed', () => {
  const SECRET_ARN = 'arn:aws:secretsmanager:eu-west-1:111111111111:secret:grafana-credentials/TestStack/Key-a1B2c3';
  const rotationFailed = (secretArn: string, eventName?: string) => rotationFailedEvent(secretArn, { eventName });

  function rulePattern(): Record<string, unknown> {
    const { template } = synth((stack) => {
      const key = new WorkspaceApiKey(stack, 'Key', { workspaceId: WS });
      key.onRotationFailed('RotationFailed', { target: new targets.SnsTopic(new sns.Topic(stack, 'Alerts')), description: 'page the team' });
    });
    const rules = ofType(template, 'AWS::Events::Rule').filter(([, r]) => r.Properties.EventPattern);
    expect(rules).toHaveLength(1);
    const [[, rule]] = rules;
    expect(rule.Properties.Description).toBe('page the team');
    expect(rule.Properties.Targets).toEqual([expect.objectContaining({ Arn: { Ref: expect.stringMatching(/^Alerts/) } })]);
    // The secret's ARN is a Ref in the template: resolve it to the ARN the deployed secret has.
    const [[secretId]] = ofType(template, 'AWS::SecretsManager::Secret');
    return JSON.parse(JSON.stringify(rule.Properties.EventPattern).replace(JSON.stringify({ Ref: secretId }), JSON.stringify(SECRET_ARN)));
  }

  test('its pattern matches the RotationFailed event of the credential\'s secret', () => {
    expect(matchesEventPattern(rulePattern(), rotationFailed(SECRET_ARN))).toBe(true);
  });

  test('and not another secret\'s failure, a successful rotation or an API call', () => {
    const pattern = rulePattern();
    expect(matchesEventPattern(pattern, rotationFailed(SECRET_ARN.replace('Key-', 'Other-')))).toBe(false);
    expect(matchesEventPattern(pattern, rotationFailed(SECRET_ARN, 'RotationSucceeded'))).toBe(false);
    expect(matchesEventPattern(pattern, { ...rotationFailed(SECRET_ARN), 'detail-type': 'AWS API Call via CloudTrail' })).toBe(false);
  });

  test('the matcher itself: a missing field never matches, an array value matches by any element', () => {
    expect(matchesEventPattern({ a: ['x'] }, {})).toBe(false);
    expect(matchesEventPattern({ a: ['x'] }, { a: ['y', 'x'] })).toBe(true);
    expect(matchesEventPattern({ a: { b: ['x'] } }, { a: 'x' })).toBe(false);
  });
});

test('no synth warnings from the monitoring pieces', () => {
  const { stack } = synth((s) => {
    const key = new WorkspaceApiKey(s, 'Key', { workspaceId: WS });
    key.onRotationFailed('Failed');
    GrafanaCredentialsHandler.configure(s, { memorySize: 512 });
  });
  Annotations.fromStack(stack).hasNoWarning('*', Match.anyValue());
});
