/** Each example in examples/ synthesizes, and does what it claims. */
import { App } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { buildApiGatewayKeyStack } from '../../examples/api-gateway-key';
import { buildCrossAccountStack } from '../../examples/cross-account';
import { buildDashboardPublisherStack } from '../../examples/dashboard-publisher';
import { buildExternalSecretsStack } from '../../examples/external-secrets';

test('dashboard publisher: the function can read exactly its key', () => {
  const t = Template.fromStack(buildDashboardPublisherStack(new App()));
  t.hasResourceProperties('AWS::IAM::Policy', {
    PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Action: ['secretsmanager:GetSecretValue', 'secretsmanager:DescribeSecret'], Resource: { Ref: Match.stringLikeRegexp('^PublisherKeySecret') } })]) },
  });
  t.hasResourceProperties('AWS::Lambda::Function', { Environment: { Variables: Match.objectLike({ GRAFANA_SECRET_ARN: { Ref: Match.stringLikeRegexp('^PublisherKeySecret') } }) } });
});

test('External Secrets: an IRSA role reads the token; the manifest points at the secret\'s key field', () => {
  const stack = buildExternalSecretsStack(new App());
  const t = Template.fromStack(stack);
  t.hasResourceProperties('AWS::IAM::Role', { AssumeRolePolicyDocument: { Statement: [Match.objectLike({ Action: 'sts:AssumeRoleWithWebIdentity' })] } });
  expect(JSON.stringify(t.toJSON().Outputs.ExternalSecretManifest)).toContain('\\"property\\":\\"key\\"');
});

test('cross account: resource policy for the other account\'s role and a customer-managed key it can decrypt with', () => {
  const t = Template.fromStack(buildCrossAccountStack(new App()));
  t.hasResourceProperties('AWS::SecretsManager::ResourcePolicy', {
    ResourcePolicy: { Statement: [Match.objectLike({ Principal: { AWS: 'arn:aws:iam::222222222222:role/grafana-reader' } })] },
  });
  t.hasResourceProperties('AWS::SecretsManager::Secret', { KmsKeyId: Match.anyValue() });
  expect(JSON.stringify(t.findResources('AWS::KMS::Key'))).toContain('arn:aws:iam::222222222222:role/grafana-reader');
});

// issue #17
test('API Gateway key: the handler adds the key to the plan (no ApiKey or UsagePlanKey), verifies at the API, and the consumer reads exactly the secret', () => {
  const t = Template.fromStack(buildApiGatewayKeyStack(new App()));
  t.resourceCountIs('AWS::ApiGateway::ApiKey', 0);
  t.resourceCountIs('AWS::ApiGateway::UsagePlanKey', 0);
  t.hasResourceProperties('Custom::ApiGatewayRotatingApiKey', {
    UsagePlanIds: { Ref: Match.stringLikeRegexp('^ApiPartners') },
    VerifyUrl: { 'Fn::Join': ['', Match.arrayWith([{ Ref: Match.stringLikeRegexp('^Api') }])] },
  });
  t.hasResourceProperties('AWS::IAM::Policy', {
    PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Action: ['secretsmanager:GetSecretValue', 'secretsmanager:DescribeSecret'], Resource: { Ref: Match.stringLikeRegexp('^PartnerKeySecret') } })]) },
    Roles: [{ Ref: Match.stringLikeRegexp('^ConsumerServiceRole') }],
  });
  t.hasResourceProperties('AWS::Lambda::Function', { Environment: { Variables: Match.objectLike({ API_KEY_SECRET_ARN: { Ref: Match.stringLikeRegexp('^PartnerKeySecret') } }) } });
  t.hasResourceProperties('AWS::SecretsManager::RotationSchedule', { RotationRules: { ScheduleExpression: 'rate(30 days)' } });
});
