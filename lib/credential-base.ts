import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { METRICS } from './private/contract';
import { credentialMetric, onRotationFailed } from './private/credential-metrics';

/**
 * What every credential construct offers: the secret that holds it, read
 * access, and its health and rotation metrics and events.
 */
export abstract class CredentialBase extends Construct {
  /** The secret that holds the credential. Read the token with `secret.secretValueFromJson('key')`. */
  abstract readonly secret: secretsmanager.ISecret;
  /** ARN of the secret. */
  abstract readonly secretArn: string;
  /** Name of the secret: the `SecretName` dimension of the credential's metrics. */
  abstract readonly secretName: string;

  /** Allows a principal to read the credential from the secret (and decrypt it, with a customer-managed KMS key). */
  grantRead(grantee: iam.IGrantable): iam.Grant {
    return this.secret.grantRead(grantee);
  }

  /**
   * Seconds until the credential in AWSCURRENT expires, as the stack's health
   * check last saw it; no data for a credential that never expires (an API
   * Gateway key). Minimum over the health-check interval.
   */
  metricSecondsUntilExpiry(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return credentialMetric(this, this, METRICS.secondsUntilExpiry, props);
  }

  /**
   * 1 when the credential in AWSCURRENT worked at the health check, 0 when it
   * did not (revoked out of band, lost its role, or unreadable); no data while
   * `verifyRotatedKey` is false. Minimum over the health-check interval.
   */
  metricCredentialWorks(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return credentialMetric(this, this, METRICS.credentialWorks, props);
  }

  /**
   * 1 when Secrets Manager should have rotated the secret more than a day ago.
   * Maximum over the health-check interval.
   */
  metricRotationOverdue(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return credentialMetric(this, this, METRICS.rotationOverdue, props);
  }

  /** Failed rotation steps of this credential, of any step and cause. Sum over the health-check interval. */
  metricRotationFailures(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return credentialMetric(this, this, METRICS.rotationFailures, props);
  }

  /**
   * An EventBridge rule that matches Secrets Manager's RotationFailed events
   * for this credential's secret.
   */
  onRotationFailed(id: string, options?: events.OnEventOptions): events.Rule {
    return onRotationFailed(this, id, this, options);
  }
}
