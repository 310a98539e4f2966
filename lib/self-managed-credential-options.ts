import { CredentialOptions } from './credential-options';

/** Options of a credential on a self-managed Grafana server. */
export interface SelfManagedCredentialOptions extends CredentialOptions {
  /**
   * Issues credentials that never expire (Grafana's `secondsToLive` of 0).
   * A credential that never expires is what this library exists to avoid, so
   * it must be asked for: a `timeToLive` of 0 fails at synth. Such a
   * credential is still rotated (every `rotateAfter`, default 30 days) and
   * revoked with the stack. Refused when the server's
   * `apiKeyMaxTimeToLive` or `tokenExpirationDayLimit` is set. On a
   * self-managed server, `timeToLive` has no 30-day cap; `workspaceUrl` does
   * not apply (the server's `url` is used).
   * @default false
   */
  readonly neverExpires?: boolean;

  /**
   * The Grafana organization the credential belongs to, sent as
   * `X-Grafana-Org-Id` with every call.
   * @default - the admin credential's current organization
   */
  readonly orgId?: number;
}
