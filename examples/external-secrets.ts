/**
 * Example: the key consumed inside Kubernetes by External Secrets Operator (or
 * grafana-operator reading the synced Secret). An IAM role for the operator's
 * service account (IRSA) gets read access to this one secret; the ExternalSecret
 * manifest is emitted as a stack output to apply with kubectl.
 */
import { App, CfnOutput, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { GrafanaRole, WorkspaceServiceAccount } from 'cdk-grafana-credentials';

export function buildExternalSecretsStack(app: App, oidcProviderArn = 'arn:aws:iam::111111111111:oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/EXAMPLE', oidcIssuer = 'oidc.eks.us-east-1.amazonaws.com/id/EXAMPLE'): Stack {
  const stack = new Stack(app, 'GrafanaExternalSecrets');
  const account = new WorkspaceServiceAccount(stack, 'Operator', { workspaceId: 'g-0123456789', grafanaRole: GrafanaRole.EDITOR });
  const token = account.addToken('OperatorToken');
  const role = new iam.Role(stack, 'ExternalSecretsRole', {
    assumedBy: new iam.FederatedPrincipal(oidcProviderArn, {
      StringEquals: { [`${oidcIssuer}:sub`]: 'system:serviceaccount:external-secrets:external-secrets' },
    }, 'sts:AssumeRoleWithWebIdentity'),
  });
  token.grantRead(role);
  const manifest = {
    apiVersion: 'external-secrets.io/v1',
    kind: 'ExternalSecret',
    metadata: { name: 'grafana-token', namespace: 'grafana' },
    spec: {
      refreshInterval: '1h',
      secretStoreRef: { kind: 'ClusterSecretStore', name: 'aws-secrets-manager' },
      target: { name: 'grafana-token' },
      data: [{ secretKey: 'GRAFANA_TOKEN', remoteRef: { key: token.secretArn, property: 'key' } }],
    },
  };
  new CfnOutput(stack, 'ExternalSecretManifest', { value: stack.toJsonString(manifest) });
  new CfnOutput(stack, 'ExternalSecretsRoleArn', { value: role.roleArn });
  return stack;
}
