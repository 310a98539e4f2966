#!/usr/bin/env node
/**
 * Example app: one Grafana API key for the workspace given with
 * `-c workspaceId=g-0123456789`. Without it, a placeholder id lets
 * `npx cdk synth` work with no AWS account.
 */
import { App, Duration, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { GrafanaRole, WorkspaceApiKey } from '../lib';

export const PLACEHOLDER_WORKSPACE_ID = 'g-0123456789';

export function buildExampleStack(app: App, workspaceId: string): Stack {
  const stack = new Stack(app, 'GrafanaCredentialsExample', {
    description: 'Example: an Amazon Managed Grafana API key kept in Secrets Manager (cdk-grafana-credentials)',
  });
  const key = new WorkspaceApiKey(stack, 'DashboardsKey', {
    workspaceId,
    keyRole: GrafanaRole.EDITOR,
    timeToLive: Duration.days(30),
  });
  // A consumer: any principal that needs the key gets read access to the secret, nothing more.
  const consumer = new iam.Role(stack, 'DashboardPublisherRole', {
    assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
  });
  key.grantRead(consumer);
  return stack;
}

if (require.main === module) {
  const app = new App();
  const workspaceId = app.node.tryGetContext('workspaceId') ?? PLACEHOLDER_WORKSPACE_ID;
  buildExampleStack(app, workspaceId);
  app.synth();
}
