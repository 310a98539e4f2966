/** Service accounts and their tokens end to end, on a Grafana 12 workspace (no API keys). */
import { Duration } from 'aws-cdk-lib';
import {
  GrafanaRole, WorkspaceApiKey, WorkspaceServiceAccount, WorkspaceServiceAccountToken,
} from '../../lib';
import type { AwsStandIns } from '../testbed/aws/standins';
import type { CfnDriver } from '../testbed/cfn/driver';
import { rotate } from '../testbed/cfn/rotation';
import { apiOrg, assertNoLeaks, newStack, useTestBed, versionWith } from './harness';

const bed = useTestBed('12.1');
let standins: AwsStandIns;
let driver: CfnDriver;
let ws: string;
beforeEach(() => ({ standins, driver, ws } = bed));

/** A service account shared by two tokens. */
function sharedAccountStack(role = GrafanaRole.EDITOR, ttl = Duration.days(7)) {
  const stack = newStack();
  const sa = new WorkspaceServiceAccount(stack, 'Ci', { workspaceId: ws, grafanaRole: role });
  sa.addToken('Deploy', { timeToLive: ttl });
  sa.addToken('Report');
  return stack;
}
const secretOf = (prefix: string) => driver.secretArn(prefix);
const tokenOf = (prefix: string) => versionWith(standins, secretOf(prefix))!.value;

test('a service account shared by two tokens: both work, the secret JSON has the documented fields', async () => {
  expect(await driver.deploy(sharedAccountStack())).toMatchObject({ ok: true });
  expect(standins.serviceAccounts(ws)).toEqual([expect.objectContaining({ role: 'EDITOR', name: expect.stringMatching(/-editor$/) })]);
  const deploy = tokenOf('CiDeploySecret');
  const report = tokenOf('CiReportSecret');
  expect(Object.keys(deploy).sort()).toEqual(['expiresAt', 'key', 'lifecycle', 'serviceAccountId', 'tokenId', 'tokenName', 'workspaceId']);
  expect(deploy.serviceAccountId).toBe(report.serviceAccountId);
  expect(await apiOrg(standins, deploy.key)).toBe(200);
  expect(await apiOrg(standins, report.key)).toBe(200);
  expect(standins.liveKeys(ws)).toHaveLength(2);
});

test('token reissue, rotation with overlap, and delete of account and tokens', async () => {
  await driver.deploy(sharedAccountStack());
  const first = tokenOf('CiDeploySecret');
  expect(await driver.deploy(sharedAccountStack(GrafanaRole.EDITOR, Duration.days(3)))).toMatchObject({ ok: true });
  const second = tokenOf('CiDeploySecret');
  expect(second.tokenName).not.toBe(first.tokenName);
  expect(await apiOrg(standins, first.key)).toBe(401);
  expect(standins.liveKeys(ws)).toHaveLength(2);

  expect(await rotate(driver, standins, secretOf('CiDeploySecret'))).toMatchObject({ ok: true });
  const third = tokenOf('CiDeploySecret');
  expect(await apiOrg(standins, third.key)).toBe(200);
  expect(await apiOrg(standins, second.key)).toBe(200);
  await rotate(driver, standins, secretOf('CiDeploySecret'));
  expect(await apiOrg(standins, second.key)).toBe(401);
  expect(standins.liveKeys(ws)).toHaveLength(3); // two for Deploy (overlap), one for Report

  expect(await driver.destroy()).toMatchObject({ ok: true });
  expect(standins.serviceAccounts(ws)).toHaveLength(0);
  expect(standins.existingKeys(ws)).toHaveLength(0);
});

test('a role change replaces the account; its tokens are reissued under the new one; the old account goes at cleanup', async () => {
  await driver.deploy(sharedAccountStack(GrafanaRole.VIEWER));
  const oldId = tokenOf('CiDeploySecret').serviceAccountId;
  expect(await driver.deploy(sharedAccountStack(GrafanaRole.ADMIN))).toMatchObject({ ok: true });
  const accounts = standins.serviceAccounts(ws);
  expect(accounts).toHaveLength(1);
  expect(accounts[0].role).toBe('ADMIN');
  expect(accounts[0].id).not.toBe(oldId);
  for (const prefix of ['CiDeploySecret', 'CiReportSecret']) {
    const t = tokenOf(prefix);
    expect(t.serviceAccountId).toBe(accounts[0].id);
    expect(await apiOrg(standins, t.key)).toBe(200);
  }
  expect(standins.liveKeys(ws)).toHaveLength(2);
});

test('tokens of an imported account; a leftover token from a crash is found by listing and deleted', async () => {
  await driver.deploy(sharedAccountStack());
  const saId = tokenOf('CiDeploySecret').serviceAccountId;
  const stack = newStack('Imported');
  const imported = WorkspaceServiceAccount.fromServiceAccountAttributes(stack, 'Existing', { workspaceId: ws, serviceAccountId: saId });
  new WorkspaceServiceAccountToken(stack, 'Extra', { serviceAccount: imported, tokenNamePrefix: 'extra' });
  const { driver: d2, stop: stop2 } = await (async () => {
    const { CfnDriver } = await import('../testbed/cfn/driver');
    const d = await CfnDriver.start(standins, { serviceTimeoutMs: 20_000 });
    return { driver: d, stop: () => d.stop() };
  })();
  try {
    expect(await d2.deploy(stack)).toMatchObject({ ok: true });
    // A crash left a token under our prefix that no secret version records.
    const sa = (standins as any).workspaces.get(ws).serviceAccounts.get(saId);
    (standins as any).createToken(ws, saId, { name: 'extra-00000000ff', secondsToLive: 3600 });
    expect([...sa.tokens.values()].filter((t: any) => !t.deleted && t.name.startsWith('extra-'))).toHaveLength(2);
    expect(await d2.destroy()).toMatchObject({ ok: true });
    expect([...sa.tokens.values()].filter((t: any) => !t.deleted && t.name.startsWith('extra-'))).toHaveLength(0);
    assertNoLeaks(standins, d2);
  } finally {
    await stop2();
  }
  expect(standins.liveKeys(ws)).toHaveLength(2); // the shared account's own tokens are untouched
});

test('an API key on Grafana 12 fails with a reason naming WorkspaceServiceAccountToken', async () => {
  const stack = newStack();
  new WorkspaceApiKey(stack, 'Key', { workspaceId: ws });
  const result = await driver.deploy(stack);
  expect(result.ok).toBe(false);
  expect(result.failures[0]).toMatch(new RegExp(`Workspace ${ws} runs Grafana 12.1, which has no API keys.*WorkspaceServiceAccountToken`));
});

test('deleting the account first, then its tokens, works in either order', async () => {
  await driver.deploy(sharedAccountStack());
  const saId = tokenOf('CiDeploySecret').serviceAccountId;
  (standins as any).deleteServiceAccount(ws, saId); // the account vanished before the tokens' Delete
  expect(await driver.destroy()).toMatchObject({ ok: true });
  expect(standins.liveKeys(ws)).toHaveLength(0);
});
