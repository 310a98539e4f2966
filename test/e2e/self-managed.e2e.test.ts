/** Self-managed Grafana end to end (issue #16): the real bundled handler against the Grafana server stand-in, through the CloudFormation driver. */
import { Duration, Fn } from 'aws-cdk-lib';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { GrafanaApiKey, GrafanaRole, GrafanaServiceAccount, GrafanaTtl, SelfManagedGrafana } from '../../lib';
import type { AwsStandIns } from '../testbed/aws/standins';
import type { CfnDriver } from '../testbed/cfn/driver';
import { rotate } from '../testbed/cfn/rotation';
import { GrafanaServerStandIn } from '../testbed/grafana/server';
import { assertNoLeaks, newStack, versionWith, withBed } from './harness';

let standins: AwsStandIns;
let driver: CfnDriver;
let grafana: GrafanaServerStandIn;
let adminSecretArn: string;
let stop: () => Promise<void>;

beforeEach(async () => {
  const bed = await withBed();
  ({ standins, driver } = bed);
  grafana = await GrafanaServerStandIn.start({ version: '10.4.2', now: () => standins.clock.now() });
  adminSecretArn = standins.cloudFormationCall('CreateSecret', {
    Name: 'ops/grafana-admin', SecretString: JSON.stringify({ user: grafana.adminUser, password: grafana.adminPassword }),
  }).ARN;
  stop = async () => { await bed.stop(); await grafana.stop(); };
});

afterEach(async () => {
  try {
    assertNoLeaks(standins, driver);
    // Neither an issued token nor the admin credential reaches a response or a log line.
    const haystacks = [...driver.responses(), ...driver.logs()];
    for (const secret of grafana.secrets()) for (const text of haystacks) expect(text.includes(secret)).toBe(false);
  } finally {
    await stop();
  }
});

function serverStack(build: (stack: ReturnType<typeof newStack>, server: ReturnType<typeof SelfManagedGrafana.fromAttributes>) => void) {
  const stack = newStack();
  const adminSecret = secretsmanager.Secret.fromSecretCompleteArn(stack, 'AdminSecret', adminSecretArn);
  const server = SelfManagedGrafana.fromAttributes(stack, 'Grafana', { url: grafana.url, adminSecret });
  build(stack, server);
  return stack;
}

const apiKeyStack = (ttl = '7d', role = GrafanaRole.EDITOR) => serverStack((stack, server) => {
  new GrafanaApiKey(stack, 'Key', { grafana: server, keyRole: role, timeToLive: GrafanaTtl.parse(ttl, 'timeToLive') });
});

const tokenStack = (ttl = '1M') => serverStack((stack, server) => {
  new GrafanaServiceAccount(stack, 'Ci', { grafana: server, grafanaRole: GrafanaRole.EDITOR }).addToken('Deploy', { timeToLive: GrafanaTtl.parse(ttl) });
});

const valueOf = (prefix: string) => versionWith(standins, driver.secretArn(prefix))!.value;

test('API key: create writes the documented JSON, the key works; update reissues and revokes; delete leaves nothing', async () => {
  expect(await driver.deploy(apiKeyStack())).toMatchObject({ ok: true });
  const first = valueOf('KeySecret');
  expect(Object.keys(first).sort()).toEqual(['expiresAt', 'grafanaUrl', 'key', 'keyId', 'keyName', 'keyRole', 'lifecycle']);
  expect(grafana.isValid(first.key)).toBe(true);
  expect(grafana.live()).toEqual([expect.objectContaining({ kind: 'apiKey', name: first.keyName })]);

  expect(await driver.deploy(apiKeyStack('3d'))).toMatchObject({ ok: true });
  const second = valueOf('KeySecret');
  expect(second.keyName).not.toBe(first.keyName);
  expect(grafana.isValid(first.key)).toBe(false);
  expect(grafana.isValid(second.key)).toBe(true);
  expect(grafana.existing()).toHaveLength(1);

  expect(await driver.destroy()).toMatchObject({ ok: true });
  expect(grafana.existing()).toHaveLength(0);
});

test('create costs one Grafana call, one read of the admin secret and the engine\'s secret writes', async () => {
  expect(await driver.deploy(apiKeyStack())).toMatchObject({ ok: true });
  const create = driver.records.find((r) => r.requestType === 'Create' && r.logicalId.startsWith('Key'))!;
  // The floor: the AMG API key's Create (intent, issue, store) plus one read of the admin secret.
  expect(create.calls).toEqual({ PutSecretValue: 2, GetSecretValue: 1 });
  expect(grafana.counts()).toEqual({ CreateApiKey: 1 });
});

test('rollback of an update restores the replaced key; rotation verifies and overlaps; 0 orphans after delete', async () => {
  await driver.deploy(apiKeyStack());
  const first = valueOf('KeySecret');
  expect(await driver.deploy(apiKeyStack('3d'), { failAfterUpdates: true })).toMatchObject({ ok: false });
  expect(valueOf('KeySecret').keyName).toBe(first.keyName);
  expect(grafana.live()).toEqual([expect.objectContaining({ name: first.keyName })]);

  expect(await rotate(driver, standins, driver.secretArn('KeySecret'))).toMatchObject({ ok: true });
  const rotated = valueOf('KeySecret');
  expect(rotated.keyName).not.toBe(first.keyName);
  expect(grafana.isValid(rotated.key)).toBe(true);
  expect(grafana.isValid(first.key)).toBe(true); // the outgoing key overlaps as AWSPREVIOUS
  expect(grafana.counts().UserPermissions).toBe(1); // verified with the new key before promotion

  expect(await driver.destroy()).toMatchObject({ ok: true });
  expect(grafana.existing()).toHaveLength(0);
});

test('service account and token: create, rotation, delete with 0 orphans', async () => {
  expect(await driver.deploy(tokenStack())).toMatchObject({ ok: true });
  expect(grafana.serviceAccounts()).toEqual([expect.objectContaining({ role: 'Editor', name: expect.stringMatching(/-editor$/) })]);
  const token = valueOf('CiDeploySecret');
  expect(Object.keys(token).sort()).toEqual(['expiresAt', 'grafanaUrl', 'key', 'lifecycle', 'serviceAccountId', 'tokenId', 'tokenName']);
  // GrafanaTtl.parse('1M') is 30 days.
  expect(Math.abs(Date.parse(token.expiresAt) - standins.clock.now() - 30 * 86_400_000)).toBeLessThan(60_000);
  expect(await rotate(driver, standins, driver.secretArn('CiDeploySecret'))).toMatchObject({ ok: true });
  expect(grafana.live()).toHaveLength(2);
  expect(await driver.destroy()).toMatchObject({ ok: true });
  expect(grafana.serviceAccounts()).toHaveLength(0);
  expect(grafana.existing()).toHaveLength(0);
});

test('every event delivered twice: Grafana 10 answers the retried token create with 400 ErrTokenAlreadyExists, which is the name in use', async () => {
  // Since Grafana 9.x a taken token name is errutil.BadRequest (400, messageId serviceaccounts.ErrTokenAlreadyExists), not 409.
  expect(await driver.deploy(tokenStack(), { duplicateEvents: true })).toMatchObject({ ok: true });
  const token = valueOf('CiDeploySecret');
  expect(grafana.live()).toEqual([expect.objectContaining({ kind: 'serviceAccountToken', name: token.tokenName })]);
  expect(grafana.isValid(token.key)).toBe(true);
  expect(grafana.counts().CreateToken).toBe(2); // the create, and the retried create's 400
  expect(await driver.destroy({ duplicateEvents: true })).toMatchObject({ ok: true });
  expect(grafana.existing()).toHaveLength(0);
  expect(grafana.serviceAccounts()).toHaveLength(0);
});

test('an admin token instead of user and password, in another organization (X-Grafana-Org-Id)', async () => {
  const org = grafana.addOrg('Team');
  standins.cloudFormationCall('PutSecretValue', { SecretId: adminSecretArn, SecretString: JSON.stringify({ token: grafana.adminToken(org) }) });
  const stack = serverStack((s, server) => {
    new GrafanaServiceAccount(s, 'Ci', { grafana: server, orgId: org }).addToken('Deploy', { timeToLive: Duration.days(2) });
  });
  expect(await driver.deploy(stack)).toMatchObject({ ok: true });
  expect(grafana.serviceAccounts(org)).toHaveLength(1);
  expect(grafana.live()).toEqual([expect.objectContaining({ orgId: org })]);
  expect(await driver.destroy()).toMatchObject({ ok: true });
  expect(grafana.existing()).toHaveLength(0);
});

test('a wrong admin secret fails the create naming the secret and issues nothing; a rotated one is used at once', async () => {
  standins.cloudFormationCall('PutSecretValue', { SecretId: adminSecretArn, SecretString: JSON.stringify({ user: 'admin', password: 'wrong' }) });
  const result = await driver.deploy(apiKeyStack());
  expect(result.ok).toBe(false);
  expect(result.failures.join()).toMatch(/HTTP 401\): the admin credential in secret .*grafana-admin.* does not work/);
  expect(grafana.existing()).toHaveLength(0);

  // The admin rotates the password underneath: the next deployment reads the new one.
  grafana.adminPassword = 'rotated-password-123';
  standins.cloudFormationCall('PutSecretValue', { SecretId: adminSecretArn, SecretString: JSON.stringify({ user: grafana.adminUser, password: grafana.adminPassword }) });
  expect(await driver.deploy(apiKeyStack())).toMatchObject({ ok: true });
  grafana.adminPassword = 'rotated-again-456';
  standins.cloudFormationCall('PutSecretValue', { SecretId: adminSecretArn, SecretString: JSON.stringify({ user: grafana.adminUser, password: grafana.adminPassword }) });
  expect(await rotate(driver, standins, driver.secretArn('KeySecret'))).toMatchObject({ ok: true });
  expect(await driver.destroy()).toMatchObject({ ok: true });
  expect(grafana.existing()).toHaveLength(0);
});

test('Grafana 11 has no API keys: the create fails naming the service-account constructs', async () => {
  grafana.version = '11.3.0';
  const result = await driver.deploy(apiKeyStack());
  expect(result.ok).toBe(false);
  expect(result.failures.join()).toMatch(/Grafana 11, which has no API keys.*GrafanaServiceAccount with GrafanaServiceAccountToken/);
  expect(grafana.existing()).toHaveLength(0);
});

test("the server's max TTL refuses a longer key: the create fails with Grafana's reason", async () => {
  grafana.apiKeyMaxSecondsToLive = 86_400;
  const result = await driver.deploy(apiKeyStack('2d'));
  expect(result.ok).toBe(false);
  expect(result.failures.join()).toMatch(/HTTP 400: api_key_max_seconds_to_live/);
  expect(grafana.existing()).toHaveLength(0);
});

test('an unreachable server fails the create in bounded time; a server that comes back is used', async () => {
  grafana.mode = 'refuse';
  const result = await driver.deploy(apiKeyStack());
  expect(result.ok).toBe(false);
  expect(result.failures.join()).toMatch(/the server did not answer/);
  grafana.mode = 'up';
  expect(await driver.deploy(apiKeyStack())).toMatchObject({ ok: true });
  expect(grafana.live()).toHaveLength(1);
  expect(await driver.destroy()).toMatchObject({ ok: true });
  expect(grafana.existing()).toHaveLength(0);
});

test('a server that hangs during rotation: the rotation fails, AWSCURRENT keeps working, nothing is left over', async () => {
  await driver.deploy(apiKeyStack());
  const before = valueOf('KeySecret');
  grafana.mode = 'hang';
  expect(await rotate(driver, standins, driver.secretArn('KeySecret'))).toMatchObject({ ok: false });
  grafana.mode = 'up';
  expect(valueOf('KeySecret').keyName).toBe(before.keyName);
  expect(grafana.isValid(before.key)).toBe(true);
  expect(await driver.destroy()).toMatchObject({ ok: true });
  expect(grafana.existing()).toHaveLength(0);
}, 60_000);

test('a record tampered to name another server: rotation refuses to call it, and the attacker sees no call', async () => {
  const attacker = await GrafanaServerStandIn.start({ now: () => standins.clock.now() });
  try {
    await driver.deploy(apiKeyStack());
    const secretArn = driver.secretArn('KeySecret');
    const original = versionWith(standins, secretArn)!.value;
    const tampered = { ...original, lifecycle: { ...original.lifecycle, definition: { ...original.lifecycle.definition, grafanaUrl: attacker.url } } };
    standins.cloudFormationCall('PutSecretValue', { SecretId: secretArn, SecretString: JSON.stringify(tampered) });
    const outcome = await rotate(driver, standins, secretArn);
    expect(outcome.ok).toBe(false);
    expect(driver.logs().join('\n')).toMatch(/Refusing to call Grafana at 'https:\/\/127.0.0.1:\d+': it is not a server this stack's template names/);
    expect(attacker.totalCalls()).toBe(0);
    standins.cloudFormationCall('PutSecretValue', { SecretId: secretArn, SecretString: JSON.stringify(original) });
    expect(await driver.destroy()).toMatchObject({ ok: true });
    expect(grafana.existing()).toHaveLength(0);
  } finally {
    await attacker.stop();
  }
});

test('service account: renaming it replaces it (and reissues its token); rollback keeps the old one', async () => {
  const named = (name: string) => serverStack((stack, server) => {
    new GrafanaServiceAccount(stack, 'Ci', { grafana: server, serviceAccountName: name }).addToken('Deploy');
  });
  await driver.deploy(named('ci-one'));
  const first = valueOf('CiDeploySecret');
  expect(await driver.deploy(named('ci-two'), { failAfterUpdates: true })).toMatchObject({ ok: false });
  expect(grafana.serviceAccounts().map((a) => a.name)).toEqual(['ci-one']);
  expect(grafana.isValid(first.key)).toBe(true);
  expect(await driver.deploy(named('ci-two'))).toMatchObject({ ok: true });
  expect(grafana.serviceAccounts().map((a) => a.name)).toEqual(['ci-two']);
  expect(grafana.isValid(first.key)).toBe(false);
  expect(grafana.isValid(valueOf('CiDeploySecret').key)).toBe(true);
  expect(await driver.destroy()).toMatchObject({ ok: true });
  expect(grafana.existing()).toHaveLength(0);
  expect(grafana.serviceAccounts()).toHaveLength(0);
});

test('Grafana 8 has no /api/access-control/user/permissions: rotation verifies at /api/org instead', async () => {
  grafana.version = '8.5.27';
  await driver.deploy(apiKeyStack());
  grafana.resetCounts();
  expect(await rotate(driver, standins, driver.secretArn('KeySecret'))).toMatchObject({ ok: true });
  expect(grafana.counts()).toMatchObject({ UserPermissions: 1, GetOrg: 1 });
  expect(await driver.destroy()).toMatchObject({ ok: true });
  expect(grafana.existing()).toHaveLength(0);
});

test('a url given as a token (resolved at deploy) is named by the template as the handler normalises it', async () => {
  const stack = newStack();
  const adminSecret = secretsmanager.Secret.fromSecretCompleteArn(stack, 'AdminSecret', adminSecretArn);
  // A trailing slash, hidden behind a token until deploy time.
  const url = Fn.join('', [grafana.url, '/']);
  const server = SelfManagedGrafana.fromAttributes(stack, 'Grafana', { url, adminSecret });
  new GrafanaApiKey(stack, 'Key', { grafana: server });
  expect(await driver.deploy(stack)).toMatchObject({ ok: true });
  expect(await rotate(driver, standins, driver.secretArn('KeySecret'))).toMatchObject({ ok: true });
  expect(await driver.destroy()).toMatchObject({ ok: true });
  expect(grafana.existing()).toHaveLength(0);
});
