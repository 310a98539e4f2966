/**
 * Integration test for maintainers with an AWS account (see CONTRIBUTING.md):
 * deploys an API key and a service-account token into an Amazon Managed
 * Grafana workspace and checks, with a probe function that never returns a
 * key, that both secrets hold working credentials, also after a forced rotation.
 *
 *   -c workspaceId=g-…   use an existing workspace (Grafana 10) instead of creating one
 */
import { App, Duration, Stack } from 'aws-cdk-lib';
import * as grafana from 'aws-cdk-lib/aws-grafana';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { ExpectedResult, IntegTest } from '@aws-cdk/integ-tests-alpha';
import { GrafanaRole, WorkspaceApiKey, WorkspaceServiceAccount } from '../lib';

const app = new App();
const stack = new Stack(app, 'GrafanaCredentialsInteg');

let workspaceId: string = app.node.tryGetContext('workspaceId');
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

// Reads a secret, calls GET /api/org with its key, and returns only the HTTP status and whether the secret has rotated.
const probe = new lambda.Function(stack, 'Probe', {
  runtime: lambda.Runtime.NODEJS_24_X,
  handler: 'index.handler',
  timeout: Duration.seconds(30),
  code: lambda.Code.fromInline(`
const { SecretsManagerClient, GetSecretValueCommand, DescribeSecretCommand } = require('@aws-sdk/client-secrets-manager');
const { GrafanaClient, DescribeWorkspaceCommand } = require('@aws-sdk/client-grafana');
const https = require('https');
exports.handler = async (event) => {
  const sm = new SecretsManagerClient({});
  const secret = JSON.parse((await sm.send(new GetSecretValueCommand({ SecretId: event.secretArn }))).SecretString);
  const ws = await new GrafanaClient({}).send(new DescribeWorkspaceCommand({ workspaceId: secret.workspaceId }));
  const status = await new Promise((resolve, reject) => https.get('https://' + ws.workspace.endpoint + '/api/org',
    { headers: { authorization: 'Bearer ' + secret.key } }, (res) => { res.resume(); resolve(res.statusCode); }).on('error', reject));
  const stages = (await sm.send(new DescribeSecretCommand({ SecretId: event.secretArn }))).VersionIdsToStages || {};
  const rotated = Object.values(stages).some((s) => s.includes('AWSPREVIOUS'));
  return { status, rotated };
};`),
});
apiKey.grantRead(probe);
token.grantRead(probe);
probe.addToRolePolicy(new iam.PolicyStatement({ actions: ['grafana:DescribeWorkspace'], resources: ['*'] }));

const integ = new IntegTest(app, 'GrafanaCredentials', { testCases: [stack] });

for (const [name, secretArn] of [['api key', apiKey.secretArn], ['token', token.secretArn]] as const) {
  const first = integ.assertions.invokeFunction({ functionName: probe.functionName, payload: JSON.stringify({ secretArn }) });
  first.expect(ExpectedResult.objectLike({ Payload: JSON.stringify({ status: 200, rotated: false }) }));

  // A forced rotation yields a new working credential.
  const rotate = integ.assertions.awsApiCall('SecretsManager', 'rotateSecret', { SecretId: secretArn });
  const after = integ.assertions.invokeFunction({ functionName: probe.functionName, payload: JSON.stringify({ secretArn }) });
  after.expect(ExpectedResult.objectLike({ Payload: JSON.stringify({ status: 200, rotated: true }) }))
    .waitForAssertions({ totalTimeout: Duration.minutes(5), interval: Duration.seconds(15) });
  first.next(rotate).next(after);
  void name;
}
