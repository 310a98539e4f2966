/**
 * Issue #15's invariants over random interleavings (test/model/interleaving.ts).
 * `npm test` runs FUZZ_SEQUENCES (2,000) sequences in all: a fifth of that per
 * property, then a census that tops the count up (at least a quarter);
 * `npm run fuzz` sets 20,000. A failure prints
 * fast-check's seed and path (replay with FUZZ_SEED and FUZZ_PATH) and the
 * shrunk sequence as a readable interleaving.
 */
import fc from 'fast-check';
import { installAdapter } from './adapter';
import { Action, actionArb, ALL_RULES, Census, Dup, Feature, hooks, QUIESCENT_RULES, runAndCheck } from './interleaving';
import type { Rule } from './invariants';

const SEQUENCES = Number(process.env.FUZZ_SEQUENCES ?? 2000);
const TIMEOUT = 30 * 60_000;
const ALL: Feature[] = ['dup', 'crash', 'guard', 'fail', 'outOfBand'];
const census = new Census();

let uninstall: () => void;
const quiet = ['log', 'error', 'warn', 'info', 'debug'] as const;
const saved = quiet.map((m) => console[m]);
beforeAll(() => {
  uninstall = installAdapter(hooks);
  for (const m of quiet) console[m] = () => undefined;
  jest.useFakeTimers({ doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask'] });
});
afterAll(() => {
  jest.clearAllTimers();
  jest.useRealTimers();
  quiet.forEach((m, i) => { console[m] = saved[i]; });
  uninstall();
  process.stdout.write(`interleavings: ${census.summary()}\n`);
  for (const [rule, b] of census.broken) {
    if (process.env.FUZZ_TRACES) process.stdout.write(`--- shortest sequence breaking ${rule} ---\n${b.shortest?.join('\n')}\n`);
  }
});

const sequences = (features: Feature[]) => fc.array(actionArb(new Set(features)), { maxLength: 30 });
const params = (numRuns: number) => ({
  numRuns,
  // FUZZ_SEED=random (npm run fuzz) or unset: fast-check draws a seed and prints it with any counterexample.
  seed: process.env.FUZZ_SEED && process.env.FUZZ_SEED !== 'random' ? Number(process.env.FUZZ_SEED) : undefined,
  path: process.env.FUZZ_PATH,
});
function property(features: Feature[], rules: readonly Rule[]) {
  return () => fc.assert(fc.asyncProperty(sequences(features), (actions: Action[]) => runAndCheck(actions, rules, census)), params(Math.ceil(SEQUENCES / 5)));
}

// On the engine of commit a0903e5 every property below fails, so each is marked test.failing; the engine rewrite of
// issue #15 turns each back into test(). What each broke first (seed and path replay it with FUZZ_SEED and FUZZ_PATH;
// FUZZ_SEQUENCES=2000), with the shrunk sequence (after the Create, which every sequence starts with):
//
// seed -1280375315, path "371:2:1:2:5:5:12:14:15": at-most-2 and reachable. A reissuing Update that the stack then
//   rolls back, with a rotation based on the original key: the rollback moves AWSCURRENT back, the rotation's
//   finishSecret (compare-and-swap from the original) promotes its key, and the Update's key loses AWSPREVIOUS; the
//   cleanup Delete of the Update's id finds no version of its generation. 3 live keys at rest, one in no version.
//   [release, release, update(failAfter), release, release, rotate]
test('updates, rollbacks, deletes and rotations interleaved call by call, with duplicate deliveries', property(['dup'], QUIESCENT_RULES), TIMEOUT);
// seed -895249810, path "23:2:0:1:3": reachable and none-after-delete. The Create dies right after
//   CreateWorkspaceApiKey landed (issue #15's second orphan case); CloudFormation's rollback Delete finds nothing.
//   [crash(Create, landed)]
test('... with crashes at every await point and the timeout guard firing', property(['dup', 'crash', 'guard'], QUIESCENT_RULES), TIMEOUT);
// seed -229847868, path "3:2:0:1:5:5:7:10:10": reachable and none-after-delete. A rotation runs while the stack is
//   deleted: the Delete reads the labels before createSecret stores its key as AWSPENDING, revokes only AWSCURRENT,
//   and CloudFormation deletes the secret; the rotated key stays live. [release, release, rotate, delete]
//   (The out-of-band orphan case of issue #15 is the fixed sequence below.)
test('... with out-of-band deletes of the secret or the workspace', property(['dup', 'outOfBand'], QUIESCENT_RULES), TIMEOUT);
// seed 1029933000, path "31:3:3": reachable and none-after-delete. CreateWorkspaceApiKey lands but its answer is lost
//   (the SDK's retries all fail): the Create answers FAILED with the marker id, the rollback Delete touches nothing,
//   the key stays live. [fail(CreateWorkspaceApiKey, landed)]
test('... with failed AWS calls', property(['dup', 'fail'], QUIESCENT_RULES), TIMEOUT);
// seed -1664021336, path "0": reachable-in-flight. The plain Create: the key is issued before any version names it.
//   []
test('everything at once; every live credential reachable from a label at every step, not only at rest', property(ALL, ALL_RULES), TIMEOUT);

// A plan change delivered twice (at once or again after its answer) that the stack then rolls back, with further
// plan changes and rotations, every call released in a random order. Before the in-place path was write-ahead
// (cfn-events.ts reconfigureInPlace) this found, within about a thousand sequences, a twin whose call landed after the
// rollback's, leaving the key in the plan it had left: [update(p1 -> p1,p2, the stack then fails, twice at once),
// release 0, 3, 3, 1, 7, 4, 4]. The properties above reach that shape far more rarely.
const release: Action = { t: 'release', k: 0 };
const planChangeRolledBack = fc.tuple(fc.nat(2).map((p) => p + 1), fc.constantFrom<Dup>(1, 2), fc.array(fc.oneof(
  { weight: 10, arbitrary: fc.record({ t: fc.constant('release' as const), k: fc.nat(7) }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('rotate' as const), dup: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('update' as const), role: fc.constant(0), noop: fc.constant(true), plans: fc.nat(3), failAfter: fc.boolean(), dup: fc.constantFrom<Dup>(0, 1, 2) }) },
), { maxLength: 40 })).map(([plans, dup, rest]): Action[] => [release, release, release, release, { t: 'update', role: 0, noop: true, plans, failAfter: true, dup }, ...rest]);
test('plan changes delivered twice and rolled back, calls in random order: every key ends in the deployed plans', () =>
  fc.assert(fc.asyncProperty(planChangeRolledBack, (actions: Action[]) => runAndCheck(actions, QUIESCENT_RULES, census)), params(Math.ceil(SEQUENCES / 5))), TIMEOUT);

describe("issue #15's orphan cases, as fixed sequences", () => {
  const created: Action[] = [{ t: 'release', k: 0 }, { t: 'release', k: 0 }];
  // Both fail on the engine of commit a0903e5 (none-after-delete): the Delete answers SUCCESS and the key stays live.
  test.each([
    ['with a recovery window', false],
    ['forced', true],
  ])('the secret is deleted out of band (%s), then the stack: no key stays live', async (_what, force) => {
    await runAndCheck([...created, { t: 'deleteSecret', force }, { t: 'delete', role: 0, noop: false, failAfter: false, dup: 0 }], QUIESCENT_RULES);
  });
  // Fails on the engine of commit a0903e5 (none-after-delete, reachable).
  test('the function dies right after CreateWorkspaceApiKey, before the secret write: the rollback Delete leaves no key', async () => {
    await runAndCheck([{ t: 'release', k: 0 }, { t: 'crash', k: 0, landed: false }], QUIESCENT_RULES);
  });
  test('control: the same sequences without the out-of-band delete or the crash leave nothing behind', async () => {
    await runAndCheck([...created, { t: 'delete', role: 0, noop: false, failAfter: false, dup: 0 }], QUIESCENT_RULES);
    await runAndCheck([{ t: 'release', k: 0 }, { t: 'release', k: 0 }, { t: 'delete', role: 0, noop: false, failAfter: false, dup: 0 }], ALL_RULES.filter((r) => r !== 'reachable-in-flight'));
  });
});

// Found once the model ran rotations again and its kind's issue took two calls (the key, then its plans), as an API
// Gateway key's does; not fixed. Two deliveries of one step or event issue the same derived name: the second gets
// NameInUseError while the first is between its issue and its write, finds nothing stored at its version, takes the
// name for one an attempt that died left behind (ledger.ts issue()), revokes it and issues again; the first then
// stores the revoked credential, the second's write is refused (the version exists) and it revokes its own.
// AWSCURRENT ends on a revoked credential (rotation's testSecret catches it when verification is on; the model turns
// it off, and CloudFormation events have no such step). Telling a live twin from a dead attempt needs the attempt's
// age or a claim on the version; see the report of branch wt-model. Each test flips to passing once that is fixed.
describe('known: two deliveries issuing the same name at once', () => {
  const created: Action[] = [{ t: 'release', k: 0 }, { t: 'release', k: 0 }, { t: 'release', k: 0 }, { t: 'release', k: 0 }];
  // The random properties count it under its own rule (known-twin-replaced) instead of current-works, so that they
  // keep checking everything else; the census reports how many sequences hit it.
  const rules = [...QUIESCENT_RULES, 'known-twin-replaced' as const];
  test.failing('a rotation whose steps are each delivered twice', async () => {
    await runAndCheck([...created, { t: 'rotate', dup: true }], rules);
  });
  test.failing('a reissuing Update delivered twice at once', async () => {
    await runAndCheck([...created, { t: 'update', role: 0, noop: false, plans: 0, failAfter: false, dup: 1 }], rules);
  });
});

// Last, to top the run up to FUZZ_SEQUENCES sequences in all (a property stops at its first failure), and at least a quarter of that.
test('census: every kind of event, step, crash and fault happens, and sequences come to rest', async () => {
  const seen = new Census();
  const runs = Math.max(Math.ceil(SEQUENCES / 4), SEQUENCES - census.sequences);
  await fc.assert(fc.asyncProperty(sequences(ALL), async (actions: Action[]) => {
    try { await runAndCheck(actions, [], seen); } finally { census.sequences++; }
  }), params(runs));
  for (const [rule, b] of seen.broken) census.broken.set(rule, b);
  census.maxLive = Math.max(census.maxLive, seen.maxLive);
  census.maxLiveInFlight = Math.max(census.maxLiveInFlight, seen.maxLiveInFlight);
  census.quiescentChecks += seen.quiescentChecks;
  expect([...seen.applied].sort()).toEqual([
    'crash', 'crash-landed', 'create', 'delete', 'deleteSecret', 'deleteWorkspace', 'fail', 'fail-landed', 'guard', 'release', 'rotate', 'rotate-finished', 'tick', 'update', 'update-in-place',
  ]);
  expect(seen.quiescentChecks).toBeGreaterThan(seen.sequences);
}, TIMEOUT);

