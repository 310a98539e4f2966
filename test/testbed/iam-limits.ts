/**
 * IAM's size limits, counted as IAM counts them, over a synthesized template:
 * each policy document is resolved as CloudFormation would resolve it (pseudo
 * parameters, Fn::Join, Ref and GetAtt of the resources a role policy names),
 * then measured in characters without white space. Per role: the aggregate of
 * its inline policies (limit 10,240), each attached managed policy (6,144) and
 * the number of managed policies (10 by default).
 */
type Json = any;

export const IAM_LIMITS = { inlinePerRole: 10_240, managedPolicy: 6_144, managedPoliciesPerRole: 10 } as const;

export interface PseudoParameters {
  readonly partition: string;
  readonly region: string;
  readonly account: string;
}

/** The longest values the pseudo parameters take in any partition: the worst case for size. */
export const LONGEST_PSEUDO: PseudoParameters = { partition: 'aws-us-gov', region: 'us-isof-south-1', account: '123456789012' };
export const COMMERCIAL_PSEUDO: PseudoParameters = { partition: 'aws', region: 'us-east-1', account: '123456789012' };

export interface RolePolicySizes {
  readonly roleId: string;
  /** Characters of all inline policies of the role together. */
  readonly inlineChars: number;
  /** Characters of each customer-managed policy attached to the role, by logical id. */
  readonly managedChars: Record<string, number>;
  /** Managed policies attached: AWS-managed ARNs plus customer-managed ones. */
  readonly managedPolicies: number;
}

/** Resolves the intrinsics a role policy holds, as CloudFormation would in the given partition, region and account. */
export function resolveIntrinsics(value: Json, template: Json, pseudo: PseudoParameters): Json {
  const resolve = (v: Json): Json => resolveIntrinsics(v, template, pseudo);
  if (Array.isArray(value)) return value.map(resolve);
  if (value === null || typeof value !== 'object') return value;
  const keys = Object.keys(value);
  if (keys.length === 1) {
    const [fn] = keys;
    const arg = value[fn];
    switch (fn) {
      case 'Ref': return refOf(arg, template, pseudo);
      case 'Fn::GetAtt': return getAttOf(arg[0], arg[1], template, pseudo);
      case 'Fn::Join': return (resolve(arg[1]) as string[]).join(arg[0]);
      case 'Fn::Select': return (resolve(arg[1]) as string[])[Number(resolve(arg[0]))];
      case 'Fn::Split': return String(resolve(arg[1])).split(arg[0]);
    }
  }
  const out: Record<string, Json> = {};
  for (const [k, v] of Object.entries(value)) out[k] = resolve(v);
  return out;
}

const KEY_ID = '0123abcd-45ef-6789-abcd-ef0123456789';

function refOf(name: string, template: Json, pseudo: PseudoParameters): string {
  switch (name) {
    case 'AWS::Partition': return pseudo.partition;
    case 'AWS::Region': return pseudo.region;
    case 'AWS::AccountId': return pseudo.account;
    case 'AWS::URLSuffix': return pseudo.partition === 'aws-cn' ? 'amazonaws.com.cn' : 'amazonaws.com';
    case 'AWS::StackName': return 'S'.repeat(128);
  }
  const resource = template.Resources?.[name];
  if (resource?.Type === 'AWS::KMS::Key') return KEY_ID;
  if (resource?.Type === 'AWS::SecretsManager::Secret') return `arn:${pseudo.partition}:secretsmanager:${pseudo.region}:${pseudo.account}:secret:${name}-AbCdEf`;
  const parameter = template.Parameters?.[name];
  if (parameter) return String(parameter.Default ?? 'p'.repeat(64));
  if (resource) return name;
  throw new Error(`Ref to ${name}, which is neither a pseudo parameter, a parameter nor a resource`);
}

function getAttOf(id: string, attribute: string, template: Json, pseudo: PseudoParameters): string {
  const type: string | undefined = template.Resources?.[id]?.Type;
  if (!type) throw new Error(`Fn::GetAtt of ${id}, which is not a resource`);
  if (type === 'AWS::KMS::Key' && attribute === 'Arn') return `arn:${pseudo.partition}:kms:${pseudo.region}:${pseudo.account}:key/${KEY_ID}`;
  if (attribute === 'Arn') return `arn:${pseudo.partition}:${type.split('::')[1].toLowerCase()}:${pseudo.region}:${pseudo.account}:${id}`;
  return `${id}.${attribute}`;
}

/** Characters of a resolved policy document as IAM counts them: the JSON text without white space. */
export function iamChars(document: Json): number {
  return JSON.stringify(document).replace(/\s/g, '').length;
}

function refsRole(roles: Json, roleId: string): boolean {
  return Array.isArray(roles) && roles.some((r) => r?.Ref === roleId);
}

/** The policy sizes of every role in the template. */
export function rolePolicySizes(template: Json, pseudo: PseudoParameters = LONGEST_PSEUDO): RolePolicySizes[] {
  const resources = Object.entries<Json>(template.Resources ?? {});
  const doc = (d: Json) => iamChars(resolveIntrinsics(d, template, pseudo));
  return resources.filter(([, r]) => r.Type === 'AWS::IAM::Role').map(([roleId, role]) => {
    let inlineChars = (role.Properties?.Policies ?? []).reduce((n: number, p: Json) => n + doc(p.PolicyDocument), 0);
    const managedChars: Record<string, number> = {};
    for (const [id, r] of resources) {
      if (r.Type === 'AWS::IAM::Policy' && refsRole(r.Properties.Roles, roleId)) inlineChars += doc(r.Properties.PolicyDocument);
      if (r.Type === 'AWS::IAM::ManagedPolicy' && refsRole(r.Properties.Roles, roleId)) managedChars[id] = doc(r.Properties.PolicyDocument);
    }
    const managedPolicies = (role.Properties?.ManagedPolicyArns ?? []).length + Object.keys(managedChars).length;
    return { roleId, inlineChars, managedChars, managedPolicies };
  });
}

/** Every limit a role passes, as `name: value > limit` lines; empty when all fit. */
export function iamLimitViolations(sizes: readonly RolePolicySizes[]): string[] {
  const out: string[] = [];
  for (const s of sizes) {
    if (s.inlineChars > IAM_LIMITS.inlinePerRole) out.push(`${s.roleId}: inline policies ${s.inlineChars} > ${IAM_LIMITS.inlinePerRole}`);
    for (const [id, n] of Object.entries(s.managedChars)) {
      if (n > IAM_LIMITS.managedPolicy) out.push(`${s.roleId}: managed policy ${id} ${n} > ${IAM_LIMITS.managedPolicy}`);
    }
    if (s.managedPolicies > IAM_LIMITS.managedPoliciesPerRole) out.push(`${s.roleId}: ${s.managedPolicies} managed policies > ${IAM_LIMITS.managedPoliciesPerRole}`);
  }
  return out;
}
