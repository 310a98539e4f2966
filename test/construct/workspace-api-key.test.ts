import { App, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as grafana from 'aws-cdk-lib/aws-grafana';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import { GrafanaRole, WorkspaceApiKey } from '../../lib';

const WS = 'g-0123456789';

function stackWith(build: (stack: Stack) => void): { stack: Stack; template: Template } {
  const app = new App();
  const stack = new Stack(app, 'TestStack', { env: { account: '111111111111', region: 'eu-west-1' } });
  build(stack);
  return { stack, template: Template.fromStack(stack) };
}

describe('WorkspaceApiKey resources', () => {
  test('one key is a secret, a custom resource and a rotation schedule; the handler is shared', () => {
    const { template } = stackWith((stack) => {
      new WorkspaceApiKey(stack, 'A', { workspaceId: WS });
      new WorkspaceApiKey(stack, 'B', { workspaceId: WS });
    });
    template.resourceCountIs('AWS::SecretsManager::Secret', 2);
    template.resourceCountIs('Custom::GrafanaWorkspaceApiKey', 2);
    template.resourceCountIs('AWS::SecretsManager::RotationSchedule', 2);
    template.resourceCountIs('AWS::Lambda::Function', 1);
    // One for Secrets Manager's rotation, one for the stack's health-check schedule.
    template.resourcePropertiesCountIs('AWS::Lambda::Permission', { Principal: 'secretsmanager.amazonaws.com' }, 1);
    template.resourcePropertiesCountIs('AWS::Lambda::Permission', { Principal: 'events.amazonaws.com' }, 1);
    template.resourceCountIs('AWS::Events::Rule', 1);
    template.resourceCountIs('AWS::SecretsManager::ResourcePolicy', 0);
  });

  test('defaults: VIEWER, 30 days, rotation after 25 days, empty secret', () => {
    const { template } = stackWith((stack) => new WorkspaceApiKey(stack, 'Key', { workspaceId: WS }));
    template.hasResourceProperties('Custom::GrafanaWorkspaceApiKey', {
      Kind: 'amg-api-key', WorkspaceId: WS, Role: 'VIEWER', SecondsToLive: '2592000',
      NamePrefix: Match.stringLikeRegexp('^TestStack-Key'), ServiceTimeout: '300',
    });
    template.hasResourceProperties('AWS::SecretsManager::RotationSchedule', {
      RotationRules: { ScheduleExpression: 'rate(25 days)' }, RotateImmediatelyOnUpdate: false,
    });
    const secrets = template.findResources('AWS::SecretsManager::Secret');
    const [secret] = Object.values(secrets);
    expect(secret.Properties.GenerateSecretString).toBeUndefined();
    expect(secret.Properties.SecretString).toBeUndefined();
    expect(secret.Properties.Name).toBe('grafana-credentials/TestStack/Key');
  });

  test('the rotation schedule waits for the first key and for the invoke permission', () => {
    const { template } = stackWith((stack) => new WorkspaceApiKey(stack, 'Key', { workspaceId: WS }));
    const [schedule] = Object.values(template.findResources('AWS::SecretsManager::RotationSchedule'));
    const crId = Object.keys(template.findResources('Custom::GrafanaWorkspaceApiKey'))[0];
    const permId = Object.keys(template.findResources('AWS::Lambda::Permission', { Properties: { Principal: 'secretsmanager.amazonaws.com' } }))[0];
    expect(schedule.DependsOn).toEqual(expect.arrayContaining([crId, permId]));
  });

  test('the custom resource waits for the handler and its policy', () => {
    const { template } = stackWith((stack) => new WorkspaceApiKey(stack, 'Key', { workspaceId: WS }));
    const [cr] = Object.values(template.findResources('Custom::GrafanaWorkspaceApiKey'));
    const policyId = Object.keys(template.findResources('AWS::IAM::Policy'))[0];
    expect(cr.DependsOn).toEqual(expect.arrayContaining([policyId]));
  });

  test('rotate: false makes no schedule and no invoke permission', () => {
    const { template } = stackWith((stack) => new WorkspaceApiKey(stack, 'Key', { workspaceId: WS, rotate: false }));
    template.resourceCountIs('AWS::SecretsManager::RotationSchedule', 0);
    template.resourcePropertiesCountIs('AWS::Lambda::Permission', { Principal: 'secretsmanager.amazonaws.com' }, 0);
  });

  test('workspaceUrl and verifyRotatedKey reach the handler through the template only: resource properties and the function environment, never secret tags', () => {
    const { template } = stackWith((stack) => new WorkspaceApiKey(stack, 'Key', {
      workspaceId: WS, workspaceUrl: 'https://grafana.example.com', verifyRotatedKey: false,
    }));
    template.hasResourceProperties('Custom::GrafanaWorkspaceApiKey', { VerifyUrl: 'https://grafana.example.com', VerifyRotatedKey: 'false' });
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: { GRAFANA_CREDENTIALS_VERIFY_URLS: '["https://grafana.example.com"]' } },
    });
    for (const secret of Object.values(template.findResources('AWS::SecretsManager::Secret'))) {
      expect(JSON.stringify(secret.Properties.Tags ?? [])).not.toMatch(/GrafanaCredentials:(WorkspaceUrl|VerifyRotatedKey)/);
    }
  });

  test('by default no VerifyUrl property, verification on, and no URL trusted beyond the workspace endpoint', () => {
    const { template } = stackWith((stack) => new WorkspaceApiKey(stack, 'Key', { workspaceId: WS }));
    template.hasResourceProperties('Custom::GrafanaWorkspaceApiKey', { VerifyUrl: Match.absent(), VerifyRotatedKey: Match.absent() });
    template.hasResourceProperties('AWS::Lambda::Function', { Environment: { Variables: { GRAFANA_CREDENTIALS_VERIFY_URLS: '[]' } } });
  });

  test('removalPolicy applies to the secret', () => {
    const { template } = stackWith((stack) => new WorkspaceApiKey(stack, 'Key', { workspaceId: WS, removalPolicy: RemovalPolicy.RETAIN }));
    template.hasResource('AWS::SecretsManager::Secret', { DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain' });
  });

  test('keyName is the attribute the handler answers, never a token', () => {
    const { stack } = stackWith(() => undefined);
    const key = new WorkspaceApiKey(stack, 'Key', { workspaceId: WS });
    expect(stack.resolve(key.keyName)).toEqual({ 'Fn::GetAtt': [expect.stringMatching(/^Key/), 'CredentialName'] });
  });

  test('accepts a token workspace id from CfnWorkspace', () => {
    const { template } = stackWith((stack) => {
      const ws = new grafana.CfnWorkspace(stack, 'Ws', {
        accountAccessType: 'CURRENT_ACCOUNT', authenticationProviders: ['AWS_SSO'], permissionType: 'SERVICE_MANAGED',
      });
      new WorkspaceApiKey(stack, 'Key', { workspaceId: ws.attrId });
    });
    template.hasResourceProperties('Custom::GrafanaWorkspaceApiKey', { WorkspaceId: { 'Fn::GetAtt': [Match.anyValue(), 'Id'] } });
  });
});

describe('IAM', () => {
  test('grafana actions on the workspace ARN only; secret actions on the stack prefix only', () => {
    const { template } = stackWith((stack) => new WorkspaceApiKey(stack, 'Key', { workspaceId: WS }));
    template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Action: ['grafana:CreateWorkspaceApiKey', 'grafana:DeleteWorkspaceApiKey', 'grafana:DescribeWorkspace'],
            Resource: [{ 'Fn::Join': ['', Match.arrayWith([':/workspaces/g-0123456789'])] }],
          }),
          Match.objectLike({
            Action: Match.arrayWith(['secretsmanager:PutSecretValue', 'secretsmanager:UpdateSecretVersionStage']),
            Resource: [{ 'Fn::Join': ['', Match.arrayWith([':secret:grafana-credentials/TestStack/*'])] }],
          }),
        ]),
      },
    });
    // The one exception, for the health check: ListSecrets, which IAM cannot scope to resources and which returns no values.
    const policies = Object.values(template.findResources('AWS::IAM::Policy')).flatMap((p) => p.Properties.PolicyDocument.Statement);
    expect(policies.filter((st) => JSON.stringify(st).includes('"Resource":"*"'))).toEqual([
      { Sid: 'FindCredentialSecrets', Effect: 'Allow', Action: 'secretsmanager:ListSecrets', Resource: '*' },
    ]);
  });

  test('a custom secret name gets its own narrow pattern', () => {
    const { template } = stackWith((stack) => new WorkspaceApiKey(stack, 'Key', { workspaceId: WS, secretName: 'team/grafana' }));
    expect(JSON.stringify(template.findResources('AWS::IAM::Policy'))).toContain(':secret:team/grafana-??????');
  });

  test('150 keys across 3 workspaces keep one small policy', () => {
    const { template } = stackWith((stack) => {
      for (let i = 0; i < 150; i++) new WorkspaceApiKey(stack, `Key${i}`, { workspaceId: `g-000000000${i % 3}` });
    });
    const policies = template.findResources('AWS::IAM::Policy');
    // The grants, and the health check's ListSecrets: both inline, counted together by IAM.
    expect(Object.keys(policies)).toHaveLength(2);
    expect(template.findResources('AWS::IAM::ManagedPolicy')).toEqual({});
    expect(Object.values(policies).reduce((n, policy) => n + JSON.stringify(policy.Properties.PolicyDocument).length, 0)).toBeLessThan(10240);
    // Three per key; the function, its role, policy, log group and rotation permission; the health check's rule, permission and policy.
    expect(Object.keys(template.toJSON().Resources).length).toBeLessThanOrEqual(150 * 3 + 5 + 3);
  });

  test('grantRead gives read on that secret only, and decrypt with a customer key', () => {
    const { template } = stackWith((stack) => {
      const key = new kms.Key(stack, 'Cmk');
      const apiKey = new WorkspaceApiKey(stack, 'Key', { workspaceId: WS, encryptionKey: key });
      apiKey.grantRead(new iam.Role(stack, 'Reader', { assumedBy: new iam.AccountRootPrincipal() }));
    });
    const readerPolicy = Object.entries(template.findResources('AWS::IAM::Policy')).find(([id]) => id.startsWith('Reader'))![1];
    const text = JSON.stringify(readerPolicy.Properties.PolicyDocument);
    expect(text).toContain('secretsmanager:GetSecretValue');
    expect(text).not.toContain('PutSecretValue');
    expect(text).toContain('KeySecret');
    // A key in the same stack grants decrypt through its key policy, scoped to Secrets Manager.
    const [cmk] = Object.values(template.findResources('AWS::KMS::Key'));
    const keyPolicy = JSON.stringify(cmk.Properties.KeyPolicy);
    expect(keyPolicy).toMatch(/kms:Decrypt/);
    expect(keyPolicy).toMatch(/Reader/);
  });
});

describe('synth-time validation', () => {
  const make = (props: Record<string, unknown>) => () => {
    const stack = new Stack(new App(), 'S');
    new WorkspaceApiKey(stack, 'Key', { workspaceId: WS, ...props } as never);
  };
  test.each([
    [{ workspaceId: 'ws-123' }, /workspaceId must be 'g-' followed by 10 lowercase hex digits.*'ws-123'/],
    [{ workspaceId: 'g-0123456789a' }, /workspaceId/],
    [{ timeToLive: Duration.millis(500) }, /timeToLive must be a whole number of seconds/],
    [{ timeToLive: Duration.days(31) }, /timeToLive must be between 1 second and 30 days \(2592000 seconds\), got 31 days/],
    [{ timeToLive: Duration.millis(1500) }, /whole number of seconds/],
    [{ keyNamePrefix: '' }, /keyNamePrefix must be 1 to 89 characters/],
    [{ keyNamePrefix: 'x'.repeat(90) }, /keyNamePrefix must be 1 to 89 characters.*got 90/],
    [{ keyRole: 'OWNER' }, /keyRole must be one of GrafanaRole.ADMIN, GrafanaRole.EDITOR, GrafanaRole.VIEWER, got 'OWNER'/],
    [{ rotateAfter: Duration.hours(2) }, /rotateAfter \(2 hours\) must be at least 4 hours/],
    [{ rotateAfter: Duration.days(30) }, /rotateAfter \(30 days\) must be shorter than timeToLive \(30 days\).*at most 25 days/],
    [{ rotateAfter: Duration.hours(30) }, /whole hours under a day, or whole days/],
    [{ timeToLive: Duration.hours(3) }, /timeToLive \(3 hours\) is too short to rotate.*rotate: false/],
  ])('%p is refused', (props, message) => {
    expect(make(props)).toThrow(message);
  });

  test('a short time to live is fine without rotation', () => {
    expect(make({ timeToLive: Duration.seconds(1), rotate: false })).not.toThrow();
  });

  test('default rotation for 1 day is 20 hours; for 7 days, 5 days', () => {
    const { template } = stackWith((stack) => {
      new WorkspaceApiKey(stack, 'Day', { workspaceId: WS, timeToLive: Duration.days(1) });
      new WorkspaceApiKey(stack, 'Week', { workspaceId: WS, timeToLive: Duration.days(7) });
    });
    const rules = Object.values(template.findResources('AWS::SecretsManager::RotationSchedule')).map((r) => r.Properties.RotationRules.ScheduleExpression).sort();
    expect(rules).toEqual(['rate(20 hours)', 'rate(5 days)']);
  });

  test('a rotation window that can outlast the key is a warning', () => {
    const { stack } = stackWith((s) => new WorkspaceApiKey(s, 'Key', { workspaceId: WS, timeToLive: Duration.days(2), rotateAfter: Duration.days(1) }));
    Annotations.fromStack(stack).hasNoWarning('*', Match.anyValue());
    const { stack: tight } = stackWith((s) => new WorkspaceApiKey(s, 'Key', { workspaceId: WS, timeToLive: Duration.minutes(23 * 60 + 30), rotateAfter: Duration.hours(23) }));
    Annotations.fromStack(tight).hasWarning('*', Match.stringLikeRegexp('can end after'));
  });

  test('GrafanaRole values', () => {
    expect(Object.values(GrafanaRole)).toEqual(['ADMIN', 'EDITOR', 'VIEWER']);
  });
});
