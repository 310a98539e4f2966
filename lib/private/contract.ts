/**
 * The contract between the constructs (which write custom-resource properties)
 * and the handler (which reads them). Both sides import this file, so the two
 * cannot drift. CloudFormation delivers every scalar as a string; parse them
 * only through `parseProperties`.
 */

/** Credential kinds the handler can issue; each one is an issuer module in lambda/issuers. */
export const CredentialKind = {
  API_KEY: 'amg-api-key',
  SERVICE_ACCOUNT_TOKEN: 'amg-service-account-token',
  // Self-managed Grafana (issue #16)
  SERVER_API_KEY: 'grafana-api-key',
  SERVER_SERVICE_ACCOUNT_TOKEN: 'grafana-service-account-token',
  // --- issue #17: Amazon API Gateway REST API keys ---
  API_GATEWAY_KEY: 'apigateway-api-key',
} as const;

/** Non-credential resources the handler manages. */
export const ResourceKind = {
  SERVICE_ACCOUNT: 'amg-service-account',
  // Self-managed Grafana (issue #16)
  SERVER_SERVICE_ACCOUNT: 'grafana-service-account',
} as const;

export const RESOURCE_TYPES = {
  apiKey: 'Custom::GrafanaWorkspaceApiKey',
  serviceAccount: 'Custom::GrafanaWorkspaceServiceAccount',
  serviceAccountToken: 'Custom::GrafanaServiceAccountToken',
  // Self-managed Grafana (issue #16)
  serverApiKey: 'Custom::GrafanaServerApiKey',
  serverServiceAccount: 'Custom::GrafanaServerServiceAccount',
  serverServiceAccountToken: 'Custom::GrafanaServerServiceAccountToken',
  // --- issue #17 ---
  apiGatewayKey: 'Custom::ApiGatewayRotatingApiKey',
} as const;

/**
 * Environment variables of the singleton function. They come from the
 * template, so only the stack's deployer can set them: nothing that someone
 * with less access can change (a secret's tags or value) decides where a
 * token is sent.
 */
export const HANDLER_ENV = {
  /** JSON array of the `workspaceUrl`s the stack's constructs name; rotation may verify a token only there or at the workspace's own endpoint. */
  verifyUrls: 'GRAFANA_CREDENTIALS_VERIFY_URLS',
  /**
   * JSON array of `[url, adminSecretArn]` pairs: the self-managed Grafana servers the stack's template names,
   * each with the secret of its admin credential (one per URL). The handler talks only to a server listed here,
   * with only its admin secret: never to a URL taken from a secret's value or tags alone.
   */
  servers: 'GRAFANA_CREDENTIALS_SERVERS',
} as const;

/** Properties of a credential custom resource, as the construct writes them. */
export interface CredentialResourceProperties {
  /** One of CredentialKind. */
  readonly Kind: string;
  /** ARN of the secret that holds the credential. */
  readonly SecretArn: string;
  /** The Amazon Managed Grafana workspace, for the AMG kinds; absent for self-managed Grafana and kinds outside a workspace. */
  readonly WorkspaceId?: string;
  /** Prefix of every issued credential name; a short unique suffix is appended. */
  readonly NamePrefix: string;
  /** Lifetime of each credential in seconds; absent for kinds whose credentials do not expire. */
  readonly SecondsToLive?: string;
  /** Grafana role, for API keys. */
  readonly Role?: string;
  /** Service account id, for service-account tokens. */
  readonly ServiceAccountId?: string;
  /** The construct's `workspaceUrl`: where rotation verifies a new credential, if not the workspace's endpoint. */
  readonly VerifyUrl?: string;
  /** 'false' when rotation must not verify the new credential (`verifyRotatedKey: false`); absent otherwise. */
  readonly VerifyRotatedKey?: string;
  // Self-managed Grafana (issue #16): the server, the organization and whether http is allowed.
  readonly GrafanaUrl?: string;
  readonly OrgId?: string;
  readonly AllowHttp?: string;
  // --- issue #17: API Gateway keys (Kind apigateway-api-key) ---
  /** Comma-separated ids of the usage plans the key belongs to, 1 to LIMITS.usagePlansPerKey, sorted. */
  readonly UsagePlanIds?: string;
  /** The key's description in API Gateway. */
  readonly Description?: string;
  /** AWS Marketplace customer id; '' for none. */
  readonly CustomerId?: string;
  /** 'true' or 'false': whether callers may use the key. */
  readonly Enabled?: string;
  /** Value of the owner tag on every key; the handler's IAM policy is conditioned on it. */
  readonly OwnerTag?: string;
}

/** Properties of a service-account custom resource. */
export interface ServiceAccountResourceProperties {
  readonly Kind: string;
  readonly WorkspaceId: string;
  readonly ServiceAccountName: string;
  readonly Role: string;
}

/** Attributes (Data) the handler returns. None of them is secret. */
export const ATTRIBUTES = {
  credentialName: 'CredentialName',
  secretArn: 'SecretArn',
  serviceAccountId: 'ServiceAccountId',
} as const;

/** Length of the suffix appended to a name prefix: '-' plus 10 hex digits. */
export const NAME_SUFFIX_LENGTH = 11;

export const LIMITS = {
  apiKeyNameMax: 100,
  serviceAccountNameMax: 128,
  tokenNameMax: 128,
  maxSecondsToLive: 2_592_000,
  /** Longest API Gateway key name this library issues (a prefix, '-' and 10 hex digits). */
  apiGatewayKeyNameMax: 128,
  /** Usage plans one API Gateway key may belong to. */
  usagePlansPerKey: 10,
  /** Secrets Manager's shortest rotation interval. */
  minRotationSeconds: 4 * 3600,
} as const;

export const WORKSPACE_ID_PATTERN = /^g-[0-9a-f]{10}$/;

export const GRAFANA_ROLES = ['ADMIN', 'EDITOR', 'VIEWER'] as const;

/**
 * Environment variable of the handler listing the secrets it may rotate; it
 * refuses a rotation event for any other. JSON of ManagedSecretsList.
 */
export const MANAGED_SECRETS_ENV = 'GRAFANA_CREDENTIALS_MANAGED_SECRETS';

/** The secrets a handler rotates, as the construct writes them into MANAGED_SECRETS_ENV. */
export interface ManagedSecretsList {
  /** `arn:<partition>:secretsmanager:<region>:<account>:secret:`; every managed secret's ARN starts with it. */
  readonly arnPrefix: string;
  /** Name prefixes: every secret whose name starts with one is managed (the stack's default names). */
  readonly prefixes: readonly string[];
  /**
   * Exact names, grouped by their path up to and including the last '/'
   * (`""` for names without one): `{"team/grafana/": ["dashboards"]}`. The
   * ARN of such a secret is the name, '-' and 6 characters Secrets Manager adds.
   */
  readonly names: Readonly<Record<string, readonly string[]>>;
  /**
   * The stack's credential secrets that are not rotated, by name prefix and by
   * exact name grouped like `names`: the health check checks them, rotation
   * refuses them. Absent when there are none.
   */
  readonly unrotated?: {
    readonly prefixes: readonly string[];
    readonly names: Readonly<Record<string, readonly string[]>>;
  };
}

/**
 * The input of the stack's health-check rule: a scheduled event the handler
 * tells from CloudFormation and rotation events by this one field.
 */
export const HEALTH_CHECK_EVENT = { GrafanaCredentials: 'HealthCheck' } as const;

/** The CloudWatch metrics the handler publishes (Embedded Metric Format) and the constructs' metric*() methods read. */
export const METRICS = {
  namespace: 'GrafanaCredentials',
  /** Dimension: the name of the credential's secret. */
  secretDimension: 'SecretName',
  stepDimension: 'Step',
  causeDimension: 'Cause',
  secondsUntilExpiry: 'SecondsUntilExpiry',
  credentialWorks: 'CredentialWorks',
  rotationOverdue: 'RotationOverdue',
  rotationFailures: 'RotationFailures',
} as const;

/** Why a rotation step failed, as the RotationFailures metric's Cause dimension says. */
export const FailureCause = {
  /** The credential's service (Grafana) refused to issue or revoke. */
  SERVICE_REFUSED: 'ServiceRefused',
  /** The new credential did not work, or could not be verified, at its target. */
  VERIFICATION_FAILED: 'VerificationFailed',
  /** Secrets Manager refused a write or label move, or the secret is being deleted. */
  SECRETS_MANAGER_CONFLICT: 'SecretsManagerConflict',
  OTHER: 'Other',
} as const;

/** A custom-resource property that is missing or wrong; the message names it, its value and the fix. */
export class PropertyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PropertyError';
  }
}

export type ResourceProperties = CredentialResourceProperties | ServiceAccountResourceProperties;

/**
 * The one parser of custom-resource properties. CloudFormation delivers every
 * scalar as a string; this checks presence and format of each property the
 * Kind needs and returns the typed properties, or throws a PropertyError
 * naming the property.
 */
export function parseProperties(raw: unknown): ResourceProperties {
  const props = (typeof raw === 'object' && raw !== null ? raw : {}) as Readonly<Record<string, unknown>>;
  const kind = requireProperty(props, 'Kind');
  if (kind === CredentialKind.SERVER_API_KEY || kind === CredentialKind.SERVER_SERVICE_ACCOUNT_TOKEN) return parseServerCredentialProperties(props, kind);
  if (kind === CredentialKind.API_GATEWAY_KEY) return parseApiGatewayKeyProperties(props);
  const workspaceId = requireProperty(props, 'WorkspaceId');
  if (!WORKSPACE_ID_PATTERN.test(workspaceId)) {
    throw new PropertyError(`WorkspaceId '${workspaceId}' is not a workspace id: expected 'g-' and 10 hex digits, e.g. g-0123456789`);
  }
  if (kind === ResourceKind.SERVICE_ACCOUNT) {
    const name = requireProperty(props, 'ServiceAccountName');
    if (name.length > LIMITS.serviceAccountNameMax) {
      throw new PropertyError(`ServiceAccountName must be 1 to ${LIMITS.serviceAccountNameMax} characters, got ${name.length}`);
    }
    return { Kind: kind, WorkspaceId: workspaceId, ServiceAccountName: name, Role: parseRole(requireProperty(props, 'Role')) };
  }
  if (kind !== CredentialKind.API_KEY && kind !== CredentialKind.SERVICE_ACCOUNT_TOKEN) {
    const known = [...Object.values(CredentialKind), ...Object.values(ResourceKind)].join(', ');
    throw new PropertyError(`Kind '${kind}' is not a known credential kind: expected one of ${known}`);
  }
  const seconds = requireProperty(props, 'SecondsToLive');
  const n = Number(seconds);
  if (!Number.isInteger(n) || n < 1 || n > LIMITS.maxSecondsToLive) {
    throw new PropertyError(`SecondsToLive '${seconds}' must be a whole number from 1 to ${LIMITS.maxSecondsToLive} (30 days)`);
  }
  const parsed: CredentialResourceProperties = {
    Kind: kind,
    SecretArn: requireProperty(props, 'SecretArn'),
    WorkspaceId: workspaceId,
    NamePrefix: requireProperty(props, 'NamePrefix'),
    SecondsToLive: String(n),
    ...(kind === CredentialKind.API_KEY ? { Role: parseRole(requireProperty(props, 'Role')) } : {}),
    ...(kind === CredentialKind.SERVICE_ACCOUNT_TOKEN ? { ServiceAccountId: requireProperty(props, 'ServiceAccountId') } : {}),
    ...verificationProperties(props),
  };
  return parsed;
}

/** Tag key on every API Gateway key the handler issues; its value names the stack's handler. */
export const API_GATEWAY_OWNER_TAG = 'grafana-credentials:owner';

/** An API Gateway usage plan id: 1 to 64 letters and digits (the real ones are 6 to 10). */
export const USAGE_PLAN_ID_PATTERN = /^[A-Za-z0-9]{1,64}$/;

function parseApiGatewayKeyProperties(props: Readonly<Record<string, unknown>>): CredentialResourceProperties {
  const plans = requireProperty(props, 'UsagePlanIds').split(',');
  if (plans.length > LIMITS.usagePlansPerKey || plans.some((id) => !USAGE_PLAN_ID_PATTERN.test(id)) || new Set(plans).size !== plans.length) {
    throw new PropertyError(`UsagePlanIds '${String(props.UsagePlanIds)}' must be 1 to ${LIMITS.usagePlansPerKey} distinct usage plan ids, comma-separated`);
  }
  const enabled = requireProperty(props, 'Enabled');
  if (enabled !== 'true' && enabled !== 'false') throw new PropertyError(`Enabled '${enabled}' must be 'true' or 'false'`);
  const optional = (name: string) => (typeof props[name] === 'string' ? props[name] as string : '');
  return {
    Kind: CredentialKind.API_GATEWAY_KEY,
    SecretArn: requireProperty(props, 'SecretArn'),
    NamePrefix: requireProperty(props, 'NamePrefix'),
    UsagePlanIds: [...plans].sort().join(','),
    Description: optional('Description'),
    CustomerId: optional('CustomerId'),
    Enabled: enabled,
    OwnerTag: requireProperty(props, 'OwnerTag'),
    ...verificationProperties(props),
  };
}

function requireProperty(props: Readonly<Record<string, unknown>>, name: string): string {
  const value = props[name];
  if (typeof value !== 'string' || value.length === 0) throw new PropertyError(`Property ${name} is required`);
  return value;
}

function parseRole(value: string): string {
  if (!(GRAFANA_ROLES as readonly string[]).includes(value)) {
    throw new PropertyError(`Role '${value}' is not one of ${GRAFANA_ROLES.join(', ')}`);
  }
  return value;
}

function verificationProperties(props: Readonly<Record<string, unknown>>): { VerifyUrl?: string; VerifyRotatedKey?: string } {
  const out: { VerifyUrl?: string; VerifyRotatedKey?: string } = {};
  const url = props.VerifyUrl;
  if (url !== undefined && url !== '') {
    const normalised = typeof url === 'string' ? normaliseHttpsUrl(url) : undefined;
    if (!normalised) throw new PropertyError(`VerifyUrl '${String(url)}' must be an absolute https URL without credentials, query or fragment (the construct's workspaceUrl)`);
    out.VerifyUrl = normalised;
  }
  const verify = props.VerifyRotatedKey;
  if (verify !== undefined && verify !== 'true') {
    if (verify !== 'false') throw new PropertyError(`VerifyRotatedKey '${String(verify)}' must be 'true' or 'false'`);
    out.VerifyRotatedKey = 'false';
  }
  return out;
}

/** An absolute https URL without credentials, query or fragment, as a string with no trailing slash; undefined otherwise. */
export function normaliseHttpsUrl(value: string): string | undefined {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return undefined;
  }
  if (url.protocol !== 'https:' || !url.hostname || url.username || url.password || url.search || url.hash) return undefined;
  return `${url.origin}${url.pathname.replace(/\/+$/, '')}`;
}

// ---------- Self-managed Grafana (issue #16) ----------

/** Where a self-managed Grafana server is, as both its resource kinds carry it; its admin secret is the function's to know (HANDLER_ENV.servers). */
export interface ServerProperties {
  /** Base URL of the server, normalised (see normaliseServerUrl). */
  readonly GrafanaUrl: string;
  /** Grafana organization id, sent as X-Grafana-Org-Id; absent for the admin credential's current organization. */
  readonly OrgId?: string;
  /** 'true' when the user allowed plain http (a server inside a private network); absent otherwise. */
  readonly AllowHttp?: string;
}

/** Properties of a self-managed service-account custom resource. */
export interface ServerServiceAccountResourceProperties extends ServerProperties {
  readonly Kind: string;
  readonly ServiceAccountName: string;
  readonly Role: string;
}

/** Grafana's own names of the roles, as its HTTP API takes them. */
export const SERVER_ROLE_NAMES: Readonly<Record<string, string>> = { ADMIN: 'Admin', EDITOR: 'Editor', VIEWER: 'Viewer' };

/** Longest whole-second lifetime the constructs accept for self-managed Grafana (Grafana's own field is an int64); 0 means never expires. */
export const SERVER_MAX_SECONDS_TO_LIVE = 100 * 365 * 86_400;

/**
 * A server URL: absolute https (or http when allowed), a host, optionally a
 * port and a path, no credentials, query or fragment; returned without a
 * trailing '/'. Undefined when it is none of that.
 */
export function normaliseServerUrl(value: string, allowHttp: boolean): string | undefined {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return undefined;
  }
  const schemeOk = url.protocol === 'https:' || (allowHttp && url.protocol === 'http:');
  if (!schemeOk || !url.hostname || url.username || url.password || url.search || url.hash) return undefined;
  return `${url.origin}${url.pathname.replace(/\/+$/, '')}`;
}

export function parseServerProperties(props: Readonly<Record<string, unknown>>): ServerProperties {
  const allow = props.AllowHttp;
  if (allow !== undefined && allow !== 'true' && allow !== 'false') throw new PropertyError(`AllowHttp '${String(allow)}' must be 'true' or 'false'`);
  const allowHttp = allow === 'true';
  const raw = requireProperty(props, 'GrafanaUrl');
  const url = normaliseServerUrl(raw, allowHttp);
  if (!url) {
    throw new PropertyError(`GrafanaUrl '${raw}' must be an absolute ${allowHttp ? 'http or https' : 'https'} URL without credentials, query or fragment (SelfManagedGrafana url)`);
  }
  const orgId = props.OrgId;
  if (orgId !== undefined && orgId !== '' && !(typeof orgId === 'string' && /^[1-9][0-9]{0,17}$/.test(orgId))) {
    throw new PropertyError(`OrgId '${String(orgId)}' must be a positive whole number (a Grafana organization id)`);
  }
  return {
    GrafanaUrl: url,
    ...(typeof orgId === 'string' && orgId !== '' ? { OrgId: orgId } : {}),
    ...(allowHttp ? { AllowHttp: 'true' } : {}),
  };
}

function parseServerCredentialProperties(props: Readonly<Record<string, unknown>>, kind: string): CredentialResourceProperties {
  const seconds = requireProperty(props, 'SecondsToLive');
  const n = Number(seconds);
  if (!Number.isInteger(n) || n < 0 || n > SERVER_MAX_SECONDS_TO_LIVE) {
    throw new PropertyError(`SecondsToLive '${seconds}' must be a whole number from 0 (never expires) to ${SERVER_MAX_SECONDS_TO_LIVE}`);
  }
  const verify = props.VerifyRotatedKey;
  if (verify !== undefined && verify !== 'true' && verify !== 'false') throw new PropertyError(`VerifyRotatedKey '${String(verify)}' must be 'true' or 'false'`);
  return {
    Kind: kind,
    SecretArn: requireProperty(props, 'SecretArn'),
    NamePrefix: requireProperty(props, 'NamePrefix'),
    SecondsToLive: String(n),
    ...parseServerProperties(props),
    ...(kind === CredentialKind.SERVER_API_KEY ? { Role: parseRole(requireProperty(props, 'Role')) } : {}),
    ...(kind === CredentialKind.SERVER_SERVICE_ACCOUNT_TOKEN ? { ServiceAccountId: requireProperty(props, 'ServiceAccountId') } : {}),
    ...(verify === 'false' ? { VerifyRotatedKey: 'false' } : {}),
  };
}

export function parseServerServiceAccountProperties(raw: unknown): ServerServiceAccountResourceProperties {
  const props = (typeof raw === 'object' && raw !== null ? raw : {}) as Readonly<Record<string, unknown>>;
  const kind = requireProperty(props, 'Kind');
  if (kind !== ResourceKind.SERVER_SERVICE_ACCOUNT) throw new PropertyError(`Kind '${kind}' is not ${ResourceKind.SERVER_SERVICE_ACCOUNT}`);
  const name = requireProperty(props, 'ServiceAccountName');
  if (name.length > LIMITS.serviceAccountNameMax) {
    throw new PropertyError(`ServiceAccountName must be 1 to ${LIMITS.serviceAccountNameMax} characters, got ${name.length}`);
  }
  return { Kind: kind, ServiceAccountName: name, Role: parseRole(requireProperty(props, 'Role')), ...parseServerProperties(props) };
}
