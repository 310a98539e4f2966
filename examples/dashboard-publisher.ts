/**
 * Example: an application Lambda that reads the Grafana key from Secrets
 * Manager (granted with grantRead) and pushes a dashboard to the workspace.
 */
import { App, Duration, Stack } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { GrafanaRole, WorkspaceApiKey } from 'cdk-grafana-credentials';

export function buildDashboardPublisherStack(app: App, workspaceId = 'g-0123456789', workspaceUrl = 'https://g-0123456789.grafana-workspace.us-east-1.amazonaws.com'): Stack {
  const stack = new Stack(app, 'DashboardPublisher');
  const key = new WorkspaceApiKey(stack, 'PublisherKey', { workspaceId, keyRole: GrafanaRole.EDITOR });
  const publisher = new lambda.Function(stack, 'Publisher', {
    runtime: lambda.Runtime.NODEJS_24_X,
    handler: 'index.handler',
    timeout: Duration.seconds(30),
    environment: { GRAFANA_SECRET_ARN: key.secretArn, GRAFANA_URL: workspaceUrl },
    code: lambda.Code.fromInline(`
const { SecretsManagerClient, GetSecretValueCommand } = require('@aws-sdk/client-secrets-manager');
const sm = new SecretsManagerClient({});
let cached;
async function key(refresh) {
  if (!cached || refresh) cached = JSON.parse((await sm.send(new GetSecretValueCommand({ SecretId: process.env.GRAFANA_SECRET_ARN }))).SecretString).key;
  return cached;
}
async function push(dashboard, refresh) {
  return fetch(process.env.GRAFANA_URL + '/api/dashboards/db', {
    method: 'POST',
    headers: { authorization: 'Bearer ' + (await key(refresh)), 'content-type': 'application/json' },
    body: JSON.stringify({ dashboard, overwrite: true }),
  });
}
exports.handler = async (event) => {
  let res = await push(event.dashboard, false);
  if (res.status === 401) res = await push(event.dashboard, true); // the key was rotated or reissued: re-read it once
  return { status: res.status };
};`),
  });
  key.grantRead(publisher);
  return stack;
}
