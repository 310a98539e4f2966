/**
 * Example: a second account reads the key. The secret is encrypted with a
 * customer-managed KMS key (the default aws/secretsmanager key cannot be shared
 * across accounts); a resource policy on the secret and a grant on the key let
 * one role in the other account read it, nothing more.
 */
import { App, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import { WorkspaceApiKey } from 'cdk-grafana-credentials';

export function buildCrossAccountStack(app: App, readerRoleArn = 'arn:aws:iam::222222222222:role/grafana-reader'): Stack {
  const stack = new Stack(app, 'GrafanaCrossAccount');
  const cmk = new kms.Key(stack, 'SecretKey', { enableKeyRotation: true, description: 'Encrypts the shared Grafana key' });
  const key = new WorkspaceApiKey(stack, 'SharedKey', { workspaceId: 'g-0123456789', encryptionKey: cmk });
  const reader = iam.Role.fromRoleArn(stack, 'Reader', readerRoleArn, { mutable: false });
  key.secret.addToResourcePolicy(new iam.PolicyStatement({
    principals: [new iam.ArnPrincipal(readerRoleArn)],
    actions: ['secretsmanager:GetSecretValue', 'secretsmanager:DescribeSecret'],
    resources: ['*'], // in a secret's resource policy, '*' means this secret
  }));
  cmk.grantDecrypt(new iam.ArnPrincipal(reader.roleArn));
  return stack;
}
