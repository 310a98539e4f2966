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
   *
   * 1 to 512 ASCII letters, digits and `/_+=.@-`, used by no other construct
   * of the app in the same account and region. A name ending in `-` and 6 characters synthesizes
   * with a warning: Secrets Manager can take that ending for an ARN's random
   * suffix when the secret is looked up by partial ARN.
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
   *
   * An absolute `https://` URL with a host and optionally a port and a path,
   * without user name, password, query or fragment. Rotation sends a new
   * credential only here or to the workspace's own endpoint, never to a URL
   * taken from the secret's tags or value. Changing it issues a new credential.
   * @default - `https://` plus the endpoint that DescribeWorkspace returns
   */
  readonly workspaceUrl?: string;

  /**
   * Whether Secrets Manager replaces the credential before it expires. With
   * `false` nothing renews it: it stops working when `timeToLive` runs out,
   * unless a deployment reissues it first.
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
   * reach the workspace. Changing it issues a new credential.
   * @default true
   */
  readonly verifyRotatedKey?: boolean;

  /**
   * How long the handler's log group keeps its logs. The stack's credentials
   * share one handler and one log group, deleted with the stack; it keeps logs
   * for the longest retention any of them asks for (a credential asking for
   * less gets a synth warning). Changing it changes only the log group.
   * @default logs.RetentionDays.ONE_MONTH
   */
  readonly logRetention?: logs.RetentionDays;
}
