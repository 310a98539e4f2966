import { App, Duration, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import { GrafanaRole, WorkspaceServiceAccount, WorkspaceServiceAccountToken } from '../../lib';

const WS = 'g-0123456789';

function synth(build: (stack: Stack) => void): Template {
  const stack = new Stack(new App(), 'TestStack');
  build(stack);
  return Template.fromStack(stack);
}

describe('WorkspaceServiceAccount', () => {
  test('creates a service account with a role-bearing default name', () => {
    const template = synth((stack) => new WorkspaceServiceAccount(stack, 'Ci', { workspaceId: WS, grafanaRole: GrafanaRole.EDITOR }));
    template.hasResourceProperties('Custom::GrafanaWorkspaceServiceAccount', {
      Kind: 'amg-service-account', WorkspaceId: WS, Role: 'EDITOR', ServiceAccountName: Match.stringLikeRegexp('^TestStack-Ci.*-editor$'),
    });
  });

  test('a token of the account depends on it and carries its id', () => {
    const template = synth((stack) => {
      const sa = new WorkspaceServiceAccount(stack, 'Ci', { workspaceId: WS });
      sa.addToken('Token');
    });
    const [token] = Object.values(template.findResources('Custom::GrafanaServiceAccountToken'));
    expect(token.Properties.ServiceAccountId).toEqual({ 'Fn::GetAtt': [expect.stringMatching(/^Ci/), 'ServiceAccountId'] });
    expect(token.Properties.Kind).toBe('amg-service-account-token');
    template.resourceCountIs('AWS::Lambda::Function', 1);
  });

  test('two tokens share one imported service account; grafana actions are least privilege', () => {
    const template = synth((stack) => {
      const sa = WorkspaceServiceAccount.fromServiceAccountAttributes(stack, 'Existing', { workspaceId: WS, serviceAccountId: '42' });
      new WorkspaceServiceAccountToken(stack, 'A', { serviceAccount: sa, timeToLive: Duration.days(7) });
      new WorkspaceServiceAccountToken(stack, 'B', { serviceAccount: sa, rotate: false });
    });
    template.resourceCountIs('Custom::GrafanaServiceAccountToken', 2);
    template.resourceCountIs('Custom::GrafanaWorkspaceServiceAccount', 0);
    template.resourceCountIs('AWS::SecretsManager::RotationSchedule', 1);
    const policy = JSON.stringify(template.findResources('AWS::IAM::Policy'));
    expect(policy).toContain('grafana:CreateWorkspaceServiceAccountToken');
    expect(policy).toContain('grafana:ListWorkspaceServiceAccountTokens');
    expect(policy).not.toContain('grafana:CreateWorkspaceApiKey');
    expect(policy).not.toContain('grafana:CreateWorkspaceServiceAccount"');
  });

  test('grantRead on a token', () => {
    const template = synth((stack) => {
      const sa = new WorkspaceServiceAccount(stack, 'Ci', { workspaceId: WS });
      const token = sa.addToken('Token');
      token.grantRead(new iam.Role(stack, 'Reader', { assumedBy: new iam.AccountRootPrincipal() }));
    });
    const reader = Object.entries(template.findResources('AWS::IAM::Policy')).find(([id]) => id.startsWith('Reader'))![1];
    expect(JSON.stringify(reader)).toContain('secretsmanager:GetSecretValue');
  });

  test.each([
    [{ workspaceId: 'nope' }, /workspaceId must be 'g-'/],
    [{ workspaceId: WS, serviceAccountName: 'x'.repeat(129) }, /serviceAccountName must be 1 to 128 characters, got 129/],
    [{ workspaceId: WS, grafanaRole: 'ROOT' }, /grafanaRole must be one of/],
  ])('%p is refused', (props, message) => {
    expect(() => synth((stack) => new WorkspaceServiceAccount(stack, 'Sa', props as never))).toThrow(message);
  });

  test('token validation names the property', () => {
    expect(() => synth((stack) => {
      const sa = new WorkspaceServiceAccount(stack, 'Ci', { workspaceId: WS });
      sa.addToken('T', { tokenNamePrefix: 'y'.repeat(118) });
    })).toThrow(/tokenNamePrefix must be 1 to 117 characters/);
  });
});
