/**
 * Integration test for maintainers with an AWS account (see CONTRIBUTING.md):
 * deploys an API key and a service-account token into an Amazon Managed
 * Grafana workspace and checks, with a probe function that never returns a
 * key, that both secrets hold working credentials, also after a forced rotation.
 *
 *   -c workspaceId=g-…              use an existing workspace (Grafana 9 or 10) instead of creating one
 *   GRAFANA_WORKSPACE_ID=g-… (env)   the same, for integ-runner, which passes no context
 */
import { App, Duration, Stack } from 'aws-cdk-lib';
import * as grafana from 'aws-cdk-lib/aws-grafana';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { ExpectedResult, IntegTest, Match } from '@aws-cdk/integ-tests-alpha';
import { GrafanaRole, WorkspaceApiKey, WorkspaceServiceAccount } from '../lib';

const app = new App();
const stack = new Stack(app, 'GrafanaCredentialsInteg');

let workspaceId: string | undefined = app.node.tryGetContext('workspaceId') ?? process.env.GRAFANA_WORKSPACE_ID;
if (!workspaceId) {
  const role = new iam.Role(stack, 'WorkspaceRole', { assumedBy: new iam.ServicePrincipal('grafana.amazonaws.com') });
  const workspace = new grafana.CfnWorkspace(stack, 'Workspace', {
    accountAccessType: 'CURRENT_ACCOUNT',
    authenticationProviders: ['AWS_SSO'],
    permissionType: 'SERVICE_MANAGED',
    roleArn: role.roleArn,
    grafanaVersion: '10.4',
    name: 'grafana-credentials-integ',
  });
  workspaceId = workspace.attrId;
}

const apiKey = new WorkspaceApiKey(stack, 'ApiKey', { workspaceId, keyRole: GrafanaRole.VIEWER, timeToLive: Duration.days(1) });
const account = new WorkspaceServiceAccount(stack, 'Account', { workspaceId, grafanaRole: GrafanaRole.VIEWER });
const token = account.addToken('Token', { timeToLive: Duration.days(1) });

// Reads a secret, calls GET /api/org with its key, and returns only the HTTP status: never the key.
const probe = new lambda.Function(stack, 'Probe', {
  runtime: lambda.Runtime.NODEJS_24_X,
  handler: 'index.handler',
  timeout: Duration.seconds(30),
  code: lambda.Code.fromInline(`
const { SecretsManagerClient, GetSecretValueCommand } = require('@aws-sdk/client-secrets-manager');
const { GrafanaClient, DescribeWorkspaceCommand } = require('@aws-sdk/client-grafana');
const https = require('https');
exports.handler = async (event) => {
  const sm = new SecretsManagerClient({});
  const secret = JSON.parse((await sm.send(new GetSecretValueCommand({ SecretId: event.secretArn }))).SecretString);
  const ws = await new GrafanaClient({}).send(new DescribeWorkspaceCommand({ workspaceId: secret.workspaceId }));
  const status = await new Promise((resolve, reject) => https.get('https://' + ws.workspace.endpoint + '/api/org',
    { headers: { authorization: 'Bearer ' + secret.key } }, (res) => { res.resume(); resolve(res.statusCode); }).on('error', reject));
  return { status };
};`),
});
apiKey.grantRead(probe);
token.grantRead(probe);
probe.addToRolePolicy(new iam.PolicyStatement({ actions: ['grafana:DescribeWorkspace'], resources: ['*'] }));

const integ = new IntegTest(app, 'GrafanaCredentials', { testCases: [stack] });

for (const secretArn of [apiKey.secretArn, token.secretArn]) {
  // The credential the deployment issued works.
  const first = integ.assertions.invokeFunction({ functionName: probe.functionName, payload: JSON.stringify({ secretArn }) });
  first.expect(ExpectedResult.objectLike({ Payload: Match.serializedJson({ status: 200 }) }));

  // A forced rotation: RotateSecret answers with the id of the new version (a fresh one, so
  // unlike the version the deployment wrote); once rotation finishes that id holds AWSCURRENT.
  const rotate = integ.assertions.awsApiCall('SecretsManager', 'rotateSecret', { SecretId: secretArn });
  const versions = integ.assertions.awsApiCall('SecretsManager', 'listSecretVersionIds', { SecretId: secretArn });
  versions.expect(ExpectedResult.objectLike({
    Versions: Match.arrayWith([Match.objectLike({ VersionId: rotate.getAttString('VersionId'), VersionStages: Match.arrayWith(['AWSCURRENT']) })]),
  })).waitForAssertions({ totalTimeout: Duration.minutes(5), interval: Duration.seconds(15) });

  // And the new AWSCURRENT credential works.
  const after = integ.assertions.invokeFunction({ functionName: probe.functionName, payload: JSON.stringify({ secretArn }) });
  after.expect(ExpectedResult.objectLike({ Payload: Match.serializedJson({ status: 200 }) }));
  first.next(rotate).next(versions).next(after);
}
