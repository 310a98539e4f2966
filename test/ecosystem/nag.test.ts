/**
 * cdk-nag's AwsSolutions pack over a stack that uses every construct with its
 * defaults: no finding may be left unacknowledged, and every acknowledgment is
 * one the library makes, narrowly, with a reason.
 */
import { App, Stack, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { AwsSolutionsChecks } from 'cdk-nag';
import { WorkspaceApiKey, WorkspaceServiceAccount, WorkspaceServiceAccountToken } from '../../lib';

function everyConstruct(app: App): Stack {
  const stack = new Stack(app, 'NagStack');
  const key = new WorkspaceApiKey(stack, 'Key', { workspaceId: 'g-0123456789' });
  const account = new WorkspaceServiceAccount(stack, 'Account', { workspaceId: 'g-0123456789' });
  const token = account.addToken('Token');
  const imported = WorkspaceServiceAccount.fromServiceAccountAttributes(stack, 'Imported', { workspaceId: 'g-0123456789', serviceAccountId: '7' });
  new WorkspaceServiceAccountToken(stack, 'ImportedToken', { serviceAccount: imported });
  new WorkspaceApiKey(stack, 'Named', { workspaceId: 'g-0123456789', secretName: 'team/grafana-key' });
  const reader = new iam.Role(stack, 'Reader', { assumedBy: new iam.AccountRootPrincipal() });
  key.grantRead(reader);
  token.grantRead(reader);
  return stack;
}

test('AwsSolutions: no unacknowledged finding', () => {
  const app = new App();
  everyConstruct(app);
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  const errors: string[] = [];
  const original = console.error;
  console.error = (...args: unknown[]) => { errors.push(args.join(' ')); };
  try {
    expect(() => app.synth()).not.toThrow();
  } finally {
    console.error = original;
  }
  expect(errors.join('\n')).not.toMatch(/AwsSolutions-/);
});

test('without the library\'s acknowledgments the pack would fail, so the check above is real', () => {
  const app = new App();
  const stack = new Stack(app, 'Raw');
  new iam.Role(stack, 'Wild', { assumedBy: new iam.AccountRootPrincipal() }).addToPolicy(new iam.PolicyStatement({ actions: ['secretsmanager:GetSecretValue'], resources: ['*'] }));
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  const errors: string[] = [];
  const original = console.error;
  console.error = (...args: unknown[]) => { errors.push(args.join(' ')); };
  let threw = false;
  try { app.synth(); } catch { threw = true; } finally { console.error = original; }
  expect(threw || /AwsSolutions-IAM5/.test(errors.join('\n'))).toBe(true);
});

test('acknowledgments are narrow: they name the exact managed policy and wildcard resources', () => {
  const app = new App();
  const stack = everyConstruct(app);
  const role = stack.node.findAll().find((c) => c.node.path.endsWith('GrafanaCredentialsHandler/Function/ServiceRole'))!;
  const acks = JSON.stringify(role.node.metadata.map((m) => m.data));
  expect(acks).toContain('AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:secretsmanager:<AWS::Region>:<AWS::AccountId>:secret:grafana-credentials/NagStack/*]');
  expect(acks).toContain('secret:team/grafana-key-??????');
  expect(acks).not.toMatch(/AwsSolutions-IAM5"/); // never the whole rule
});
