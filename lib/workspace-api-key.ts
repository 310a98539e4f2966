import { Duration, Names, RemovalPolicy } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { GrafanaRole } from './grafana-role';
import { CredentialKind, LIMITS, NAME_SUFFIX_LENGTH, RESOURCE_TYPES } from './private/contract';
import { GRAFANA_ACTIONS } from './private/handler-function';
import { createManagedCredential } from './private/managed-credential';
import { validateNamePrefix, validateRole, validateTimeToLive, validateWorkspaceId } from './private/validation';

/** Properties of a WorkspaceApiKey. */
export interface WorkspaceApiKeyProps {
  /**
   * The Amazon Managed Grafana workspace: `g-` followed by 10 hex digits, or a
   * token such as `CfnWorkspace.attrId`. The workspace must run Grafana 8 to 10;
   * for Grafana 11 and later use `WorkspaceServiceAccountToken`.
   */
  readonly workspaceId: string;

  /**
   * The Grafana role of the key.
   * @default GrafanaRole.VIEWER
   */
  readonly keyRole?: GrafanaRole;

  /**
   * How long each issued key lives: whole seconds, from 1 second to 30 days.
   * Changing it issues a new key.
   * @default Duration.days(30)
   */
  readonly timeToLive?: Duration;

  /**
   * Prefix of the names of the keys this construct issues. Each key is named
   * the prefix plus `-` and 10 hex digits, so a reissued key never collides with
   * the key it replaces. At most 89 characters. Changing it issues a new key.
   * @default - derived from the construct path
   */
  readonly keyNamePrefix?: string;

  /**
   * Name of the secret that holds the key.
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
   * What happens to the secret when it leaves the stack. The keys it held are
   * deleted from the workspace either way.
   * @default RemovalPolicy.DESTROY
   */
  readonly removalPolicy?: RemovalPolicy;

  /**
   * Base URL of the workspace's Grafana HTTP API, used to verify rotated keys
   * (for private endpoints or custom domains).
   * @default - `https://` plus the endpoint that DescribeWorkspace returns
   */
  readonly workspaceUrl?: string;

  /**
   * Whether Secrets Manager replaces the key before it expires.
   * @default true
   */
  readonly rotate?: boolean;

  /**
   * How long after issue a key is replaced by rotation: at least 4 hours, and
   * shorter than `timeToLive`; whole hours under a day, else whole days. The
   * outgoing key stays valid, as AWSPREVIOUS, until it expires.
   * @default - five sixths of timeToLive (25 days for 30 days), so the old and new keys overlap for a sixth of the lifetime
   */
  readonly rotateAfter?: Duration;

  /**
   * Whether rotation checks the new key against the workspace's `/api/org`
   * before promoting it. Turn it off when the function cannot reach the workspace.
   * @default true
   */
  readonly verifyRotatedKey?: boolean;
}

/**
 * An Amazon Managed Grafana workspace API key whose token lives only in AWS
 * Secrets Manager. The key is issued on create, reissued when what it is
 * changes, rotated before it expires, and deleted with the stack.
 *
 * The secret's value is JSON: `{"key", "keyName", "keyRole", "workspaceId", "expiresAt"}`.
 */
export class WorkspaceApiKey extends Construct {
  /** The secret that holds the key. Read the token with `secret.secretValueFromJson('key')`. */
  readonly secret: secretsmanager.ISecret;
  /** Name of the key issued by the latest deployment (rotation issues later ones). */
  readonly keyName: string;
  /** ARN of the secret. */
  readonly secretArn: string;

  constructor(scope: Construct, id: string, props: WorkspaceApiKeyProps) {
    super(scope, id);
    const owner = `WorkspaceApiKey ${this.node.path}`;
    validateWorkspaceId(owner, props.workspaceId);
    const keyRole = props.keyRole ?? GrafanaRole.VIEWER;
    validateRole(owner, 'keyRole', keyRole);
    const secondsToLive = validateTimeToLive(owner, props.timeToLive ?? Duration.days(30));
    const keyNamePrefix = props.keyNamePrefix
      ?? Names.uniqueResourceName(this, { maxLength: LIMITS.apiKeyNameMax - NAME_SUFFIX_LENGTH, separator: '-' });
    validateNamePrefix(owner, 'keyNamePrefix', keyNamePrefix, LIMITS.apiKeyNameMax);

    const credential = createManagedCredential(this, {
      owner,
      kind: CredentialKind.API_KEY,
      resourceType: RESOURCE_TYPES.apiKey,
      workspaceId: props.workspaceId,
      properties: { Role: keyRole },
      namePrefix: keyNamePrefix,
      secondsToLive,
      grafanaActions: GRAFANA_ACTIONS.apiKey,
      secretDescription: `Amazon Managed Grafana API key (${keyRole}) for workspace ${props.workspaceId}, managed by ${this.node.path}`,
      secretName: props.secretName,
      encryptionKey: props.encryptionKey,
      removalPolicy: props.removalPolicy,
      workspaceUrl: props.workspaceUrl,
      rotate: props.rotate ?? true,
      rotateAfter: props.rotateAfter,
      verifyRotatedKey: props.verifyRotatedKey ?? true,
    });
    this.secret = credential.secret;
    this.secretArn = credential.secret.secretArn;
    this.keyName = credential.credentialName;
  }

  /** Allows a principal to read the key from the secret (and decrypt it, with a customer-managed KMS key). */
  grantRead(grantee: iam.IGrantable): iam.Grant {
    return this.secret.grantRead(grantee);
  }
}
