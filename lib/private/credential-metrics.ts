/**
 * The metrics and events every credential construct offers, in one place:
 * `metric*()` read what the handler publishes (lambda/health-check.ts,
 * lambda/rotation-failures.ts) for one secret, and `onRotationFailed()` is an
 * EventBridge rule on Secrets Manager's RotationFailed event for it.
 */
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as events from 'aws-cdk-lib/aws-events';
import { Construct } from 'constructs';
import { METRICS } from './contract';
import { HandlerSettings } from './handler-settings';

/** What a credential construct knows of its secret. */
export interface MonitoredSecret {
  readonly secretName: string;
  readonly secretArn: string;
}

const STATISTICS: Record<string, string> = {
  [METRICS.secondsUntilExpiry]: cloudwatch.Stats.MINIMUM,
  [METRICS.credentialWorks]: cloudwatch.Stats.MINIMUM,
  [METRICS.rotationOverdue]: cloudwatch.Stats.MAXIMUM,
  [METRICS.rotationFailures]: cloudwatch.Stats.SUM,
};

/**
 * One of the credential's metrics, with its dimension. The period is the
 * health-check interval configured when this is called (a day by default), so
 * each period holds one check.
 */
export function credentialMetric(scope: Construct, secret: MonitoredSecret, metricName: string, props: cloudwatch.MetricOptions = {}): cloudwatch.Metric {
  return new cloudwatch.Metric({
    namespace: METRICS.namespace,
    metricName,
    dimensionsMap: { [METRICS.secretDimension]: secret.secretName },
    statistic: STATISTICS[metricName],
    period: HandlerSettings.of(scope).metricPeriod(scope.node.path),
    ...props,
  }).attachTo(scope);
}

/** The pattern of Secrets Manager's RotationFailed event (a CloudTrail service event) for one secret. */
export function rotationFailedPattern(secretArn: string): events.EventPattern {
  return {
    source: ['aws.secretsmanager'],
    detailType: ['AWS Service Event via CloudTrail'],
    detail: {
      eventSource: ['secretsmanager.amazonaws.com'],
      eventName: ['RotationFailed'],
      additionalEventData: { SecretId: [secretArn] },
    },
  };
}

/** A rule on the secret's rotation failures, as aws-cdk-lib's `onEvent` makes one. */
export function onRotationFailed(scope: Construct, id: string, secret: MonitoredSecret, options: events.OnEventOptions = {}): events.Rule {
  const rule = new events.Rule(scope, id, options);
  rule.addEventPattern(rotationFailedPattern(secret.secretArn));
  if (options.target) rule.addTarget(options.target);
  return rule;
}
