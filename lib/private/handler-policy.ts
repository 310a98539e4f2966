/**
 * The handler role's grants, kept within IAM's size limits however many
 * credentials a stack holds. IAM counts a role's inline policies together
 * (10,240 characters, white space excluded, after CloudFormation has resolved
 * the pseudo parameters) and each managed policy alone (6,144), and a role
 * takes 10 managed policies unless the account raised its quota.
 *
 * Grants are compact statements, one per kind (the Grafana workspaces, the
 * credential secrets), listing ARNs. Each ARN is sized by the longest form its
 * pseudo parameters resolve to in any partition; it goes into the inline
 * policy while that stays within a conservative budget, and otherwise into an
 * additional managed policy on the role, created as grants arrive (constructs
 * cannot be added once synthesis has begun). Every ARN is still granted
 * exactly: overflow moves statements, it never widens them.
 */
import { CfnResource, Lazy, Stack, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { RegionInfo } from 'aws-cdk-lib/region-info';
import { Construct, IConstruct } from 'constructs';

/** IAM's limits for a role, in characters as IAM counts them. */
export const IAM_ROLE_LIMITS = {
  inlineChars: 10_240,
  managedPolicyChars: 6_144,
  managedPoliciesPerRole: 10,
} as const;

/** Room kept free in the inline policy: for statements that reach the role some other way, and for the document's own braces. */
const INLINE_RESERVE = 1_024;
/** Room kept free in each managed policy for its braces and version. */
const MANAGED_RESERVE = 128;

const known = RegionInfo.regions;
/** The longest value each pseudo parameter takes in any partition (floors: the longest known in 2026). */
const LONGEST_PSEUDO: Record<string, number> = {
  'AWS::Partition': Math.max(10, ...known.map((r) => r.partition?.length ?? 0)),
  'AWS::Region': Math.max(15, ...known.map((r) => r.name.length)),
  'AWS::AccountId': 12,
  'AWS::URLSuffix': Math.max(16, ...known.map((r) => r.domainSuffix?.length ?? 0)),
  'AWS::StackName': 128,
};

/**
 * The longest a string can be once CloudFormation has resolved it: literal
 * characters count as they are, pseudo parameters as their longest value in
 * any partition, and any other token as `otherToken` characters.
 */
export function longestResolvedLength(scope: IConstruct, text: string, otherToken: number): number {
  const measure = (value: unknown): number => {
    if (typeof value === 'string') return value.length;
    if (typeof value === 'number') return String(value).length;
    const intrinsic = value as Record<string, any>;
    if (intrinsic && typeof intrinsic.Ref === 'string' && intrinsic.Ref in LONGEST_PSEUDO) return LONGEST_PSEUDO[intrinsic.Ref];
    if (intrinsic && Array.isArray(intrinsic['Fn::Join'])) {
      const [delimiter, parts] = intrinsic['Fn::Join'] as [string, unknown[]];
      return parts.reduce<number>((n, part) => n + measure(part), 0) + delimiter.length * Math.max(0, parts.length - 1);
    }
    return otherToken;
  };
  return measure(Stack.of(scope).resolve(text));
}

/** One kind of grant: a statement with fixed or growing actions, listing resources. */
export interface GrantKind {
  readonly sid: string;
  /** The actions the statement carries; read at synthesis. */
  readonly actions: () => string[];
  /** Every action it may ever carry, for sizing. */
  readonly allActions: readonly string[];
  /** A condition the statement carries (fixed; counted in its size). */
  readonly conditions?: Record<string, Record<string, string>>;
  /** The reviewed cdk-nag finding for a resource pattern with a wildcard, and why it is right. */
  readonly wildcardReason?: (pattern: string) => string | undefined;
}

interface Bucket {
  /** The construct whose CloudFormation resource holds the document (for cdk-nag acknowledgements). */
  readonly holder: () => Construct;
  /** Resources by statement Sid. */
  readonly resources: Map<string, string[]>;
  /** Estimated characters of the document as IAM counts them, at the longest. */
  size: number;
  readonly budget: number;
  readonly addStatement: (statement: iam.PolicyStatement) => void;
}

/** Where the handler role's grants go, and how big they may grow. */
export class HandlerPolicy {
  private readonly buckets: Bucket[] = [];
  private readonly granted = new Set<string>();
  private maxManagedPolicies: number;

  /**
   * @param role the handler's role
   * @param awsManagedPolicies managed policies the role holds besides these (AWSLambdaBasicExecutionRole)
   * @param acknowledge records a reviewed cdk-nag finding on a construct
   */
  constructor(private readonly role: iam.Role, awsManagedPolicies: number,
    private readonly acknowledge: (scope: Construct, finding: string, reason: string) => void) {
    this.maxManagedPolicies = IAM_ROLE_LIMITS.managedPoliciesPerRole - awsManagedPolicies;
    this.buckets.push({
      holder: () => role.node.tryFindChild('DefaultPolicy') as Construct,
      resources: new Map(),
      size: documentOverhead(),
      budget: IAM_ROLE_LIMITS.inlineChars - INLINE_RESERVE,
      addStatement: (statement) => role.addToPrincipalPolicy(statement),
    });
  }

  /** Keeps `count` of the role's managed policies for policies created outside these buckets. */
  reserveManagedPolicies(count: number, fail: (detail: string) => Error): void {
    if (this.overflowPolicies + count > this.maxManagedPolicies) {
      throw fail(`the handler role has room for ${this.maxManagedPolicies - this.overflowPolicies} more managed policies, and ${count} are needed ` +
        `(a role takes ${IAM_ROLE_LIMITS.managedPoliciesPerRole}; the others hold its grants or are AWS-managed)`);
    }
    this.maxManagedPolicies -= count;
  }

  /** Managed policies created so far for grants that did not fit inline. */
  get overflowPolicies(): number {
    return this.buckets.length - 1;
  }

  /**
   * Grants the kind's actions on one resource ARN (or ARN pattern), sized at
   * `arnChars` characters at the longest. A resource granted before is a no-op.
   */
  grant(kind: GrantKind, arn: string, arnChars: number, fail: (detail: string) => Error): void {
    if (this.granted.has(`${kind.sid} ${arn}`)) return;
    const bucket = this.bucketFor(kind, arnChars + 3, fail);
    let list = bucket.resources.get(kind.sid);
    if (!list) {
      const resources: string[] = [];
      list = resources;
      bucket.resources.set(kind.sid, resources);
      bucket.size += statementOverhead(kind);
      bucket.addStatement(new iam.PolicyStatement({
        sid: kind.sid,
        actions: Lazy.list({ produce: () => kind.actions() }),
        resources: Lazy.list({ produce: () => resources }),
        ...(kind.conditions ? { conditions: kind.conditions } : {}),
      }));
    }
    list.push(arn);
    bucket.size += arnChars + 3;
    this.granted.add(`${kind.sid} ${arn}`);
    const reason = kind.wildcardReason?.(arn);
    if (reason) this.acknowledge(bucket.holder(), `AwsSolutions-IAM5[Resource::${nagForm(this.role, arn)}]`, reason);
  }

  /**
   * The role, as a grantee for another construct's grant method (Key.grant):
   * statements that grant exactly the kind's actions are sized and placed like
   * the kind's own grants; any other statement goes to the inline policy as is.
   */
  granteeFor(kind: GrantKind, sizeOf: (arn: string) => number, fail: (detail: string) => Error): iam.IPrincipal {
    const role = this.role;
    const place = (statement: iam.PolicyStatement): iam.AddToPrincipalPolicyResult => {
      const json = statement.toStatementJson();
      const actions = [json.Action].flat().sort();
      const plain = json.Effect === 'Allow' && !json.Condition && !json.Principal && !json.NotPrincipal && !json.NotAction && !json.NotResource
        && JSON.stringify(actions) === JSON.stringify([...kind.allActions].sort());
      if (!plain) return role.addToPrincipalPolicy(statement);
      for (const arn of statement.resources) this.grant(kind, arn, sizeOf(arn), fail);
      return { statementAdded: true, policyDependable: role };
    };
    return {
      get grantPrincipal() { return this; },
      assumeRoleAction: role.assumeRoleAction,
      get policyFragment() { return role.policyFragment; },
      principalAccount: role.principalAccount,
      addToPrincipalPolicy: place,
    } as iam.IPrincipal;
  }

  private bucketFor(kind: GrantKind, itemChars: number, fail: (detail: string) => Error): Bucket {
    const cost = (b: Bucket) => itemChars + (b.resources.has(kind.sid) ? 0 : statementOverhead(kind));
    const fits = this.buckets.find((b) => b.size + cost(b) <= b.budget);
    if (fits) return fits;
    if (this.overflowPolicies >= this.maxManagedPolicies) {
      const total = this.buckets.reduce((n, b) => n + b.size, 0);
      throw fail(`the handler's IAM grants no longer fit IAM's limits for one role: ${this.granted.size} resources take about ${total.toLocaleString('en-US')} characters at the longest, ` +
        `filling its inline policy (${IAM_ROLE_LIMITS.inlineChars.toLocaleString('en-US')} characters) and ${this.maxManagedPolicies} managed policies of ${IAM_ROLE_LIMITS.managedPolicyChars.toLocaleString('en-US')} ` +
        `(a role takes ${IAM_ROLE_LIMITS.managedPoliciesPerRole}; the others are AWS-managed: AWSLambdaBasicExecutionRole)`);
    }
    const index = this.buckets.length;
    const policy = new iam.ManagedPolicy(this.role, `GrantsPart${index + 1}`, {
      description: `Part ${index + 1} of the grants of ${this.role.node.path} (cdk-grafana-credentials), beyond what IAM's inline policy limit holds`,
      roles: [this.role],
    });
    const bucket: Bucket = {
      holder: () => policy,
      resources: new Map(),
      size: documentOverhead(),
      budget: IAM_ROLE_LIMITS.managedPolicyChars - MANAGED_RESERVE,
      addStatement: (statement) => policy.addStatements(statement),
    };
    this.buckets.push(bucket);
    return bucket;
  }
}

function documentOverhead(): number {
  return JSON.stringify({ Version: '2012-10-17', Statement: [] }).length;
}

function statementOverhead(kind: GrantKind): number {
  return JSON.stringify({ Action: kind.allActions, Effect: 'Allow', Resource: [], Sid: kind.sid, ...(kind.conditions ? { Condition: kind.conditions } : {}) }).length + 1;
}

/** An ARN as cdk-nag names it in a finding: pseudo parameters as `<AWS::Partition>`. */
export function nagForm(scope: IConstruct, arn: string): string {
  const resolved = Stack.of(scope).resolve(arn);
  if (typeof resolved === 'string') return resolved;
  const [, parts] = resolved['Fn::Join'] as [string, unknown[]];
  return parts.map((p: any) => {
    if (typeof p === 'string') return p;
    if (p.Ref) return `<${p.Ref}>`;
    if (p['Fn::GetAtt']) return `<${p['Fn::GetAtt'].join('.')}>`;
    return JSON.stringify(p);
  }).join('');
}

/**
 * Records a reviewed cdk-nag finding on one construct: through CDK's
 * Validations (cdk-nag 3) and as `cdk_nag` metadata on its CloudFormation
 * resources (cdk-nag 2).
 */
export function acknowledgeFinding(scope: Construct, finding: string, reason: string): void {
  try {
    Validations.of(scope).acknowledge({ id: `AwsSolutions::${finding}`, reason });
  } catch {
    // aws-cdk-lib before 2.27x refuses '::' inside a finding id (IAM ARNs have it): acknowledge the rule on this scope only.
    Validations.of(scope).acknowledge({ id: `AwsSolutions::${finding.split('[')[0]}`, reason: `${reason} (finding: ${finding})` });
  }
  const resources = [scope, ...scope.node.findAll()].filter((c): c is CfnResource => CfnResource.isCfnResource(c));
  const [id, appliesTo] = finding.match(/^([^[]+)(?:\[(.*)\])?$/)!.slice(1);
  for (const resource of resources) {
    const existing = resource.getMetadata('cdk_nag')?.rules_to_suppress ?? [];
    resource.addMetadata('cdk_nag', { rules_to_suppress: [...existing, { id, reason, ...(appliesTo ? { applies_to: [appliesTo] } : {}) }] });
  }
}
