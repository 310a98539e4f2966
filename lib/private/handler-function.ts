import { createHash } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { Annotations, Aws, Duration, Lazy, Names, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct, IDependable } from 'constructs';
import type { HandlerPlacementOptions } from '../handler-placement';
import { API_GATEWAY_OWNER_TAG, HANDLER_ENV } from './contract';
import { acknowledgeFinding, GrantKind, HandlerPolicy, IAM_ROLE_LIMITS, longestResolvedLength, nagForm } from './handler-policy';
import { DEFAULT_MEMORY_SIZE, HandlerSettings } from './handler-settings';
import { HealthCheckSchedule } from './health-check';
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

/** The handler only reads a self-managed Grafana's admin secret, and only that one. */
const ADMIN_SECRET_ACTIONS = ['secretsmanager:GetSecretValue'];

const HEALTH_CHECK_ID = 'HealthCheck';

/** What Secrets Manager asks of the caller with a customer-managed key: GenerateDataKey to write a version, Decrypt to read one. */
const KEY_ACTIONS = ['kms:Decrypt', 'kms:GenerateDataKey'];

/** A managed policy granting the usage-plan key calls on some usage plans (grantApiGatewayKeys). */
interface UsagePlanPolicy { readonly plans: string[]; readonly managed: iam.ManagedPolicy }

/**
 * The one function per stack that serves every credential in it, for both
 * CloudFormation events and Secrets Manager rotation.
 *
 * Its role policy stays within IAM's limits at 150 credentials: one statement
 * for the Grafana workspaces (by ARN), one for the secrets (the stack's
 * default-name prefix, plus each explicitly named secret); what the inline
 * policy cannot hold goes into additional managed policies (see
 * HandlerPolicy). Secrets Manager may invoke it only for the secrets it
 * manages, and it checks each rotation event against that list (see
 * RotationScope). Its log group keeps logs for the longest `logRetention` its
 * credentials ask for, and is deleted with the stack.
 */
export class CredentialHandler extends Construct {
  static readonly ID = 'GrafanaCredentialsHandler';

  /**
   * The stack's singleton, created on first use. Options that only configure
   * the function (such as log retention) must never pick another function: a
   * deployed custom resource's ServiceToken cannot change.
   */
  static of(scope: Construct, placement: HandlerPlacementOptions = {}): CredentialHandler {
    const stack = Stack.of(scope);
    // Only the network placement keys the function (issue #16): the default placement keeps the id it always had.
    const key = placementKey(stack, placement);
    const id = key === undefined ? CredentialHandler.ID : `${CredentialHandler.ID}Vpc${key}`;
    return (stack.node.tryFindChild(id) as CredentialHandler | undefined) ?? new CredentialHandler(stack, id, placement);
  }

  readonly function: lambda.Function;
  readonly logGroup: logs.LogGroup;
  /** Prefix of the default secret names of this handler's credentials; one IAM statement covers them all. */
  readonly secretNamePrefix: string;

  private readonly grafanaActions = new Set<string>();
  private readonly keys = new Set<kms.IKey>();
  private readonly verifyUrls = new Set<string>();
  private readonly retentions: Array<{ readonly asked: logs.RetentionDays; readonly scope: Construct; readonly owner: string }> = [];
  private readonly policy: HandlerPolicy;
  private readonly rotation: RotationScope;
  private readonly workspaceGrant: GrantKind;
  private readonly secretGrant: GrantKind;
  private readonly keyGrant: GrantKind = { sid: 'CredentialKeys', actions: () => KEY_ACTIONS, allActions: KEY_ACTIONS };
  private readonly servers = new Map<string, readonly [string, string]>();
  private readonly adminSecretGrant: GrantKind = {
    sid: 'GrafanaAdminSecrets', actions: () => ADMIN_SECRET_ACTIONS, allActions: ADMIN_SECRET_ACTIONS,
    wildcardReason: () => 'Secrets Manager appends 6 random characters to a secret name in its ARN; this matches exactly the one admin secret so named.',
  };

  private constructor(scope: Stack, id: string, placement: HandlerPlacementOptions) {
    super(scope, id);
    // The same for every placement: a default secret name never depends on where the handler runs.
    this.secretNamePrefix = `grafana-credentials/${Names.uniqueResourceName(scope, { maxLength: 100, separator: '-' })}/`;
    this.logGroup = new logs.LogGroup(this, 'Logs', { removalPolicy: RemovalPolicy.DESTROY });
    (this.logGroup.node.defaultChild as logs.CfnLogGroup).retentionInDays = Lazy.number({ produce: () => this.retentionDays() });
    this.function = new lambda.Function(this, 'Function', {
      runtime: lambda.Runtime.NODEJS_24_X,
      architecture: lambda.Architecture.ARM_64,
      handler: 'index.handler',
      code: lambda.Code.fromAsset(handlerAssetDir()),
      timeout: HANDLER_TIMEOUT,
      memorySize: DEFAULT_MEMORY_SIZE,
      logGroup: this.logGroup,
      ...(placement.vpc ? { vpc: placement.vpc, vpcSubnets: placement.vpcSubnets, securityGroups: placement.securityGroups } : {}),
      description: 'Issues, rotates and revokes Amazon Managed Grafana credentials kept in Secrets Manager (cdk-grafana-credentials)',
    });
    this.function.addEnvironment(HANDLER_ENV.verifyUrls, Lazy.string({ produce: () => Stack.of(this).toJsonString([...this.verifyUrls].sort()) }));
    const role = this.function.role as iam.Role;
    acknowledgeFinding(role, 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
      'AWSLambdaBasicExecutionRole only lets the function write its own CloudWatch Logs, the standard for Lambda functions.');
    if (placement.vpc) {
      acknowledgeFinding(role, 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole]',
        'AWSLambdaVPCAccessExecutionRole only lets the function manage the network interfaces it needs to run in its VPC, the standard for Lambda functions in a VPC.');
    }
    // The role CDK makes for a function holds AWSLambdaBasicExecutionRole (and, in a VPC, AWSLambdaVPCAccessExecutionRole); the rest of IAM's 10 managed policies are ours.
    this.policy = new HandlerPolicy(role, placement.vpc ? 2 : 1, acknowledgeFinding);
    this.rotation = new RotationScope(this, this.function, this.secretNamePrefix);
    // Stack-level settings configure this function; they never key it (see HandlerSettings).
    const settings = HandlerSettings.of(this);
    const cfnFunction = this.function.node.defaultChild as lambda.CfnFunction;
    cfnFunction.memorySize = Lazy.number({ produce: () => settings.memorySize });
    cfnFunction.reservedConcurrentExecutions = Lazy.number({ produce: () => settings.reservedConcurrentExecutions });
    settings.subscribe(() => {
      const existing = this.node.tryFindChild(HEALTH_CHECK_ID);
      if (settings.healthCheck && !existing) new HealthCheckSchedule(this, HEALTH_CHECK_ID, this.function, role, settings);
      if (!settings.healthCheck && existing) this.node.tryRemoveChild(HEALTH_CHECK_ID);
    });
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
   * Asks the log group to keep logs at least `retention`. The function is
   * shared, so the longest retention asked for wins; a credential asking for
   * less gets a synth warning saying so.
   */
  requestLogRetention(retention: logs.RetentionDays | undefined, scope: Construct, owner: string): void {
    const asked = retention ?? DEFAULT_LOG_RETENTION;
    const before = this.longestRetention();
    this.retentions.push({ asked, scope, owner });
    const longest = this.longestRetention()!;
    const warn = (r: { asked: logs.RetentionDays; scope: Construct; owner: string }) => Annotations.of(r.scope).addWarningV2('grafana-credentials:logRetention',
      `${r.owner} asks for logRetention of ${r.asked} days, but the stack's one handler keeps its logs ${longest === logs.RetentionDays.INFINITE ? 'forever' : `${longest} days`}, the longest any credential of the stack asks for`);
    if (asked < longest) warn(this.retentions[this.retentions.length - 1]);
    else if (before !== undefined && longest > before) this.retentions.filter((r) => r.asked < longest && r.asked >= before).forEach(warn);
  }

  private longestRetention(): logs.RetentionDays | undefined {
    return this.retentions.length ? Math.max(...this.retentions.map((r) => r.asked)) : undefined;
  }

  private retentionDays(): number | undefined {
    const days = this.longestRetention() ?? DEFAULT_LOG_RETENTION;
    return days === logs.RetentionDays.INFINITE ? undefined : days;
  }

  /** Names a URL where rotation may verify a new credential (a construct's `workspaceUrl`). */
  allowVerifyUrl(url: string): void {
    this.verifyUrls.add(url);
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

  // --- issue #17: Amazon API Gateway keys ---

  /** Value of the owner tag on every API Gateway key this handler issues: its IAM policy reaches only keys that carry it. */
  get apiGatewayOwnerTag(): string {
    return `${Names.uniqueResourceName(Stack.of(this), { maxLength: 200, separator: '-' })}`;
  }

  private apiGatewayKeyGrants?: { readonly usagePlanPolicies: UsagePlanPolicy[] };

  /**
   * Allows the handler to create, read and delete API Gateway keys that carry
   * its owner tag (`/apikeys/*` with a tag condition; listing `/apikeys` has
   * no resource to condition on), and to add keys to, read and remove keys
   * from these usage plans, nothing else of the plans.
   *
   * The usage-plan grants live in a managed policy of their own whose logical
   * id follows its set of plans (returned, for the custom resource to depend on).
   * A change of a key's plans is applied by the handler in place, which must be
   * allowed on the plans before and after: a removed plan to take the key out,
   * an added one to put it in, and the reverse on rollback. CloudFormation
   * updates the role's policies before the custom resource that depends on them,
   * so a grant edited in place would already have lost the removed plan. A new
   * set instead creates a new policy (before the custom resource) and deletes
   * the old one only in the cleanup phase, after every update; a rollback
   * deletes the new one only after the custom resource's rollback. So during
   * the change both sets are granted, and afterwards only the current one.
   */
  grantApiGatewayKeys(usagePlanIds: readonly string[], owner = this.node.path): iam.ManagedPolicy[] {
    const apigw = `arn:${Aws.PARTITION}:apigateway:${Aws.REGION}::`;
    const fail = (detail: string) => new Error(`${owner}: usagePlans: ${detail}. Split the keys over more stacks`);
    if (!this.apiGatewayKeyGrants) {
      const tag = this.apiGatewayOwnerTag;
      const fixed: Array<GrantKind & { arn: string }> = [
        { sid: 'ApiGatewayKeyList', actions: () => ['apigateway:GET'], allActions: ['apigateway:GET'], arn: `${apigw}/apikeys` },
        {
          sid: 'ApiGatewayKeyCreate', actions: () => ['apigateway:POST'], allActions: ['apigateway:POST'], arn: `${apigw}/apikeys`,
          conditions: { StringEquals: { [`aws:RequestTag/${API_GATEWAY_OWNER_TAG}`]: tag } },
        },
        {
          sid: 'ApiGatewayOwnKeys', actions: () => ['apigateway:DELETE', 'apigateway:GET'], allActions: ['apigateway:DELETE', 'apigateway:GET'], arn: `${apigw}/apikeys/*`,
          conditions: { StringEquals: { [`aws:ResourceTag/${API_GATEWAY_OWNER_TAG}`]: tag } },
          wildcardReason: () => `API key ids are random; the tag condition (${API_GATEWAY_OWNER_TAG}) limits this to the keys this stack's handler created.`,
        },
      ];
      for (const { arn, ...kind } of fixed) this.policy.grant(kind, arn, longestResolvedLength(this, arn, 0), fail);
      this.apiGatewayKeyGrants = { usagePlanPolicies: [] };
    }
    const policies = this.apiGatewayKeyGrants.usagePlanPolicies;
    // A usage plan id is a few letters and digits, also when it is a token.
    const arnChars = longestResolvedLength(this, `${apigw}/usageplans//keys*`, 0) + 16 + 3;
    const perPolicy = Math.floor((IAM_ROLE_LIMITS.managedPolicyChars - 512) / arnChars);
    const touched = new Set<UsagePlanPolicy>();
    for (const usagePlanId of usagePlanIds) {
      const granted = policies.find((p) => p.plans.includes(usagePlanId));
      if (granted) {
        touched.add(granted);
        continue;
      }
      let policy = policies.find((p) => p.plans.length < perPolicy);
      if (!policy) {
        // This policy, and its successor while a change of its plans is deployed.
        this.policy.reserveManagedPolicies(2, fail);
        const plans: string[] = [];
        const role = this.function.role as iam.Role;
        const managed = new iam.ManagedPolicy(role, `ApiGatewayUsagePlanKeys${policies.length + 1}`, {
          description: `Usage plans whose keys ${this.node.path} (cdk-grafana-credentials) manages; replaced when its set of plans changes`,
          roles: [role],
          statements: [new iam.PolicyStatement({
            sid: 'ApiGatewayUsagePlanKeys',
            actions: ['apigateway:DELETE', 'apigateway:GET', 'apigateway:POST'],
            resources: Lazy.list({ produce: () => plans.map((id) => `${apigw}/usageplans/${id}/keys*`) }),
          })],
        });
        policy = { plans, managed };
        policies.push(policy);
      }
      policy.plans.push(usagePlanId);
      touched.add(policy);
      acknowledgeFinding(policy.managed, `AwsSolutions-IAM5[Resource::${nagForm(policy.managed, `${apigw}/usageplans/${usagePlanId}/keys*`)}]`,
        'The keys of one usage plan this stack names: their ids change at every rotation.');
      // The logical id follows the set of plans, so that a new set is a new policy (see above).
      const seed = JSON.stringify([policy.managed.node.path, Stack.of(this).resolve([...policy.plans].sort())]);
      const cfn = policy.managed.node.defaultChild as iam.CfnManagedPolicy;
      cfn.overrideLogicalId(`${Stack.of(this).getLogicalId(cfn)}${createHash('sha256').update(seed).digest('hex').slice(0, 8).toUpperCase()}`);
    }
    return [...touched].map((p) => p.managed);
  }

  /**
   * Lets the handler talk to a self-managed Grafana server with the admin
   * credential in `adminSecret` (issue #16): the pair goes into the function's
   * environment, which the handler checks before every call, and the role may
   * read exactly that secret (and decrypt it with its key).
   */
  allowServer(url: string, adminSecret: secretsmanager.ISecret, owner = this.node.path): void {
    const known = this.servers.get(url);
    if (known) {
      if (known[1] === adminSecret.secretArn) return;
      throw new Error(`${owner}: ${url} already has another admin secret in this stack: the handler uses one admin credential per server. ` +
        'Reference the server once with SelfManagedGrafana.fromAttributes and share that reference');
    }
    if (this.servers.size === 0) {
      this.function.addEnvironment(HANDLER_ENV.servers, Lazy.string({ produce: () => Stack.of(this).toJsonString([...this.servers.values()]) }));
    }
    this.servers.set(url, [url, adminSecret.secretArn]);
    // A secret imported by name has a partial ARN: match the 6 characters Secrets Manager appends.
    const arn = adminSecret.secretFullArn ?? `${adminSecret.secretArn}-??????`;
    this.policy.grant(this.adminSecretGrant, arn, longestResolvedLength(this, arn, 512 + 100), (detail) => new Error(
      `${owner}: adminSecret: ${detail}. Use fewer admin secrets per stack, or split the credentials over more stacks`));
    if (adminSecret.encryptionKey) adminSecret.encryptionKey.grantDecrypt(this.function);
  }

  /** Names a credential secret that is not rotated, so the health check finds it. */
  checkUnrotated(secretName: string, owner = this.node.path): void {
    this.rotation.addUnrotated(secretName, (detail) => new Error(
      `${owner}: secretName '${secretName}': ${detail}. Use default secret names (one entry covers all of them), or split the credentials over more stacks`));
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

/**
 * A short stable key for a network placement; undefined for the default (no
 * VPC). Subnets and security groups are compared as the template will name
 * them, so two constructs asking for the same placement share one function.
 */
function placementKey(stack: Stack, placement: HandlerPlacementOptions): string | undefined {
  if (!placement.vpc) return undefined;
  const asText = (value: unknown) => JSON.stringify(stack.resolve(value));
  const subnets = placement.vpc.selectSubnets(placement.vpcSubnets).subnetIds.map(asText).sort();
  const groups = (placement.securityGroups ?? []).map((g: ec2.ISecurityGroup) => asText(g.securityGroupId)).sort();
  const canonical = JSON.stringify({ vpc: asText(placement.vpc.vpcId), subnets, groups });
  return createHash('sha256').update(canonical).digest('hex').slice(0, 8).toUpperCase();
}
