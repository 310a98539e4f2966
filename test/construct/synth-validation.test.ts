/**
 * Issue #14, part 2: values that synthesized cleanly but that a deployment
 * would refuse (or that would make two constructs fight over one name) now
 * fail at synth, with a message naming the construct, the property, the value
 * and the fix.
 */
import { App, Aws, Fn, Lazy, Stack } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as grafana from 'aws-cdk-lib/aws-grafana';
import { GrafanaRole, WorkspaceApiKey, WorkspaceServiceAccount, WorkspaceServiceAccountToken } from '../../lib';
import { parseWorkspaceUrl } from '../../lib/private/validation';

const WS = 'g-0123456789';
const OTHER_WS = 'g-abcdef0123';

function stackIn(app: App, id = 'S', env?: { account?: string; region?: string }): Stack {
  return new Stack(app, id, env ? { env } : undefined);
}

function workspace(stack: Stack, grafanaVersion?: string): grafana.CfnWorkspace {
  return new grafana.CfnWorkspace(stack, 'Ws', {
    accountAccessType: 'CURRENT_ACCOUNT', authenticationProviders: ['AWS_SSO'], permissionType: 'SERVICE_MANAGED', grafanaVersion,
  });
}

describe('1. a secretName is used once per account and region', () => {
  test('twice in one stack is refused, naming both constructs', () => {
    const stack = stackIn(new App());
    new WorkspaceApiKey(stack, 'A', { workspaceId: WS, secretName: 'team/grafana' });
    expect(() => new WorkspaceApiKey(stack, 'B', { workspaceId: WS, secretName: 'team/grafana' }))
      .toThrow(/^WorkspaceApiKey S\/B: secretName 'team\/grafana' is already used by WorkspaceApiKey S\/A.*unique per account and region.*another secretName/);
  });

  test('across a key and a service-account token', () => {
    const stack = stackIn(new App());
    new WorkspaceApiKey(stack, 'A', { workspaceId: WS, secretName: 'shared' });
    const sa = new WorkspaceServiceAccount(stack, 'Sa', { workspaceId: WS });
    expect(() => sa.addToken('T', { secretName: 'shared' })).toThrow(/WorkspaceServiceAccountToken S\/Sa\/T: secretName 'shared' is already used by WorkspaceApiKey S\/A/);
  });

  test('across two environment-agnostic stacks of one app', () => {
    const app = new App();
    new WorkspaceApiKey(stackIn(app, 'One'), 'Key', { workspaceId: WS, secretName: 'team/grafana' });
    expect(() => new WorkspaceApiKey(stackIn(app, 'Two'), 'Key', { workspaceId: WS, secretName: 'team/grafana' }))
      .toThrow(/WorkspaceApiKey Two\/Key: secretName 'team\/grafana' is already used by WorkspaceApiKey One\/Key/);
  });

  test('across an environment-agnostic stack and one with an explicit environment', () => {
    const app = new App();
    new WorkspaceApiKey(stackIn(app, 'One', { account: '111111111111', region: 'eu-west-1' }), 'Key', { workspaceId: WS, secretName: 'n' });
    expect(() => new WorkspaceApiKey(stackIn(app, 'Two'), 'Key', { workspaceId: WS, secretName: 'n' }))
      .toThrow(/already used by WorkspaceApiKey One\/Key \(stack Two deploys to any account and region, stack One to 111111111111\/eu-west-1\)/);
  });

  test('the same name in two regions, or two accounts, or two apps, is fine', () => {
    const app = new App();
    new WorkspaceApiKey(stackIn(app, 'Eu', { account: '111111111111', region: 'eu-west-1' }), 'Key', { workspaceId: WS, secretName: 'team/grafana' });
    new WorkspaceApiKey(stackIn(app, 'Us', { account: '111111111111', region: 'us-east-1' }), 'Key', { workspaceId: WS, secretName: 'team/grafana' });
    new WorkspaceApiKey(stackIn(app, 'Other', { account: '222222222222', region: 'eu-west-1' }), 'Key', { workspaceId: WS, secretName: 'team/grafana' });
    new WorkspaceApiKey(stackIn(new App()), 'Key', { workspaceId: WS, secretName: 'team/grafana' });
    expect(() => app.synth()).not.toThrow();
    expect(() => new WorkspaceApiKey(stackIn(app, 'Eu2', { account: '111111111111', region: 'eu-west-1' }), 'Key', { workspaceId: WS, secretName: 'team/grafana' }))
      .toThrow(/already used by WorkspaceApiKey Eu\/Key/);
  });

  test('two construct ids that derive the same default name are refused too', () => {
    const stack = stackIn(new App());
    new WorkspaceApiKey(stack, 'Dash board', { workspaceId: WS });
    expect(() => new WorkspaceApiKey(stack, 'Dash-board', { workspaceId: WS }))
      .toThrow(/WorkspaceApiKey S\/Dash-board: secretName 'grafana-credentials\/S\/Dash-board' is already used by WorkspaceApiKey S\/Dash board/);
  });

  test('a token secretName is not checked', () => {
    const stack = stackIn(new App());
    new WorkspaceApiKey(stack, 'A', { workspaceId: WS, secretName: `${Aws.STACK_NAME}/grafana` });
    new WorkspaceApiKey(stack, 'B', { workspaceId: WS, secretName: Lazy.string({ produce: () => 'b b' }) });
    expect(() => Template.fromStack(stack)).not.toThrow();
  });
});

describe('2. name prefixes and service account names are checked character by character', () => {
  test('a keyNamePrefix outside letters, digits, - _ . is refused, with the characters listed', () => {
    const stack = stackIn(new App());
    expect(() => new WorkspaceApiKey(stack, 'Key', { workspaceId: WS, keyNamePrefix: 'team a/b:c*?#% ünï 🚀' }))
      .toThrow(/^WorkspaceApiKey S\/Key: keyNamePrefix may contain only ASCII letters, digits, '-', '_' and '\.'.*got 'team a\/b:c\*\?#% ünï 🚀'.*' ', '\/', ':'.*'🚀'.*leave keyNamePrefix unset/);
  });

  test('a tokenNamePrefix is held to the same rule', () => {
    const stack = stackIn(new App());
    const sa = new WorkspaceServiceAccount(stack, 'Sa', { workspaceId: WS });
    expect(() => sa.addToken('T', { tokenNamePrefix: 'ci token' })).toThrow(/WorkspaceServiceAccountToken S\/Sa\/T: tokenNamePrefix may contain only.*got 'ci token'/);
  });

  test('a control character shows escaped in the message', () => {
    const stack = stackIn(new App());
    expect(() => new WorkspaceApiKey(stack, 'Key', { workspaceId: WS, keyNamePrefix: 'a\nb' })).toThrow(/got 'a\\u000ab'/);
  });

  test.each([
    ['a newline', 'ci\ndeploy', /serviceAccountName must not contain control characters.*got 'ci\\u000adeploy'/],
    ['a NUL', 'ci\u0000', /control characters/],
    ['a leading space', ' ci', /serviceAccountName must not start or end with whitespace.*got ' ci'/],
    ['a trailing space', 'ci ', /start or end with whitespace/],
  ])('a serviceAccountName with %s is refused', (_, serviceAccountName, message) => {
    const stack = stackIn(new App());
    expect(() => new WorkspaceServiceAccount(stack, 'Sa', { workspaceId: WS, serviceAccountName })).toThrow(message);
  });

  test('defaults and ordinary values pass; spaces and slashes are fine in a service account name', () => {
    const stack = stackIn(new App());
    new WorkspaceApiKey(stack, 'Key With Spaces', { workspaceId: WS });
    new WorkspaceApiKey(stack, 'Named', { workspaceId: WS, keyNamePrefix: 'team-a_b.c' });
    const sa = new WorkspaceServiceAccount(stack, 'Sa', { workspaceId: WS, serviceAccountName: 'CI deploy / prod (Grafana 11)' });
    sa.addToken('Token With Spaces');
    sa.addToken('Named', { tokenNamePrefix: 'ci.deploy-1' });
    const template = Template.fromStack(stack);
    for (const r of Object.values(template.findResources('Custom::GrafanaWorkspaceApiKey'))) {
      expect(r.Properties.NamePrefix).toMatch(/^[A-Za-z0-9._-]+$/);
    }
    for (const r of Object.values(template.findResources('Custom::GrafanaServiceAccountToken'))) {
      expect(r.Properties.NamePrefix).toMatch(/^[A-Za-z0-9._-]+$/);
    }
    template.hasResourceProperties('Custom::GrafanaWorkspaceServiceAccount', { ServiceAccountName: 'CI deploy / prod (Grafana 11)' });
  });

  test('token prefixes and names are not checked', () => {
    const stack = stackIn(new App());
    const odd = Lazy.string({ produce: () => 'a b' });
    new WorkspaceApiKey(stack, 'Key', { workspaceId: WS, keyNamePrefix: odd });
    const sa = new WorkspaceServiceAccount(stack, 'Sa', { workspaceId: WS, serviceAccountName: odd });
    sa.addToken('T', { tokenNamePrefix: odd });
    expect(() => Template.fromStack(stack)).not.toThrow();
  });
});

describe('3. name prefixes are unique per workspace or service account', () => {
  test('two tokens of one service account with one tokenNamePrefix are refused', () => {
    const stack = stackIn(new App());
    const sa = new WorkspaceServiceAccount(stack, 'Sa', { workspaceId: WS });
    sa.addToken('A', { tokenNamePrefix: 'ci' });
    expect(() => sa.addToken('B', { tokenNamePrefix: 'ci' }))
      .toThrow(/^WorkspaceServiceAccountToken S\/Sa\/B: tokenNamePrefix 'ci' is already used by WorkspaceServiceAccountToken S\/Sa\/A for the same service account.*another tokenNamePrefix/);
  });

  test('also through two imports of the same service account', () => {
    const stack = stackIn(new App());
    const one = WorkspaceServiceAccount.fromServiceAccountAttributes(stack, 'One', { workspaceId: WS, serviceAccountId: '7' });
    const two = WorkspaceServiceAccount.fromServiceAccountAttributes(stack, 'Two', { workspaceId: WS, serviceAccountId: '7' });
    new WorkspaceServiceAccountToken(stack, 'A', { serviceAccount: one, tokenNamePrefix: 'ci' });
    expect(() => new WorkspaceServiceAccountToken(stack, 'B', { serviceAccount: two, tokenNamePrefix: 'ci' })).toThrow(/tokenNamePrefix 'ci' is already used by WorkspaceServiceAccountToken S\/A/);
  });

  test('the same tokenNamePrefix on different service accounts is fine', () => {
    const stack = stackIn(new App());
    new WorkspaceServiceAccount(stack, 'One', { workspaceId: WS }).addToken('T', { tokenNamePrefix: 'ci' });
    new WorkspaceServiceAccount(stack, 'Two', { workspaceId: WS }).addToken('T', { tokenNamePrefix: 'ci' });
    const imported = WorkspaceServiceAccount.fromServiceAccountAttributes(stack, 'Imp', { workspaceId: WS, serviceAccountId: '8' });
    new WorkspaceServiceAccountToken(stack, 'T', { serviceAccount: imported, tokenNamePrefix: 'ci' });
    expect(() => Template.fromStack(stack)).not.toThrow();
  });

  test('two WorkspaceApiKeys of one workspace with one keyNamePrefix are refused', () => {
    const stack = stackIn(new App());
    new WorkspaceApiKey(stack, 'A', { workspaceId: WS, keyNamePrefix: 'dash' });
    expect(() => new WorkspaceApiKey(stack, 'B', { workspaceId: WS, keyNamePrefix: 'dash' }))
      .toThrow(/^WorkspaceApiKey S\/B: keyNamePrefix 'dash' is already used by WorkspaceApiKey S\/A in workspace g-0123456789.*another keyNamePrefix/);
  });

  test('also when the workspace id is the same token, across stacks', () => {
    const app = new App();
    const ws = workspace(stackIn(app, 'Ws'));
    new WorkspaceApiKey(stackIn(app, 'One'), 'Key', { workspaceId: ws.attrId, keyNamePrefix: 'dash' });
    expect(() => new WorkspaceApiKey(stackIn(app, 'Two'), 'Key', { workspaceId: ws.attrId, keyNamePrefix: 'dash' })).toThrow(/already used by WorkspaceApiKey One\/Key/);
  });

  test('the same keyNamePrefix in two workspaces is fine', () => {
    const stack = stackIn(new App());
    new WorkspaceApiKey(stack, 'A', { workspaceId: WS, keyNamePrefix: 'dash' });
    new WorkspaceApiKey(stack, 'B', { workspaceId: OTHER_WS, keyNamePrefix: 'dash' });
    expect(() => Template.fromStack(stack)).not.toThrow();
  });

  test('two service accounts of one workspace with one name are refused', () => {
    const stack = stackIn(new App());
    new WorkspaceServiceAccount(stack, 'A', { workspaceId: WS, serviceAccountName: 'ci' });
    expect(() => new WorkspaceServiceAccount(stack, 'B', { workspaceId: WS, serviceAccountName: 'ci' }))
      .toThrow(/^WorkspaceServiceAccount S\/B: serviceAccountName 'ci' is already used by WorkspaceServiceAccount S\/A in workspace g-0123456789/);
  });
});

describe('4. secret names', () => {
  test.each([
    ['bad name with spaces!', 'bad name with spaces!', /secretName may contain only ASCII letters, digits and \/_\+=\.@-.*got 'bad name with spaces!'.*' ', '!'/],
    ['an empty name', '', /secretName must be 1 to 512 characters, got 0/],
    ['513 characters', 'x'.repeat(513), /secretName must be 1 to 512 characters, got 513/],
  ])('%s is refused', (_, secretName, message) => {
    const stack = stackIn(new App());
    expect(() => new WorkspaceApiKey(stack, 'Key', { workspaceId: WS, secretName })).toThrow(message);
  });

  test('the error names the construct and the fix', () => {
    const stack = stackIn(new App());
    expect(() => new WorkspaceApiKey(stack, 'Key', { workspaceId: WS, secretName: 'bad name with spaces!' }))
      .toThrow(/^WorkspaceApiKey S\/Key: secretName .*leave secretName unset/);
  });

  test('a name ending in - and 6 characters synthesizes with a warning', () => {
    const stack = stackIn(new App());
    new WorkspaceApiKey(stack, 'Key', { workspaceId: WS, secretName: 'team/grafana-reader' });
    Annotations.fromStack(stack).hasWarning('/S/Key', Match.stringLikeRegexp("secretName 'team/grafana-reader' ends in '-' and 6 characters"));
  });

  test('a valid name synthesizes without a warning, with its narrow IAM pattern', () => {
    const stack = stackIn(new App());
    new WorkspaceApiKey(stack, 'Key', { workspaceId: WS, secretName: 'team/grafana_key+1=a.b@c' });
    Annotations.fromStack(stack).hasNoWarning('*', Match.anyValue());
    expect(JSON.stringify(Template.fromStack(stack).findResources('AWS::IAM::Policy'))).toContain(':secret:team/grafana_key+1=a.b@c-??????');
  });
});

describe('5. workspaceUrl', () => {
  test.each([
    ['http://10.0.0.5:3000', /workspaceUrl must be an absolute https URL.*got 'http:\/\/10\.0\.0\.5:3000'/],
    ['not a url', /workspaceUrl must be an absolute https URL.*got 'not a url'/],
    ['https://', /workspaceUrl must be an absolute https URL/],
    ['https:grafana.example.com', /workspaceUrl must be an absolute https URL/],
    ['https://grafana.example.com/?org=1', /workspaceUrl must not have a query or fragment/],
    ['https://grafana.example.com/#x', /workspaceUrl must not have a query or fragment/],
    ['https://grafana.example.com ', /workspaceUrl must not contain whitespace or control characters; got 'https:\/\/grafana\.example\.com '/],
    ['https://grafana.example\t.com', /workspaceUrl must not contain whitespace or control characters; got 'https:\/\/grafana\.example\\u0009\.com'/],
    [' https://grafana.example.com', /workspaceUrl must be an absolute https URL/],
    ['https:///grafana.example.com', /workspaceUrl must be an absolute https URL/],
  ])('%p is refused on a WorkspaceApiKey', (workspaceUrl, message) => {
    const stack = stackIn(new App());
    expect(() => new WorkspaceApiKey(stack, 'Key', { workspaceId: WS, workspaceUrl })).toThrow(message);
  });

  test('credentials in the URL are refused, and not repeated in the message', () => {
    const stack = stackIn(new App());
    let message = '';
    try {
      new WorkspaceApiKey(stack, 'Key', { workspaceId: WS, workspaceUrl: 'https://admin:hunter2@grafana.example.com' });
    } catch (err) { message = (err as Error).message; }
    expect(message).toMatch(/^WorkspaceApiKey S\/Key: workspaceUrl must not carry credentials.*https:\/\/\*\*\*@grafana\.example\.com/);
    expect(message).not.toContain('hunter2');
    expect(message).not.toContain('admin');
  });

  test('a service-account token is checked too', () => {
    const stack = stackIn(new App());
    const sa = new WorkspaceServiceAccount(stack, 'Sa', { workspaceId: WS });
    expect(() => sa.addToken('T', { workspaceUrl: 'http://10.0.0.5:3000' })).toThrow(/^WorkspaceServiceAccountToken S\/Sa\/T: workspaceUrl must be an absolute https URL/);
  });

  test('parseWorkspaceUrl normalises what it accepts', () => {
    expect(parseWorkspaceUrl('o', 'https://Grafana.Example.com:443/')).toBe('https://grafana.example.com');
    expect(parseWorkspaceUrl('o', 'https://grafana.example.com:8443/grafana//')).toBe('https://grafana.example.com:8443/grafana');
    expect(parseWorkspaceUrl('o', 'https://g-0123456789.grafana-workspace.us-east-1.amazonaws.com'))
      .toBe('https://g-0123456789.grafana-workspace.us-east-1.amazonaws.com');
    expect(() => parseWorkspaceUrl('Owner o', 'ftp://x')).toThrow(/^Owner o: workspaceUrl must be an absolute https URL/);
  });

  test('valid and token URLs synthesize; the handler gets the normalised URL as a property and in its environment', () => {
    const stack = stackIn(new App());
    const ws = workspace(stack);
    new WorkspaceApiKey(stack, 'Custom', { workspaceId: WS, workspaceUrl: 'https://grafana.example.com/' });
    new WorkspaceApiKey(stack, 'Token', { workspaceId: ws.attrId, workspaceUrl: `https://${ws.attrEndpoint}` });
    new WorkspaceApiKey(stack, 'Joined', { workspaceId: WS, workspaceUrl: Fn.join('', ['https://', ws.attrEndpoint]) });
    const template = Template.fromStack(stack);
    template.hasResourceProperties('Custom::GrafanaWorkspaceApiKey', { VerifyUrl: 'https://grafana.example.com' });
    const fn = Object.values(template.findResources('AWS::Lambda::Function'))[0];
    expect(JSON.stringify(fn.Properties.Environment.Variables.GRAFANA_CREDENTIALS_VERIFY_URLS)).toContain('https://grafana.example.com');
  });
});

describe('6. a WorkspaceApiKey on a Grafana 11+ workspace of the same app', () => {
  test.each([
    ['attrId', (ws: grafana.CfnWorkspace) => ws.attrId],
    ['ref', (ws: grafana.CfnWorkspace) => ws.ref],
  ])('is refused at synth through %s', (_, idOf) => {
    const stack = stackIn(new App());
    const ws = workspace(stack, '11.1');
    new WorkspaceApiKey(stack, 'Key', { workspaceId: idOf(ws) });
    expect(() => Template.fromStack(stack))
      .toThrow(/WorkspaceApiKey S\/Key: workspaceId refers to S\/Ws, whose grafanaVersion is '11\.1'.*no API keys.*WorkspaceServiceAccount.*WorkspaceServiceAccountToken/);
  });

  test('also when the version is set after the key, and across stacks', () => {
    const app = new App();
    const ws = workspace(stackIn(app, 'Ws'));
    new WorkspaceApiKey(stackIn(app, 'Keys'), 'Key', { workspaceId: ws.attrId });
    ws.grafanaVersion = '12.0';
    expect(() => app.synth()).toThrow(/WorkspaceApiKey Keys\/Key: workspaceId refers to Ws\/Ws, whose grafanaVersion is '12\.0'/);
  });

  test.each([['10.4'], ['9.4'], [undefined]])('grafanaVersion %p is fine', (version) => {
    const stack = stackIn(new App());
    new WorkspaceApiKey(stack, 'Key', { workspaceId: workspace(stack, version).attrId });
    expect(() => Template.fromStack(stack)).not.toThrow();
  });

  test('a token version, or a workspace id that is not a reference to a workspace, is not checked', () => {
    const stack = stackIn(new App());
    const ws = workspace(stack, Lazy.string({ produce: () => '11' }));
    new WorkspaceApiKey(stack, 'Key', { workspaceId: ws.attrId });
    new WorkspaceApiKey(stack, 'Lazy', { workspaceId: Lazy.string({ produce: () => WS }) });
    new WorkspaceApiKey(stack, 'Selected', { workspaceId: Fn.select(0, [WS]) });
    expect(() => Template.fromStack(stack)).not.toThrow();
  });

  test('service accounts and their tokens on Grafana 11 are fine', () => {
    const stack = stackIn(new App());
    const ws = workspace(stack, '11.1');
    new WorkspaceServiceAccount(stack, 'Sa', { workspaceId: ws.attrId, grafanaRole: GrafanaRole.EDITOR }).addToken('T');
    expect(() => Template.fromStack(stack)).not.toThrow();
  });
});

test('a stack with every prop set to a valid value synthesizes', () => {
  const app = new App();
  const stack = stackIn(app, 'S', { account: '111111111111', region: 'eu-west-1' });
  new WorkspaceApiKey(stack, 'Key', {
    workspaceId: WS, keyNamePrefix: 'dashboards', secretName: 'team/grafana/dashboards', workspaceUrl: 'https://grafana.example.com',
  });
  const sa = new WorkspaceServiceAccount(stack, 'Sa', { workspaceId: WS, serviceAccountName: 'ci deploy' });
  sa.addToken('Token', { tokenNamePrefix: 'ci', secretName: 'team/grafana/ci', workspaceUrl: 'https://grafana.example.com:8443/grafana' });
  const template = Template.fromStack(stack);
  template.hasResourceProperties('Custom::GrafanaWorkspaceApiKey', { NamePrefix: 'dashboards' });
  template.hasResourceProperties('Custom::GrafanaServiceAccountToken', { NamePrefix: 'ci' });
  template.hasResourceProperties('AWS::SecretsManager::Secret', { Name: 'team/grafana/ci' });
  Annotations.fromStack(stack).hasNoWarning('*', Match.anyValue());
});
