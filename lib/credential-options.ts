import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';

/** Options every credential construct shares: its lifetime, its secret and its rotation. */
export interface CredentialOptions {
  /**
   * How long each issued credential lives: whole seconds, from 1 second to
   * 30 days. Changing it issues a new credential.
   * @default Duration.days(30)
   */
  readonly timeToLive?: Duration;

  /**
   * Name of the secret that holds the credential.
   * @default - `grafana-credentials/<stack>/<construct path>`; the handler's IAM
   * policy covers all such names with one statement
   */
  readonly secretName?: string;

  /**
   * KMS key that encrypts the secret.
   * @default - the account's `aws/secretsmanager` key
   */
  readonly encryptionKey?: kms.IKey;

  /**
   * What happens to the secret when it leaves the stack. The credentials it
   * held are revoked in the workspace either way.
   * @default RemovalPolicy.DESTROY
   */
  readonly removalPolicy?: RemovalPolicy;

  /**
   * Base URL of the workspace's Grafana HTTP API, used to verify rotated
   * credentials (for private endpoints or custom domains).
   * @default - `https://` plus the endpoint that DescribeWorkspace returns
   */
  readonly workspaceUrl?: string;

  /**
   * Whether Secrets Manager replaces the credential before it expires.
   * @default true
   */
  readonly rotate?: boolean;

  /**
   * How long after issue a credential is replaced by rotation: at least 4
   * hours and shorter than `timeToLive`; whole hours under a day, else whole
   * days. The outgoing credential stays valid, as AWSPREVIOUS, until the next
   * rotation.
   * @default - five sixths of timeToLive, rounded down (25 days for 30 days, 20 hours for 1 day), so old and new overlap for about a sixth of the lifetime
   */
  readonly rotateAfter?: Duration;

  /**
   * Whether rotation checks the new credential against the workspace's
   * `GET /api/org` before promoting it. Turn it off when the function cannot
   * reach the workspace.
   * @default true
   */
  readonly verifyRotatedKey?: boolean;

  /**
   * How long the log group of the function that serves this credential keeps
   * its logs. The log group is deleted with the stack. Credentials of one stack
   * with different retentions are served by different functions, one per
   * retention. CloudFormation cannot move a deployed credential to another
   * function (a custom resource's ServiceToken cannot change), so choose the
   * retention when the credential is created: changing it later fails the
   * stack update, which rolls back without harm.
   * @default logs.RetentionDays.ONE_MONTH
   */
  readonly logRetention?: logs.RetentionDays;
}
