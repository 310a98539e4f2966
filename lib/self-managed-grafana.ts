import { Duration, Token } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct, IConstruct } from 'constructs';
import { validateServerUrl } from './private/self-managed';
import { validatePlacement } from './private/validation';

/** A Grafana server this library issues credentials on through its HTTP API: on ECS or EKS, Grafana Enterprise, or a Grafana Cloud stack. */
export interface ISelfManagedGrafana extends IConstruct {
  /** Base URL of the server's HTTP API, normalised (no trailing `/`). */
  readonly url: string;
  /** The secret holding the admin credential: `{"token"}` or `{"user", "password"}`. */
  readonly adminSecret: secretsmanager.ISecret;
  /** Whether plain http is allowed. */
  readonly allowInsecureHttp: boolean;
  /** The VPC the handler runs in to reach the server, if any. */
  readonly vpc?: ec2.IVpc;
  /** The subnets of `vpc` the handler runs in. */
  readonly vpcSubnets?: ec2.SubnetSelection;
  /** The security groups of the handler. */
  readonly securityGroups?: ec2.ISecurityGroup[];
  /** The server's Grafana version, if given. */
  readonly grafanaVersion?: string;
  /** The server's `api_key_max_seconds_to_live`, if given. */
  readonly apiKeyMaxTimeToLive?: Duration;
  /** The server's `token_expiration_day_limit`, if given. */
  readonly tokenExpirationDayLimit?: number;
}

/** Attributes of a Grafana server, for `SelfManagedGrafana.fromAttributes`. */
export interface SelfManagedGrafanaAttributes {
  /**
   * Base URL of the server's HTTP API: `https://host[:port][/path]`, without
   * credentials, query or fragment. Every call of the handler, and the
   * verification of rotated credentials, goes here and nowhere else.
   */
  readonly url: string;

  /**
   * A Secrets Manager secret holding an admin credential of the server, as
   * JSON: `{"token": "..."}` (a service-account token with the Admin role) or
   * `{"user": "...", "password": "..."}` (basic auth). The handler reads it at
   * run time, and only it may: its role gets `secretsmanager:GetSecretValue`
   * on exactly this secret. The credential never appears in the template, a
   * property, a log line or a response. If it is rotated, the next call uses
   * the new value.
   */
  readonly adminSecret: secretsmanager.ISecret;

  /**
   * Allows a plain `http://` URL, for a server inside a private network. A
   * token sent over http can be read by anyone on the path.
   * @default false
   */
  readonly allowInsecureHttp?: boolean;

  /**
   * The VPC the handler runs in, to reach a private server. Credentials of
   * servers with the same placement share one handler function.
   * @default - the handler does not run in a VPC
   */
  readonly vpc?: ec2.IVpc;

  /**
   * The subnets of `vpc` the handler runs in.
   * @default - the VPC's private subnets with egress
   */
  readonly vpcSubnets?: ec2.SubnetSelection;

  /**
   * The handler's security groups in `vpc`.
   * @default - a new security group that allows all outbound traffic
   */
  readonly securityGroups?: ec2.ISecurityGroup[];

  /**
   * The server's Grafana version, e.g. `10.4.2`. When it is 11 or later, a
   * GrafanaApiKey on it fails at synth (Grafana 11 has no API keys);
   * otherwise the handler finds out at deploy time.
   * @default - unknown
   */
  readonly grafanaVersion?: string;

  /**
   * The server's `api_key_max_seconds_to_live` setting, if its admin set
   * one: a GrafanaApiKey asking for longer fails at synth.
   * @default - no limit
   */
  readonly apiKeyMaxTimeToLive?: Duration;

  /**
   * The server's `token_expiration_day_limit` setting, if its admin set one:
   * a service-account token asking for longer fails at synth.
   * @default - no limit
   */
  readonly tokenExpirationDayLimit?: number;
}

class ImportedGrafana extends Construct implements ISelfManagedGrafana {
  readonly url: string;
  readonly adminSecret: secretsmanager.ISecret;
  readonly allowInsecureHttp: boolean;
  readonly vpc?: ec2.IVpc;
  readonly vpcSubnets?: ec2.SubnetSelection;
  readonly securityGroups?: ec2.ISecurityGroup[];
  readonly grafanaVersion?: string;
  readonly apiKeyMaxTimeToLive?: Duration;
  readonly tokenExpirationDayLimit?: number;

  constructor(scope: Construct, id: string, attrs: SelfManagedGrafanaAttributes) {
    super(scope, id);
    const owner = `SelfManagedGrafana ${this.node.path}`;
    this.allowInsecureHttp = attrs.allowInsecureHttp ?? false;
    this.url = validateServerUrl(owner, attrs.url, this.allowInsecureHttp);
    this.adminSecret = attrs.adminSecret;
    this.vpc = attrs.vpc;
    this.vpcSubnets = attrs.vpcSubnets;
    this.securityGroups = attrs.securityGroups;
    validatePlacement(owner, attrs);
    this.grafanaVersion = attrs.grafanaVersion;
    this.apiKeyMaxTimeToLive = attrs.apiKeyMaxTimeToLive;
    const limit = attrs.tokenExpirationDayLimit;
    if (limit !== undefined && !Token.isUnresolved(limit) && !(Number.isInteger(limit) && limit >= 1)) {
      throw new Error(`${owner}: tokenExpirationDayLimit must be a whole number of days of at least 1, as Grafana's token_expiration_day_limit; got ${limit}`);
    }
    this.tokenExpirationDayLimit = limit;
  }
}

/** A Grafana server reached over its HTTP API. */
export class SelfManagedGrafana {
  /** References a Grafana server: its URL, the secret of its admin credential, and where the handler must run to reach it. */
  static fromAttributes(scope: Construct, id: string, attrs: SelfManagedGrafanaAttributes): ISelfManagedGrafana {
    return new ImportedGrafana(scope, id, attrs);
  }

  private constructor() {}
}
