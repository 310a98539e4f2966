/**
 * Figures for RotatingApiKey (issue #17), measured in the test bed with the
 * real bundled handler: AWS calls per lifecycle event, and 50 keys created at
 * once against API Gateway's control-plane rates.
 */
import { App, Stack } from 'aws-cdk-lib';
import * as apigateway from 'aws-cdk-lib/aws-apigateway';
import { RotatingApiKey } from '../lib';
import { AwsStandIns } from '../test/testbed/aws/standins';
import { CfnDriver } from '../test/testbed/cfn/driver';
import { rotate } from '../test/testbed/cfn/rotation';

/** API Gateway's documented default: CreateApiKey about 5 requests per second per account. */
export const CREATE_API_KEY_PER_SECOND = 5;
/** Usage-plan calls are throttled harder; the stand-in uses this rate for CreateUsagePlanKey. */
export const USAGE_PLAN_KEY_PER_SECOND = 3;

function keysStack(keys: number, plans: number): Stack {
  const app = new App({ context: { 'aws:cdk:enable-asset-metadata': true } });
  const stack = new Stack(app, 'ApiKeysBench', { env: { account: '123456789012', region: 'us-east-1' } });
  const usagePlans = Array.from({ length: plans }, (_, i) => new apigateway.UsagePlan(stack, `Plan${i}`, { name: `plan-${i}` }));
  for (let i = 0; i < keys; i++) new RotatingApiKey(stack, `Key${i}`, { usagePlans, apiKeyNamePrefix: `bench-${i}` });
  return stack;
}

export interface CallRow { readonly event: string; readonly calls: number; readonly detail: string; readonly expected: string }

const detail = (counts: Record<string, number>) => Object.entries(counts).sort().map(([op, n]) => `${op} ${n}`).join(', ');
const total = (counts: Record<string, number>) => Object.values(counts).reduce((a, b) => a + b, 0);

/** Calls per event for one key in `plans` usage plans. */
export async function measureApiGatewayCalls(plans = 2): Promise<CallRow[]> {
  const standins = await AwsStandIns.start();
  const driver = await CfnDriver.start(standins, { serviceTimeoutMs: 60_000 });
  const rows: CallRow[] = [];
  const add = (event: string, counts: Record<string, number>, expected: string) => rows.push({ event, calls: total(counts), detail: detail(counts), expected });
  try {
    standins.resetCounts();
    await driver.deploy(keysStack(1, plans));
    add(`create (${plans} plans)`, standins.counts(), `1 CreateApiKey + ${plans} CreateUsagePlanKey + secret writes`);
    const secret = driver.secretArn('Key0Secret');
    standins.resetCounts();
    await rotate(driver, standins, secret);
    add(`rotation (${plans} plans)`, standins.counts(), 'as create, plus the checks of testSecret');
    standins.resetCounts();
    await driver.destroy();
    add('delete', standins.counts(), 'DeleteApiKey per live key, plus lookups by name');
  } finally {
    await driver.stop();
    await standins.stop();
  }
  return rows;
}

export interface ApiGatewayConcurrency {
  readonly keys: number; readonly ok: boolean; readonly failed: number; readonly wallSeconds: number; readonly boundSeconds: number;
  readonly ratio: number; readonly throttled: number; readonly liveKeys: number;
}

/** `keys` RotatingApiKeys in one stack, all created at once, against the rate limits above (or none). */
export async function measureApiGatewayConcurrency(keys = 50, limited = true): Promise<ApiGatewayConcurrency> {
  const standins = await AwsStandIns.start();
  const driver = await CfnDriver.start(standins, { serviceTimeoutMs: 300_000, concurrency: keys });
  try {
    if (limited) {
      standins.faults.rateLimit('CreateApiKey', CREATE_API_KEY_PER_SECOND);
      standins.faults.rateLimit('CreateUsagePlanKey', USAGE_PLAN_KEY_PER_SECOND);
    }
    const result = await driver.deploy(keysStack(keys, 1));
    const creates = driver.records.filter((r) => r.requestType === 'Create');
    const wallSeconds = (Math.max(...creates.map((r) => r.endedAt)) - Math.min(...creates.map((r) => r.startedAt))) / 1000;
    // Each bucket starts full, then refills at its rate; the slower one bounds the whole.
    const boundSeconds = Math.max((keys - CREATE_API_KEY_PER_SECOND) / CREATE_API_KEY_PER_SECOND, (keys - USAGE_PLAN_KEY_PER_SECOND) / USAGE_PLAN_KEY_PER_SECOND);
    const failed = creates.filter((r) => r.response?.Status !== 'SUCCESS').length;
    const liveKeys = standins.apiGateway.liveKeys().length;
    return {
      keys, ok: result.ok && liveKeys === keys, failed, wallSeconds, boundSeconds, ratio: wallSeconds / boundSeconds,
      throttled: standins.faults.injected.throttle ?? 0, liveKeys,
    };
  } finally {
    await driver.stop();
    await standins.stop();
  }
}
