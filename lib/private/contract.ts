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
}
