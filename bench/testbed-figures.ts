/**
 * Figures 2 and 5, measured in the test bed: AWS calls per lifecycle event,
 * and 50 keys created at once against a rate-limited CreateWorkspaceApiKey.
 */
import { App, Duration, Stack } from 'aws-cdk-lib';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { GrafanaApiKey, GrafanaRole, SelfManagedGrafana, WorkspaceApiKey } from '../lib';
import { AwsStandIns } from '../test/testbed/aws/standins';
import { CfnDriver } from '../test/testbed/cfn/driver';
import { rotate } from '../test/testbed/cfn/rotation';
import { GrafanaServerStandIn } from '../test/testbed/grafana/server';

const total = (c: Record<string, number>) => Object.entries(c).filter(([k]) => k !== 'GrafanaApiOrg').reduce((n, [, v]) => n + v, 0);
const show = (c: Record<string, number>) => Object.entries(c).map(([k, v]) => `${k} ${v}`).join(', ') || 'none';

function stackWith(keys: number, role: GrafanaRole, ws: string): Stack {
  const app = new App({ context: { 'aws:cdk:enable-asset-metadata': true } });
  const stack = new Stack(app, 'Bench', { env: { account: '123456789012', region: 'us-east-1' } });
  for (let i = 0; i < keys; i++) new WorkspaceApiKey(stack, `Key${i}`, { workspaceId: ws, keyRole: role, timeToLive: Duration.days(30) });
  return stack;
}

export interface CallFigures { rows: Array<{ event: string; calls: number; detail: string; goal: string; met: boolean | undefined }> }

export async function measureCalls(): Promise<CallFigures> {
  const standins = await AwsStandIns.start();
  const driver = await CfnDriver.start(standins, { serviceTimeoutMs: 60_000 });
  const ws = standins.addWorkspace().id;
  const rows: CallFigures['rows'] = [];
  const record = (event: string, c: Record<string, number>, goal: string, limit?: number) => {
    const n = total(c);
    const verify = c.GrafanaApiOrg ?? 0;
    rows.push({ event, calls: n, detail: show(c) + (verify ? '' : ''), goal, met: limit === undefined ? undefined : n <= limit });
    return verify;
  };
  try {
    await driver.deploy(stackWith(1, GrafanaRole.VIEWER, ws));
    // The intent, the key, its write: one call over the floor, so that a process dying after issuing orphans nothing.
    record('create', driver.records.find((r) => r.requestType === 'Create')!.calls, '≤ 3', 3);
    standins.resetCounts();
    const before = driver.records.length;
    await driver.deploy(stackWith(1, GrafanaRole.EDITOR, ws));
    const events = driver.records.slice(before);
    record('update that reissues (Update event)', events.find((r) => r.requestType === 'Update')!.calls, '–');
    record('… and its cleanup (Delete of the old id)', events.find((r) => r.requestType === 'Delete')!.calls, '–');
    standins.resetCounts();
    // Only rotateAfter changes: nothing about the key, so CloudFormation does not even call the handler.
    const app = new App({ context: { 'aws:cdk:enable-asset-metadata': true } });
    const stack = new Stack(app, 'Bench', { env: { account: '123456789012', region: 'us-east-1' } });
    new WorkspaceApiKey(stack, 'Key0', { workspaceId: ws, keyRole: GrafanaRole.EDITOR, timeToLive: Duration.days(30), rotateAfter: Duration.days(20) });
    await driver.deploy(stack);
    record('no-op update', standins.counts(), '0', 0);
    const secret = driver.secretArn('Key0Secret');
    standins.resetCounts();
    await rotate(driver, standins, secret);
    const first = standins.counts();
    standins.resetCounts();
    await rotate(driver, standins, secret);
    const steady = standins.counts();
    // Verification: the GET /api/org with the new key (GrafanaApiOrg, not an AWS call, so not in `total`), and the
    // DescribeWorkspace that finds where to send it (none with verifyRotatedKey: false).
    const lifecycleCalls = (c: Record<string, number>) => total(c) - (c.DescribeWorkspace ?? 0);
    const rotationRow = (event: string, c: Record<string, number>) => rows.push({
      event, calls: total(c), detail: `${show(c)}; ${lifecycleCalls(c)} AWS calls besides the verification`, goal: '≤ 7 + 1 verify',
      met: lifecycleCalls(c) <= 7 && (c.GrafanaApiOrg ?? 0) <= 1,
    });
    rotationRow('first rotation (DescribeWorkspace finds the verification endpoint: no workspaceUrl)', first);
    rotationRow('second rotation (the same: one DescribeWorkspace per rotation without a workspaceUrl)', steady);
    standins.resetCounts();
    await driver.destroy();
    record('delete after rotations (two live keys to revoke)', standins.counts(), '– (two revocations plus reads)');
    // A delete right after create, the common case.
    await driver.deploy(stackWith(1, GrafanaRole.VIEWER, ws));
    standins.resetCounts();
    await driver.destroy();
    record('delete (one key)', standins.counts(), '≤ 3', 3);
    const amgCreate = rows[0].calls;
    rows.push(await measureSelfManagedCreate(amgCreate));
  } finally {
    await driver.stop();
    await standins.stop();
  }
  return { rows };
}

/**
 * Self-managed Grafana (issue #16): a GrafanaApiKey's Create against the
 * Grafana server stand-in. Its floor is the Amazon Managed Grafana create's,
 * with the Grafana call going to the server, plus one read of the admin secret.
 */
async function measureSelfManagedCreate(amgCreate: number): Promise<CallFigures['rows'][number]> {
  const standins = await AwsStandIns.start();
  const driver = await CfnDriver.start(standins, { serviceTimeoutMs: 60_000 });
  const grafana = await GrafanaServerStandIn.start({ now: () => standins.clock.now() });
  try {
    const adminArn = standins.cloudFormationCall('CreateSecret', {
      Name: 'bench/grafana-admin', SecretString: JSON.stringify({ user: grafana.adminUser, password: grafana.adminPassword }),
    }).ARN;
    const app = new App({ context: { 'aws:cdk:enable-asset-metadata': true } });
    const stack = new Stack(app, 'Bench', { env: { account: '123456789012', region: 'us-east-1' } });
    const server = SelfManagedGrafana.fromAttributes(stack, 'Grafana', {
      url: grafana.url, adminSecret: secretsmanager.Secret.fromSecretCompleteArn(stack, 'Admin', adminArn),
    });
    new GrafanaApiKey(stack, 'Key0', { grafana: server, timeToLive: Duration.days(30) });
    await driver.deploy(stack);
    const calls = { ...driver.records.find((r) => r.requestType === 'Create')!.calls, ...prefixed(grafana.counts()) };
    const n = total(calls);
    const grafanaCalls = grafana.totalCalls();
    return {
      event: 'create on a self-managed Grafana (GrafanaApiKey)', calls: n, detail: show(calls),
      goal: `= the create above (${amgCreate}) + 1 read of the admin secret, with 1 Grafana call`,
      met: n === amgCreate + 1 && grafanaCalls === 1 && calls.GetSecretValue === 1,
    };
  } finally {
    await driver.stop();
    await grafana.stop();
    await standins.stop();
  }
}

const prefixed = (c: Record<string, number>) => Object.fromEntries(Object.entries(c).map(([k, v]) => [`Grafana ${k}`, v]));

export interface ConcurrencyFigures {
  keys: number; perSecond: number; ok: boolean; failed: number; wallSeconds: number; boundSeconds: number; ratio: number;
  throttled: number; createCalls: number;
}

export async function measureConcurrency(keys = 50, perSecond = 10): Promise<ConcurrencyFigures> {
  const standins = await AwsStandIns.start();
  // CloudFormation creates independent resources in parallel; here all 50 at once.
  const driver = await CfnDriver.start(standins, { serviceTimeoutMs: 300_000, concurrency: keys });
  const ws = standins.addWorkspace().id;
  try {
    standins.faults.rateLimit('CreateWorkspaceApiKey', perSecond);
    const stack = stackWith(keys, GrafanaRole.VIEWER, ws);
    const result = await driver.deploy(stack);
    const creates = driver.records.filter((r) => r.requestType === 'Create');
    // From the first Create delivered to the last one answered.
    const wallSeconds = (Math.max(...creates.map((r) => r.endedAt)) - Math.min(...creates.map((r) => r.startedAt))) / 1000;
    // The bucket starts full (perSecond calls at once), then refills at perSecond.
    const boundSeconds = Math.max(0, (keys - perSecond) / perSecond);
    const failed = creates.filter((r) => r.response?.Status !== 'SUCCESS').length;
    const live = standins.liveKeys(ws).length;
    return {
      keys, perSecond, ok: result.ok && live === keys, failed, wallSeconds, boundSeconds, ratio: wallSeconds / boundSeconds,
      throttled: standins.faults.injected.throttle ?? 0, createCalls: standins.counts().CreateWorkspaceApiKey ?? 0,
    };
  } finally {
    await driver.stop();
    await standins.stop();
  }
}

export interface HealthCheckFigures {
  credentials: number; ok: boolean; working: number; durationMs: number; perCredentialMs: number;
  calls: Record<string, number>; perCredentialCalls: number; timeoutMs: number;
}

/** Figure 6: the scheduled health check over `credentials` keys, one invocation of the deployed handler. */
export async function measureHealthCheck(credentials = 150): Promise<HealthCheckFigures> {
  const standins = await AwsStandIns.start();
  const driver = await CfnDriver.start(standins, { serviceTimeoutMs: 300_000, concurrency: 10 });
  const ws = standins.addWorkspace().id;
  try {
    const deployed = await driver.deploy(stackWith(credentials, GrafanaRole.VIEWER, ws));
    if (!deployed.ok) throw new Error(`deploy of ${credentials} keys failed: ${deployed.failures.join('; ')}`);
    standins.resetCounts();
    const [run] = await driver.fireScheduledRules();
    const calls = standins.counts();
    const lines = run.logs.split('\n').filter((l) => l.startsWith('{"_aws"')).map((l) => JSON.parse(l));
    const working = lines.filter((l) => l.CredentialWorks === 1).length;
    const all = Object.values(calls).reduce((n, v) => n + v, 0);
    const timeoutMs = 120_000;
    return {
      credentials, ok: run.ok && working === credentials, working, durationMs: run.durationMs, perCredentialMs: run.durationMs / credentials,
      calls, perCredentialCalls: all / credentials, timeoutMs,
    };
  } finally {
    await driver.stop();
    await standins.stop();
  }
}
