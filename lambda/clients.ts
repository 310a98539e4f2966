/**
 * AWS SDK clients with the standard region/endpoint configuration (so
 * AWS_ENDPOINT_URL_GRAFANA and AWS_ENDPOINT_URL_SECRETS_MANAGER work), bounded
 * retries with exponential backoff and jitter, and a timeout on every request.
 * Clients are created on first use, so an event type loads only what it needs.
 */
import { GrafanaClient } from '@aws-sdk/client-grafana';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';

/** Attempts per call, including the first; the SDK's standard strategy adds jittered backoff. */
export const MAX_ATTEMPTS = Number(process.env.GRAFANA_CREDENTIALS_MAX_ATTEMPTS ?? 5);
/** Per-attempt timeouts, in ms. */
export const REQUEST_TIMEOUT_MS = Number(process.env.GRAFANA_CREDENTIALS_REQUEST_TIMEOUT_MS ?? 5000);
const CONNECTION_TIMEOUT_MS = 3000;

const common = () => ({
  maxAttempts: MAX_ATTEMPTS,
  retryMode: 'standard',
  requestHandler: { requestTimeout: REQUEST_TIMEOUT_MS, connectionTimeout: CONNECTION_TIMEOUT_MS },
});

let grafana: GrafanaClient | undefined;
let secretsManager: SecretsManagerClient | undefined;

export function grafanaClient(): GrafanaClient {
  grafana ??= new GrafanaClient(common());
  return grafana;
}

export function secretsManagerClient(): SecretsManagerClient {
  secretsManager ??= new SecretsManagerClient(common());
  return secretsManager;
}
