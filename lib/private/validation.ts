/** Synth-time validation. Each error names the property, the allowed range and the value given. */
import { Annotations, Duration, Names, Reference, Stack, Token, Tokenization } from 'aws-cdk-lib';
import * as grafana from 'aws-cdk-lib/aws-grafana';
import { IConstruct } from 'constructs';
import { GRAFANA_ROLES, LIMITS, NAME_SUFFIX_LENGTH, WORKSPACE_ID_PATTERN } from './contract';

/** C0 and C1 control characters and DEL. */
const CONTROL_CHARACTER = /[\u0000-\u001f\u007f-\u009f]/;

/** A value for an error message: quoted, control characters escaped so the message stays one line. */
function quoted(value: string): string {
  return `'${value.replace(new RegExp(CONTROL_CHARACTER.source, 'g'), (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)}'`;
}

/** The distinct characters of `value` that `allowed` (a one-character class) refuses, quoted, in order. */
function refusedCharacters(value: string, allowed: RegExp): string {
  return [...new Set([...value].filter((c) => !allowed.test(c)))].map(quoted).join(', ');
}

export function validateWorkspaceId(owner: string, workspaceId: string): void {
  if (Token.isUnresolved(workspaceId)) return;
  if (!WORKSPACE_ID_PATTERN.test(workspaceId)) {
    throw new Error(`${owner}: workspaceId must be 'g-' followed by 10 lowercase hex digits (e.g. g-0123456789), got '${workspaceId}'`);
  }
}

export function validateRole(owner: string, prop: string, role: string): void {
  if (Token.isUnresolved(role)) return;
  if (!(GRAFANA_ROLES as readonly string[]).includes(role)) {
    throw new Error(`${owner}: ${prop} must be one of GrafanaRole.${GRAFANA_ROLES.join(', GrafanaRole.')}, got '${role}'`);
  }
}

/** Returns the time to live in whole seconds. */
export function validateTimeToLive(owner: string, timeToLive: Duration): number {
  const ms = timeToLive.toMilliseconds();
  const seconds = ms / 1000;
  if (!Number.isInteger(seconds)) {
    throw new Error(`${owner}: timeToLive must be a whole number of seconds, got ${timeToLive.toHumanString()}`);
  }
  if (seconds < 1 || seconds > LIMITS.maxSecondsToLive) {
    throw new Error(`${owner}: timeToLive must be between 1 second and 30 days (${LIMITS.maxSecondsToLive} seconds), got ${timeToLive.toHumanString()} (${seconds} seconds)`);
  }
  return seconds;
}

/** One character of a key or token name prefix. A key's name is a path segment of DeleteWorkspaceApiKey. */
const NAME_PREFIX_CHARACTER = /[A-Za-z0-9._-]/;

export function validateNamePrefix(owner: string, prop: string, prefix: string, maxNameLength: number): void {
  if (Token.isUnresolved(prefix)) return;
  const max = maxNameLength - NAME_SUFFIX_LENGTH;
  if (prefix.length < 1 || prefix.length > max) {
    throw new Error(`${owner}: ${prop} must be 1 to ${max} characters, leaving room for the ${NAME_SUFFIX_LENGTH}-character unique suffix within ${maxNameLength}; got ${prefix.length} characters`);
  }
  const refused = refusedCharacters(prefix, NAME_PREFIX_CHARACTER);
  if (refused) {
    throw new Error(`${owner}: ${prop} may contain only ASCII letters, digits, '-', '_' and '.', so that the names it starts are safe in Amazon Managed Grafana API paths; ` +
      `got ${quoted(prefix)}, which has ${refused}. Replace those characters, or leave ${prop} unset to derive it from the construct path`);
  }
}

/**
 * Service account names travel only in request bodies, and Grafana accepts
 * spaces, '/' and Unicode in them. Refused: control characters (they break
 * logs and the console) and whitespace at either end (Grafana may trim it,
 * and the handler finds a retried create's account by its exact name).
 */
export function validateServiceAccountName(owner: string, name: string): void {
  if (Token.isUnresolved(name)) return;
  const max = LIMITS.serviceAccountNameMax;
  if (name.length < 1 || name.length > max) {
    throw new Error(`${owner}: serviceAccountName must be 1 to ${max} characters, got ${name.length}`);
  }
  if (CONTROL_CHARACTER.test(name)) {
    throw new Error(`${owner}: serviceAccountName must not contain control characters; got ${quoted(name)}. Remove them, or leave serviceAccountName unset to derive it from the construct path`);
  }
  if (/^\s|\s$/.test(name)) {
    throw new Error(`${owner}: serviceAccountName must not start or end with whitespace; got ${quoted(name)}. Trim it`);
  }
}

/**
 * A service account's name: the one given, or one derived from the construct
 * path and the role (an explicit name must change along with the role);
 * checked either way.
 */
export function serviceAccountNameFor(scope: IConstruct, owner: string, role: string, given: string | undefined): string {
  const suffix = `-${String(role).toLowerCase()}`;
  const name = given ?? Names.uniqueResourceName(scope, { maxLength: LIMITS.serviceAccountNameMax - suffix.length, separator: '-' }) + suffix;
  validateServiceAccountName(owner, name);
  return name;
}

/** Secrets Manager's longest secret name. */
const SECRET_NAME_MAX = 512;
/** One character of a secret name, as Secrets Manager allows. */
const SECRET_NAME_CHARACTER = /[A-Za-z0-9/_+=.@-]/;

/**
 * Checks an explicit secret name against Secrets Manager's rule. A name that
 * ends in '-' and 6 characters is allowed with a warning: Secrets Manager
 * accepts it, but can mistake that ending for the random suffix of an ARN when
 * the secret is looked up by partial ARN. The handler always uses the full ARN.
 */
export function validateSecretName(scope: IConstruct, owner: string, secretName: string): void {
  if (Token.isUnresolved(secretName)) return;
  if (secretName.length < 1 || secretName.length > SECRET_NAME_MAX) {
    throw new Error(`${owner}: secretName must be 1 to ${SECRET_NAME_MAX} characters, got ${secretName.length}`);
  }
  const refused = refusedCharacters(secretName, SECRET_NAME_CHARACTER);
  if (refused) {
    throw new Error(`${owner}: secretName may contain only ASCII letters, digits and /_+=.@- (Secrets Manager's rule); got ${quoted(secretName)}, which has ${refused}. ` +
      'Replace those characters, or leave secretName unset to derive one from the construct path');
  }
  if (/-[A-Za-z0-9]{6}$/.test(secretName)) {
    Annotations.of(scope).addWarningV2('grafana-credentials:secretNameSuffix',
      `secretName ${quoted(secretName)} ends in '-' and 6 characters, which Secrets Manager can mistake for the random suffix of an ARN when the secret is looked up by partial ARN. ` +
      'Consider a name that does not end that way');
  }
}

/** Shows a URL with any user name and password replaced by '***'. */
function withoutUserinfo(value: string): string {
  return value.replace(/^([A-Za-z][A-Za-z0-9+.-]*:\/\/)[^/?#]*@/, '$1***@');
}

/**
 * Parses a workspace URL, at synth and at run time: an absolute https URL with
 * a host, optionally a port and a path, without credentials, query or
 * fragment. Returns it normalised: lower-case host, no default port, no
 * trailing '/'. Callers skip unresolved tokens.
 */
export function parseWorkspaceUrl(owner: string, value: string): string {
  const shown = quoted(withoutUserinfo(value));
  const fix = 'Use the https address of the workspace, e.g. https://g-0123456789.grafana-workspace.us-east-1.amazonaws.com, ' +
    'or leave workspaceUrl unset to use the endpoint DescribeWorkspace returns';
  let url: URL | undefined;
  try {
    url = new URL(value);
  } catch {
    url = undefined;
  }
  // The WHATWG parser forgives 'https:host', 'https:///host', backslashes and surrounding or embedded
  // whitespace; a workspace URL should not need forgiving.
  if (!url || url.protocol !== 'https:' || !url.hostname || !/^https:\/\/[^/\\]/i.test(value) || value.includes('\\')) {
    throw new Error(`${owner}: workspaceUrl must be an absolute https URL with a host, as https://host[:port][/path]; got ${shown}. ${fix}`);
  }
  if (/\s/.test(value) || CONTROL_CHARACTER.test(value)) {
    throw new Error(`${owner}: workspaceUrl must not contain whitespace or control characters; got ${shown}. ${fix}`);
  }
  if (url.username || url.password) {
    throw new Error(`${owner}: workspaceUrl must not carry credentials: rotation authenticates with the credential it verifies; got ${shown}. Remove the user name and password`);
  }
  if (value.includes('?') || value.includes('#')) {
    throw new Error(`${owner}: workspaceUrl must not have a query or fragment: rotation appends /api/org to it; got ${shown}. Remove everything from the '?' or '#'`);
  }
  return `https://${url.host}${url.pathname.replace(/\/+$/, '')}`;
}

interface NameClaim {
  readonly owner: string;
  readonly stack: string;
  /** Undefined when the stack is environment-agnostic: it may deploy to any account or region. */
  readonly account?: string;
  readonly region?: string;
}

/** Names in use, per construct tree: one registry per App, so two apps never see each other's names. */
const claimsByRoot = new WeakMap<IConstruct, Map<string, NameClaim[]>>();

export interface UniqueName {
  /** The construct that uses the name, e.g. `WorkspaceApiKey Stack/Key`. */
  readonly owner: string;
  /** The property that sets the name. */
  readonly prop: string;
  readonly name: string;
  /** Where the name must be unique, as a key: equal keys are the same place. Token strings are stable per construct. */
  readonly within: string;
  /** Where the name must be unique, in words, e.g. ` in workspace g-0123456789`. */
  readonly withinText: string;
  /** Why two of them cannot share it. */
  readonly reason: string;
}

/**
 * Claims a name that must be unique within one place (an account and
 * region, a workspace, a service account) across the whole app of `scope`,
 * and throws if another construct holds it where both can deploy. Two stacks
 * collide unless their resolved accounts or regions differ: an
 * environment-agnostic stack may deploy anywhere. A token name is not claimed.
 */
export function claimUniqueName(scope: IConstruct, claim: UniqueName): void {
  if (Token.isUnresolved(claim.name)) return;
  const stack = Stack.of(scope);
  const resolved = (value: string) => (Token.isUnresolved(value) ? undefined : value);
  const mine: NameClaim = { owner: claim.owner, stack: stack.node.path, account: resolved(stack.account), region: resolved(stack.region) };
  const root = scope.node.root;
  const claims = claimsByRoot.get(root) ?? new Map<string, NameClaim[]>();
  claimsByRoot.set(root, claims);
  const key = `${claim.prop}\u0000${claim.within}\u0000${claim.name}`;
  const holders = claims.get(key) ?? [];
  const overlaps = (a?: string, b?: string) => a === undefined || b === undefined || a === b;
  const other = holders.find((h) => overlaps(h.account, mine.account) && overlaps(h.region, mine.region));
  if (other) {
    const where = (c: NameClaim) => (c.account && c.region ? `${c.account}/${c.region}`
      : c.account ? `any region of ${c.account}` : c.region ? `${c.region} in any account` : 'any account and region');
    const environments = other.stack === mine.stack ? ''
      : ` (stack ${mine.stack} deploys to ${where(mine)}, stack ${other.stack} to ${where(other)})`;
    throw new Error(`${claim.owner}: ${claim.prop} ${quoted(claim.name)} is already used by ${other.owner}${claim.withinText}${environments}: ${claim.reason}. ` +
      `Give one of them another ${claim.prop}, or leave ${claim.prop} unset to derive one from the construct path`);
  }
  claims.set(key, [...holders, mine]);
}

/**
 * An API key on a workspace of this app that runs Grafana 11 or later would
 * fail to deploy: those versions have no API keys. The workspace's props are
 * mutable, so this is checked at synth, not in the constructor. A workspace
 * id that is not a reference to a CfnWorkspace, or a version that is a token
 * or unset, is not checked.
 */
export function refuseApiKeyOnGrafana11(scope: IConstruct, owner: string, workspaceId: string): void {
  if (!Token.isUnresolved(workspaceId)) return;
  const reference = Tokenization.reverse(workspaceId, { failConcat: false });
  const workspace = Reference.isReference(reference) ? reference.target : undefined;
  if (!workspace || !grafana.CfnWorkspace.isCfnWorkspace(workspace)) return;
  scope.node.addValidation({
    validate: () => {
      const version = workspace.grafanaVersion;
      if (version === undefined || Token.isUnresolved(version) || !(Number(version.split('.')[0]) >= 11)) return [];
      return [`${owner}: workspaceId refers to ${workspace.node.path}, whose grafanaVersion is ${quoted(version)}: Grafana 11 and later have no API keys, so the deployment would fail. ` +
        'Use a WorkspaceServiceAccount and its WorkspaceServiceAccountToken (addToken) instead of WorkspaceApiKey, or a grafanaVersion before 11'];
    },
  });
}

export interface RotationSchedule {
  /** Secrets Manager schedule expression, e.g. rate(25 days) or rate(20 hours). */
  readonly scheduleExpression: string;
  /** How long the rotation window stays open after the scheduled time. */
  readonly windowSeconds: number;
  readonly rotateAfterSeconds: number;
}

const HOUR = 3600;
const DAY = 24 * HOUR;

/**
 * The default rotation interval: five sixths of the lifetime, so the outgoing
 * credential overlaps its successor for a sixth of its life, in the whole
 * hours (under a day) or whole days that Secrets Manager schedules in.
 */
export function defaultRotateAfterSeconds(ttlSeconds: number): number {
  const target = (ttlSeconds * 5) / 6;
  const rounded = target >= DAY ? Math.floor(target / DAY) * DAY : Math.floor(target / HOUR) * HOUR;
  return Math.max(LIMITS.minRotationSeconds, rounded);
}

/** rotateAfter's default for credentials that do not expire (RotatingApiKey). */
export const DEFAULT_ROTATE_AFTER_WITHOUT_EXPIRY_SECONDS = 30 * DAY;

/** The rotation schedule; `ttlSeconds` undefined for credentials that do not expire (nothing bounds rotateAfter from above). */
export function rotationSchedule(owner: string, ttlSeconds: number | undefined, rotateAfter: Duration | undefined): RotationSchedule {
  const ttlText = `timeToLive (${Duration.seconds(ttlSeconds ?? 0).toHumanString()})`;
  if (ttlSeconds !== undefined && ttlSeconds <= LIMITS.minRotationSeconds) {
    throw new Error(`${owner}: ${ttlText} is too short to rotate: Secrets Manager rotates at most every 4 hours. Use a timeToLive over 4 hours, or set rotate: false`);
  }
  let seconds: number;
  if (rotateAfter === undefined) {
    seconds = ttlSeconds === undefined ? DEFAULT_ROTATE_AFTER_WITHOUT_EXPIRY_SECONDS : defaultRotateAfterSeconds(ttlSeconds);
  } else {
    seconds = rotateAfter.toMilliseconds() / 1000;
    const given = `rotateAfter (${rotateAfter.toHumanString()})`;
    if (seconds < LIMITS.minRotationSeconds) {
      throw new Error(`${owner}: ${given} must be at least 4 hours, Secrets Manager's shortest rotation interval`);
    }
    if (ttlSeconds !== undefined && seconds >= ttlSeconds) {
      throw new Error(`${owner}: ${given} must be shorter than ${ttlText}, or the key expires before it is replaced. Use a rotateAfter of at most ${Duration.seconds(defaultRotateAfterSeconds(ttlSeconds)).toHumanString()}, or a longer timeToLive`);
    }
    if (seconds < DAY ? seconds % HOUR !== 0 : seconds % DAY !== 0) {
      throw new Error(`${owner}: ${given} must be whole hours under a day, or whole days: Secrets Manager schedules rotation with rate(N hours) or rate(N days)`);
    }
  }
  const scheduleExpression = seconds < DAY ? `rate(${seconds / HOUR} hours)` : `rate(${seconds / DAY} days)`;
  // Hour schedules get a one-hour window; day schedules a window up to the end of the UTC day.
  const windowSeconds = seconds < DAY ? HOUR : DAY;
  return { scheduleExpression, windowSeconds, rotateAfterSeconds: seconds };
}

/** vpcSubnets and securityGroups only mean something with a vpc (issue #16). */
export function validatePlacement(owner: string, placement: { readonly vpc?: unknown; readonly vpcSubnets?: unknown; readonly securityGroups?: unknown }): void {
  if ((placement.vpcSubnets !== undefined || placement.securityGroups !== undefined) && placement.vpc === undefined) {
    throw new Error(`${owner}: vpcSubnets and securityGroups need vpc: set vpc to the VPC the handler runs in, or leave them unset`);
  }
}
