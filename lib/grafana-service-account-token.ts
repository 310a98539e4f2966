import { Names } from 'aws-cdk-lib';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { CredentialBase } from './credential-base';
import type { IGrafanaServiceAccount } from './grafana-service-account';
import { CredentialKind, LIMITS, NAME_SUFFIX_LENGTH, RESOURCE_TYPES } from './private/contract';
import { createManagedCredential } from './private/managed-credential';
import { placementOf, refuseWorkspaceUrl, useServer, validateServerTimeToLive } from './private/self-managed';
import { claimUniqueName, validateNamePrefix } from './private/validation';
import { SelfManagedCredentialOptions } from './self-managed-credential-options';

/** Options of a token on a self-managed Grafana server, for `GrafanaServiceAccount.addToken`. */
export interface GrafanaServiceAccountTokenOptions extends SelfManagedCredentialOptions {
  /**
   * Prefix of the names of the tokens this construct issues: each is the
   * prefix plus `-` and 10 hex digits. 1 to 117 ASCII letters, digits, `-`,
   * `_` and `.`, unique among the token constructs of one service account.
   * Changing it issues a new token.
   * @default - derived from the construct path
   */
  readonly tokenNamePrefix?: string;
}

/** Properties of a GrafanaServiceAccountToken. */
export interface GrafanaServiceAccountTokenProps extends GrafanaServiceAccountTokenOptions {
  /** The service account: a `GrafanaServiceAccount`, or one imported with `fromServiceAccountAttributes`. */
  readonly serviceAccount: IGrafanaServiceAccount;
}

/**
 * A service-account token on a self-managed Grafana server (`POST
 * /api/serviceaccounts/{id}/tokens`), whose value lives only in AWS Secrets
 * Manager: issued on create, reissued when what it is changes, rotated
 * before it expires and verified, and deleted with the stack. Works on
 * Grafana 9 and later, including 11+.
 *
 * The secret's value is JSON: `{"key", "tokenName", "tokenId", "serviceAccountId", "grafanaUrl", "expiresAt"}`.
 */
export class GrafanaServiceAccountToken extends CredentialBase {
  /** The secret that holds the token. Read it with `secret.secretValueFromJson('key')`. */
  readonly secret: secretsmanager.ISecret;
  /** Name of the token issued by the latest deployment (rotation issues later ones). */
  readonly tokenName: string;
  /** ARN of the secret. */
  readonly secretArn: string;
  /** Name of the secret: the `SecretName` dimension of the credential's metrics. */
  readonly secretName: string;

  constructor(scope: Construct, id: string, props: GrafanaServiceAccountTokenProps) {
    super(scope, id);
    const owner = `GrafanaServiceAccountToken ${this.node.path}`;
    const { grafana, serviceAccountId } = props.serviceAccount;
    refuseWorkspaceUrl(owner, props);
    const orgId = props.orgId ?? props.serviceAccount.orgId;
    if (props.orgId !== undefined && props.serviceAccount.orgId !== undefined && props.orgId !== props.serviceAccount.orgId) {
      throw new Error(`${owner}: orgId ${props.orgId} differs from the service account's organization ${props.serviceAccount.orgId}: a token belongs to its account's organization. Remove orgId`);
    }
    const limitDays = grafana.tokenExpirationDayLimit;
    const secondsToLive = validateServerTimeToLive(owner, props, limitDays === undefined ? undefined : limitDays * 86_400,
      'token_expiration_day_limit (tokenExpirationDayLimit)');
    const tokenNamePrefix = props.tokenNamePrefix
      ?? Names.uniqueResourceName(this, { maxLength: LIMITS.tokenNameMax - NAME_SUFFIX_LENGTH, separator: '-' });
    validateNamePrefix(owner, 'tokenNamePrefix', tokenNamePrefix, LIMITS.tokenNameMax);
    claimUniqueName(this, {
      owner, prop: 'tokenNamePrefix', name: tokenNamePrefix, within: `${grafana.url}\u0000${serviceAccountId}`, withinText: ' for the same service account',
      reason: "deleting one construct revokes every token of the service account under its prefix, the other's included",
    });

    const credential = createManagedCredential(this, {
      owner,
      kind: CredentialKind.SERVER_SERVICE_ACCOUNT_TOKEN,
      resourceType: RESOURCE_TYPES.serverServiceAccountToken,
      properties: { ServiceAccountId: serviceAccountId },
      namePrefix: tokenNamePrefix,
      secondsToLive,
      grafanaActions: [],
      secretDescription: `Grafana service-account token for ${grafana.url}, managed by ${this.node.path}`,
      options: props,
      placement: placementOf(grafana),
      prepareHandler: (handler) => useServer(handler, grafana, orgId, owner),
    });
    this.secret = credential.secret;
    this.secretArn = credential.secret.secretArn;
    this.secretName = credential.secretName;
    this.tokenName = credential.credentialName;
  }
}
