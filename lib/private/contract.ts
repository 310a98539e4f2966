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
} as const;

/** Non-credential resources the handler manages. */
export const ResourceKind = {
  SERVICE_ACCOUNT: 'amg-service-account',
} as const;

export const RESOURCE_TYPES = {
  apiKey: 'Custom::GrafanaWorkspaceApiKey',
  serviceAccount: 'Custom::GrafanaWorkspaceServiceAccount',
  serviceAccountToken: 'Custom::GrafanaServiceAccountToken',
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
} as const;

/** Properties of a credential custom resource, as the construct writes them. */
export interface CredentialResourceProperties {
  /** One of CredentialKind. */
  readonly Kind: string;
  /** ARN of the secret that holds the credential. */
  readonly SecretArn: string;
  readonly WorkspaceId: string;
  /** Prefix of every issued credential name; a short unique suffix is appended. */
  readonly NamePrefix: string;
  readonly SecondsToLive: string;
  /** Grafana role, for API keys. */
  readonly Role?: string;
  /** Service account id, for service-account tokens. */
  readonly ServiceAccountId?: string;
  /** The construct's `workspaceUrl`: where rotation verifies a new credential, if not the workspace's endpoint. */
  readonly VerifyUrl?: string;
  /** 'false' when rotation must not verify the new credential (`verifyRotatedKey: false`); absent otherwise. */
  readonly VerifyRotatedKey?: string;
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
