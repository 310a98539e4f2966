/**
 * The handler's role at scale: 150 credentials in any mix of named and
 * default secrets and workspaces fit IAM's limits, counted as IAM counts them
 * once CloudFormation has resolved the pseudo parameters; beyond what a role
 * holds, synthesis fails naming the count and the way out.
 */
import { App, Stack } from 'aws-cdk-lib';
import * as kms from 'aws-cdk-lib/aws-kms';
import { WorkspaceApiKey, WorkspaceServiceAccount } from '../../lib';
import { COMMERCIAL_PSEUDO, iamLimitViolations, LONGEST_PSEUDO, resolveIntrinsics, rolePolicySizes } from '../testbed/iam-limits';

const ws = (i: number) => `g-${String(i).padStart(10, '0')}`;

function synth(build: (stack: Stack) => void): any {
  const app = new App();
  const stack = new Stack(app, 'Scale', { env: { account: '111111111111', region: 'eu-west-1' } });
  build(stack);
  return app.synth().getStackByName('Scale').template;
}

/** Every resource each statement Sid grants, over the role's inline and managed policies, resolved. */
function grantedResources(template: any): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const r of Object.values<any>(template.Resources)) {
    if (r.Type !== 'AWS::IAM::Policy' && r.Type !== 'AWS::IAM::ManagedPolicy') continue;
    for (const s of resolveIntrinsics(r.Properties.PolicyDocument, template, COMMERCIAL_PSEUDO).Statement) {
      if (!s.Sid) continue;
      (out[s.Sid] ??= []).push(...[s.Resource].flat());
    }
  }
  return out;
}

const named = (stack: Stack) => {
  for (let i = 0; i < 150; i++) new WorkspaceApiKey(stack, `Key${i}`, { workspaceId: ws(i), secretName: `team-${i % 10}/grafana/key-${i}` });
};

describe('150 credentials fit IAM', () => {
  test('150 named keys over 150 workspaces: inline <= 10,240, each managed policy <= 6,144, <= 10 managed policies', () => {
    const template = synth(named);
    for (const pseudo of [LONGEST_PSEUDO, COMMERCIAL_PSEUDO]) {
      const sizes = rolePolicySizes(template, pseudo);
      expect(iamLimitViolations(sizes)).toEqual([]);
    }
    const [role] = rolePolicySizes(template, LONGEST_PSEUDO);
    expect(Object.keys(role.managedChars).length).toBeGreaterThan(0); // the overflow is real
  });

  test('every secret and workspace is granted exactly once, nothing wider', () => {
    const template = synth(named);
    const granted = grantedResources(template);
    const prefix = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:';
    expect(granted.CredentialSecrets.sort()).toEqual(
      Array.from({ length: 150 }, (_, i) => `${prefix}team-${i % 10}/grafana/key-${i}-??????`).sort());
    expect(granted.GrafanaWorkspaces.sort()).toEqual(
      Array.from({ length: 150 }, (_, i) => `arn:aws:grafana:us-east-1:123456789012:/workspaces/${ws(i)}`).sort());
    // Every managed policy carries the same actions as the inline statements.
    for (const r of Object.values<any>(template.Resources).filter((x) => x.Type === 'AWS::IAM::ManagedPolicy')) {
      for (const s of r.Properties.PolicyDocument.Statement) expect(s.Action).not.toContain('*');
    }
  });

  test('a mix: default and named secrets, API keys and service-account tokens, customer-managed keys, 150 workspaces', () => {
    const template = synth((stack) => {
      const keys = [new kms.Key(stack, 'Cmk1'), new kms.Key(stack, 'Cmk2')];
      for (let i = 0; i < 50; i++) new WorkspaceApiKey(stack, `Default${i}`, { workspaceId: ws(i) });
      for (let i = 50; i < 100; i++) {
        new WorkspaceApiKey(stack, `Named${i}`, { workspaceId: ws(i), secretName: `apps/service-${i}/grafana-api-key`, encryptionKey: keys[i % 2] });
      }
      for (let i = 100; i < 150; i += 2) {
        const account = new WorkspaceServiceAccount(stack, `Sa${i}`, { workspaceId: ws(i) });
        account.addToken('A', { secretName: `tokens/${i}/a` });
        account.addToken('B');
      }
    });
    for (const pseudo of [LONGEST_PSEUDO, COMMERCIAL_PSEUDO]) expect(iamLimitViolations(rolePolicySizes(template, pseudo))).toEqual([]);
    const granted = grantedResources(template);
    expect(granted.CredentialSecrets).toHaveLength(1 + 50 + 25);
    expect(granted.GrafanaWorkspaces).toHaveLength(125);
  });

  test('150 default-named keys over 150 workspaces also fit (the workspace statement alone used to pass the inline limit)', () => {
    const template = synth((stack) => { for (let i = 0; i < 150; i++) new WorkspaceApiKey(stack, `Key${i}`, { workspaceId: ws(i) }); });
    expect(iamLimitViolations(rolePolicySizes(template, LONGEST_PSEUDO))).toEqual([]);
  });

  test('a few credentials stay in one inline policy, with no managed policy added', () => {
    const template = synth((stack) => {
      for (let i = 0; i < 10; i++) new WorkspaceApiKey(stack, `Key${i}`, { workspaceId: ws(i), secretName: `team/key-${i}` });
    });
    expect(Object.values<any>(template.Resources).filter((r) => r.Type === 'AWS::IAM::ManagedPolicy')).toEqual([]);
  });

  test('the custom resources wait for the managed policies, so every grant exists before the first event', () => {
    const template = synth(named);
    const managed = Object.entries<any>(template.Resources).filter(([, r]) => r.Type === 'AWS::IAM::ManagedPolicy').map(([id]) => id);
    expect(managed.length).toBeGreaterThan(0);
    const [cr] = Object.values<any>(template.Resources).filter((r) => r.Type === 'Custom::GrafanaWorkspaceApiKey');
    expect(cr.DependsOn).toEqual(expect.arrayContaining(managed));
  });

  test('150 credentials each with its own customer-managed key: the key grants are sized and placed like the others', () => {
    const keyArn = (i: number) => `arn:aws:kms:eu-west-1:111111111111:key/0000${String(i).padStart(4, '0')}-1111-2222-3333-444455556666`;
    const template = synth((stack) => {
      for (let i = 0; i < 150; i++) {
        new WorkspaceApiKey(stack, `Key${i}`, { workspaceId: ws(i), encryptionKey: kms.Key.fromKeyArn(stack, `Cmk${i}`, keyArn(i)) });
      }
    });
    for (const pseudo of [LONGEST_PSEUDO, COMMERCIAL_PSEUDO]) expect(iamLimitViolations(rolePolicySizes(template, pseudo))).toEqual([]);
    const granted = grantedResources(template);
    expect(granted.CredentialKeys).toHaveLength(150);
    expect(granted.CredentialKeys.sort()).toEqual(Array.from({ length: 150 }, (_, i) => keyArn(i)).sort());
  });

  test('beyond what the role holds, synthesis fails naming the count and the way out', () => {
    const make = () => synth((stack) => {
      for (let i = 0; i < 150; i++) {
        new WorkspaceApiKey(stack, `Key${i}`, { workspaceId: ws(i), secretName: `a-rather-long-team-name/${'x'.repeat(300)}/key-${i}`, rotate: false });
      }
    });
    expect(make).toThrow(/^WorkspaceApiKey Scale\/Key\d+: secretName 'a-rather-long-team-name\/x+\/key-\d+': the handler's IAM grants no longer fit IAM's limits for one role: \d+ resources take about [\d,]+ characters at the longest, filling its inline policy \(10,240 characters\) and 9 managed policies of 6,144 .* Use default secret names \(one statement covers all of them, however many\), or split the credentials over more stacks$/);
  });
});
