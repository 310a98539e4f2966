/**
 * Example: a REST API whose partner key lives only in Secrets Manager and is
 * rotated every 30 days with an overlap. The key belongs to the API's usage
 * plan (the handler adds every new key to it), rotation checks each new key
 * against the API's /health method before promoting it, and a consumer
 * function reads the current key from the secret at run time.
 */
import { App, Duration, Stack } from 'aws-cdk-lib';
import * as apigateway from 'aws-cdk-lib/aws-apigateway';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { RotatingApiKey } from 'cdk-grafana-credentials';

export function buildApiGatewayKeyStack(app: App): Stack {
  const stack = new Stack(app, 'PartnerApi');

  const api = new apigateway.RestApi(stack, 'Api', { deployOptions: { stageName: 'prod' } });
  const health = api.root.addResource('health');
  health.addMethod('GET', new apigateway.MockIntegration({
    requestTemplates: { 'application/json': '{"statusCode": 200}' },
    integrationResponses: [{ statusCode: '200' }],
  }), { apiKeyRequired: true, methodResponses: [{ statusCode: '200' }] });

  const plan = api.addUsagePlan('Partners', {
    throttle: { rateLimit: 50, burstLimit: 100 },
    apiStages: [{ api, stage: api.deploymentStage }],
  });

  // Not plan.addApiKey(): the key id changes at every rotation, so the handler adds each key to the plan.
  const key = new RotatingApiKey(stack, 'PartnerKey', {
    usagePlans: [plan],
    apiKeyNamePrefix: 'partner',
    description: 'Key of the partner integration',
    verifyUrl: api.urlForPath('/health'),
    rotateAfter: Duration.days(30),
  });

  // The consumer reads the current key at run time; a rotation never needs a redeploy.
  const consumer = new lambda.Function(stack, 'Consumer', {
    runtime: lambda.Runtime.NODEJS_22_X,
    handler: 'index.handler',
    environment: { API_KEY_SECRET_ARN: key.secretArn, API_URL: api.urlForPath('/health') },
    code: lambda.Code.fromInline([
      "const { SecretsManagerClient, GetSecretValueCommand } = require('@aws-sdk/client-secrets-manager');",
      'const sm = new SecretsManagerClient({});',
      'exports.handler = async () => {',
      '  const out = await sm.send(new GetSecretValueCommand({ SecretId: process.env.API_KEY_SECRET_ARN }));',
      '  const { key } = JSON.parse(out.SecretString);',
      "  const res = await fetch(process.env.API_URL, { headers: { 'x-api-key': key } });",
      '  return { status: res.status };',
      '};',
    ].join('\n')),
  });
  key.grantRead(consumer);
  return stack;
}
