import * as ec2 from 'aws-cdk-lib/aws-ec2';

/**
 * Where the handler function runs in the network. Credentials with the same
 * placement share one handler function per stack; each distinct placement
 * gets its own. A credential's placement is fixed when it is created: a
 * deployed custom resource cannot move to another function, so changing it
 * fails the update. To move a credential, give the construct a new id (a new
 * credential is issued and the old one revoked).
 */
export interface HandlerPlacementOptions {
  /**
   * The VPC the handler runs in, to reach a private Grafana (a self-managed
   * server, or an Amazon Managed Grafana workspace behind a VPC endpoint).
   * The subnets need a route to Secrets Manager (and, for Amazon Managed
   * Grafana, to its control plane): a NAT gateway or VPC endpoints.
   * @default - not in a VPC
   */
  readonly vpc?: ec2.IVpc;

  /**
   * The subnets of `vpc` the handler runs in.
   * @default - the VPC's private subnets with egress
   */
  readonly vpcSubnets?: ec2.SubnetSelection;

  /**
   * The security groups of the handler; they must allow it to reach Grafana
   * and Secrets Manager.
   * @default - a new security group that allows all outbound traffic
   */
  readonly securityGroups?: ec2.ISecurityGroup[];
}
