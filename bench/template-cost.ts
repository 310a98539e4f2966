/**
 * Template cost of N keys in one stack for three ways of doing the job:
 * this library (with default secret names over 3 workspaces, and with an
 * explicit secret name per key over a workspace per key), aws-cdk-lib's
 * AwsCustomResource (create the key, then PutSecretValue with it), and this
 * library's handler behind custom-resources.Provider.
 */
import * as path from 'path';
import { App, CustomResource, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as cr from 'aws-cdk-lib/custom-resources';
import { WorkspaceApiKey } from '../lib';
import { iamLimitViolations, LONGEST_PSEUDO, rolePolicySizes } from '../test/testbed/iam-limits';

export type Approach = 'library' | 'library, named + spread' | 'AwsCustomResource' | 'Provider';

const WORKSPACES = ['g-0000000000', 'g-0000000001', 'g-0000000002'];

export function buildStack(approach: Approach, keys: number): Stack {
  const app = new App({ context: { 'aws:cdk:disable-stack-trace': true, '@aws-cdk/core:stackResourceLimit': 0 } });
  const stack = new Stack(app, `Bench${approach.replace(/[^A-Za-z]/g, '')}${keys}`, { env: { account: '111111111111', region: 'us-east-1' } });
  if (approach === 'library') {
    for (let i = 0; i < keys; i++) new WorkspaceApiKey(stack, `Key${i}`, { workspaceId: WORKSPACES[i % 3] });
  } else if (approach === 'library, named + spread') {
    for (let i = 0; i < keys; i++) {
      new WorkspaceApiKey(stack, `Key${i}`, { workspaceId: `g-${String(i).padStart(10, '0')}`, secretName: `team-${i % 10}/grafana/key-${i}` });
    }
  } else if (approach === 'AwsCustomResource') {
    for (let i = 0; i < keys; i++) {
      const workspaceId = WORKSPACES[i % 3];
      const secret = new secretsmanager.Secret(stack, `Secret${i}`);
      const create = new cr.AwsCustomResource(stack, `CreateKey${i}`, {
        onCreate: {
          service: 'Grafana', action: 'createWorkspaceApiKey',
          parameters: { workspaceId, keyName: `key-${i}`, keyRole: 'VIEWER', secondsToLive: 2592000 },
          physicalResourceId: cr.PhysicalResourceId.of(`key-${i}`),
        },
        onDelete: { service: 'Grafana', action: 'deleteWorkspaceApiKey', parameters: { workspaceId, keyName: `key-${i}` } },
        policy: cr.AwsCustomResourcePolicy.fromSdkCalls({ resources: [`arn:aws:grafana:us-east-1:111111111111:/workspaces/${workspaceId}`] }),
        installLatestAwsSdk: false,
      });
      new cr.AwsCustomResource(stack, `StoreKey${i}`, {
        onUpdate: {
          service: 'SecretsManager', action: 'putSecretValue',
          parameters: { SecretId: secret.secretArn, SecretString: create.getResponseField('key') },
          physicalResourceId: cr.PhysicalResourceId.of(`store-${i}`),
        },
        policy: cr.AwsCustomResourcePolicy.fromSdkCalls({ resources: [secret.secretArn] }),
        installLatestAwsSdk: false,
      });
    }
  } else {
    const onEvent = new lambda.Function(stack, 'Handler', {
      runtime: lambda.Runtime.NODEJS_22_X, handler: 'index.handler',
      code: lambda.Code.fromAsset(path.join(__dirname, '..', 'handler')),
    });
    const provider = new cr.Provider(stack, 'Provider', { onEventHandler: onEvent });
    for (let i = 0; i < keys; i++) {
      const workspaceId = WORKSPACES[i % 3];
      const secret = new secretsmanager.Secret(stack, `Secret${i}`);
      secret.grantWrite(onEvent);
      secret.grantRead(onEvent);
      onEvent.addToRolePolicy(new iam.PolicyStatement({
        actions: ['grafana:CreateWorkspaceApiKey', 'grafana:DeleteWorkspaceApiKey'],
        resources: [`arn:aws:grafana:us-east-1:111111111111:/workspaces/${workspaceId}`],
      }));
      new CustomResource(stack, `Key${i}`, {
        serviceToken: provider.serviceToken,
        properties: { Kind: 'amg-api-key', SecretArn: secret.secretArn, WorkspaceId: workspaceId, Role: 'VIEWER', SecondsToLive: '2592000', NamePrefix: `key-${i}` },
      });
      new secretsmanager.CfnRotationSchedule(stack, `Rotation${i}`, {
        secretId: secret.secretArn, rotationLambdaArn: onEvent.functionArn, rotationRules: { scheduleExpression: 'rate(25 days)' },
      });
    }
  }
  return stack;
}

export interface TemplateCost {
  readonly resources: number;
  readonly templateBytes: number;
  /** The largest aggregate of a role's inline policies, as IAM counts it (limit 10,240). */
  readonly inlineChars: number;
  /** The largest customer-managed policy attached to a role, as IAM counts it (limit 6,144). */
  readonly largestManagedChars: number;
  /** The most managed policies attached to one role, AWS-managed ones included (limit 10). */
  readonly managedPoliciesPerRole: number;
  /** Whether every role passes all three of IAM's limits. */
  readonly fitsIam: boolean;
  readonly tokenInResponse: boolean;
}

export function measureTemplate(approach: Approach, keys: number): TemplateCost {
  const stack = buildStack(approach, keys);
  const template = App.of(stack)!.synth().getStackByName(stack.stackName).template;
  const resources = Object.values(template.Resources as Record<string, { Type: string; Properties?: any }>);
  // Resolved in the partition and region with the longest names, where policies are largest.
  const roles = rolePolicySizes(template, LONGEST_PSEUDO);
  return {
    resources: resources.length,
    templateBytes: Buffer.byteLength(JSON.stringify(template)),
    inlineChars: Math.max(0, ...roles.map((r) => r.inlineChars)),
    largestManagedChars: Math.max(0, ...roles.flatMap((r) => Object.values(r.managedChars))),
    managedPoliciesPerRole: Math.max(0, ...roles.map((r) => r.managedPolicies)),
    fitsIam: iamLimitViolations(roles).length === 0,
    // AwsCustomResource returns the whole API response, key included, as the custom resource's Data.
    tokenInResponse: approach === 'AwsCustomResource',
  };
}
