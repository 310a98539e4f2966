/**
 * Rotation end to end: Secrets Manager's four steps, each in its own process,
 * against the stand-ins, together with stack updates and deletes.
 */
import { Duration } from 'aws-cdk-lib';
import { GrafanaRole, WorkspaceApiKey, WorkspaceApiKeyProps } from '../../lib';
import type { AwsStandIns } from '../testbed/aws/standins';
import type { CfnDriver } from '../testbed/cfn/driver';
import { rotate } from '../testbed/cfn/rotation';
import { apiOrg, newStack, useTestBed, versionWith } from './harness';
import { startHttpsWorkspace, startRecordingListener } from '../unit/helpers/https-workspace';

const bed = useTestBed();
let standins: AwsStandIns;
let driver: CfnDriver;
let ws: string;
beforeEach(() => ({ standins, driver, ws } = bed));

function keyStack(props: Partial<WorkspaceApiKeyProps> = {}) {
  const stack = newStack();
  new WorkspaceApiKey(stack, 'Key', { workspaceId: ws, timeToLive: Duration.days(7), ...props });
  return stack;
}
const secret = () => driver.secretArn('KeySecret');
const stage = (s: string) => versionWith(standins, secret(), s)?.value;

test('a full rotation: the new key works, the old one still works as AWSPREVIOUS', async () => {
  await driver.deploy(keyStack());
  const before = stage('AWSCURRENT')!;
  standins.resetCounts();
  const outcome = await rotate(driver, standins, secret());
  expect(outcome).toMatchObject({ ok: true });
  const after = stage('AWSCURRENT')!;
  expect(after.keyName).not.toBe(before.keyName);
  expect(after.keyRole).toBe('VIEWER');
  expect(await apiOrg(standins, after.key)).toBe(200);
  expect(stage('AWSPREVIOUS')!.keyName).toBe(before.keyName);
  expect(await apiOrg(standins, before.key)).toBe(200);
  expect(standins.liveKeys(ws)).toHaveLength(2);
  const versions = standins.secret(secret())!.versions.filter((v) => v.stages.includes('AWSPENDING'));
  expect(versions.every((v) => v.stages.includes('AWSCURRENT'))).toBe(true);
  process.stdout.write(`calls for the first rotation: ${JSON.stringify(standins.counts())}\n`);
  standins.resetCounts();
  await rotate(driver, standins, secret());
  process.stdout.write(`calls for a later rotation: ${JSON.stringify(standins.counts())}\n`);
});

test('every step invoked twice: one new key, same end state', async () => {
  await driver.deploy(keyStack());
  standins.resetCounts();
  expect(await rotate(driver, standins, secret(), { repeatEachStep: true })).toMatchObject({ ok: true });
  expect(standins.liveKeys(ws)).toHaveLength(2);
  expect(await apiOrg(standins, stage('AWSCURRENT')!.key)).toBe(200);
});

test('testSecret fails when the key is revoked between steps; AWSCURRENT is unchanged and working', async () => {
  await driver.deploy(keyStack());
  const before = stage('AWSCURRENT')!;
  const outcome = await rotate(driver, standins, secret(), {
    between: async (step, token) => {
      if (step !== 'testSecret') return;
      const pending = JSON.parse(standins.secret(secret())!.versions.find((v) => v.versionId === token)!.secretString!);
      (standins as any).workspaces.get(ws).apiKeys.get(pending.keyName).deleted = true; // revoked out of band
    },
  });
  expect(outcome).toMatchObject({ ok: false, failedStep: 'testSecret' });
  expect(outcome.error).toMatch(/Rotation step testSecret of secret arn:aws:secretsmanager:.*rejected.*HTTP 401.*AWSCURRENT is unchanged/);
  expect(stage('AWSCURRENT')!.keyName).toBe(before.keyName);
  expect(await apiOrg(standins, before.key)).toBe(200);
  expect(standins.secret(secret())!.versions.some((v) => v.stages.includes('AWSPENDING'))).toBe(false);
  // The next rotation starts cleanly and succeeds.
  expect(await rotate(driver, standins, secret())).toMatchObject({ ok: true });
  expect(await apiOrg(standins, stage('AWSCURRENT')!.key)).toBe(200);
});

test('three rotations: never more than two live keys; delete afterwards leaves none', async () => {
  await driver.deploy(keyStack());
  for (let i = 0; i < 3; i++) {
    let most = 0;
    const outcome = await rotate(driver, standins, secret(), { between: async () => { most = Math.max(most, standins.liveKeys(ws).length); } });
    expect(outcome.ok).toBe(true);
    most = Math.max(most, standins.liveKeys(ws).length);
    expect(most).toBeLessThanOrEqual(2);
  }
  expect(standins.existingKeys(ws)).toHaveLength(2);
  await driver.destroy();
  expect(standins.existingKeys()).toHaveLength(0);
});

test('a crash in the middle of createSecret is recovered by the next rotation with the same token', async () => {
  await driver.deploy(keyStack());
  // The new key is issued, then the process dies while storing it: killed when its PutSecretValue reaches Secrets
  // Manager, which never applies it (the write is held, then dropped), whatever the machine's speed.
  let sent!: () => void;
  const writeSent = new Promise<void>((resolve) => { sent = resolve; });
  standins.faults.add({ operation: 'PutSecretValue', kind: 'hang', onHit: () => sent() });
  const first = await rotate(driver, standins, secret(), { crashDuring: 'createSecret', crashWhen: writeSent });
  expect(first).toMatchObject({ ok: false, failedStep: 'createSecret' });
  expect(first.invocations[0]).toMatchObject({ ok: false, timedOut: false, exitCode: null }); // killed, not failed
  expect(standins.faults.injected.hang).toBe(1);
  expect(standins.secret(secret())!.versions.find((v) => v.versionId === first.token)?.secretString).toBeUndefined();
  expect(standins.liveKeys(ws)).toHaveLength(2); // the unstored key exists for now
  const unstored = standins.allIssuedTokens().at(-1)!;
  const second = await rotate(driver, standins, secret());
  expect(second.ok).toBe(true);
  expect(second.token).toBe(first.token);
  // The key the crashed step issued is either the one now stored or revoked.
  expect(stage('AWSCURRENT')!.key === unstored || !standins.isKeyValid(unstored)).toBe(true);
  expect(standins.liveKeys(ws).length).toBeLessThanOrEqual(2);
  expect(await apiOrg(standins, stage('AWSCURRENT')!.key)).toBe(200);
  await driver.destroy();
  expect(standins.existingKeys()).toHaveLength(0);
});

test('a rotation followed by a stack update that reissues: one key after cleanup', async () => {
  await driver.deploy(keyStack());
  await rotate(driver, standins, secret());
  expect(await driver.deploy(keyStack({ keyRole: GrafanaRole.EDITOR }))).toMatchObject({ ok: true });
  const live = standins.liveKeys(ws);
  expect(live).toHaveLength(1);
  expect(live[0].role).toBe('EDITOR');
  expect(stage('AWSCURRENT')!.keyName).toBe(live[0].name);
  await driver.destroy();
  expect(standins.existingKeys()).toHaveLength(0);
});

test('a stack update during a rotation wins; the rotation discards its key and nothing is orphaned', async () => {
  await driver.deploy(keyStack());
  const outcome = await rotate(driver, standins, secret(), {
    between: async (step) => {
      if (step === 'finishSecret') expect(await driver.deploy(keyStack({ keyRole: GrafanaRole.ADMIN }))).toMatchObject({ ok: true });
    },
  });
  expect(outcome.ok).toBe(true);
  const live = standins.liveKeys(ws);
  expect(live).toHaveLength(1);
  expect(live[0].role).toBe('ADMIN');
  expect(stage('AWSCURRENT')!.keyRole).toBe('ADMIN');
  await driver.destroy();
  expect(standins.existingKeys()).toHaveLength(0);
});

test('a rotation that finishes while a stack update issues its key: the key it demoted is revoked, nothing is orphaned', async () => {
  await driver.deploy(keyStack());
  await rotate(driver, standins, secret()); // AWSCURRENT is a rotated key, AWSPREVIOUS the deployed one
  const demoted = stage('AWSCURRENT')!;
  // The update's PutSecretValue reaches Secrets Manager 4 s late; a whole rotation finishes in between.
  let rotation: ReturnType<typeof rotate> | undefined;
  standins.faults.add({ operation: 'PutSecretValue', kind: 'delay', delayMs: 4000, onHit: () => { rotation = rotate(driver, standins, secret()); } });
  expect(await driver.deploy(keyStack({ keyRole: GrafanaRole.ADMIN }))).toMatchObject({ ok: true });
  expect(await rotation).toMatchObject({ ok: true });
  expect(stage('AWSCURRENT')!.keyRole).toBe('ADMIN');
  expect(await apiOrg(standins, demoted.key)).toBe(401);
  const live = standins.liveKeys(ws);
  expect(live.map((k) => k.name)).toEqual([stage('AWSCURRENT')!.keyName]);
  await driver.destroy();
  expect(standins.existingKeys()).toHaveLength(0);
});

test.each([
  ['succeeds', false],
  ['is rolled back', true],
])('a rotation while the rest of a stack update runs, and the update %s: no key is left in no secret, and a rollback restores the replaced key', async (_what, fails) => {
  await driver.deploy(keyStack());
  const original = stage('AWSCURRENT')!;
  const result = await driver.deploy(keyStack({ keyRole: GrafanaRole.ADMIN }), {
    failAfterUpdates: fails,
    afterUpdates: async () => { expect(await rotate(driver, standins, secret())).toMatchObject({ ok: true }); },
  });
  expect(result.ok).toBe(!fails);
  const now = stage('AWSCURRENT')!;
  expect(now.keyRole).toBe(fails ? 'VIEWER' : 'ADMIN');
  expect(await apiOrg(standins, now.key)).toBe(200);
  // A rollback restores the key the update replaced, although a rotation ran in between; a kept update retires it.
  if (fails) expect(now.key).toBe(original.key);
  else expect(await apiOrg(standins, original.key)).toBe(401);
  // Every key that still works is one the secret holds.
  const held = standins.secret(secret())!.versions.filter((v) => v.stages.length && v.secretString).map((v) => JSON.parse(v.secretString!).keyName);
  expect(standins.liveKeys(ws).map((k) => k.name).every((name) => held.includes(name))).toBe(true);
  await driver.destroy();
  expect(standins.existingKeys()).toHaveLength(0);
});

test('verifyRotatedKey: false skips the check; workspaceUrl is used when given', async () => {
  await driver.deploy(keyStack({ verifyRotatedKey: false }));
  standins.resetCounts();
  expect(await rotate(driver, standins, secret())).toMatchObject({ ok: true });
  expect(standins.counts().GrafanaApiOrg ?? 0).toBe(0);
  expect(standins.counts().DescribeWorkspace ?? 0).toBe(0);
  await driver.destroy();

  await driver.deploy(keyStack({ workspaceUrl: standins.grafanaHttpsUrl }));
  standins.resetCounts();
  expect(await rotate(driver, standins, secret())).toMatchObject({ ok: true });
  expect(standins.counts()).toMatchObject({ GrafanaApiOrg: 1 });
  expect(standins.counts().DescribeWorkspace ?? 0).toBe(0);
});

describe('a token goes only where the template says', () => {
  const tag = (url: string) => standins.cloudFormationCall('TagResource', { SecretId: secret(), Tags: [{ Key: 'GrafanaCredentials:WorkspaceUrl', Value: url }] });

  test('a tag pointing the verification at a listener is ignored: the listener receives nothing, the workspace verifies the key', async () => {
    const received: string[] = [];
    const listener = await startHttpsWorkspace((req, res) => { received.push(`${req.method} ${req.url}`); res.writeHead(200).end('{}'); });
    try {
      await driver.deploy(keyStack());
      tag(listener.url);
      standins.resetCounts();
      expect(await rotate(driver, standins, secret())).toMatchObject({ ok: true });
      expect(received).toEqual([]);
      expect(standins.counts()).toMatchObject({ GrafanaApiOrg: 1 });
    } finally {
      await listener.close();
    }
  });

  test("a tag downgrading the workspace's URL to plain http is ignored: nothing is sent over http", async () => {
    const listener = await startRecordingListener();
    try {
      await driver.deploy(keyStack({ workspaceUrl: standins.grafanaHttpsUrl }));
      tag(listener.url);
      standins.resetCounts();
      expect(await rotate(driver, standins, secret())).toMatchObject({ ok: true });
      expect(listener.requests).toEqual([]);
      expect(standins.counts()).toMatchObject({ GrafanaApiOrg: 1 });
    } finally {
      await listener.close();
    }
  });
});
