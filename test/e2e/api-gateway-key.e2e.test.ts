/**
 * RotatingApiKey end to end (issue #17): the real bundled handler against the
 * API Gateway stand-in. Every test ends with the leak check (harness) and, for
 * a destroyed stack, no key left in API Gateway.
 */
import * as fs from 'fs';
import * as https from 'https';
import * as apigateway from 'aws-cdk-lib/aws-apigateway';
import { RotatingApiKey, RotatingApiKeyProps } from '../../lib';
import type { AwsStandIns } from '../testbed/aws/standins';
import { CfnDriver } from '../testbed/cfn/driver';
import { rotate } from '../testbed/cfn/rotation';
import { assertNoLeaks, newStack, useTestBed, versionWith, withBed } from './harness';

const bed = useTestBed();
let standins: AwsStandIns;
let driver: CfnDriver;
beforeEach(() => ({ standins, driver } = bed));

const PLANS = ['Gold', 'Silver', 'Bronze'] as const;

/** A stack with three usage plans and one RotatingApiKey in the first `plans` of them (or in `planNames`). */
function keyStack(opts: Partial<RotatingApiKeyProps> & { plans?: number; planNames?: string[]; withVerifyUrl?: boolean } = {}) {
  const stack = newStack();
  const plans = PLANS.map((name) => new apigateway.UsagePlan(stack, name, { name }));
  const { plans: count = 2, planNames, withVerifyUrl = true, ...props } = opts;
  new RotatingApiKey(stack, 'Partner', {
    usagePlans: planNames ? plans.filter((p) => planNames.includes(p.node.id)) : plans.slice(0, count),
    apiKeyNamePrefix: 'partner',
    ...(withVerifyUrl ? { verifyUrl: `${standins.apiGatewayEndpointUrl}/health` } : {}),
    ...props,
  });
  return stack;
}

const secretArn = () => driver.secretArn('PartnerSecret');
const stored = (stage = 'AWSCURRENT') => versionWith(standins, secretArn(), stage)?.value;
const planId = (name: string) => standins.apiGateway.usagePlanId(name);

/** The stand-in API's answer to a request with this key. */
function callApi(value: string): Promise<number> {
  return new Promise((resolve, reject) => {
    https.get(`${standins.apiGatewayEndpointUrl}/orders`, { headers: { 'x-api-key': value }, ca: fs.readFileSync(standins.caCertPath) }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    }).on('error', reject);
  });
}

test('create: one key in every plan, the value only in the secret; calls = 1 lookup + 1 CreateApiKey + 1 per plan + 2 secret writes', async () => {
  expect(await driver.deploy(keyStack())).toMatchObject({ ok: true });
  const value = stored()!;
  expect(Object.keys(value).sort()).toEqual(['apiKeyId', 'apiKeyName', 'expiresAt', 'key', 'lifecycle', 'usagePlanIds']);
  const [key] = standins.apiGateway.liveKeys();
  expect(standins.apiGateway.liveKeys()).toHaveLength(1);
  expect(key).toMatchObject({ id: value.apiKeyId, name: value.apiKeyName, enabled: true, tags: { 'grafana-credentials:owner': 'E2EStack' } });
  expect(key.name).toMatch(/^partner-[0-9a-f]{10}$/);
  expect(key.usagePlanIds).toEqual([planId('Gold'), planId('Silver')].sort());
  expect(value.usagePlanIds).toBe([planId('Gold'), planId('Silver')].sort().join(','));
  expect(value.expiresAt).toBe('9999-12-31T23:59:59.000Z');
  expect(await callApi(value.key)).toBe(200);
  const create = driver.records.find((r) => r.requestType === 'Create')!;
  expect(create.calls).toEqual({ GetApiKeys: 1, CreateApiKey: 1, CreateUsagePlanKey: 2, PutSecretValue: 2 });
  expect(create.response?.Data?.CredentialName).toBe(value.apiKeyName);
});

/** Calls the stand-in API with each of `values` in a loop until stopped; resolves to the answers that were not 200. */
function keepCalling(values: () => string[]): { stop: () => Promise<number[]>; calls: () => number } {
  let running = true;
  let calls = 0;
  const refused: number[] = [];
  const loop = (async () => {
    while (running) {
      for (const value of values()) {
        const status = await callApi(value);
        calls++;
        if (status !== 200) refused.push(status);
      }
      await new Promise((r) => setTimeout(r, 5));
    }
  })();
  return { stop: async () => { running = false; await loop; return refused; }, calls: () => calls };
}

const plansOfKey = (keyId: string) => standins.apiGateway.liveKeys().find((k) => k.id === keyId)?.usagePlanIds;
const idsOf = (...names: string[]) => names.map(planId).sort();
const recordedPlans = (stage = 'AWSCURRENT') => String(stored(stage)?.usagePlanIds).split(',').sort();

test('update: a change of usage plans keeps the key (same id, same value) and moves it to exactly the new plans; no client request is refused', async () => {
  await driver.deploy(keyStack());
  const first = stored()!;
  const physicalId = driver.records.find((r) => r.requestType === 'Create')!.response!.PhysicalResourceId;
  const client = keepCalling(() => [first.key]);
  standins.resetCounts();
  expect(await driver.deploy(keyStack({ planNames: ['Silver', 'Bronze'] }))).toMatchObject({ ok: true });
  const refused = await client.stop();
  expect(refused).toEqual([]);
  expect(client.calls()).toBeGreaterThan(0);
  const after = stored()!;
  expect(after).toMatchObject({ key: first.key, apiKeyId: first.apiKeyId, apiKeyName: first.apiKeyName });
  expect(recordedPlans()).toEqual(idsOf('Silver', 'Bronze'));
  expect(standins.apiGateway.liveKeys().map((k) => k.id)).toEqual([first.apiKeyId]);
  expect(plansOfKey(first.apiKeyId)).toEqual(idsOf('Silver', 'Bronze'));
  const update = driver.records.find((r) => r.requestType === 'Update')!;
  // No replacement: the same physical id, so CloudFormation sends no cleanup Delete.
  expect(update.response?.PhysicalResourceId).toBe(physicalId);
  expect(driver.records.filter((r) => r.requestType === 'Delete')).toEqual([]);
  expect(update.calls).toMatchObject({ CreateUsagePlanKey: 1, DeleteUsagePlanKey: 1 });
  expect(update.calls.CreateApiKey).toBeUndefined();
  expect(update.calls.DeleteApiKey).toBeUndefined();
  // Rotation after the change issues into the new plans.
  expect(await rotate(driver, standins, secretArn())).toMatchObject({ ok: true });
  expect(plansOfKey(stored()!.apiKeyId)).toEqual(idsOf('Silver', 'Bronze'));
  expect(await callApi(stored()!.key)).toBe(200);
});

test('rollback of a change of usage plans: the key stays, in exactly the old plans', async () => {
  await driver.deploy(keyStack());
  const first = stored()!;
  const client = keepCalling(() => [first.key]);
  standins.resetCounts();
  const result = await driver.deploy(keyStack({ planNames: ['Silver', 'Bronze'] }), { failAfterUpdates: true });
  expect(result.ok).toBe(false);
  expect(await client.stop()).toEqual([]);
  // Neither the update nor its rollback issued or deleted a key.
  expect(standins.counts()).not.toHaveProperty('CreateApiKey');
  expect(standins.counts()).not.toHaveProperty('DeleteApiKey');
  expect(stored()).toMatchObject({ key: first.key, apiKeyId: first.apiKeyId, usagePlanIds: first.usagePlanIds });
  expect(standins.apiGateway.liveKeys().map((k) => k.id)).toEqual([first.apiKeyId]);
  expect(plansOfKey(first.apiKeyId)).toEqual(idsOf('Gold', 'Silver'));
  expect(driver.records.filter((r) => r.requestType === 'Update').map((r) => r.response?.Status)).toEqual(['SUCCESS', 'SUCCESS']);
});

test('a change of usage plans during a rotation overlap moves both keys; AWSCURRENT and AWSPREVIOUS stay the same keys', async () => {
  await driver.deploy(keyStack());
  const first = stored()!;
  expect(await rotate(driver, standins, secretArn())).toMatchObject({ ok: true });
  const second = stored()!;
  const client = keepCalling(() => [first.key, second.key]);
  expect(await driver.deploy(keyStack({ planNames: ['Gold', 'Bronze'] }))).toMatchObject({ ok: true });
  expect(await client.stop()).toEqual([]);
  expect(stored()).toMatchObject({ key: second.key, apiKeyId: second.apiKeyId });
  expect(stored('AWSPREVIOUS')).toMatchObject({ key: first.key, apiKeyId: first.apiKeyId });
  for (const stage of ['AWSCURRENT', 'AWSPREVIOUS']) expect(recordedPlans(stage)).toEqual(idsOf('Gold', 'Bronze'));
  expect(standins.apiGateway.liveKeys().map((k) => k.id).sort()).toEqual([first.apiKeyId, second.apiKeyId].sort());
  for (const key of [first, second]) expect(plansOfKey(key.apiKeyId)).toEqual(idsOf('Gold', 'Bronze'));
  // The rollback of such an update puts both back.
  expect((await driver.deploy(keyStack({ plans: 1 }), { failAfterUpdates: true })).ok).toBe(false);
  for (const key of [first, second]) expect(plansOfKey(key.apiKeyId)).toEqual(idsOf('Gold', 'Bronze'));
  expect(await driver.deploy(keyStack({ plans: 1 }))).toMatchObject({ ok: true });
  for (const key of [first, second]) expect(plansOfKey(key.apiKeyId)).toEqual(idsOf('Gold'));
  // The next rotation ends the overlap as usual and issues into the current plans.
  expect(await rotate(driver, standins, secretArn())).toMatchObject({ ok: true });
  expect(standins.apiGateway.liveKeys().map((k) => k.id).sort()).toEqual([second.apiKeyId, stored()!.apiKeyId].sort());
  expect(plansOfKey(stored()!.apiKeyId)).toEqual(idsOf('Gold'));
  expect(await driver.destroy()).toMatchObject({ ok: true });
  expect(standins.apiGateway.liveKeys()).toEqual([]);
});

test('a usage plan deleted out of band and then removed from usagePlans: the key leaves it without error', async () => {
  await driver.deploy(keyStack());
  const first = stored()!;
  standins.apiGateway.deleteUsagePlan(planId('Silver'));
  expect(await driver.deploy(keyStack({ plans: 1 }))).toMatchObject({ ok: true });
  expect(stored()).toMatchObject({ apiKeyId: first.apiKeyId, usagePlanIds: planId('Gold') });
  expect(plansOfKey(first.apiKeyId)).toEqual(idsOf('Gold'));
  expect(await callApi(first.key)).toBe(200);
});

test('update: a new prefix or a new customerId each reissue; the old key is deleted at cleanup', async () => {
  await driver.deploy(keyStack({ plans: 3 }));
  const second = stored()!;
  expect(await driver.deploy(keyStack({ plans: 3, apiKeyNamePrefix: 'partner-eu' }))).toMatchObject({ ok: true });
  expect(await callApi(second.key)).toBe(403);
  expect(stored()!.apiKeyName).toMatch(/^partner-eu-[0-9a-f]{10}$/);
  expect(await driver.deploy(keyStack({ plans: 3, apiKeyNamePrefix: 'partner-eu', customerId: 'mp-123' }))).toMatchObject({ ok: true });
  const last = standins.apiGateway.liveKeys();
  expect(last).toHaveLength(1);
  expect(last[0]).toMatchObject({ customerId: 'mp-123', id: stored()!.apiKeyId });
});

test('rollback: a failed stack update restores the key it replaced, which never stopped working, and deletes the new one', async () => {
  await driver.deploy(keyStack());
  const before = stored()!;
  const result = await driver.deploy(keyStack({ customerId: 'mp-123' }), { failAfterUpdates: true });
  expect(result.ok).toBe(false);
  expect(stored()!.apiKeyId).toBe(before.apiKeyId);
  expect(standins.apiGateway.liveKeys().map((k) => k.id)).toEqual([before.apiKeyId]);
  expect(await callApi(before.key)).toBe(200);
});

test('rotation: the new key works in every plan, the old one keeps working as AWSPREVIOUS; never more than 2 keys; delete removes them all', async () => {
  await driver.deploy(keyStack());
  const first = stored()!;
  const r1 = await rotate(driver, standins, secretArn());
  expect(r1).toMatchObject({ ok: true });
  const second = stored()!;
  expect(second.apiKeyId).not.toBe(first.apiKeyId);
  expect(stored('AWSPREVIOUS')!.apiKeyId).toBe(first.apiKeyId);
  expect(await callApi(second.key)).toBe(200);
  expect(await callApi(first.key)).toBe(200);
  expect(standins.counts().ApiGatewayEndpoint).toBeGreaterThanOrEqual(1); // testSecret called the API with the new key

  expect(await rotate(driver, standins, secretArn())).toMatchObject({ ok: true });
  expect(await callApi(first.key)).toBe(403);
  expect(standins.apiGateway.liveKeys()).toHaveLength(2);
  for (const k of standins.apiGateway.liveKeys()) expect(k.usagePlanIds).toHaveLength(2);

  expect(await driver.destroy()).toMatchObject({ ok: true });
  expect(standins.apiGateway.liveKeys()).toEqual([]);
});

test('rotation: testSecret fails on a 403 from verifyUrl; the pending key is deleted and AWSCURRENT stays', async () => {
  await driver.deploy(keyStack());
  const current = stored()!;
  const result = await rotate(driver, standins, secretArn(), {
    // The new key leaves its plans before testSecret: the API refuses it.
    between: async (step) => {
      if (step !== 'testSecret') return;
      const pending = stored('AWSPENDING')!;
      for (const plan of ['Gold', 'Silver']) standins.apiGateway.removeFromPlan(planId(plan), pending.apiKeyId);
    },
  });
  expect(result).toMatchObject({ ok: false, failedStep: 'testSecret' });
  expect(result.error).toMatch(/is not in usage plan/);
  expect(stored()!.apiKeyId).toBe(current.apiKeyId);
  expect(standins.apiGateway.liveKeys().map((k) => k.id)).toEqual([current.apiKeyId]);
  expect(await callApi(current.key)).toBe(200);
});

test('rotation: a key disabled outside the stack fails testSecret; without verifyUrl the API is never called', async () => {
  await driver.deploy(keyStack({ withVerifyUrl: false }));
  standins.resetCounts();
  expect(await rotate(driver, standins, secretArn())).toMatchObject({ ok: true });
  expect(standins.counts().ApiGatewayEndpoint).toBeUndefined();
  const result = await rotate(driver, standins, secretArn(), {
    between: async (step) => { if (step === 'testSecret') standins.apiGateway.setEnabled(stored('AWSPENDING')!.apiKeyId, false); },
  });
  expect(result).toMatchObject({ ok: false, failedStep: 'testSecret' });
  expect(result.error).toMatch(/is disabled: it was changed outside the stack/);
  // createSecret revoked the key behind AWSPREVIOUS, and the refused one is gone: only AWSCURRENT's is left.
  expect(standins.apiGateway.liveKeys().map((k) => k.id)).toEqual([stored()!.apiKeyId]);
});

test('a usage plan deleted out of band: rotation fails naming the plan and leaves no new key; delete still removes everything', async () => {
  await driver.deploy(keyStack());
  const current = stored()!;
  const silver = planId('Silver');
  standins.apiGateway.deleteUsagePlan(silver);
  const result = await rotate(driver, standins, secretArn());
  expect(result).toMatchObject({ ok: false, failedStep: 'createSecret' });
  expect(result.error).toContain(`Usage plan ${silver} not found (NotFoundException)`);
  expect(standins.apiGateway.liveKeys().map((k) => k.id)).toEqual([current.apiKeyId]);
  expect(await callApi(current.key)).toBe(200); // still in Gold
  expect(await driver.destroy()).toMatchObject({ ok: true });
  expect(standins.apiGateway.liveKeys()).toEqual([]);
});

test('delete finds leftovers by name prefix and owner tag; a key of another owner under the same prefix is left alone', async () => {
  await driver.deploy(keyStack());
  // As a crash before the intent was written would leave it: our name and tag, on no label.
  standins.apiGateway.addKey('partner-00000000aa', { 'grafana-credentials:owner': 'E2EStack' });
  const foreign = standins.apiGateway.addKey('partner-00000000bb', { 'grafana-credentials:owner': 'SomeoneElse' });
  expect(await driver.destroy()).toMatchObject({ ok: true });
  expect(standins.apiGateway.liveKeys().map((k) => k.id)).toEqual([foreign]);
});

test('throttling: 429 TooManyRequestsException on every API Gateway call for a while is retried; create and delete succeed', async () => {
  for (const operation of ['GetApiKeys', 'CreateApiKey', 'CreateUsagePlanKey', 'DeleteApiKey']) standins.faults.add({ operation, kind: 'throttle', times: 3 });
  expect(await driver.deploy(keyStack())).toMatchObject({ ok: true });
  expect(standins.callLog().filter((c) => c.status === 429).length).toBeGreaterThanOrEqual(9);
  expect(await callApi(stored()!.key)).toBe(200);
  expect(await driver.destroy()).toMatchObject({ ok: true });
  expect(standins.apiGateway.liveKeys()).toEqual([]);
});

test('a crash right after CreateApiKey: the Create never answers, the rollback Delete finds the key by its name prefix and deletes it', async () => {
  const { standins: s, driver: d, stop } = await withBed({ serviceTimeoutMs: 1500 });
  try {
    let died!: () => void;
    const dies = new Promise<void>((r) => { died = r; });
    // The key exists; the process dies on its first usage-plan call.
    s.faults.add({ operation: 'CreateApiKey', kind: 'delay', delayMs: 0, onHit: () => s.faults.add({ operation: 'CreateUsagePlanKey', kind: 'hang', onHit: died }) });
    const stack = newStack();
    new RotatingApiKey(stack, 'Partner', { usagePlans: [new apigateway.UsagePlan(stack, 'Gold', { name: 'Gold' })], apiKeyNamePrefix: 'partner' });
    const result = await d.deploy(stack, { crash: { requestType: 'Create', when: dies } });
    expect(result.ok).toBe(false);
    expect(d.records.find((r) => r.requestType === 'Create')!.response).toBeUndefined();
    expect(d.records.find((r) => r.requestType === 'Delete')!.response?.Status).toBe('SUCCESS');
    expect(s.apiGateway.liveKeys()).toEqual([]);
    assertNoLeaks(s, d);
  } finally {
    await stop();
  }
});

test('50 keys in one stack, created at once against CreateApiKey 5/s and CreateUsagePlanKey 3/s: all succeed, and all go with the stack', async () => {
  const { standins: s, driver: d, stop } = await withBed({ serviceTimeoutMs: 300_000 });
  const many = await CfnDriver.start(s, { serviceTimeoutMs: 300_000, concurrency: 50 });
  try {
    s.faults.rateLimit('CreateApiKey', 5);
    s.faults.rateLimit('CreateUsagePlanKey', 3);
    const stack = newStack();
    const plan = new apigateway.UsagePlan(stack, 'Gold', { name: 'Gold' });
    for (let i = 0; i < 50; i++) new RotatingApiKey(stack, `Key${i}`, { usagePlans: [plan], apiKeyNamePrefix: `k${i}` });
    const result = await many.deploy(stack);
    expect(result.failures).toEqual([]);
    expect(s.faults.injected.throttle).toBeGreaterThan(0);
    expect(s.apiGateway.liveKeys()).toHaveLength(50);
    expect(s.apiGateway.liveKeys().every((k) => k.usagePlanIds.length === 1)).toBe(true);
    s.faults.clear();
    expect(await many.destroy()).toMatchObject({ ok: true });
    expect(s.apiGateway.liveKeys()).toEqual([]);
    assertNoLeaks(s, many);
    assertNoLeaks(s, d);
  } finally {
    await many.stop();
    await stop();
  }
}, 300_000);
