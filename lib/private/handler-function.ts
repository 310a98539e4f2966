import { createHash } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { Aws, Duration, Names, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct, IDependable } from 'constructs';
import { acknowledgeFinding, GrantKind, HandlerPolicy, longestResolvedLength } from './handler-policy';
import { RotationScope } from './rotation-scope';

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

const ALL_GRAFANA_ACTIONS = [...new Set(Object.values(GRAFANA_ACTIONS).flat())].sort();

const SECRET_ACTIONS = [
  'secretsmanager:DescribeSecret', 'secretsmanager:GetSecretValue',
  'secretsmanager:PutSecretValue', 'secretsmanager:UpdateSecretVersionStage',
];

/** The timeout of the singleton function; its guard answers CloudFormation before it. */
export const HANDLER_TIMEOUT = Duration.minutes(2);

/** How long the handler's logs are kept unless a credential asks otherwise. */
export const DEFAULT_LOG_RETENTION = logs.RetentionDays.ONE_MONTH;

/**
 * What sets one handler function apart from another in a stack. Credentials
 * with equal options share a function; each distinct set gets its own.
 */
export interface HandlerOptions {
  readonly logRetention?: logs.RetentionDays;
}

/**
 * A short stable key for a set of handler options: '' for the defaults, else
 * 8 hex digits of a hash of the options that differ from their defaults.
 */
export function handlerOptionsKey(options: HandlerOptions): string {
  const differing: Record<string, unknown> = {};
  if (options.logRetention !== undefined && options.logRetention !== DEFAULT_LOG_RETENTION) differing.logRetention = options.logRetention;
  const names = Object.keys(differing).sort();
  if (names.length === 0) return '';
  const canonical = JSON.stringify(names.map((name) => [name, differing[name]]));
  return createHash('sha256').update(canonical).digest('hex').slice(0, 8).toUpperCase();
}

/** What Secrets Manager asks of the caller with a customer-managed key: GenerateDataKey to write a version, Decrypt to read one. */
const KEY_ACTIONS = ['kms:Decrypt', 'kms:GenerateDataKey'];

/**
 * The function that serves every credential of a stack with the same handler
 * options, for both CloudFormation events and Secrets Manager rotation.
 *
 * Its role policy stays within IAM's limits at 150 credentials: one statement
 * for the Grafana workspaces (by ARN), one for the secrets (the stack's
 * default-name prefix, plus each explicitly named secret); what the inline
 * policy cannot hold goes into additional managed policies (see
 * HandlerPolicy). Secrets Manager may invoke it only for the secrets it
 * manages, and it checks each rotation event against that list (see
 * RotationScope). Its log group is kept for `logRetention` and deleted with
 * the stack.
 */
export class CredentialHandler extends Construct {
  static readonly ID = 'GrafanaCredentialsHandler';

  /** The stack's handler for these options, created on first use. */
  static of(scope: Construct, options: HandlerOptions = {}): CredentialHandler {
    const stack = Stack.of(scope);
    const key = handlerOptionsKey(options);
    const id = `${CredentialHandler.ID}${key}`;
    return (stack.node.tryFindChild(id) as CredentialHandler | undefined) ?? new CredentialHandler(stack, id, key, options);
  }

  readonly function: lambda.Function;
  readonly logGroup: logs.LogGroup;
  /** Prefix of the default secret names of this handler's credentials; one IAM statement covers them all. */
  readonly secretNamePrefix: string;

  private readonly grafanaActions = new Set<string>();
  private readonly keys = new Set<kms.IKey>();
  private readonly policy: HandlerPolicy;
  private readonly rotation: RotationScope;
  private readonly workspaceGrant: GrantKind;
  private readonly secretGrant: GrantKind;
  private readonly keyGrant: GrantKind = { sid: 'CredentialKeys', actions: () => KEY_ACTIONS, allActions: KEY_ACTIONS };

  private constructor(scope: Stack, id: string, key: string, options: HandlerOptions) {
    super(scope, id);
    // Another handler of the same stack gets its own prefix, so neither role reaches the other's secrets.
    const stackName = Names.uniqueResourceName(scope, { maxLength: 100, separator: '-' });
    this.secretNamePrefix = `grafana-credentials/${stackName}${key ? `.${key}` : ''}/`;
    this.logGroup = new logs.LogGroup(this, 'Logs', {
      retention: options.logRetention ?? DEFAULT_LOG_RETENTION,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.function = new lambda.Function(this, 'Function', {
      runtime: lambda.Runtime.NODEJS_24_X,
      architecture: lambda.Architecture.ARM_64,
      handler: 'index.handler',
      code: lambda.Code.fromAsset(handlerAssetDir()),
      timeout: HANDLER_TIMEOUT,
      memorySize: 256,
      logGroup: this.logGroup,
      description: 'Issues, rotates and revokes Amazon Managed Grafana credentials kept in Secrets Manager (cdk-grafana-credentials)',
    });
    const role = this.function.role as iam.Role;
    acknowledgeFinding(role, 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
      'AWSLambdaBasicExecutionRole only lets the function write its own CloudWatch Logs, the standard for Lambda functions.');
    // The role CDK makes for a function holds AWSLambdaBasicExecutionRole; the rest of IAM's 10 managed policies are ours.
    this.policy = new HandlerPolicy(role, 1, acknowledgeFinding);
    this.rotation = new RotationScope(this, this.function, this.secretNamePrefix);
    this.workspaceGrant = {
      sid: 'GrafanaWorkspaces',
      actions: () => [...this.grafanaActions].sort(),
      allActions: ALL_GRAFANA_ACTIONS,
    };
    this.secretGrant = {
      sid: 'CredentialSecrets',
      actions: () => SECRET_ACTIONS,
      allActions: SECRET_ACTIONS,
      wildcardReason: (arn) => (arn.endsWith('-??????')
        ? 'Secrets Manager appends 6 random characters to a secret name in its ARN; this matches exactly the one secret so named.'
        : "A name prefix covering only this stack's credential secrets (the library names them so); one statement instead of one per secret keeps the policy within IAM's size limit at 150 credentials."),
    };
  }

  /** Allows the handler the given Grafana actions on one workspace. */
  grantWorkspace(workspaceId: string, actions: readonly string[], owner = this.node.path): void {
    actions.forEach((action) => this.grafanaActions.add(action));
    const prefix = `arn:${Aws.PARTITION}:grafana:${Aws.REGION}:${Aws.ACCOUNT_ID}:/workspaces/`;
    // A workspace id is always 'g-' and 10 hex digits, also when it is a token.
    const chars = longestResolvedLength(this, prefix, 0) + 12;
    this.policy.grant(this.workspaceGrant, `${prefix}${workspaceId}`, chars, (detail) => new Error(
      `${owner}: workspaceId '${workspaceId}': ${detail}. Split the credentials over more stacks, or use default secret names to leave more room for workspaces`));
  }

  /**
   * Allows the handler to read and write one credential secret. A secret named
   * under `secretNamePrefix` is covered by the shared prefix statement.
   */
  grantSecret(secretName: string | undefined, encryptionKey?: kms.IKey, owner = this.node.path): void {
    const name = secretName ?? this.secretNamePrefix;
    const pattern = name.startsWith(this.secretNamePrefix) ? `${this.secretNamePrefix}*` : `${name}-??????`;
    const arn = `arn:${Aws.PARTITION}:secretsmanager:${Aws.REGION}:${Aws.ACCOUNT_ID}:secret:${pattern}`;
    this.policy.grant(this.secretGrant, arn, longestResolvedLength(this, arn, 512), (detail) => new Error(
      `${owner}: secretName '${name}': ${detail}. Use default secret names (one statement covers all of them, however many), or split the credentials over more stacks`));
    if (encryptionKey && !this.keys.has(encryptionKey)) {
      this.keys.add(encryptionKey);
      // Key.grant decides whether the key's policy needs a statement too; the role's statement goes
      // through the same sizing as the others. A key ARN that is a token is sized as
      // `arn:<partition>:kms:<region>:<account>:key/` and a 36-character key id.
      const tokenKeyArn = longestResolvedLength(this, `arn:${Aws.PARTITION}:kms:${Aws.REGION}:${Aws.ACCOUNT_ID}:key/`, 0) + 36;
      const grantee = this.policy.granteeFor(this.keyGrant, (arn) => longestResolvedLength(this, arn, tokenKeyArn), (detail) => new Error(
        `${owner}: encryptionKey: ${detail}. Encrypt the credential secrets of a stack with fewer keys, use default secret names, or split the credentials over more stacks`));
      // Named actions, no `kms:*Encrypt*` wildcards.
      encryptionKey.grant(grantee, ...KEY_ACTIONS);
    }
  }

  /**
   * Lets Secrets Manager invoke the handler to rotate the secret of this name,
   * and no other secret; returns what its rotation schedule must wait for.
   */
  allowRotation(secretName: string, owner = this.node.path): IDependable {
    return this.rotation.allow(secretName, (detail) => new Error(
      `${owner}: secretName '${secretName}': ${detail}. Use default secret names (one entry covers all of them), give named secrets shared paths (team/grafana/<name>), or split the credentials over more stacks`));
  }
}
