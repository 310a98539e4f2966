import { Names, Token } from 'aws-cdk-lib';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { CredentialBase } from './credential-base';
import { GrafanaRole } from './grafana-role';
import { CredentialKind, LIMITS, NAME_SUFFIX_LENGTH, RESOURCE_TYPES } from './private/contract';
import { createManagedCredential } from './private/managed-credential';
import { placementOf, refuseWorkspaceUrl, useServer, validateServerTimeToLive } from './private/self-managed';
import { claimUniqueName, validateNamePrefix, validateRole } from './private/validation';
import { SelfManagedCredentialOptions } from './self-managed-credential-options';
import { ISelfManagedGrafana } from './self-managed-grafana';

/** Properties of a GrafanaApiKey. */
export interface GrafanaApiKeyProps extends SelfManagedCredentialOptions {
  /**
   * The Grafana server, from `SelfManagedGrafana.fromAttributes`. It must
   * run Grafana 8 to 10: Grafana 11 and later have no API keys (use
   * `GrafanaServiceAccount` with `GrafanaServiceAccountToken`).
   */
  readonly grafana: ISelfManagedGrafana;

  /**
   * The Grafana role of the key.
   * @default GrafanaRole.VIEWER
   */
  readonly keyRole?: GrafanaRole;

  /**
   * Prefix of the names of the keys this construct issues: each is the prefix
   * plus `-` and 10 hex digits. 1 to 89 ASCII letters, digits, `-`, `_` and
   * `.`, unique among the GrafanaApiKeys of one server. Changing it issues a
   * new key.
   * @default - derived from the construct path
   */
  readonly keyNamePrefix?: string;
}

/**
 * A legacy Grafana API key (`POST /api/auth/keys`, Grafana 8 to 10) on a
 * self-managed Grafana server, whose token lives only in AWS Secrets Manager:
 * issued on create, reissued when what it is changes, rotated before it
 * expires and verified, and deleted with the stack.
 *
 * The secret's value is JSON: `{"key", "keyName", "keyId", "keyRole", "grafanaUrl", "expiresAt"}`.
 */
export class GrafanaApiKey extends CredentialBase {
  /** The secret that holds the key. Read the token with `secret.secretValueFromJson('key')`. */
  readonly secret: secretsmanager.ISecret;
  /** Name of the key issued by the latest deployment (rotation issues later ones). */
  readonly keyName: string;
  /** ARN of the secret. */
  readonly secretArn: string;
  /** Name of the secret: the `SecretName` dimension of the credential's metrics. */
  readonly secretName: string;

  constructor(scope: Construct, id: string, props: GrafanaApiKeyProps) {
    super(scope, id);
    const owner = `GrafanaApiKey ${this.node.path}`;
    const { grafana } = props;
    refuseWorkspaceUrl(owner, props);
    const version = grafana.grafanaVersion;
    if (version !== undefined && !Token.isUnresolved(version) && Number(version.split('.')[0]) >= 11) {
      throw new Error(`${owner}: ${grafana.node.path} runs Grafana ${version}, and Grafana 11 and later have no API keys, so the deployment would fail. ` +
        'Use a GrafanaServiceAccount and its GrafanaServiceAccountToken (addToken) instead of GrafanaApiKey');
    }
    const keyRole = props.keyRole ?? GrafanaRole.VIEWER;
    validateRole(owner, 'keyRole', keyRole);
    const limit = grafana.apiKeyMaxTimeToLive?.toSeconds();
    const secondsToLive = validateServerTimeToLive(owner, props, limit, 'api_key_max_seconds_to_live (apiKeyMaxTimeToLive)');
    const keyNamePrefix = props.keyNamePrefix
      ?? Names.uniqueResourceName(this, { maxLength: LIMITS.apiKeyNameMax - NAME_SUFFIX_LENGTH, separator: '-' });
    validateNamePrefix(owner, 'keyNamePrefix', keyNamePrefix, LIMITS.apiKeyNameMax);
    claimUniqueName(this, {
      owner, prop: 'keyNamePrefix', name: keyNamePrefix, within: `${grafana.url}\u0000${props.orgId ?? ''}`, withinText: ` on ${grafana.url}`,
      reason: 'API key names are unique per organization, so each GrafanaApiKey of a server needs its own prefix',
    });

    const credential = createManagedCredential(this, {
      owner,
      kind: CredentialKind.SERVER_API_KEY,
      resourceType: RESOURCE_TYPES.serverApiKey,
      properties: { Role: keyRole },
      namePrefix: keyNamePrefix,
      secondsToLive,
      grafanaActions: [],
      secretDescription: `Grafana API key (${keyRole}) for ${grafana.url}, managed by ${this.node.path}`,
      options: props,
      placement: placementOf(grafana),
      prepareHandler: (handler) => useServer(handler, grafana, props.orgId, owner),
    });
    this.secret = credential.secret;
    this.secretArn = credential.secret.secretArn;
    this.secretName = credential.secretName;
    this.keyName = credential.credentialName;
  }
}
