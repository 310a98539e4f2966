/**
 * Which secrets may start a rotation in the handler, checked twice:
 * - the function's resource policy lets Secrets Manager invoke it only for
 *   secrets whose ARNs match a few patterns (`SourceArn`): the stack's default
 *   name prefix, and one pattern per path of the explicitly named secrets
 *   (`team/grafana/*` for `team/grafana/dashboards`), at most
 *   MAX_ROTATION_PERMISSIONS, so the number of resources stays bounded;
 * - the handler refuses a rotation event for any secret not named in the list
 *   this construct writes into its environment, before any AWS call.
 */
import { createHash } from 'crypto';
import { Aws, Lazy, Stack, Token } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { Construct, Dependable, IDependable } from 'constructs';
import { MANAGED_SECRETS_ENV, ManagedSecretsList } from './contract';
import { longestResolvedLength } from './handler-policy';

/** Invoke permissions for Secrets Manager per handler: resources in the stack, statements in the function policy (20 KB). */
export const MAX_ROTATION_PERMISSIONS = 10;
/** What the managed-secrets variable may take of Lambda's 4 KB for all environment variables together. */
export const MANAGED_SECRETS_ENV_BUDGET = 3_584;
/** The longest a secret name can be; a name with tokens is sized at this. */
const SECRET_NAME_MAX = 512;

/** A SourceArn pattern after `:secret:`: a name prefix (`literal*`) or one exact name (`literal-??????`). */
interface NamePattern {
  readonly literal: string;
  readonly exact: boolean;
}

const patternText = (p: NamePattern) => (p.exact ? `${p.literal}-??????` : `${p.literal}*`);

const covers = (pattern: NamePattern, name: string) => (pattern.exact ? name === pattern.literal : name.startsWith(pattern.literal));

export class RotationScope {
  private readonly prefixes = new Set<string>();
  private readonly names = new Set<string>();
  /** Secrets that are not rotated, by prefix or name: listed for the health check only. */
  private readonly unrotatedPrefixes = new Set<string>();
  private readonly unrotated = new Set<string>();
  private readonly permissions = new Map<string, { readonly pattern: NamePattern; readonly permission: lambda.CfnPermission }>();

  constructor(private readonly scope: Construct, private readonly fn: lambda.Function, private readonly defaultPrefix: string) {
    fn.addEnvironment(MANAGED_SECRETS_ENV, Lazy.string({ produce: () => this.environmentValue() }));
  }

  /**
   * Lets Secrets Manager rotate the secret of this name through the handler;
   * returns the invoke permission that covers it, read at synthesis (later
   * secrets can merge permissions).
   */
  allow(secretName: string, fail: (detail: string) => Error): IDependable {
    if (secretName.startsWith(this.defaultPrefix)) this.prefixes.add(this.defaultPrefix);
    else this.names.add(secretName);
    this.checkSize(fail);
    this.reconcile(fail);
    const permissions = this.permissions;
    const dependable: IDependable = new (class implements IDependable {})();
    Dependable.implement(dependable, {
      get dependencyRoots() {
        return [...permissions.values()].filter((p) => covers(p.pattern, secretName)).map((p) => p.permission);
      },
    });
    return dependable;
  }

  /** Lists a named secret that is not rotated, for the health check: no invoke permission, and rotation refuses it. */
  addUnrotated(secretName: string, fail: (detail: string) => Error): void {
    if (secretName.startsWith(this.defaultPrefix)) this.unrotatedPrefixes.add(this.defaultPrefix);
    else this.unrotated.add(secretName);
    this.checkSize(fail);
  }

  private checkSize(fail: (detail: string) => Error): void {
    const size = MANAGED_SECRETS_ENV.length + longestResolvedLength(this.scope, this.environmentValue(), SECRET_NAME_MAX);
    if (size > MANAGED_SECRETS_ENV_BUDGET) {
      throw fail(`the handler's list of credential secrets (${this.names.size + this.unrotated.size} named ones) would take about ${size.toLocaleString('en-US')} characters of its environment, ` +
        `over the ${MANAGED_SECRETS_ENV_BUDGET.toLocaleString('en-US')} it may use of Lambda's 4 KB`);
    }
  }

  /** The list the handler checks rotation events against, and the health check reads; JSON, see ManagedSecretsList. */
  private environmentValue(): string {
    const list: ManagedSecretsList = {
      arnPrefix: `arn:${Aws.PARTITION}:secretsmanager:${Aws.REGION}:${Aws.ACCOUNT_ID}:secret:`,
      prefixes: [...this.prefixes].sort(),
      names: byPath(this.names),
      ...(this.unrotated.size || this.unrotatedPrefixes.size
        ? { unrotated: { prefixes: [...this.unrotatedPrefixes].sort(), names: byPath(this.unrotated) } } : {}),
    };
    return JSON.stringify(list);
  }

  /** Brings the invoke permissions in line with the patterns the secrets need now. */
  private reconcile(fail: (detail: string) => Error): void {
    const wanted = new Map<string, NamePattern>();
    for (const pattern of boundedPatterns(this.patterns(), fail)) wanted.set(this.permissionId(pattern), pattern);
    for (const [id] of this.permissions) {
      if (wanted.has(id)) continue;
      this.scope.node.tryRemoveChild(id);
      this.permissions.delete(id);
    }
    for (const [id, pattern] of wanted) {
      if (this.permissions.has(id)) continue;
      this.permissions.set(id, { pattern, permission: new lambda.CfnPermission(this.scope, id, {
        action: 'lambda:InvokeFunction',
        functionName: this.fn.functionArn,
        principal: 'secretsmanager.amazonaws.com',
        sourceAccount: Aws.ACCOUNT_ID,
        sourceArn: `arn:${Aws.PARTITION}:secretsmanager:${Aws.REGION}:${Aws.ACCOUNT_ID}:secret:${patternText(pattern)}`,
      }) });
    }
  }

  /** One pattern per default prefix, per path of named secrets, and per named secret without a path. */
  private patterns(): NamePattern[] {
    const out = new Map<string, NamePattern>();
    for (const prefix of this.prefixes) out.set(`${prefix}*`, { literal: prefix, exact: false });
    for (const name of this.names) {
      const slash = name.lastIndexOf('/');
      const pattern = slash > 0 ? { literal: name.slice(0, slash + 1), exact: false } : { literal: name, exact: true };
      out.set(patternText(pattern), pattern);
    }
    return [...out.values()];
  }

  /** Stable ids: the default prefix keeps the id it always had; others are named by a hash of the resolved pattern. */
  private permissionId(pattern: NamePattern): string {
    if (!pattern.exact && pattern.literal === this.defaultPrefix) return 'SecretsManagerInvoke';
    const resolved = JSON.stringify(Stack.of(this.scope).resolve(patternText(pattern)));
    return `SecretsManagerInvoke${createHash('sha256').update(resolved).digest('hex').slice(0, 8).toUpperCase()}`;
  }
}

/**
 * At most MAX_ROTATION_PERMISSIONS patterns covering all given ones: patterns
 * covered by a prefix are dropped, then the two that share the longest
 * beginning are merged into that beginning, until few enough remain.
 */
export function boundedPatterns(patterns: readonly NamePattern[], fail: (detail: string) => Error): NamePattern[] {
  let current = dropCovered(patterns);
  while (current.length > MAX_ROTATION_PERMISSIONS) {
    const sorted = [...current].sort((a, b) => a.literal.localeCompare(b.literal));
    let best: { i: number; common: string } | undefined;
    for (let i = 0; i + 1 < sorted.length; i++) {
      const [a, b] = [sorted[i], sorted[i + 1]];
      if (Token.isUnresolved(a.literal) || Token.isUnresolved(b.literal)) continue;
      const common = commonPrefix(a.literal, b.literal);
      if (common.length > 0 && (!best || common.length > best.common.length)) best = { i, common };
    }
    if (!best) {
      throw fail(`the rotated secrets need ${current.length} invoke permissions for Secrets Manager (one per path of the named secrets: ${current.map(patternText).join(', ')}), more than the ${MAX_ROTATION_PERMISSIONS} the handler takes, and they share no beginning to merge on`);
    }
    const merged = { literal: best.common, exact: false };
    current = dropCovered([...sorted.slice(0, best.i), merged, ...sorted.slice(best.i + 2)]);
  }
  return current;
}

/** Names grouped by their path up to and including the last '/'. */
function byPath(names: ReadonlySet<string>): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const name of [...names].sort()) {
    const slash = name.lastIndexOf('/');
    (out[name.slice(0, slash + 1)] ??= []).push(name.slice(slash + 1));
  }
  return out;
}

function dropCovered(patterns: readonly NamePattern[]): NamePattern[] {
  const unique = [...new Map(patterns.map((p) => [patternText(p), p])).values()];
  return unique.filter((p) => !unique.some((q) => q !== p && !q.exact && p.literal.startsWith(q.literal)));
}

function commonPrefix(a: string, b: string): string {
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  return a.slice(0, i);
}
