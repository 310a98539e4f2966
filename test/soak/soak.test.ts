/** Thirty simulated days of the soak, in every test run: zero refused requests, zero orphans, at most two live keys. */
import { runSoak } from './soak';

test('30 simulated days: every consumer request succeeds, no orphan, at most two live keys per credential', async () => {
  const f = await runSoak({ days: 30 });
  expect(f.failures).toEqual([]);
  expect(f.consumerRequests).toBe(30 * 288 * 5);
  expect(f.consumerRequestsRefused).toBe(0);
  expect(f.rotationsCompleted).toBeGreaterThan(40);
  expect(f.stackUpdates).toBe(2);
  expect(f.mostLiveKeysPerCredential).toBeLessThanOrEqual(2);
  expect(f.orphanedKeysAtEnd).toBe(0);
  expect(f.keysLeftAfterDelete).toBe(0);
}, 120_000);
