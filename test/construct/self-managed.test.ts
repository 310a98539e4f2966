/** Self-managed Grafana constructs at synth (issue #16): TTL syntax, limits, the admin secret's grants, and handler placement. */
import { App, Duration, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import {
  GrafanaApiKey, GrafanaRole, GrafanaServiceAccount, GrafanaServiceAccountToken, GrafanaTtl, ISelfManagedGrafana, SelfManagedGrafana,
  SelfManagedGrafanaAttributes, WorkspaceApiKey, WorkspaceServiceAccount,
} from '../../lib';

const ADMIN_ARN = 'arn:aws:secretsmanager:eu-west-1:111111111111:secret:ops/grafana-admin-AbCdEf';
const URL_ = 'https://grafana.internal.example.com';

function synth(build: (stack: Stack) => void): { template: any; assert: Template } {
  const app = new App();
  const stack = new Stack(app, 'TestStack', { env: { account: '111111111111', region: 'eu-west-1' } });
  build(stack);
  const template = app.synth().getStackByName('TestStack').template;
  return { template, assert: Template.fromJSON(template) };
}

function server(stack: Stack, attrs: Partial<SelfManagedGrafanaAttributes> = {}, id = 'Grafana'): ISelfManagedGrafana {
  const adminSecret = secretsmanager.Secret.fromSecretCompleteArn(stack, `${id}Admin`, ADMIN_ARN);
  return SelfManagedGrafana.fromAttributes(stack, id, { url: URL_, adminSecret, ...attrs });
}

const functions = (template: any) => Object.entries<any>(template.Resources).filter(([, r]) => r.Type === 'AWS::Lambda::Function');

describe('GrafanaTtl.parse', () => {
  test.each([
    ['30s', 30], ['15m', 900], ['12h', 43_200], ['1d', 86_400], ['1w', 604_800], ['1M', 2_592_000], ['3M', 7_776_000],
  ])('%s is %i seconds', (text, seconds) => {
    expect(GrafanaTtl.parse(text).toSeconds()).toBe(seconds);
  });

  test.each(['', '12', 'h', '0d', '-1d', '1.5h', '1y', '12 h', '1D', '01d'])('%p fails naming the property and the accepted forms', (text) => {
    expect(() => GrafanaTtl.parse(text, 'timeToLive')).toThrow(
      new RegExp(`^timeToLive: GrafanaTtl.parse got '${text.replace(/[.+]/g, '\\$&')}', which is not a Grafana time to live: use a whole number .* s \\(seconds\\), m \\(minutes\\), h \\(hours\\), d \\(days\\), w \\(weeks\\) or M \\(30-day months\\)`));
  });

  test('is accepted by timeToLive and rotateAfter of every construct', () => {
    const { assert } = synth((stack) => {
      new WorkspaceApiKey(stack, 'Amg', { workspaceId: 'g-0123456789', timeToLive: GrafanaTtl.parse('1w'), rotateAfter: GrafanaTtl.parse('5d') });
      new GrafanaApiKey(stack, 'Key', { grafana: server(stack), timeToLive: GrafanaTtl.parse('3M'), rotateAfter: GrafanaTtl.parse('2M') });
    });
    assert.hasResourceProperties('Custom::GrafanaServerApiKey', { SecondsToLive: '7776000' });
    assert.hasResourceProperties('AWS::SecretsManager::RotationSchedule', { RotationRules: { ScheduleExpression: 'rate(60 days)' } });
    assert.hasResourceProperties('AWS::SecretsManager::RotationSchedule', { RotationRules: { ScheduleExpression: 'rate(5 days)' } });
  });
});

describe('SelfManagedGrafana', () => {
  test('plain http is refused unless allowInsecureHttp is set', () => {
    expect(() => synth((stack) => server(stack, { url: 'http://grafana.internal:3000' })))
      .toThrow(/SelfManagedGrafana TestStack\/Grafana: url 'http:\/\/grafana.internal:3000' is plain http.*set allowInsecureHttp: true/);
    const { assert } = synth((stack) => {
      new GrafanaApiKey(stack, 'Key', { grafana: server(stack, { url: 'http://grafana.internal:3000/', allowInsecureHttp: true }) });
    });
    assert.hasResourceProperties('Custom::GrafanaServerApiKey', { GrafanaUrl: 'http://grafana.internal:3000', AllowHttp: 'true' });
  });

  test.each(['https://admin:pw@grafana.example.com', 'https://grafana.example.com?x=1', 'grafana.example.com', 'ftp://grafana.example.com'])('url %p is refused', (url) => {
    expect(() => synth((stack) => server(stack, { url }))).toThrow(/url must be an absolute https URL|is plain http/);
  });

  test('the admin credential never reaches the template: the handler may GetSecretValue on exactly that secret, and nothing else on it', () => {
    const { template, assert } = synth((stack) => {
      new GrafanaApiKey(stack, 'Key', { grafana: server(stack), keyRole: GrafanaRole.EDITOR });
    });
    assert.hasResourceProperties('Custom::GrafanaServerApiKey', {
      Kind: 'grafana-api-key', GrafanaUrl: URL_, Role: 'EDITOR', NamePrefix: Match.anyValue(),
    });
    const text = JSON.stringify(template);
    expect(text).not.toMatch(/password|AdminSecretArn/i);
    assert.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: { Statement: Match.arrayWith([{ Sid: 'GrafanaAdminSecrets', Effect: 'Allow', Action: ['secretsmanager:GetSecretValue'], Resource: [ADMIN_ARN] }]) },
    });
    const [, fn] = functions(template)[0];
    expect(JSON.parse(fn.Properties.Environment.Variables.GRAFANA_CREDENTIALS_SERVERS)).toEqual([[URL_, ADMIN_ARN]]);
    // No grafana:* actions: a self-managed server is not an AWS resource.
    expect(text).not.toMatch(/"grafana:/);
  });

  test('two admin secrets for one URL in one stack are refused', () => {
    expect(() => synth((stack) => {
      new GrafanaApiKey(stack, 'A', { grafana: server(stack, {}, 'G1') });
      const other = secretsmanager.Secret.fromSecretCompleteArn(stack, 'Other', ADMIN_ARN.replace('grafana-admin', 'other-admin'));
      new GrafanaApiKey(stack, 'B', { grafana: SelfManagedGrafana.fromAttributes(stack, 'G2', { url: URL_, adminSecret: other }) });
    })).toThrow(/GrafanaApiKey TestStack\/B: https:\/\/grafana.internal.example.com already has another admin secret in this stack/);
  });
});

describe('limits at synth', () => {
  test('no 30-day cap on a self-managed server', () => {
    const { assert } = synth((stack) => {
      new GrafanaServiceAccount(stack, 'Sa', { grafana: server(stack) }).addToken('T', { timeToLive: Duration.days(90) });
    });
    assert.hasResourceProperties('Custom::GrafanaServerServiceAccountToken', { SecondsToLive: '7776000' });
  });

  test('a timeToLive of 0 (never expires) is refused unless neverExpires is asked for', () => {
    expect(() => synth((stack) => new GrafanaApiKey(stack, 'Key', { grafana: server(stack), timeToLive: Duration.seconds(0) })))
      .toThrow(/GrafanaApiKey TestStack\/Key: timeToLive is 0, which Grafana takes as a credential that never expires.*set neverExpires: true/);
    const { assert } = synth((stack) => new GrafanaApiKey(stack, 'Key', { grafana: server(stack), neverExpires: true }));
    assert.hasResourceProperties('Custom::GrafanaServerApiKey', { SecondsToLive: '0' });
    assert.hasResourceProperties('AWS::SecretsManager::RotationSchedule', { RotationRules: { ScheduleExpression: 'rate(30 days)' } });
  });

  test("the server's api_key_max_seconds_to_live and token_expiration_day_limit", () => {
    expect(() => synth((stack) => new GrafanaApiKey(stack, 'Key', {
      grafana: server(stack, { apiKeyMaxTimeToLive: Duration.days(7) }), timeToLive: GrafanaTtl.parse('2w'),
    }))).toThrow(/timeToLive \(14 days\) is longer than the server's api_key_max_seconds_to_live \(apiKeyMaxTimeToLive\) allows \(7 days\)/);
    expect(() => synth((stack) => new GrafanaServiceAccount(stack, 'Sa', { grafana: server(stack, { tokenExpirationDayLimit: 10 }) })
      .addToken('T', { neverExpires: true }))).toThrow(/neverExpires: true, but the server's token_expiration_day_limit/);
    const { assert } = synth((stack) => new GrafanaServiceAccount(stack, 'Sa', { grafana: server(stack, { tokenExpirationDayLimit: 10 }) })
      .addToken('T', { timeToLive: Duration.days(10) }));
    assert.hasResourceProperties('Custom::GrafanaServerServiceAccountToken', { SecondsToLive: '864000' });
  });

  test('an API key on a server declared Grafana 11 fails at synth naming the service-account constructs', () => {
    expect(() => synth((stack) => new GrafanaApiKey(stack, 'Key', { grafana: server(stack, { grafanaVersion: '11.2.0' }) })))
      .toThrow(/Grafana 11 and later have no API keys.*Use a GrafanaServiceAccount and its GrafanaServiceAccountToken/);
  });

  test('workspaceUrl does not apply to a self-managed server', () => {
    expect(() => synth((stack) => new GrafanaApiKey(stack, 'Key', { grafana: server(stack), workspaceUrl: 'https://x.example.com' })))
      .toThrow(/workspaceUrl does not apply to a self-managed Grafana/);
  });

  test('a token in another org than its service account is refused; the imported account passes its org on', () => {
    expect(() => synth((stack) => new GrafanaServiceAccount(stack, 'Sa', { grafana: server(stack), orgId: 2 }).addToken('T', { orgId: 3 })))
      .toThrow(/orgId 3 differs from the service account's organization 2/);
    const { assert } = synth((stack) => {
      const sa = GrafanaServiceAccount.fromServiceAccountAttributes(stack, 'Sa', { grafana: server(stack), serviceAccountId: '42', orgId: 5 });
      new GrafanaServiceAccountToken(stack, 'T', { serviceAccount: sa });
    });
    assert.hasResourceProperties('Custom::GrafanaServerServiceAccountToken', { ServiceAccountId: '42', OrgId: '5' });
  });
});

describe('handler placement', () => {
  function vpcStack(stack: Stack) {
    return new ec2.Vpc(stack, 'Vpc', { maxAzs: 2, natGateways: 1 });
  }

  test('the default placement keeps GrafanaCredentialsHandler; each VPC placement gets one function, shared by equal placements', () => {
    const { template } = synth((stack) => {
      const vpc = vpcStack(stack);
      const sg = new ec2.SecurityGroup(stack, 'Sg', { vpc });
      new WorkspaceApiKey(stack, 'Public', { workspaceId: 'g-0123456789' });
      const inVpc = server(stack, { vpc, securityGroups: [sg] });
      new GrafanaApiKey(stack, 'A', { grafana: inVpc });
      new GrafanaServiceAccount(stack, 'Sa', { grafana: inVpc }).addToken('T');
      new WorkspaceApiKey(stack, 'Private', { workspaceId: 'g-0123456789', vpc, securityGroups: [sg] });
      new WorkspaceServiceAccount(stack, 'OneSubnet', { workspaceId: 'g-0123456789', vpc, vpcSubnets: { subnets: [vpc.privateSubnets[0]] } });
    });
    const ids = functions(template).map(([id]) => id).sort();
    expect(ids).toHaveLength(3);
    expect(ids.filter((id) => id.startsWith('GrafanaCredentialsHandlerFunction'))).toHaveLength(1);
    const inVpc = functions(template).filter(([, f]) => f.Properties.VpcConfig);
    expect(inVpc).toHaveLength(2);
    // Secrets keep the names they would have without a VPC.
    const names = Object.values<any>(template.Resources).filter((r) => r.Type === 'AWS::SecretsManager::Secret').map((r) => r.Properties.Name).sort();
    expect(names).toEqual(['grafana-credentials/TestStack/A', 'grafana-credentials/TestStack/Private', 'grafana-credentials/TestStack/Public', 'grafana-credentials/TestStack/Sa/T']);
  });

  test('a VPC placement in the same stack leaves the default function and its custom resources as they were', () => {
    const before = synth((stack) => { new WorkspaceApiKey(stack, 'Public', { workspaceId: 'g-0123456789' }); }).template;
    const after = synth((stack) => {
      new WorkspaceApiKey(stack, 'Public', { workspaceId: 'g-0123456789' });
      new GrafanaApiKey(stack, 'A', { grafana: server(stack, { vpc: vpcStack(stack) }) });
    }).template;
    const cr = (t: any) => Object.values<any>(t.Resources).find((r) => r.Type === 'Custom::GrafanaWorkspaceApiKey');
    expect(cr(after).Properties).toEqual(cr(before).Properties);
  });

  test('vpcSubnets without vpc is refused', () => {
    expect(() => synth((stack) => new WorkspaceApiKey(stack, 'K', { workspaceId: 'g-0123456789', vpcSubnets: { subnetType: ec2.SubnetType.PUBLIC } })))
      .toThrow(/WorkspaceApiKey TestStack\/K: vpcSubnets and securityGroups need vpc/);
  });
});
