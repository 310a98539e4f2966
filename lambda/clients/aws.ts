/**
 * AWS SDK clients with the standard region/endpoint configuration (so
 * AWS_ENDPOINT_URL_GRAFANA and AWS_ENDPOINT_URL_SECRETS_MANAGER work), bounded
 * retries with exponential backoff and jitter, and a timeout on every request.
 * Clients are created on first use, so an event type loads only what it needs.
 */
import type { GrafanaClient } from '@aws-sdk/client-grafana';
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { APIGatewayClient } from '@aws-sdk/client-api-gateway';

type GrafanaSdk = typeof import('./sdk/grafana');
type SecretsManagerSdk = typeof import('./sdk/secrets-manager');
type ApiGatewaySdk = typeof import('./sdk/api-gateway');

/**
 * The SDK modules, loaded on first use rather than at cold start: the bundle
 * splits them into chunks that only the events needing them load.
 */
let grafanaModule: Promise<GrafanaSdk> | undefined;
let secretsManagerModule: Promise<SecretsManagerSdk> | undefined;
export const grafanaSdk = (): Promise<GrafanaSdk> => (grafanaModule ??= import('./sdk/grafana'));
export const secretsManagerSdk = (): Promise<SecretsManagerSdk> => (secretsManagerModule ??= import('./sdk/secrets-manager'));
let apiGatewayModule: Promise<ApiGatewaySdk> | undefined;
export const apiGatewaySdk = (): Promise<ApiGatewaySdk> => (apiGatewayModule ??= import('./sdk/api-gateway'));

/** True when an SDK error is the named service exception. */
export function isServiceError(err: unknown, name: string): boolean {
  return (err as { name?: unknown })?.name === name;
}

/** Attempts per call, including the first. */
export const MAX_ATTEMPTS = Number(process.env.GRAFANA_CREDENTIALS_MAX_ATTEMPTS ?? 12);
/**
 * Backoff before retry n: "full jitter" (a random delay up to 100 ms × 2^n),
 * capped at 2 s. The cap keeps many concurrent deployments competing for a
 * throttled API close to the rate it allows instead of sleeping past it; the
 * function's timeout guard still bounds the total.
 */
export function backoffMs(retry: number, random = Math.random, capMs = 2000): number {
  return Math.round(random() * Math.min(capMs, 100 * 2 ** retry));
}
/** Per-attempt timeouts, in ms. */
export const REQUEST_TIMEOUT_MS = Number(process.env.GRAFANA_CREDENTIALS_REQUEST_TIMEOUT_MS ?? 5000);
const CONNECTION_TIMEOUT_MS = 3000;

async function common(retries: { maxAttempts: number; capMs: number } = { maxAttempts: MAX_ATTEMPTS, capMs: 2000 }) {
  const { ConfiguredRetryStrategy } = await import('@smithy/core/retry');
  return {
    // The strategy counts retries, not attempts.
    retryStrategy: new ConfiguredRetryStrategy(retries.maxAttempts - 1, (retry: number) => backoffMs(retry, Math.random, retries.capMs)),
    // Without throwOnRequestTimeout the SDK only warns when requestTimeout passes, and a hung call hangs on.
    requestHandler: { requestTimeout: REQUEST_TIMEOUT_MS, connectionTimeout: CONNECTION_TIMEOUT_MS, throwOnRequestTimeout: true },
  };
}

let grafana: GrafanaClient | undefined;
let secretsManager: SecretsManagerClient | undefined;

export async function grafanaClient(): Promise<GrafanaClient> {
  grafana ??= new (await grafanaSdk()).GrafanaClient(await common());
  return grafana;
}

export async function secretsManagerClient(): Promise<SecretsManagerClient> {
  secretsManager ??= new (await secretsManagerSdk()).SecretsManagerClient(await common());
  return secretsManager;
}

let apiGateway: APIGatewayClient | undefined;

/**
 * API Gateway's control plane throttles per account at a few calls per second
 * (CreateApiKey about 5, usage-plan calls fewer), so 50 keys of one stack
 * compete for a handful of calls per second. Many short waits beat few long
 * ones: with a 4 s cap the last callers sleep past tokens the bucket refilled
 * (p95 1.20x the bound for 50 keys) and 30 attempts ran out for 150 keys; a
 * 2 s cap with 60 attempts keeps the same total patience, ends within 1.10x at
 * p95 and runs out at none of 50, 100 or 150 (test/unit/api-gateway-retry.test.ts
 * models it with the SDK's retry quota). Still bounded: the timeout guard
 * answers before the function times out.
 */
export const API_GATEWAY_RETRIES = {
  maxAttempts: Number(process.env.GRAFANA_CREDENTIALS_APIGATEWAY_MAX_ATTEMPTS ?? 60),
  capMs: 2000,
};

/** API Gateway's control plane (AWS_ENDPOINT_URL_API_GATEWAY works). */
export async function apiGatewayClient(): Promise<APIGatewayClient> {
  apiGateway ??= new (await apiGatewaySdk()).APIGatewayClient(await common(API_GATEWAY_RETRIES));
  return apiGateway;
}
