/**
 * The API Gateway retry policy (lambda/clients/aws.ts) against API Gateway's
 * control-plane rates, in a model rather than the test bed (whose floor on a
 * small machine is starting one process per handler invocation): N handlers
 * start at once, as N Lambda environments would, each calls CreateApiKey
 * (5/s) then CreateUsagePlanKey (3/s); token buckets start full, a throttled
 * call takes no token; each handler retries with the real backoffMs and
 * attempts, and the SDK's retry quota (500, 5 per throttled retry, refunded on
 * success). Seeded, so the figures are the same on every run.
 */
import { API_GATEWAY_RETRIES, backoffMs } from '../../lambda/clients/aws';

const RATES = { createApiKey: 5, createUsagePlanKey: 3 };
const RTT_MS = 30;

function simulate(keys: number, seed: number): { seconds: number; exhausted: number } {
  let state = seed;
  const random = () => (state = (state * 1103515245 + 12345) % 2147483648) / 2147483648;
  const buckets = Object.fromEntries(Object.entries(RATES).map(([op, rate]) => [op, { rate, tokens: rate, last: 0 }]));
  const take = (op: string, at: number) => {
    const b = buckets[op];
    b.tokens = Math.min(b.rate, b.tokens + ((at - b.last) / 1000) * b.rate);
    b.last = at;
    if (b.tokens < 1) return false;
    b.tokens--;
    return true;
  };
  // The strategy is given maxAttempts - 1 (aws.ts), and smithy retries while retries + 1 < that.
  const maxRetries = API_GATEWAY_RETRIES.maxAttempts - 2;
  const quota = new Array(keys).fill(500);
  const queue: Array<{ at: number; key: number; op: string; retry: number }> = [];
  for (let key = 0; key < keys; key++) queue.push({ at: 0, key, op: 'createApiKey', retry: 0 });
  let end = 0;
  let exhausted = 0;
  while (queue.length) {
    queue.sort((a, b) => a.at - b.at);
    const { at, key, op, retry } = queue.shift()!;
    if (take(op, at + RTT_MS / 2)) {
      quota[key] = Math.min(500, quota[key] + (retry > 0 ? 5 : 1));
      if (op === 'createApiKey') queue.push({ at: at + RTT_MS, key, op: 'createUsagePlanKey', retry: 0 });
      else end = Math.max(end, at + RTT_MS);
      continue;
    }
    if (retry >= maxRetries || quota[key] < 5) {
      exhausted++;
      continue;
    }
    quota[key] -= 5;
    queue.push({ at: at + RTT_MS + backoffMs(retry + 1, random, API_GATEWAY_RETRIES.capMs), key, op, retry: retry + 1 });
  }
  return { seconds: end / 1000, exhausted };
}

const bound = (keys: number) => Math.max((keys - RATES.createApiKey) / RATES.createApiKey, (keys - RATES.createUsagePlanKey) / RATES.createUsagePlanKey);

test('50 keys at once end within 1.1x of what the rates allow at p95, and none runs out of attempts', () => {
  const runs = Array.from({ length: 200 }, (_, i) => simulate(50, i + 1));
  const ratios = runs.map((r) => r.seconds / bound(50)).sort((a, b) => a - b);
  expect(runs.filter((r) => r.exhausted > 0)).toEqual([]);
  expect(ratios[190]).toBeLessThanOrEqual(1.1);
});

test('150 keys at once (three such stacks deploying together): no handler runs out of attempts or of the retry quota', () => {
  const runs = Array.from({ length: 100 }, (_, i) => simulate(150, i + 1));
  expect(runs.filter((r) => r.exhausted > 0).length).toBe(0);
  expect(Math.max(...runs.map((r) => r.seconds / bound(150)))).toBeLessThanOrEqual(1.1);
});
