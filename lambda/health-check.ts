/**
 * The daily health check: for every credential secret of the stack, read
 * AWSCURRENT, verify its token where rotation would (the issuer decides, from
 * the template), and publish SecondsUntilExpiry, CredentialWorks and
 * RotationOverdue in Embedded Metric Format, one line per credential with the
 * secret's name as dimension. It writes nothing and revokes nothing.
 *
 * Which secrets: those the function's managed-secrets list names exactly, and
 * those under its default-name prefixes, found with ListSecrets (metadata
 * only; IAM cannot scope ListSecrets to a prefix, so the names are checked
 * here again). A token is read into memory, sent to its verification target,
 * and never logged.
 */
import { HEALTH_CHECK_EVENT, MANAGED_SECRETS_ENV, METRICS } from '../lib/private/contract';
import { ListedSecret, SecretStore, Stage } from './clients/secrets-manager';
import { parseValue } from './engine/ledger';
import { Issuer, neverExpires } from './issuers/types';
import { describeError, log } from './log';
import { parseManagedSecrets } from './managed-secrets';
import { emfLine, LineWriter, MetricValue, stdoutWriter } from './metrics';

export function isHealthCheckEvent(event: unknown): boolean {
  return (event as Record<string, unknown> | null)?.GrafanaCredentials === HEALTH_CHECK_EVENT.GrafanaCredentials;
}

/** Credentials checked at once: enough for 150 in a few seconds, few enough not to crowd a workspace's API. */
export const HEALTH_CHECK_CONCURRENCY = 10;
/** No new check starts with less time left than one check may take (three verification attempts with their timeouts). */
export const HEALTH_CHECK_RESERVE_MS = 20_000;
/** Secrets Manager's rotation windows in this library last at most a day; a rotation later than that is overdue. */
const ROTATION_GRACE_MS = 24 * 3600 * 1000;

export interface HealthCheckDeps {
  readonly store: SecretStore;
  readonly issuerFor: (kind: unknown) => Issuer;
  readonly remainingMs: () => number;
  /** ARN of the function running the check (the Lambda context's invokedFunctionArn). */
  readonly functionArn?: string;
  readonly now?: () => number;
  readonly write?: LineWriter;
  readonly env?: NodeJS.ProcessEnv;
}

export type CheckOutcome = 'works' | 'fails' | 'unverified' | 'unreadable' | 'no-credential';

export interface HealthCheckSummary {
  readonly secrets: number;
  readonly outcomes: Readonly<Record<CheckOutcome, number>>;
  /** Secrets left unchecked because the function was running out of time. */
  readonly unchecked: number;
}

export async function runHealthCheck(deps: HealthCheckDeps): Promise<HealthCheckSummary> {
  const list = parseManagedSecrets((deps.env ?? process.env)[MANAGED_SECRETS_ENV]);
  if (!list) {
    log('error', `health check: ${MANAGED_SECRETS_ENV} is missing or unreadable; nothing checked`);
    throw new Error(`Health check: ${MANAGED_SECRETS_ENV} is missing or unreadable`);
  }
  const exact = new Set<string>();
  for (const group of [list.names, list.unrotated?.names ?? {}]) {
    for (const [path, names] of Object.entries(group)) names.forEach((name) => exact.add(`${path}${name}`));
  }
  const prefixes = [...new Set([...list.prefixes, ...list.unrotated?.prefixes ?? []])].filter((p) => p.length > 0);
  const listed = await deps.store.listByNamePrefix([...prefixes, ...exact]);
  // A stack with handlers in several network placements shares one default-name prefix: each handler checks the
  // secrets it rotates (it alone can reach their target), so a secret rotated by another function is skipped.
  const own = (s: ListedSecret) => !s.rotationLambdaArn || !deps.functionArn || functionOf(s.rotationLambdaArn) === functionOf(deps.functionArn);
  const secrets = listed.filter((s) => s.arn.startsWith(list.arnPrefix) && (exact.has(s.name) || prefixes.some((p) => s.name.startsWith(p))) && own(s))
    .sort((a, b) => a.name.localeCompare(b.name));

  const outcomes: Record<CheckOutcome, number> = { 'works': 0, 'fails': 0, 'unverified': 0, 'unreadable': 0, 'no-credential': 0 };
  let next = 0;
  let unchecked = 0;
  const worker = async () => {
    while (next < secrets.length) {
      const secret = secrets[next++];
      if (deps.remainingMs() < HEALTH_CHECK_RESERVE_MS) {
        unchecked++;
        continue;
      }
      outcomes[await checkCredential(secret, deps)]++;
    }
  };
  await Promise.all(Array.from({ length: Math.min(HEALTH_CHECK_CONCURRENCY, secrets.length) }, worker));
  const summary = { secrets: secrets.length, outcomes, unchecked };
  log(unchecked || outcomes.fails || outcomes.unreadable ? 'warn' : 'info', 'health check done', { ...summary });
  return summary;
}

/** A Lambda function ARN without a version or alias qualifier. */
const functionOf = (arn: string) => arn.split(':').slice(0, 7).join(':');

async function checkCredential(secret: ListedSecret, deps: HealthCheckDeps): Promise<CheckOutcome> {
  const now = (deps.now ?? Date.now)();
  const write = deps.write ?? stdoutWriter;
  const publish = (values: MetricValue[]) => write(emfLine({ [METRICS.secretDimension]: secret.name }, [[METRICS.secretDimension]], values, now));
  const overdue = secret.rotationEnabled && secret.nextRotationDate !== undefined && now > secret.nextRotationDate.getTime() + ROTATION_GRACE_MS;
  const rotationOverdue: MetricValue = { name: METRICS.rotationOverdue, value: overdue ? 1 : 0, unit: 'Count' };
  const fields = { secretArn: secret.arn };

  let record;
  try {
    record = parseValue((await deps.store.read(secret.arn, { stage: Stage.CURRENT }))?.value).record;
  } catch (err) {
    log('error', 'health check: could not read AWSCURRENT', { ...fields, error: describeError(err) });
    publish([{ name: METRICS.credentialWorks, value: 0, unit: 'Count' }, rotationOverdue]);
    return 'unreadable';
  }
  if (!record) {
    log('warn', 'health check: AWSCURRENT holds no credential written by this library; skipped', fields);
    return 'no-credential';
  }
  // A credential that never expires (an API Gateway key, a self-managed token asked for without expiry) has no SecondsUntilExpiry.
  const expiry: MetricValue[] = neverExpires(record.expiresAt) ? []
    : [{ name: METRICS.secondsUntilExpiry, value: Math.floor((Date.parse(record.expiresAt) - now) / 1000), unit: 'Seconds' }];
  let outcome: CheckOutcome;
  try {
    outcome = (await deps.issuerFor(record.lifecycle.kind).verify(record)) ? 'works' : 'unverified';
  } catch (err) {
    log('warn', 'health check: the current credential does not work', { ...fields, error: describeError(err) });
    outcome = 'fails';
  }
  // With verification off (verifyRotatedKey: false) nothing says whether it works: no CredentialWorks rather than a guess.
  const works: MetricValue[] = outcome === 'unverified' ? [] : [{ name: METRICS.credentialWorks, value: outcome === 'works' ? 1 : 0, unit: 'Count' }];
  publish([...expiry, ...works, rotationOverdue]);
  return outcome;
}
