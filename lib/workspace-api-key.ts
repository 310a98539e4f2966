import { Duration, Names } from 'aws-cdk-lib';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { CredentialOptions } from './credential-options';
import { HandlerPlacementOptions } from './handler-placement';
import { CredentialBase } from './credential-base';
import { GrafanaRole } from './grafana-role';
import { CredentialKind, LIMITS, NAME_SUFFIX_LENGTH, RESOURCE_TYPES } from './private/contract';
import { GRAFANA_ACTIONS } from './private/handler-function';
import { createManagedCredential } from './private/managed-credential';
import {
  claimUniqueName, refuseApiKeyOnGrafana11, validateNamePrefix, validatePlacement, validateRole, validateTimeToLive, validateWorkspaceId,
} from './private/validation';

/** Properties of a WorkspaceApiKey. */
export interface WorkspaceApiKeyProps extends CredentialOptions, HandlerPlacementOptions {
  /**
   * The Amazon Managed Grafana workspace: `g-` followed by 10 hex digits, or a
   * token such as `CfnWorkspace.attrId`. The workspace must run Grafana 8 to 10;
   * for Grafana 11 and later use `WorkspaceServiceAccountToken`. A reference to
   * a `CfnWorkspace` of the same app whose `grafanaVersion` is 11 or later
   * fails at synth.
   */
  readonly workspaceId: string;

  /**
   * The Grafana role of the key.
   * @default GrafanaRole.VIEWER
   */
  readonly keyRole?: GrafanaRole;

  /**
   * Prefix of the names of the keys this construct issues. Each key is named
   * the prefix plus `-` and 10 hex digits, so a reissued key never collides with
   * the key it replaces. 1 to 89 ASCII letters, digits, `-`, `_` and `.`, and
   * unique among the WorkspaceApiKeys of one workspace. Changing it issues a
   * new key.
   * @default - derived from the construct path
   */
  readonly keyNamePrefix?: string;
}

/**
 * An Amazon Managed Grafana workspace API key whose token lives only in AWS
 * Secrets Manager. The key is issued on create, reissued when what it is
 * changes, rotated before it expires, and deleted with the stack.
 *
 * The secret's value is JSON: `{"key", "keyName", "keyRole", "workspaceId", "expiresAt"}`.
 */
export class WorkspaceApiKey extends CredentialBase {
  /** The secret that holds the key. Read the token with `secret.secretValueFromJson('key')`. */
  readonly secret: secretsmanager.ISecret;
  /** Name of the key issued by the latest deployment (rotation issues later ones). */
  readonly keyName: string;
  /** ARN of the secret. */
  readonly secretArn: string;

  /** Name of the secret: the `SecretName` dimension of the credential's metrics. */
  readonly secretName: string;

  constructor(scope: Construct, id: string, props: WorkspaceApiKeyProps) {
    super(scope, id);
    const owner = `WorkspaceApiKey ${this.node.path}`;
    validateWorkspaceId(owner, props.workspaceId);
    validatePlacement(owner, props);
    refuseApiKeyOnGrafana11(this, owner, props.workspaceId);
    const keyRole = props.keyRole ?? GrafanaRole.VIEWER;
    validateRole(owner, 'keyRole', keyRole);
    const secondsToLive = validateTimeToLive(owner, props.timeToLive ?? Duration.days(30));
    const keyNamePrefix = props.keyNamePrefix
      ?? Names.uniqueResourceName(this, { maxLength: LIMITS.apiKeyNameMax - NAME_SUFFIX_LENGTH, separator: '-' });
    validateNamePrefix(owner, 'keyNamePrefix', keyNamePrefix, LIMITS.apiKeyNameMax);
    claimUniqueName(this, {
      owner, prop: 'keyNamePrefix', name: keyNamePrefix, within: props.workspaceId, withinText: ` in workspace ${props.workspaceId}`,
      reason: 'API key names are unique per workspace, so each WorkspaceApiKey of a workspace needs its own prefix',
    });

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
      options: props,
      placement: props,
    });
    this.secret = credential.secret;
    this.secretArn = credential.secret.secretArn;
    this.keyName = credential.credentialName;
    this.secretName = credential.secretName;
  }
}
