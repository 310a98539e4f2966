import { Duration, Names } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { CredentialOptions } from './credential-options';
import { CredentialKind, LIMITS, METRICS, NAME_SUFFIX_LENGTH, RESOURCE_TYPES } from './private/contract';
import { credentialMetric, MonitoredSecret, onRotationFailed } from './private/credential-metrics';
import { GRAFANA_ACTIONS } from './private/handler-function';
import { createManagedCredential } from './private/managed-credential';
import { claimUniqueName, validateNamePrefix, validateTimeToLive, validateWorkspaceId } from './private/validation';
import type { IWorkspaceServiceAccount } from './workspace-service-account';

/** Options of a service-account token, for `WorkspaceServiceAccount.addToken`. */
export interface WorkspaceServiceAccountTokenOptions extends CredentialOptions {
  /**
   * Prefix of the names of the tokens this construct issues. Each token is
   * named the prefix plus `-` and 10 hex digits. 1 to 117 ASCII letters,
   * digits, `-`, `_` and `.`, and unique among the token constructs of one
   * service account. Changing it issues a new token.
   * @default - derived from the construct path
   */
  readonly tokenNamePrefix?: string;
}

/** Properties of a WorkspaceServiceAccountToken. */
export interface WorkspaceServiceAccountTokenProps extends WorkspaceServiceAccountTokenOptions {
  /** The service account the token belongs to: a `WorkspaceServiceAccount`, or one imported with `fromServiceAccountAttributes`. */
  readonly serviceAccount: IWorkspaceServiceAccount;
}

/**
 * A Grafana service-account token whose value lives only in AWS Secrets
 * Manager: issued on create, reissued when what it is changes, rotated before
 * it expires, and deleted with the stack. Works on Grafana 9 and later,
 * including Grafana 11+, which has no API keys.
 *
 * The secret's value is JSON: `{"key", "tokenName", "tokenId", "serviceAccountId", "workspaceId", "expiresAt"}`.
 */
export class WorkspaceServiceAccountToken extends Construct {
  /** The secret that holds the token. Read it with `secret.secretValueFromJson('key')`. */
  readonly secret: secretsmanager.ISecret;
  /** Name of the token issued by the latest deployment (rotation issues later ones). */
  readonly tokenName: string;
  /** ARN of the secret. */
  readonly secretArn: string;

  private readonly monitored: MonitoredSecret;

  constructor(scope: Construct, id: string, props: WorkspaceServiceAccountTokenProps) {
    super(scope, id);
    const owner = `WorkspaceServiceAccountToken ${this.node.path}`;
    const { workspaceId, serviceAccountId } = props.serviceAccount;
    validateWorkspaceId(owner, workspaceId);
    const secondsToLive = validateTimeToLive(owner, props.timeToLive ?? Duration.days(30));
    const tokenNamePrefix = props.tokenNamePrefix
      ?? Names.uniqueResourceName(this, { maxLength: LIMITS.tokenNameMax - NAME_SUFFIX_LENGTH, separator: '-' });
    validateNamePrefix(owner, 'tokenNamePrefix', tokenNamePrefix, LIMITS.tokenNameMax);
    claimUniqueName(this, {
      owner, prop: 'tokenNamePrefix', name: tokenNamePrefix, within: `${workspaceId}\u0000${serviceAccountId}`, withinText: ' for the same service account',
      reason: "deleting one construct revokes every token of the service account under its prefix, the other's included",
    });

    const credential = createManagedCredential(this, {
      owner,
      kind: CredentialKind.SERVICE_ACCOUNT_TOKEN,
      resourceType: RESOURCE_TYPES.serviceAccountToken,
      workspaceId,
      properties: { ServiceAccountId: serviceAccountId },
      namePrefix: tokenNamePrefix,
      secondsToLive,
      grafanaActions: GRAFANA_ACTIONS.serviceAccountToken,
      secretDescription: `Amazon Managed Grafana service-account token for workspace ${workspaceId}, managed by ${this.node.path}`,
      options: props,
    });
    this.secret = credential.secret;
    this.secretArn = credential.secret.secretArn;
    this.tokenName = credential.credentialName;
    this.monitored = { secretName: credential.secretName, secretArn: credential.secret.secretArn };
  }

  /** Allows a principal to read the token from the secret (and decrypt it, with a customer-managed KMS key). */
  grantRead(grantee: iam.IGrantable): iam.Grant {
    return this.secret.grantRead(grantee);
  }

  /**
   * Seconds until the credential in AWSCURRENT expires, as the stack's health
   * check last saw it. Minimum over the health-check interval.
   */
  metricSecondsUntilExpiry(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return credentialMetric(this, this.monitored, METRICS.secondsUntilExpiry, props);
  }

  /**
   * 1 when the credential in AWSCURRENT worked at the health check, 0 when it
   * did not (revoked out of band, lost its role, or unreadable); no data while
   * `verifyRotatedKey` is false. Minimum over the health-check interval.
   */
  metricCredentialWorks(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return credentialMetric(this, this.monitored, METRICS.credentialWorks, props);
  }

  /**
   * 1 when Secrets Manager should have rotated the secret more than a day ago.
   * Maximum over the health-check interval.
   */
  metricRotationOverdue(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return credentialMetric(this, this.monitored, METRICS.rotationOverdue, props);
  }

  /** Failed rotation steps of this credential, of any step and cause. Sum over the health-check interval. */
  metricRotationFailures(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return credentialMetric(this, this.monitored, METRICS.rotationFailures, props);
  }

  /**
   * An EventBridge rule that matches Secrets Manager's RotationFailed events
   * for this credential's secret.
   */
  onRotationFailed(id: string, options?: events.OnEventOptions): events.Rule {
    return onRotationFailed(this, id, this.monitored, options);
  }
}
