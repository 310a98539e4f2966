/**
 * The handler function itself: who may invoke it for rotation (SourceArn
 * patterns, bounded), the list of rotated secrets it checks events against,
 * its log group, and one function per set of handler options.
 */
import { Aws } from 'aws-cdk-lib';
import { Annotations, Match } from 'aws-cdk-lib/assertions';
import * as logs from 'aws-cdk-lib/aws-logs';
import { isManagedSecret, parseManagedSecrets } from '../../lambda/managed-secrets';
import { WorkspaceApiKey, WorkspaceServiceAccount } from '../../lib';
import { COMMERCIAL_PSEUDO, resolveIntrinsics } from '../testbed/iam-limits';
import { ofType, synth } from './synth';

const WS = 'g-0123456789';
const SECRET = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:';

const resolved = (template: any, value: unknown) => resolveIntrinsics(value, template, COMMERCIAL_PSEUDO);
/** Secrets Manager's invoke permissions (the health check's schedule has its own, tested in monitoring.test.ts). */
const rotationPermissions = (template: any) => ofType(template, 'AWS::Lambda::Permission').filter(([, r]) => r.Properties.Principal === 'secretsmanager.amazonaws.com');
const sourceArns = (template: any) => rotationPermissions(template).map(([, r]) => resolved(template, r.Properties.SourceArn)).sort();
const managedList = (template: any, fn?: string) => {
  const [, f] = ofType(template, 'AWS::Lambda::Function').find(([id]) => !fn || id.startsWith(fn))!;
  return parseManagedSecrets(resolved(template, f.Properties.Environment.Variables.GRAFANA_CREDENTIALS_MANAGED_SECRETS))!;
};
/** A glob as Lambda's ArnLike condition reads it: `*` any run of characters, `?` one. */
const arnLike = (pattern: string, arn: string) =>
  new RegExp(`^${pattern.split('').map((c) => (c === '*' ? '.*' : c === '?' ? '.' : c.replace(/[.+^${}()|[\]\\/]/g, '\\$&'))).join('')}$`).test(arn);

describe('rotation invoke permissions', () => {
  test('default-named secrets share one permission, scoped to the stack prefix and the account', () => {
    const { template, assert } = synth((stack) => {
      new WorkspaceApiKey(stack, 'A', { workspaceId: WS });
      new WorkspaceApiKey(stack, 'B', { workspaceId: WS });
    });
    assert.resourcePropertiesCountIs('AWS::Lambda::Permission', { Principal: 'secretsmanager.amazonaws.com' }, 1);
    assert.hasResourceProperties('AWS::Lambda::Permission', {
      Principal: 'secretsmanager.amazonaws.com', SourceAccount: { Ref: 'AWS::AccountId' },
    });
    expect(sourceArns(template)).toEqual([`${SECRET}grafana-credentials/TestStack/*`]);
  });

  test('named secrets: one permission per path, one per name without a path; each schedule waits for the one that covers it', () => {
    const { template } = synth((stack) => {
      new WorkspaceApiKey(stack, 'Plain', { workspaceId: WS });
      new WorkspaceApiKey(stack, 'A', { workspaceId: WS, secretName: 'team/grafana/a' });
      new WorkspaceApiKey(stack, 'B', { workspaceId: WS, secretName: 'team/grafana/b' });
      new WorkspaceApiKey(stack, 'Top', { workspaceId: WS, secretName: 'grafana-top' });
      new WorkspaceApiKey(stack, 'NoRotation', { workspaceId: WS, secretName: 'other/never-rotated', rotate: false });
    });
    expect(sourceArns(template)).toEqual([
      `${SECRET}grafana-credentials/TestStack/*`, `${SECRET}grafana-top-??????`, `${SECRET}team/grafana/*`,
    ]);
    const permissions = Object.fromEntries(rotationPermissions(template).map(([id, r]) => [id, resolved(template, r.Properties.SourceArn)]));
    for (const [id, schedule] of ofType(template, 'AWS::SecretsManager::RotationSchedule')) {
      const secret = template.Resources[schedule.Properties.SecretId.Ref];
      const arn = `${SECRET}${secret.Properties.Name}-AbCdEf`;
      const waitsFor = (schedule.DependsOn as string[]).filter((d) => d in permissions);
      expect({ id, covered: waitsFor.map((d) => arnLike(permissions[d], arn)) }).toEqual({ id, covered: [true] });
    }
  });

  test('many named secrets: at most 10 permissions, none of them the whole account, every rotated secret covered', () => {
    const names = [
      ...Array.from({ length: 30 }, (_, i) => `grafana-${i}`),
      ...Array.from({ length: 30 }, (_, i) => `apps/service-${i}/grafana`),
      ...Array.from({ length: 10 }, (_, i) => `team-${i}/key`),
    ];
    const { template } = synth((stack) => names.forEach((secretName, i) => new WorkspaceApiKey(stack, `K${i}`, { workspaceId: WS, secretName })));
    const patterns = sourceArns(template);
    expect(patterns.length).toBeLessThanOrEqual(10);
    for (const p of patterns) expect(p.length).toBeGreaterThan(SECRET.length + 1);
    for (const name of names) expect({ name, covered: patterns.some((p) => arnLike(p, `${SECRET}${name}-AbCdEf`)) }).toEqual({ name, covered: true });
    expect(patterns.some((p) => arnLike(p, `${SECRET}unrelated-AbCdEf`))).toBe(false);
  });

  test('more than 10 paths that share no beginning fail at synth, saying what to do', () => {
    const make = () => synth((stack) => 'abcdefghijk'.split('').forEach((c, i) => new WorkspaceApiKey(stack, `K${i}`, { workspaceId: WS, secretName: `${c}/key` })));
    expect(make).toThrow(/^WorkspaceApiKey TestStack\/K10: secretName 'k\/key': the rotated secrets need 11 invoke permissions for Secrets Manager \(one per path of the named secrets: .*\), more than the 10 the handler takes.*give named secrets shared paths \(team\/grafana\/<name>\)/);
  });
});

describe('the list of rotated secrets in the function environment', () => {
  test('lists exactly the rotated secrets; the handler accepts them and nothing else', () => {
    const { template } = synth((stack) => {
      new WorkspaceApiKey(stack, 'Plain', { workspaceId: WS });
      new WorkspaceApiKey(stack, 'A', { workspaceId: WS, secretName: 'team/grafana/a' });
      new WorkspaceApiKey(stack, 'Top', { workspaceId: WS, secretName: 'grafana-top' });
      new WorkspaceApiKey(stack, 'NoRotation', { workspaceId: WS, secretName: 'team/grafana/never', rotate: false });
      new WorkspaceServiceAccount(stack, 'Sa', { workspaceId: WS }).addToken('T');
    });
    const list = managedList(template);
    expect(list).toEqual({
      arnPrefix: SECRET, prefixes: ['grafana-credentials/TestStack/'], names: { '': ['grafana-top'], 'team/grafana/': ['a'] },
      // For the health check only.
      unrotated: { prefixes: [], names: { 'team/grafana/': ['never'] } },
    });
    for (const name of ['grafana-credentials/TestStack/Plain', 'grafana-credentials/TestStack/Sa/T', 'team/grafana/a', 'grafana-top']) {
      expect({ name, managed: isManagedSecret(`${SECRET}${name}-AbCdEf`, list) }).toEqual({ name, managed: true });
    }
    for (const name of ['team/grafana/never', 'team/grafana/b', 'grafana-credentials/OtherStack/Key']) {
      expect({ name, managed: isManagedSecret(`${SECRET}${name}-AbCdEf`, list) }).toEqual({ name, managed: false });
    }
  });

  test('a secret name with a token is listed with the token, resolved by CloudFormation', () => {
    const { template } = synth((stack) => new WorkspaceApiKey(stack, 'K', { workspaceId: WS, secretName: `${Aws.STACK_NAME}/grafana` }));
    const list = managedList(template);
    const stackName = 'S'.repeat(128); // what the test resolver gives AWS::StackName
    expect(isManagedSecret(`${SECRET}${stackName}/grafana-AbCdEf`, list)).toBe(true);
  });

  test('a list that would pass Lambda\'s 4 KB environment fails at synth, saying what to do', () => {
    const make = () => synth((stack) => {
      for (let i = 0; i < 80; i++) new WorkspaceApiKey(stack, `K${i}`, { workspaceId: WS, secretName: `team/grafana/a-long-descriptive-secret-name-for-dashboards-${i}` });
    });
    expect(make).toThrow(/^WorkspaceApiKey TestStack\/K\d+: secretName 'team\/grafana\/a-long-[^']+': the handler's list of credential secrets \(\d+ named ones\) would take about [\d,]+ characters of its environment, over the 3,584 it may use of Lambda's 4 KB\. Use default secret names/);
  });
});

describe('log group', () => {
  test('the handler logs into its own log group, kept a month and deleted with the stack', () => {
    const { assert, template } = synth((stack) => new WorkspaceApiKey(stack, 'K', { workspaceId: WS }));
    assert.hasResource('AWS::Logs::LogGroup', { Properties: { RetentionInDays: 30 }, DeletionPolicy: 'Delete', UpdateReplacePolicy: 'Delete' });
    const [[logGroupId]] = ofType(template, 'AWS::Logs::LogGroup');
    assert.hasResourceProperties('AWS::Lambda::Function', { LoggingConfig: { LogGroup: { Ref: logGroupId } } });
  });

  test('logRetention: one function and one log group per stack, keeping logs for the longest retention asked for; shorter asks get a warning', () => {
    const { assert, stack } = synth((st) => {
      new WorkspaceApiKey(st, 'Plain', { workspaceId: WS });
      new WorkspaceApiKey(st, 'Year', { workspaceId: WS, logRetention: logs.RetentionDays.ONE_YEAR });
      new WorkspaceApiKey(st, 'Week', { workspaceId: WS, logRetention: logs.RetentionDays.ONE_WEEK });
    });
    assert.resourceCountIs('AWS::Lambda::Function', 1);
    assert.resourceCountIs('AWS::Logs::LogGroup', 1);
    assert.hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 365 });
    const warnings = Annotations.fromStack(stack).findWarning('*', Match.stringLikeRegexp('logRetention'));
    expect(warnings.map((w) => w.id).sort()).toEqual(['/TestStack/Plain', '/TestStack/Week']);
    expect(String(warnings[0].entry.data)).toMatch(/asks for logRetention of (30|7) days, but the stack's one handler keeps its logs 365 days/);
    // Default secret names do not depend on the retention, so changing it never replaces a secret or moves a credential to another function.
    assert.hasResourceProperties('AWS::SecretsManager::Secret', { Name: 'grafana-credentials/TestStack/Year' });
  });

  test('logRetention INFINITE keeps logs forever (no RetentionInDays)', () => {
    const { assert } = synth((st) => new WorkspaceApiKey(st, 'K', { workspaceId: WS, logRetention: logs.RetentionDays.INFINITE }));
    assert.hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: Match.absent() });
  });
});

test('the function resource policy names Secrets Manager and the health-check rule, each with a SourceArn, and no other principal', () => {
  const { template } = synth((stack) => new WorkspaceApiKey(stack, 'K', { workspaceId: WS }));
  const permissions = ofType(template, 'AWS::Lambda::Permission').map(([, r]) => r.Properties);
  expect(permissions.map((p) => p.Principal).sort()).toEqual(['events.amazonaws.com', 'secretsmanager.amazonaws.com']);
  expect(permissions.every((p) => p.SourceArn !== undefined)).toBe(true);
});
