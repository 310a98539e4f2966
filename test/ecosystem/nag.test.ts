/**
 * cdk-nag's AwsSolutions pack over a stack that uses every construct with its
 * defaults: no finding may be left unsuppressed, and every suppression is one
 * the library makes, narrowly, with a reason.
 */
import { App, Aspects, Stack } from 'aws-cdk-lib';
import { Annotations, Match } from 'aws-cdk-lib/assertions';
import * as apigateway from 'aws-cdk-lib/aws-apigateway';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import { AwsSolutionsChecks } from 'cdk-nag';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import {
  GrafanaApiKey, GrafanaServiceAccount, RotatingApiKey, SelfManagedGrafana, WorkspaceApiKey, WorkspaceServiceAccount, WorkspaceServiceAccountToken,
} from '../../lib';

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
  // issue #17
  const apiKey = new RotatingApiKey(stack, 'ApiKey', { usagePlans: [new apigateway.UsagePlan(stack, 'Plan')] });
  apiKey.grantRead(reader);
  return stack;
}

function findings(stack: Stack): string[] {
  const all = [
    ...Annotations.fromStack(stack).findError('*', Match.stringLikeRegexp('AwsSolutions-.*')),
    ...Annotations.fromStack(stack).findWarning('*', Match.stringLikeRegexp('AwsSolutions-.*')),
  ];
  return all.map((m) => `${m.id}: ${String(m.entry.data).split('\n')[0]}`);
}

test('AwsSolutions: no unsuppressed finding over every construct', () => {
  const app = new App();
  const stack = everyConstruct(app);
  Aspects.of(app).add(new AwsSolutionsChecks());
  expect(findings(stack)).toEqual([]);
});

test('the pack does report a wildcard grant that nobody suppressed, so the check above is real', () => {
  const app = new App();
  const stack = new Stack(app, 'Raw');
  new iam.Role(stack, 'Wild', { assumedBy: new iam.AccountRootPrincipal() })
    .addToPolicy(new iam.PolicyStatement({ actions: ['secretsmanager:GetSecretValue'], resources: ['*'] }));
  Aspects.of(app).add(new AwsSolutionsChecks());
  expect(findings(stack).join('\n')).toMatch(/AwsSolutions-IAM5/);
});

test('suppressions are narrow: the handler role and the health check\'s ListSecrets policy only, naming the exact managed policy and wildcard resources', () => {
  const app = new App();
  const stack = everyConstruct(app);
  const resources = Object.entries<any>(app.synth().getStackByName(stack.stackName).template.Resources);
  const suppressed: any[] = resources.flatMap(([, r]) => r.Metadata?.cdk_nag?.rules_to_suppress ?? []);
  expect(suppressed.length).toBeGreaterThan(0);
  for (const s of suppressed) {
    expect(s.reason.length).toBeGreaterThan(40);
    expect(s.applies_to).toHaveLength(1); // one finding each, never the whole rule
  }
  const appliesTo = suppressed.flatMap((s) => s.applies_to);
  expect(appliesTo).toContain('Resource::arn:<AWS::Partition>:secretsmanager:<AWS::Region>:<AWS::AccountId>:secret:grafana-credentials/NagStack/*');
  expect(appliesTo).toContain('Resource::arn:<AWS::Partition>:secretsmanager:<AWS::Region>:<AWS::AccountId>:secret:team/grafana-key-??????');
  expect(appliesTo).toContain('Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole');
  // The health check's ListSecrets, which IAM cannot scope to resources, is the one Resource::* and sits in its own policy.
  expect(appliesTo.filter((x) => x === 'Resource::*')).toHaveLength(1);
  const holders = resources.filter(([, r]) => r.Metadata?.cdk_nag).map(([id]) => id);
  expect(holders.every((id) => id.startsWith('GrafanaCredentialsHandlerFunctionServiceRole') || id.startsWith('GrafanaCredentialsHandlerHealthCheckListSecrets'))).toBe(true);
});

test('grants that overflow into managed policies carry their own narrow acknowledgements: no unsuppressed finding', () => {
  const app = new App();
  const stack = new Stack(app, 'Overflow');
  for (let i = 0; i < 80; i++) {
    new WorkspaceApiKey(stack, `Key${i}`, { workspaceId: `g-${String(i).padStart(10, '0')}`, secretName: `team-${i % 5}/grafana/key-${i}` });
  }
  Aspects.of(app).add(new AwsSolutionsChecks());
  expect(findings(stack)).toEqual([]);
  const resources = Object.entries<any>(app.synth().getStackByName(stack.stackName).template.Resources);
  const managed = resources.filter(([, r]) => r.Type === 'AWS::IAM::ManagedPolicy');
  expect(managed.length).toBeGreaterThan(0);
  for (const [id, policy] of managed) {
    expect(id.startsWith('GrafanaCredentialsHandlerFunctionServiceRole')).toBe(true);
    const suppressed: string[] = policy.Metadata.cdk_nag.rules_to_suppress.flatMap((s: any) => s.applies_to);
    const secrets = policy.Properties.PolicyDocument.Statement.filter((st: any) => st.Sid === 'CredentialSecrets').flatMap((st: any) => st.Resource);
    // One acknowledgement per secret pattern the policy holds, and none for a pattern it does not.
    expect(suppressed).toHaveLength(secrets.length);
  }
});

test('rotation turned off is reported (SMG4) on that secret: the library suppresses nothing a user chose', () => {
  const app = new App();
  const stack = new Stack(app, 'NoRotation');
  new WorkspaceApiKey(stack, 'Key', { workspaceId: 'g-0123456789', rotate: false });
  Aspects.of(app).add(new AwsSolutionsChecks());
  expect(findings(stack)).toEqual(['/NoRotation/Key/Secret/Resource: AwsSolutions-SMG4: The secret does not have automatic rotation scheduled.']);
});

test('with a customer-managed key, the handler gets named KMS actions only: no wildcard to suppress', () => {
  const app = new App();
  const stack = new Stack(app, 'Cmk');
  const cmk = new kms.Key(stack, 'Cmk', { enableKeyRotation: true });
  new WorkspaceApiKey(stack, 'Key', { workspaceId: 'g-0123456789', encryptionKey: cmk });
  new WorkspaceServiceAccount(stack, 'Account', { workspaceId: 'g-0123456789' }).addToken('Token', { encryptionKey: cmk });
  Aspects.of(app).add(new AwsSolutionsChecks());
  expect(findings(stack)).toEqual([]);
});

// Self-managed Grafana (issue #16): the constructs, an admin secret imported by name (a partial ARN), and a VPC placement.
test('AwsSolutions: no unsuppressed finding over the self-managed Grafana constructs in a VPC', () => {
  const app = new App();
  const stack = new Stack(app, 'NagSelfManaged');
  const vpc = new ec2.Vpc(stack, 'Vpc', { maxAzs: 2, natGateways: 1 });
  const adminSecret = secretsmanager.Secret.fromSecretNameV2(stack, 'Admin', 'ops/grafana-admin');
  const grafana = SelfManagedGrafana.fromAttributes(stack, 'Grafana', { url: 'https://grafana.internal.example.com', adminSecret, vpc });
  new GrafanaApiKey(stack, 'Key', { grafana });
  new GrafanaServiceAccount(stack, 'Account', { grafana }).addToken('Token');
  new WorkspaceApiKey(stack, 'Private', { workspaceId: 'g-0123456789', vpc });
  Aspects.of(app).add(new AwsSolutionsChecks());
  // The VPC itself is the user's (flow logs); only the library's resources are checked.
  expect(findings(stack).filter((f) => !f.startsWith('/NagSelfManaged/Vpc/'))).toEqual([]);
});
