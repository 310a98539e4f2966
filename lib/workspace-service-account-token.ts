import { Duration, Names } from 'aws-cdk-lib';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { CredentialOptions } from './credential-options';
import { HandlerPlacementOptions } from './handler-placement';
import { CredentialBase } from './credential-base';
import { CredentialKind, LIMITS, NAME_SUFFIX_LENGTH, RESOURCE_TYPES } from './private/contract';
import { GRAFANA_ACTIONS } from './private/handler-function';
import { createManagedCredential } from './private/managed-credential';
import { claimUniqueName, validateNamePrefix, validateTimeToLive, validatePlacement, validateWorkspaceId } from './private/validation';
import type { IWorkspaceServiceAccount } from './workspace-service-account';

/** Options of a service-account token, for `WorkspaceServiceAccount.addToken`. */
export interface WorkspaceServiceAccountTokenOptions extends CredentialOptions, HandlerPlacementOptions {
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
export class WorkspaceServiceAccountToken extends CredentialBase {
  /** The secret that holds the token. Read it with `secret.secretValueFromJson('key')`. */
  readonly secret: secretsmanager.ISecret;
  /** Name of the token issued by the latest deployment (rotation issues later ones). */
  readonly tokenName: string;
  /** ARN of the secret. */
  readonly secretArn: string;

  /** Name of the secret: the `SecretName` dimension of the credential's metrics. */
  readonly secretName: string;

  constructor(scope: Construct, id: string, props: WorkspaceServiceAccountTokenProps) {
    super(scope, id);
    const owner = `WorkspaceServiceAccountToken ${this.node.path}`;
    const { workspaceId, serviceAccountId } = props.serviceAccount;
    validateWorkspaceId(owner, workspaceId);
    validatePlacement(owner, props);
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
      placement: props,
    });
    this.secret = credential.secret;
    this.secretArn = credential.secret.secretArn;
    this.tokenName = credential.credentialName;
    this.secretName = credential.secretName;
  }
}
