import { CustomResource, Duration } from 'aws-cdk-lib';
import { Construct, IConstruct } from 'constructs';
import { GrafanaRole } from './grafana-role';
import { GrafanaServiceAccountToken, GrafanaServiceAccountTokenOptions } from './grafana-service-account-token';
import { ATTRIBUTES, RESOURCE_TYPES, ResourceKind } from './private/contract';
import { CredentialHandler } from './private/handler-function';
import { placementOf, useServer } from './private/self-managed';
import { claimUniqueName, validateRole, serviceAccountNameFor } from './private/validation';
import { ISelfManagedGrafana } from './self-managed-grafana';

/** A service account on a self-managed Grafana server. */
export interface IGrafanaServiceAccount extends IConstruct {
  /** The server the service account belongs to. */
  readonly grafana: ISelfManagedGrafana;
  /** The service account's id on the server. */
  readonly serviceAccountId: string;
  /** The organization of the service account, if not the admin credential's current one. */
  readonly orgId?: number;
}

/** Attributes of an existing service account, for `GrafanaServiceAccount.fromServiceAccountAttributes`. */
export interface GrafanaServiceAccountAttributes {
  /** The server, from `SelfManagedGrafana.fromAttributes`. */
  readonly grafana: ISelfManagedGrafana;
  /** The service account's numeric id on the server, as a string. */
  readonly serviceAccountId: string;
  /**
   * The service account's organization, sent as `X-Grafana-Org-Id`.
   * @default - the admin credential's current organization
   */
  readonly orgId?: number;
}

/** Properties of a GrafanaServiceAccount. */
export interface GrafanaServiceAccountProps {
  /** The server (Grafana 9 or later), from `SelfManagedGrafana.fromAttributes`. */
  readonly grafana: ISelfManagedGrafana;

  /**
   * Name of the service account, 1 to 128 characters, unique in its
   * organization. Changing the name, the role, the organization or the
   * server replaces the account (and reissues its tokens).
   * @default - derived from the construct path and the role
   */
  readonly serviceAccountName?: string;

  /**
   * The Grafana role of the service account.
   * @default GrafanaRole.VIEWER
   */
  readonly grafanaRole?: GrafanaRole;

  /**
   * The Grafana organization of the account, sent as `X-Grafana-Org-Id`.
   * @default - the admin credential's current organization
   */
  readonly orgId?: number;
}

class ImportedGrafanaServiceAccount extends Construct implements IGrafanaServiceAccount {
  constructor(scope: Construct, id: string, readonly grafana: ISelfManagedGrafana, readonly serviceAccountId: string, readonly orgId?: number) {
    super(scope, id);
  }
}

/**
 * A service account on a self-managed Grafana server (`POST
 * /api/serviceaccounts`), created with the stack and deleted with it
 * (together with its tokens). Use `addToken` to give it tokens kept in
 * Secrets Manager.
 */
export class GrafanaServiceAccount extends Construct implements IGrafanaServiceAccount {
  /** Imports a service account that already exists on the server. */
  static fromServiceAccountAttributes(scope: Construct, id: string, attrs: GrafanaServiceAccountAttributes): IGrafanaServiceAccount {
    return new ImportedGrafanaServiceAccount(scope, id, attrs.grafana, attrs.serviceAccountId, attrs.orgId);
  }

  readonly grafana: ISelfManagedGrafana;
  /** The service account's id, a CloudFormation attribute. */
  readonly serviceAccountId: string;
  /** The service account's name. */
  readonly serviceAccountName: string;
  /** The service account's role. */
  readonly grafanaRole: GrafanaRole;
  readonly orgId?: number;

  constructor(scope: Construct, id: string, props: GrafanaServiceAccountProps) {
    super(scope, id);
    const owner = `GrafanaServiceAccount ${this.node.path}`;
    this.grafana = props.grafana;
    this.orgId = props.orgId;
    this.grafanaRole = props.grafanaRole ?? GrafanaRole.VIEWER;
    validateRole(owner, 'grafanaRole', this.grafanaRole);
    const name = this.serviceAccountName = serviceAccountNameFor(this, owner, this.grafanaRole, props.serviceAccountName);
    claimUniqueName(this, {
      owner, prop: 'serviceAccountName', name, within: `${props.grafana.url}\u0000${props.orgId ?? ''}`, withinText: ` on ${props.grafana.url}`,
      reason: 'service account names are unique per organization, so the second would fail to deploy',
    });

    const handler = CredentialHandler.of(this, placementOf(props.grafana));
    const server = useServer(handler, props.grafana, props.orgId, owner);
    const resource = new CustomResource(this, 'Resource', {
      serviceToken: handler.function.functionArn,
      resourceType: RESOURCE_TYPES.serverServiceAccount,
      serviceTimeout: Duration.minutes(5),
      properties: { Kind: ResourceKind.SERVER_SERVICE_ACCOUNT, ServiceAccountName: name, Role: this.grafanaRole, ...server },
    });
    resource.node.addDependency(handler.function);
    this.serviceAccountId = resource.getAttString(ATTRIBUTES.serviceAccountId);
  }

  /** Adds a token for this service account, kept in Secrets Manager. */
  addToken(id: string, options: GrafanaServiceAccountTokenOptions = {}): GrafanaServiceAccountToken {
    return new GrafanaServiceAccountToken(this, id, { ...options, serviceAccount: this });
  }
}
