/** RotatingApiKey (issue #17): what it synthesizes, what it grants, and what it refuses. */
import { App, Duration, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as apigateway from 'aws-cdk-lib/aws-apigateway';
import { RotatingApiKey, RotatingApiKeyProps } from '../../lib';

function stackWith(build: (stack: Stack, plans: apigateway.UsagePlan[]) => void, planCount = 2): { stack: Stack; template: Template } {
  const app = new App();
  const stack = new Stack(app, 'TestStack', { env: { account: '111111111111', region: 'eu-west-1' } });
  const plans = Array.from({ length: planCount }, (_, i) => new apigateway.UsagePlan(stack, `Plan${i}`, { name: `plan-${i}` }));
  build(stack, plans);
  return { stack, template: Template.fromStack(stack) };
}

const keyProps = (plans: apigateway.IUsagePlan[], extra: Partial<RotatingApiKeyProps> = {}): RotatingApiKeyProps => ({ usagePlans: plans, ...extra });

describe('RotatingApiKey resources', () => {
  test('a secret, a custom resource with the plans, a 30-day rotation; no ApiKey or UsagePlanKey in the template', () => {
    const { template } = stackWith((stack, plans) => new RotatingApiKey(stack, 'Key', keyProps(plans, { description: 'partner', customerId: 'cust-1' })));
    template.hasResourceProperties('Custom::ApiGatewayRotatingApiKey', {
      Kind: 'apigateway-api-key',
      NamePrefix: Match.stringLikeRegexp('^TestStack-Key'),
      UsagePlanIds: { 'Fn::Join': ['', [{ Ref: Match.stringLikeRegexp('^Plan0') }, ',', { Ref: Match.stringLikeRegexp('^Plan1') }]] },
      Description: 'partner', CustomerId: 'cust-1', Enabled: 'true', OwnerTag: 'TestStack',
    });
    const [cr] = Object.values(template.findResources('Custom::ApiGatewayRotatingApiKey'));
    expect(cr.Properties.SecondsToLive).toBeUndefined();
    expect(cr.Properties.WorkspaceId).toBeUndefined();
    template.hasResourceProperties('AWS::SecretsManager::RotationSchedule', { RotationRules: { ScheduleExpression: 'rate(30 days)' } });
    template.resourceCountIs('AWS::ApiGateway::ApiKey', 0);
    template.resourceCountIs('AWS::ApiGateway::UsagePlanKey', 0);
  });

  test('it is not an IApiKey, so usagePlan.addApiKey() cannot take it', () => {
    const { stack } = stackWith((s, plans) => new RotatingApiKey(s, 'Key', keyProps(plans)));
    const key = stack.node.findChild('Key') as RotatingApiKey;
    expect('keyId' in key).toBe(false);
    expect('keyArn' in key).toBe(false);
  });

  test('rotateAfter has no lifetime to stay under: 90 days is accepted', () => {
    const { template } = stackWith((stack, plans) => new RotatingApiKey(stack, 'Key', keyProps(plans, { rotateAfter: Duration.days(90) })));
    template.hasResourceProperties('AWS::SecretsManager::RotationSchedule', { RotationRules: { ScheduleExpression: 'rate(90 days)' } });
  });

  test('IAM: keys only with the owner tag, usage-plan keys only of the plans given', () => {
    const { template } = stackWith((stack, plans) => new RotatingApiKey(stack, 'Key', keyProps(plans)));
    const statements = Object.values(template.findResources('AWS::IAM::Policy')).flatMap((p: any) => p.Properties.PolicyDocument.Statement);
    const bySid = (sid: string) => statements.find((s: any) => s.Sid === sid);
    const json = (v: unknown) => JSON.stringify(v);
    expect(bySid('ApiGatewayKeyCreate')).toMatchObject({ Action: ['apigateway:POST'], Condition: { StringEquals: { 'aws:RequestTag/grafana-credentials:owner': 'TestStack' } } });
    expect(json(bySid('ApiGatewayKeyCreate').Resource)).toContain('::/apikeys"');
    expect(bySid('ApiGatewayOwnKeys')).toMatchObject({ Action: ['apigateway:DELETE', 'apigateway:GET'], Condition: { StringEquals: { 'aws:ResourceTag/grafana-credentials:owner': 'TestStack' } } });
    expect(json(bySid('ApiGatewayOwnKeys').Resource)).toContain('::/apikeys/*"');
    expect(bySid('ApiGatewayKeyList')).toMatchObject({ Action: ['apigateway:GET'] });
    expect(bySid('ApiGatewayKeyList').Condition).toBeUndefined();
    expect(bySid('ApiGatewayUsagePlanKeys')).toBeUndefined(); // in a managed policy of its own (next test)
    const managed = Object.values(template.findResources('AWS::IAM::ManagedPolicy')).flatMap((p: any) => p.Properties.PolicyDocument.Statement);
    const planKeys = managed.find((s: any) => s.Sid === 'ApiGatewayUsagePlanKeys');
    expect(planKeys.Action).toEqual(['apigateway:DELETE', 'apigateway:GET', 'apigateway:POST']);
    expect(planKeys.Resource).toHaveLength(2);
    expect(json(planKeys.Resource)).toMatch(/usageplans\/"[^]*Plan0[^]*\/keys\*"/);
    // Nothing on apigateway without a resource, and no action on the plans themselves.
    for (const s of [...statements, ...managed].filter((x: any) => json(x.Action).includes('apigateway:'))) {
      expect(json(s.Resource)).not.toMatch(/"\*"|::\/usageplans\/\*|::\*/);
    }
  });

  test('IAM for a change of plans: the usage-plan grants are a policy whose logical id follows the set of plans, and the custom resource depends on it', () => {
    // CloudFormation creates the new set's policy before the custom resource's update and deletes the old set's only
    // in the cleanup phase (or, on rollback, the new one after the custom resource's rollback): during the change
    // the handler may touch the plans of both sets, to take the key out of a removed plan and put it back.
    const synth = (planCount: number) => stackWith((stack, plans) => new RotatingApiKey(stack, 'Key', keyProps(plans.slice(0, planCount))), 3).template;
    const planPolicies = (template: Template) => Object.entries(template.findResources('AWS::IAM::ManagedPolicy'))
      .filter(([, p]: [string, any]) => p.Properties.PolicyDocument.Statement.some((s: any) => s.Sid === 'ApiGatewayUsagePlanKeys'));
    const [two, one, twoAgain] = [synth(2), synth(1), synth(2)];
    const [[idTwo, policyTwo]] = planPolicies(two);
    const [[idOne, policyOne]] = planPolicies(one);
    expect(idOne).not.toBe(idTwo);
    expect(planPolicies(twoAgain)[0][0]).toBe(idTwo); // the same set, the same policy: no churn on an unchanged deploy
    expect((policyTwo as any).Properties.PolicyDocument.Statement[0].Resource).toHaveLength(2);
    expect((policyOne as any).Properties.PolicyDocument.Statement[0].Resource).toHaveLength(1);
    const [cr] = Object.values(one.findResources('Custom::ApiGatewayRotatingApiKey'));
    expect(cr.DependsOn).toContain(idOne);
  });

  test('150 keys with 10 plans each, 150 plans in all, still fit IAM, overflowing into managed policies', () => {
    const { template } = stackWith((stack) => {
      const plans = Array.from({ length: 150 }, (_, i) => apigateway.UsagePlan.fromUsagePlanId(stack, `Imported${i}`, `p${String(i).padStart(9, '0')}`));
      for (let i = 0; i < 150; i++) new RotatingApiKey(stack, `Key${i}`, keyProps(plans.slice((i % 15) * 10, (i % 15) * 10 + 10)));
    }, 0);
    const planArns = JSON.stringify(template.toJSON()).match(/usageplans\/p\d{9}\/keys/g) ?? [];
    expect(new Set(planArns).size).toBe(150);
    const policies = Object.values(template.findResources('AWS::IAM::ManagedPolicy'));
    expect(policies.length).toBeLessThanOrEqual(9);
  });

  test('verifyUrl is passed on normalised and named in the function environment', () => {
    const { template } = stackWith((stack, plans) => new RotatingApiKey(stack, 'Key', keyProps(plans, { verifyUrl: 'https://abc.execute-api.eu-west-1.amazonaws.com/prod/health/' })));
    template.hasResourceProperties('Custom::ApiGatewayRotatingApiKey', { VerifyUrl: 'https://abc.execute-api.eu-west-1.amazonaws.com/prod/health' });
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ GRAFANA_CREDENTIALS_VERIFY_URLS: Match.stringLikeRegexp('abc\\.execute-api') }) },
    });
  });
});

describe('RotatingApiKey refuses at synth', () => {
  const refuse = (build: (stack: Stack, plans: apigateway.UsagePlan[]) => void, planCount?: number) => expect(() => stackWith(build, planCount));
  test('no usage plan, or more than 10', () => {
    refuse((s) => new RotatingApiKey(s, 'Key', keyProps([]))).toThrow(/RotatingApiKey TestStack\/Key: usagePlans must name 1 to 10 usage plans \(API Gateway's limit per key\), got 0/);
    refuse((s, plans) => new RotatingApiKey(s, 'Key', keyProps(plans)), 11).toThrow(/usagePlans must name 1 to 10 usage plans .*got 11/);
  });
  test('the same plan twice', () => {
    refuse((s, plans) => new RotatingApiKey(s, 'Key', keyProps([plans[0], plans[0]]))).toThrow(/usagePlans names TestStack\/Plan0 twice/);
  });
  test('a verifyUrl that is not https', () => {
    refuse((s, plans) => new RotatingApiKey(s, 'Key', keyProps(plans, { verifyUrl: 'http://abc.example.com/x' }))).toThrow(/verifyUrl must be an absolute https URL .*got 'http:\/\/abc.example.com\/x'/);
  });
  test('a name prefix too long, with bad characters, or used twice', () => {
    refuse((s, plans) => new RotatingApiKey(s, 'Key', keyProps(plans, { apiKeyNamePrefix: 'a'.repeat(118) }))).toThrow(/apiKeyNamePrefix must be 1 to 117 characters/);
    refuse((s, plans) => new RotatingApiKey(s, 'Key', keyProps(plans, { apiKeyNamePrefix: 'a b' }))).toThrow(/apiKeyNamePrefix may contain only/);
    refuse((s, plans) => {
      new RotatingApiKey(s, 'A', keyProps(plans, { apiKeyNamePrefix: 'partner' }));
      new RotatingApiKey(s, 'B', keyProps(plans, { apiKeyNamePrefix: 'partner' }));
    }).toThrow(/RotatingApiKey TestStack\/B: apiKeyNamePrefix 'partner' is already used by RotatingApiKey TestStack\/A/);
  });
});
