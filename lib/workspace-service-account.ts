import { CustomResource, Duration, Resource } from 'aws-cdk-lib';
import { Construct, IConstruct } from 'constructs';
import { GrafanaRole } from './grafana-role';
import { HandlerPlacementOptions } from './handler-placement';
import { ATTRIBUTES, RESOURCE_TYPES, ResourceKind } from './private/contract';
import { CredentialHandler, GRAFANA_ACTIONS } from './private/handler-function';
import { claimUniqueName, validatePlacement, validateRole, serviceAccountNameFor, validateWorkspaceId } from './private/validation';
import { WorkspaceServiceAccountToken, WorkspaceServiceAccountTokenOptions } from './workspace-service-account-token';

/** A Grafana service account in an Amazon Managed Grafana workspace. */
export interface IWorkspaceServiceAccount extends IConstruct {
  /** The workspace the service account belongs to. */
  readonly workspaceId: string;
  /** The service account's id in the workspace. */
  readonly serviceAccountId: string;
}

/** Attributes of an existing service account, for `WorkspaceServiceAccount.fromServiceAccountAttributes`. */
export interface WorkspaceServiceAccountAttributes {
  /** The workspace: `g-` followed by 10 hex digits, or a token. */
  readonly workspaceId: string;
  /** The service account's id in the workspace. */
  readonly serviceAccountId: string;
}

/** Properties of a WorkspaceServiceAccount. */
export interface WorkspaceServiceAccountProps extends HandlerPlacementOptions {
  /**
   * The Amazon Managed Grafana workspace (Grafana 9 or later): `g-` followed
   * by 10 hex digits, or a token such as `CfnWorkspace.attrId`.
   */
  readonly workspaceId: string;

  /**
   * Name of the service account, 1 to 128 characters, unique in the
   * workspace. Spaces, `/` and Unicode are allowed; control characters and
   * whitespace at either end are not. Grafana cannot rename or re-role an
   * account, so changing the name, the role or the workspace replaces it (and
   * reissues its tokens).
   * An explicit name must change along with the role.
   * @default - derived from the construct path and the role
   */
  readonly serviceAccountName?: string;

  /**
   * The Grafana role of the service account.
   * @default GrafanaRole.VIEWER
   */
  readonly grafanaRole?: GrafanaRole;
}

class ImportedServiceAccount extends Resource implements IWorkspaceServiceAccount {
  constructor(scope: Construct, id: string, readonly workspaceId: string, readonly serviceAccountId: string) {
    super(scope, id);
  }
}

/**
 * A Grafana service account in an Amazon Managed Grafana workspace, created
 * with the stack and deleted with it (together with its tokens). Use
 * `addToken` to give it tokens kept in Secrets Manager.
 */
export class WorkspaceServiceAccount extends Resource implements IWorkspaceServiceAccount {
  /** Imports a service account that already exists. */
  static fromServiceAccountAttributes(scope: Construct, id: string, attrs: WorkspaceServiceAccountAttributes): IWorkspaceServiceAccount {
    validateWorkspaceId(`WorkspaceServiceAccount ${scope.node.path}/${id}`, attrs.workspaceId);
    return new ImportedServiceAccount(scope, id, attrs.workspaceId, attrs.serviceAccountId);
  }

  readonly workspaceId: string;
  /** The service account's id, a CloudFormation attribute. */
  readonly serviceAccountId: string;
  /** The service account's name. */
  readonly serviceAccountName: string;
  /** The service account's role. */
  readonly grafanaRole: GrafanaRole;

  constructor(scope: Construct, id: string, props: WorkspaceServiceAccountProps) {
    super(scope, id);
    const owner = `WorkspaceServiceAccount ${this.node.path}`;
    validateWorkspaceId(owner, props.workspaceId);
    this.grafanaRole = props.grafanaRole ?? GrafanaRole.VIEWER;
    validateRole(owner, 'grafanaRole', this.grafanaRole);
    const name = this.serviceAccountName = serviceAccountNameFor(this, owner, this.grafanaRole, props.serviceAccountName);
    claimUniqueName(this, {
      owner, prop: 'serviceAccountName', name, within: props.workspaceId, withinText: ` in workspace ${props.workspaceId}`,
      reason: 'service account names are unique per workspace, so the second would fail to deploy or, with the same role, take over the first one\'s account',
    });

    validatePlacement(owner, props);
    const handler = CredentialHandler.of(this, props);
    handler.grantWorkspace(props.workspaceId, GRAFANA_ACTIONS.serviceAccount, owner);
    const resource = new CustomResource(this, 'Resource', {
      serviceToken: handler.function.functionArn,
      resourceType: RESOURCE_TYPES.serviceAccount,
      serviceTimeout: Duration.minutes(5),
      properties: {
        Kind: ResourceKind.SERVICE_ACCOUNT,
        WorkspaceId: props.workspaceId,
        ServiceAccountName: name,
        Role: this.grafanaRole,
      },
    });
    resource.node.addDependency(handler.function);
    this.workspaceId = props.workspaceId;
    this.serviceAccountId = resource.getAttString(ATTRIBUTES.serviceAccountId);
  }

  /** Adds a token for this service account, kept in Secrets Manager. */
  addToken(id: string, options: WorkspaceServiceAccountTokenOptions = {}): WorkspaceServiceAccountToken {
    return new WorkspaceServiceAccountToken(this, id, { ...options, serviceAccount: this });
  }
}
