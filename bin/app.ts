#!/usr/bin/env node
/**
 * Example app: a Grafana API key and a service-account token for the workspace
 * given with `-c workspaceId=g-0123456789`. Without it, a placeholder id lets
 * `npx cdk synth` work with no AWS account.
 */
import { App, Duration, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { GrafanaRole, WorkspaceApiKey, WorkspaceServiceAccount } from '../lib';

export const PLACEHOLDER_WORKSPACE_ID = 'g-0123456789';

export interface ExampleOptions {
  /** Role of the dashboards key. @default GrafanaRole.EDITOR */
  readonly keyRole?: GrafanaRole;
}

export function buildExampleStack(app: App, workspaceId: string, options: ExampleOptions = {}): Stack {
  const stack = new Stack(app, 'GrafanaCredentialsExample', {
    description: 'Example: Amazon Managed Grafana credentials kept in Secrets Manager (cdk-grafana-credentials)',
  });
  // An API key (Grafana 8 to 10) for a dashboard publisher.
  const key = new WorkspaceApiKey(stack, 'DashboardsKey', {
    workspaceId,
    keyRole: options.keyRole ?? GrafanaRole.EDITOR,
    timeToLive: Duration.days(30),
  });
  // A service account and its token (Grafana 9 and later) for read-only reporting.
  const reporting = new WorkspaceServiceAccount(stack, 'Reporting', { workspaceId, grafanaRole: GrafanaRole.VIEWER });
  const token = reporting.addToken('ReportingToken', { timeToLive: Duration.days(7) });

  // Consumers get read access to one secret each, nothing more.
  const publisher = new iam.Role(stack, 'DashboardPublisherRole', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') });
  key.grantRead(publisher);
  const reporter = new iam.Role(stack, 'ReporterRole', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') });
  token.grantRead(reporter);
  return stack;
}

if (require.main === module) {
  const app = new App();
  const workspaceId = app.node.tryGetContext('workspaceId') ?? PLACEHOLDER_WORKSPACE_ID;
  buildExampleStack(app, workspaceId);
  app.synth();
}
