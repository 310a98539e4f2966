import * as fs from 'fs';
import * as path from 'path';
import { Aws, CfnResource, Duration, Lazy, Names, Stack, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';
import { HANDLER_ENV } from './contract';

/** Where the prebuilt handler bundle lives, from the compiled package or from sources under test. */
function handlerAssetDir(): string {
  const candidates = [path.join(__dirname, '..', '..', 'handler'), path.join(__dirname, '..', '..', 'dist', 'handler')];
  const found = candidates.find((dir) => fs.existsSync(path.join(dir, 'index.mjs')));
  if (!found) {
    throw new Error(`The prebuilt handler bundle is missing (looked in ${candidates.join(', ')}): run 'npm run build' in the library`);
  }
  return found;
}

/** Grafana actions each construct kind needs; granted on workspace ARNs only. */
export const GRAFANA_ACTIONS = {
  apiKey: ['grafana:CreateWorkspaceApiKey', 'grafana:DeleteWorkspaceApiKey', 'grafana:DescribeWorkspace'],
  serviceAccount: ['grafana:CreateWorkspaceServiceAccount', 'grafana:DeleteWorkspaceServiceAccount', 'grafana:ListWorkspaceServiceAccounts'],
  serviceAccountToken: [
    'grafana:CreateWorkspaceServiceAccountToken', 'grafana:DeleteWorkspaceServiceAccountToken',
    'grafana:ListWorkspaceServiceAccountTokens', 'grafana:DescribeWorkspace',
  ],
} as const;

const SECRET_ACTIONS = [
  'secretsmanager:DescribeSecret', 'secretsmanager:GetSecretValue',
  'secretsmanager:PutSecretValue', 'secretsmanager:UpdateSecretVersionStage',
];

/** The timeout of the singleton function; its guard answers CloudFormation before it. */
export const HANDLER_TIMEOUT = Duration.minutes(2);

/**
 * The one function per stack that serves every credential in it, for both
 * CloudFormation events and Secrets Manager rotation. Its role policy is kept
 * small however many credentials there are: one statement for the Grafana
 * workspaces (by ARN) and one for the secrets (by the stack's name prefix),
 * so 150 credentials fit IAM's inline policy size limit.
 */
export class CredentialHandler extends Construct {
  static readonly ID = 'GrafanaCredentialsHandler';

  /** The stack's singleton, created on first use. */
  static of(scope: Construct): CredentialHandler {
    const stack = Stack.of(scope);
    return (stack.node.tryFindChild(CredentialHandler.ID) as CredentialHandler | undefined) ?? new CredentialHandler(stack, CredentialHandler.ID);
  }

  readonly function: lambda.Function;
  /** Prefix of the default secret names in this stack; one IAM statement covers them all. */
  readonly secretNamePrefix: string;

  private readonly grafanaActions = new Set<string>();
  private readonly workspaceArns = new Set<string>();
  private readonly secretArnPatterns = new Set<string>();
  private readonly keys = new Set<kms.IKey>();
  private readonly verifyUrls = new Set<string>();
  private rotationPermission?: lambda.CfnPermission;

  private constructor(scope: Stack, id: string) {
    super(scope, id);
    this.secretNamePrefix = `grafana-credentials/${Names.uniqueResourceName(scope, { maxLength: 100, separator: '-' })}/`;
    this.function = new lambda.Function(this, 'Function', {
      runtime: lambda.Runtime.NODEJS_24_X,
      architecture: lambda.Architecture.ARM_64,
      handler: 'index.handler',
      code: lambda.Code.fromAsset(handlerAssetDir()),
      timeout: HANDLER_TIMEOUT,
      memorySize: 256,
      description: 'Issues, rotates and revokes Amazon Managed Grafana credentials kept in Secrets Manager (cdk-grafana-credentials)',
    });
    this.function.addEnvironment(HANDLER_ENV.verifyUrls, Lazy.string({ produce: () => Stack.of(this).toJsonString([...this.verifyUrls].sort()) }));
    this.function.addToRolePolicy(new iam.PolicyStatement({
      sid: 'GrafanaWorkspaces',
      actions: Lazy.list({ produce: () => [...this.grafanaActions].sort() }),
      resources: Lazy.list({ produce: () => [...this.workspaceArns] }),
    }));
    this.acknowledge(this.function.role!, 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
      'AWSLambdaBasicExecutionRole only lets the function write its own CloudWatch Logs, the standard for Lambda functions.');
    this.function.addToRolePolicy(new iam.PolicyStatement({
      sid: 'CredentialSecrets',
      actions: SECRET_ACTIONS,
      resources: Lazy.list({ produce: () => [...this.secretArnPatterns] }),
    }));
  }

  /** Allows the handler the given Grafana actions on one workspace. */
  grantWorkspace(workspaceId: string, actions: readonly string[]): void {
    actions.forEach((action) => this.grafanaActions.add(action));
    this.workspaceArns.add(`arn:${Aws.PARTITION}:grafana:${Aws.REGION}:${Aws.ACCOUNT_ID}:/workspaces/${workspaceId}`);
  }

  /** Names a URL where rotation may verify a new credential (a construct's `workspaceUrl`). */
  allowVerifyUrl(url: string): void {
    this.verifyUrls.add(url);
  }

  /**
   * Allows the handler to read and write one credential secret. A secret named
   * under `secretNamePrefix` is covered by the shared prefix statement.
   */
  grantSecret(secretName: string | undefined, encryptionKey?: kms.IKey): void {
    const name = secretName ?? this.secretNamePrefix;
    const pattern = name === this.secretNamePrefix || name.startsWith(this.secretNamePrefix)
      ? `${this.secretNamePrefix}*`
      : `${name}-??????`;
    const arn = `arn:${Aws.PARTITION}:secretsmanager:${Aws.REGION}:${Aws.ACCOUNT_ID}:secret:${pattern}`;
    if (!this.secretArnPatterns.has(arn)) {
      this.secretArnPatterns.add(arn);
      this.acknowledge(this.function.role!, `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:secretsmanager:<AWS::Region>:<AWS::AccountId>:secret:${pattern}]`,
        pattern.endsWith('-??????')
          ? 'Secrets Manager appends 6 random characters to a secret name in its ARN; this matches exactly the one secret so named.'
          : "A name prefix covering only this stack's credential secrets (the library names them so); one statement instead of one per secret keeps the policy within IAM's size limit at 150 credentials.");
    }
    if (encryptionKey && !this.keys.has(encryptionKey)) {
      this.keys.add(encryptionKey);
      // What Secrets Manager asks of the caller with a customer-managed key: GenerateDataKey to
      // write a version, Decrypt to read one. Named actions, no `kms:*Encrypt*` wildcards.
      encryptionKey.grant(this.function, 'kms:Decrypt', 'kms:GenerateDataKey');
    }
  }

  /**
   * Records a reviewed cdk-nag finding on one construct: through CDK's
   * Validations (cdk-nag 3) and as `cdk_nag` metadata (cdk-nag 2).
   */
  private acknowledge(scope: Construct, finding: string, reason: string): void {
    try {
      Validations.of(scope).acknowledge({ id: `AwsSolutions::${finding}`, reason });
    } catch {
      // aws-cdk-lib before 2.27x refuses '::' inside a finding id (IAM ARNs have it): acknowledge the rule on this role only.
      Validations.of(scope).acknowledge({ id: `AwsSolutions::${finding.split('[')[0]}`, reason: `${reason} (finding: ${finding})` });
    }
    const resources = [scope, ...scope.node.findAll()].filter((c): c is CfnResource => CfnResource.isCfnResource(c));
    for (const resource of resources) {
      const existing = resource.getMetadata('cdk_nag')?.rules_to_suppress ?? [];
      const [id, appliesTo] = finding.match(/^([^[]+)(?:\[(.*)\])?$/)!.slice(1);
      resource.addMetadata('cdk_nag', { rules_to_suppress: [...existing, { id, reason, ...(appliesTo ? { applies_to: [appliesTo] } : {}) }] });
    }
  }

  /** Lets Secrets Manager in this account invoke the handler for rotation; one permission per stack. */
  allowRotation(): lambda.CfnPermission {
    this.rotationPermission ??= new lambda.CfnPermission(this, 'SecretsManagerInvoke', {
      action: 'lambda:InvokeFunction',
      functionName: this.function.functionArn,
      principal: 'secretsmanager.amazonaws.com',
      sourceAccount: Aws.ACCOUNT_ID,
    });
    return this.rotationPermission;
  }
}
