/**
 * A year (or any number of days) of life in simulated time. One stack,
 * deployed once, with API keys of 30, 7 and 1 day lifetimes and two tokens on
 * one service account, all with default rotation. Secrets Manager rotates each
 * secret on its schedule, within its window, each step in its own process;
 * consumers re-read AWSCURRENT every hour and call /api/org every 5 minutes;
 * faults come from a seeded generator. Simulated time never sleeps.
 */
import * as fs from 'fs';
import * as os from 'os';
import { App, Duration } from 'aws-cdk-lib';
import * as apigateway from 'aws-cdk-lib/aws-apigateway';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { GrafanaRole, GrafanaServiceAccount, GrafanaTtl, RotatingApiKey, SelfManagedGrafana, WorkspaceApiKey, WorkspaceServiceAccount } from '../../lib';
import { AwsStandIns } from '../testbed/aws/standins';
import { seededRandom } from '../testbed/aws/faults';
import { CfnDriver } from '../testbed/cfn/driver';
import { rotate, Step } from '../testbed/cfn/rotation';
import { GrafanaServerStandIn } from '../testbed/grafana/server';
import type { Timeline } from './timeline';

const MINUTE = 60_000;
/** The credential whose keys the timeline draws: key 7d rotates every 5 days and sees the monthly rolled-back update. */
const TIMELINE_CREDENTIAL = 1;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

export interface SoakOptions {
  readonly days: number;
  readonly seed?: number;
  readonly progress?: (line: string) => void;
  /** Each rotation step in a process of its own (slower) instead of one warm environment per rotation. */
  readonly processPerStep?: boolean;
}

export interface SoakFigures {
  days: number;
  seed: number;
  rotationsCompleted: number;
  rotationsFailed: number;
  rotationRetries: number;
  stackUpdates: number;
  stackUpdatesRolledBack: number;
  consumerRequests: number;
  consumerRequestsRefused: number;
  /** 401s that a consumer's re-read of AWSCURRENT then fixed (after a stack update deleted the key it cached). */
  consumerRetriesAfterRefresh: number;
  consumerSecretReads: number;
  mostLiveKeysPerCredential: number;
  orphanedKeysAtEnd: number;
  /** The same figures for each credential, by its label (an orphan no secret ever named counts under its kind). */
  byCredential: Record<string, CredentialFigures>;
  keysLeftAfterDelete: number;
  awsCalls: number;
  faultsInjected: Record<string, number>;
  handlerInvocations: number;
  processPerStep: boolean;
  /**
   * CPU seconds used by the soak's own process and by the handler processes it started (Linux: the children's
   * times from /proc/self/stat, which count every process once it has exited; undefined elsewhere).
   */
  cpuSeconds: { soak: number; handlerProcesses?: number };
  /** Cores this machine offers: the whole run's CPU divided by them is the least wall time it could take. */
  cores: number;
  wallSeconds: number;
  failures: string[];
  /** Every key of one credential (key 7d) from issue to revoke, with its rotations and the stack updates. */
  timeline?: Timeline;
}

export interface CredentialFigures {
  rotationsCompleted: number;
  rotationsFailed: number;
  consumerRequestsRefused: number;
  mostLiveKeys: number;
  orphanedKeysAtEnd: number;
}

interface Credential {
  readonly label: string;
  readonly secretPrefix: string;
  secretArn: string;
  intervalMs: number;
  windowMs: number;
  /** When the rotation window opens (last rotation plus the interval) and when in it the service rotates. */
  windowOpen: number;
  nextRotation: number;
  retriesLeft: number;
  /** Every credential name this secret has ever held: the keys that belong to this credential. */
  readonly names: Set<string>;
}

interface Consumer {
  readonly credential: Credential;
  token?: string;
  nextRefresh: number;
}

function parseSchedule(expression: string): { intervalMs: number; windowMs: number } {
  const m = /^rate\((\d+) (hours?|days?)\)$/.exec(expression);
  if (!m) throw new Error(`unsupported schedule ${expression}`);
  const hours = m[2].startsWith('hour');
  // Hour schedules get a one-hour window; day schedules one that closes at the end of the UTC day.
  return { intervalMs: Number(m[1]) * (hours ? HOUR : DAY), windowMs: hours ? HOUR : DAY };
}

export async function runSoak(opts: SoakOptions): Promise<SoakFigures> {
  const seed = opts.seed ?? 20261122;
  const say = opts.progress ?? (() => undefined);
  const random = seededRandom(seed);
  const started = Date.now();
  const standins = await AwsStandIns.start({ seed, startTime: Date.UTC(2027, 0, 1) });
  // Credential names derive from the stack id: a fixed one keeps a seeded run's names the same.
  const driver = await CfnDriver.start(standins, { serviceTimeoutMs: 60_000, stackUuid: '50a50a50-0000-4000-8000-000000000000' });
  driver.host.maxLogs = 50;
  const ws = standins.addWorkspace({ grafanaVersion: '10.4' }).id;
  // A self-managed Grafana server beside the workspace (issue #16), with its admin credential in a secret of its own.
  const server = await GrafanaServerStandIn.start({ version: '11.3.0', now: () => standins.clock.now() });
  const adminSecretArn: string = standins.cloudFormationCall('CreateSecret', {
    Name: 'ops/grafana-admin', SecretString: JSON.stringify({ user: server.adminUser, password: server.adminPassword }),
  }).ARN;
  const failures: string[] = [];
  const figures: SoakFigures = {
    days: opts.days, seed, rotationsCompleted: 0, rotationsFailed: 0, rotationRetries: 0, stackUpdates: 0, stackUpdatesRolledBack: 0,
    consumerRequests: 0, consumerRequestsRefused: 0, consumerRetriesAfterRefresh: 0, consumerSecretReads: 0,
    mostLiveKeysPerCredential: 0, orphanedKeysAtEnd: 0, byCredential: {}, keysLeftAfterDelete: 0, awsCalls: 0, faultsInjected: {},
    handlerInvocations: 0, processPerStep: !!opts.processPerStep, cpuSeconds: { soak: 0 }, cores: os.availableParallelism(), wallSeconds: 0, failures,
  };
  const cpuAtStart = { soak: ownCpuSeconds(), handlerProcesses: childCpuSeconds() };
  const t0 = standins.clock.now();
  const dayOf = (t = standins.clock.now()) => Math.floor((t - t0) / DAY) + 1;
  const fail = (what: string) => { failures.push(`day ${dayOf()}: ${what}`); say(`  FAIL day ${dayOf()}: ${what}`); };

  let role30 = GrafanaRole.VIEWER;
  const buildStack = (role7 = GrafanaRole.VIEWER) => {
    const app = new App({ context: { 'aws:cdk:enable-asset-metadata': true } });
    const { Stack } = require('aws-cdk-lib') as typeof import('aws-cdk-lib');
    const stack = new Stack(app, 'SoakStack', { env: { account: '123456789012', region: 'us-east-1' } });
    new WorkspaceApiKey(stack, 'Key30d', { workspaceId: ws, keyRole: role30, timeToLive: Duration.days(30) });
    new WorkspaceApiKey(stack, 'Key7d', { workspaceId: ws, keyRole: role7, timeToLive: Duration.days(7) });
    new WorkspaceApiKey(stack, 'Key1d', { workspaceId: ws, timeToLive: Duration.days(1) });
    const sa = new WorkspaceServiceAccount(stack, 'Svc', { workspaceId: ws, grafanaRole: GrafanaRole.EDITOR });
    sa.addToken('Token30d', { timeToLive: Duration.days(30) });
    sa.addToken('Token7d', { timeToLive: Duration.days(7) });
    const grafana = SelfManagedGrafana.fromAttributes(stack, 'Grafana', {
      url: server.url, adminSecret: secretsmanager.Secret.fromSecretCompleteArn(stack, 'GrafanaAdmin', adminSecretArn),
    });
    new GrafanaServiceAccount(stack, 'Team', { grafana, grafanaRole: GrafanaRole.EDITOR }).addToken('Token14d', { timeToLive: GrafanaTtl.parse('2w') });
    // issue #17: an API Gateway key, rotated weekly
    new RotatingApiKey(stack, 'ApiKey', { usagePlans: [new apigateway.UsagePlan(stack, 'Plan', { name: 'soak' })], apiKeyNamePrefix: 'soak', rotateAfter: Duration.days(7) });
    return stack;
  };

  try {
    say(`soak: ${opts.days} simulated days, seed ${seed}`);
    const deployed = await driver.deploy(buildStack());
    if (!deployed.ok) throw new Error(`initial deploy failed: ${deployed.failures.join('; ')}`);
    // Faults start once the stack exists: 1% of AWS calls throttled, 0.5% answered with a 5xx.
    standins.faults.setRandom({ throttleRate: 0.01, serverErrorRate: 0.005 });

    const labels: Array<[string, string]> = [
      ['key 30d', 'Key30dSecret'], ['key 7d', 'Key7dSecret'], ['key 1d', 'Key1dSecret'],
      ['token 30d', 'SvcToken30dSecret'], ['token 7d', 'SvcToken7dSecret'], ['self-managed token 14d', 'TeamToken14dSecret'],
      ['API Gateway key 7d', 'ApiKeySecret'],
    ];
    const credentials: Credential[] = labels.map(([label, secretPrefix]) => {
      const secretArn = driver.secretArn(secretPrefix);
      const schedule = driver.rotationSchedules().find((s) => s.secretArn === secretArn)!;
      const { intervalMs, windowMs } = parseSchedule(schedule.expression);
      return { label, secretPrefix, secretArn, intervalMs, windowMs, windowOpen: 0, nextRotation: 0, retriesLeft: 0, names: new Set<string>() };
    });
    const scheduleNext = (c: Credential, from: number) => {
      c.windowOpen = from + c.intervalMs;
      c.nextRotation = c.windowOpen + Math.floor(random() * c.windowMs);
      c.retriesLeft = 3;
    };
    credentials.forEach((c) => scheduleNext(c, t0));
    const of = (label: string) => (figures.byCredential[label] ??= { rotationsCompleted: 0, rotationsFailed: 0, consumerRequestsRefused: 0, mostLiveKeys: 0, orphanedKeysAtEnd: 0 });
    credentials.forEach((c) => of(c.label));

    const currentToken = (c: Credential) => {
      const v = standins.secret(c.secretArn)?.versions.find((x) => x.stages.includes('AWSCURRENT'));
      return v?.secretString ? JSON.parse(v.secretString) : undefined;
    };
    const seenVersions = new Set<string>();
    const noteNames = () => {
      for (const c of credentials) {
        for (const v of standins.secret(c.secretArn)?.versions ?? []) {
          if (!v.secretString || seenVersions.has(v.versionId)) continue;
          seenVersions.add(v.versionId);
          const value = JSON.parse(v.secretString);
          c.names.add(value.keyName ?? value.tokenName ?? value.apiKeyName);
        }
      }
    };
    /** Names of the credentials that work now: Grafana's, and API Gateway's (issue #17). */
    const liveNames = () => [
      ...standins.liveKeys(ws).map((k) => k.name), ...server.live().map((k) => k.name), ...standins.apiGateway.liveKeys().map((k) => k.name),
    ];
    /** What a consumer's request meets: a Grafana key or token, or an API Gateway key at the REST API. */
    const works = (token: string) => standins.isKeyValid(token) || server.isValid(token) || standins.apiGateway.endpointStatus(token) === 200;
    /** At most two live keys per credential, checked whenever keys can appear. */
    const checkLive = () => {
      noteNames();
      const live = liveNames();
      for (const c of credentials) {
        const n = live.filter((name) => c.names.has(name)).length;
        figures.mostLiveKeysPerCredential = Math.max(figures.mostLiveKeysPerCredential, n);
        of(c.label).mostLiveKeys = Math.max(of(c.label).mostLiveKeys, n);
        if (n > 2) fail(`${c.label} has ${n} live keys (at most 2)`);
      }
    };
    checkLive();

    // Consumers start at different minutes of the hour, as independent applications do.
  const consumers: Consumer[] = credentials.map((credential) => ({ credential, nextRefresh: t0 + Math.floor(random() * 12) * 5 * MINUTE }));
    const readSecret = (consumer: Consumer) => {
      figures.consumerSecretReads++;
      consumer.token = currentToken(consumer.credential)?.key;
      consumer.nextRefresh = standins.clock.now() + HOUR;
    };

    // Rotations of different secrets overlap, but their steps take turns (first come, first served), so the
    // sequence of AWS calls, and with it every seeded fault, repeats from run to run.
    let turn: Promise<unknown> = Promise.resolve();
    const oneStepAtATime = <T>(invoke: () => Promise<T>): Promise<T> => {
      const mine = turn.then(invoke);
      turn = mine.catch(() => undefined);
      return mine;
    };

    let crashArmed = false;
    const rotateOne = async (c: Credential, t: number) => {
      let crash: { crashDuring?: Step; crashWhen?: Promise<void> } = {};
      if (crashArmed) {
        crashArmed = false;
        crashStep = crashStep === 'createSecret' ? 'finishSecret' : 'createSecret';
        // The process dies halfway: the moment its write reaches Secrets Manager, before the answer comes back
        // (the write, slow to answer, still lands). Tied to the call, not to a timer, so every run repeats it.
        let reached!: () => void;
        const crashWhen = new Promise<void>((resolve) => { reached = resolve; });
        standins.faults.add({ operation: crashStep === 'createSecret' ? 'PutSecretValue' : 'UpdateSecretVersionStage', kind: 'delay', delayMs: 200, onHit: reached });
        crash = { crashDuring: crashStep, crashWhen };
      }
      const outcome = await rotate(driver, standins, c.secretArn, { ...crash, reuseEnvironment: !opts.processPerStep, runStep: oneStepAtATime, between: async () => checkLive() });
      // A crashed step's write is still on its way (slow to answer): let it land before time moves on.
      await standins.settled();
      checkLive();
      if (outcome.ok) {
        figures.rotationsCompleted++;
        of(c.label).rotationsCompleted++;
        if (c === credentials[TIMELINE_CREDENTIAL]) timelineRotations.push(t);
        scheduleNext(c, t);
      } else {
        figures.rotationsFailed++;
        of(c.label).rotationsFailed++;
        if (!crash.crashDuring) say(`  day ${dayOf(t)}: rotation of ${c.label} failed at ${outcome.failedStep}: ${outcome.error}`);
        // Secrets Manager retries a failed rotation several times, then waits for the next window.
        if (c.retriesLeft-- > 0) { figures.rotationRetries++; c.nextRotation = t + 15 * MINUTE; } else c.nextRotation = t + DAY;
      }
    };
    let crashStep: Step = 'createSecret';
    const timelineRotations: number[] = [];
    const timelineUpdates: Array<{ at: number; rolledBack: boolean }> = [];
    const monthlyAt = (day: number) => (t: number) => ((dayOf(t) - day) % 30 === 0) && ((t - t0) % DAY === 12 * HOUR + 35 * MINUTE);

    const isRoleChangeTime = monthlyAt(10);
    const isFailedUpdateTime = monthlyAt(20);
    const isCrashArmTime = monthlyAt(15);
    const end = t0 + opts.days * DAY;
    let lastReportedDay = 0;

    for (let t = t0; t < end; t += 5 * MINUTE) {
      standins.clock.set(t);
      if (dayOf(t) % 30 === 0 && dayOf(t) !== lastReportedDay) {
        lastReportedDay = dayOf(t);
        say(`  day ${dayOf(t)}: ${figures.rotationsCompleted} rotations, ${figures.stackUpdates} stack updates, ${figures.consumerRequests} consumer requests (${figures.consumerRequestsRefused} refused), ${Math.round((Date.now() - started) / 1000)} s`);
      }

      // Stack updates: once a month a role change that reissues, once a month one that fails and rolls back.
      if (isRoleChangeTime(t)) {
        role30 = role30 === GrafanaRole.VIEWER ? GrafanaRole.EDITOR : GrafanaRole.VIEWER;
        const r = await driver.deploy(buildStack());
        figures.stackUpdates++;
        timelineUpdates.push({ at: t, rolledBack: false });
        if (!r.ok) fail(`stack update (key 30d role → ${role30}) failed: ${r.failures.join('; ')}`);
        if (currentToken(credentials[0])?.keyRole !== role30) fail(`key 30d does not hold role ${role30} after the update`);
        checkLive();
      }
      if (isFailedUpdateTime(t)) {
        const before = currentToken(credentials[1])?.keyName;
        const r = await driver.deploy(buildStack(GrafanaRole.ADMIN), { failAfterUpdates: true });
        figures.stackUpdates++;
        figures.stackUpdatesRolledBack++;
        timelineUpdates.push({ at: t, rolledBack: true });
        if (r.ok) fail('the failing stack update did not fail');
        const after = currentToken(credentials[1]);
        if (after?.keyRole !== 'VIEWER') fail(`key 7d holds role ${after?.keyRole} after the rollback (VIEWER expected)`);
        if (after?.keyName !== before) fail(`key 7d changed from ${before} to ${after?.keyName} across a rollback`);
        checkLive();
      }
      if (isCrashArmTime(t)) crashArmed = true;

      // Rotations due now, as Secrets Manager schedules them. A secret whose window is already open may
      // rotate alongside (the service picks any time in the window), so rotations run side by side (their
      // steps interleaved, one at a time).
      const due = credentials.filter((c) => t >= c.nextRotation);
      if (due.length) {
        for (const c of credentials) if (!due.includes(c) && t >= c.windowOpen && c.retriesLeft === 3) due.push(c);
        await Promise.all(due.map((c) => rotateOne(c, t)));
      }

      // Consumers: an hourly re-read, a request every 5 minutes, and a re-read and retry on 401.
      for (const consumer of consumers) {
        if (t >= consumer.nextRefresh || !consumer.token) readSecret(consumer);
        figures.consumerRequests++;
        if (consumer.token && works(consumer.token)) continue;
        readSecret(consumer);
        if (consumer.token && works(consumer.token)) { figures.consumerRetriesAfterRefresh++; continue; }
        figures.consumerRequestsRefused++;
        of(consumer.credential.label).consumerRequestsRefused++;
        fail(`a consumer of ${consumer.credential.label} was refused: AWSCURRENT holds no working key`);
      }
    }

    // The end: no key may exist that no secret version accounts for; then delete the stack.
    standins.faults.setRandom(undefined);
    noteNames();
    const referenced = new Set<string>();
    for (const c of credentials) {
      for (const v of standins.secret(c.secretArn)?.versions ?? []) {
        if (v.stages.length && v.secretString) { const value = JSON.parse(v.secretString); referenced.add(value.keyName ?? value.tokenName ?? value.apiKeyName); }
      }
    }
    const orphans = [
      ...standins.existingKeys(ws).map((k) => ({ kind: k.kind, name: k.name })),
      ...server.existing().map((k) => ({ kind: 'self-managed credential', name: k.name })),
      ...standins.apiGateway.liveKeys().map((k) => ({ kind: 'API Gateway key', name: k.name })),
    ].filter((k) => !referenced.has(k.name));
    figures.orphanedKeysAtEnd = orphans.length;
    for (const o of orphans) of(credentials.find((c) => c.names.has(o.name))?.label ?? o.kind).orphanedKeysAtEnd++;
    for (const o of orphans) fail(`orphaned ${o.kind} ${o.name}`);
    figures.awsCalls = standins.totalCalls();
    const destroyed = await driver.destroy();
    if (!destroyed.ok) fail(`stack delete failed: ${destroyed.failures.join('; ')}`);
    const timelineOf = credentials[TIMELINE_CREDENTIAL];
    figures.timeline = {
      credential: timelineOf.label, start: t0, end: standins.clock.now(), rotations: timelineRotations, updates: timelineUpdates,
      keys: standins.credentialHistory(ws).filter((k) => timelineOf.names.has(k.name))
        .map((k) => ({ name: k.name, issuedAt: k.createdAt, expiresAt: k.expiresAt, ...(k.deletedAt !== undefined ? { revokedAt: k.deletedAt } : {}) })),
    };
    figures.keysLeftAfterDelete = standins.existingKeys().length + server.existing().length + server.serviceAccounts().length + standins.apiGateway.liveKeys().length;
    if (figures.keysLeftAfterDelete) fail(`${figures.keysLeftAfterDelete} keys left after the stack was deleted`);
    const leaked = [...standins.allIssuedTokens(), ...server.secrets()].some((tok) => driver.responses().some((r) => r.includes(tok)));
    if (leaked) fail('a token appeared in a CloudFormation response');
    figures.faultsInjected = { ...standins.faults.injected };
    figures.handlerInvocations = driver.host.invocations;
  } finally {
    await driver.stop();
    await server.stop();
    await standins.stop();
  }
  figures.wallSeconds = (Date.now() - started) / 1000;
  const children = childCpuSeconds();
  figures.cpuSeconds = {
    soak: ownCpuSeconds() - cpuAtStart.soak,
    ...(children !== undefined && cpuAtStart.handlerProcesses !== undefined ? { handlerProcesses: children - cpuAtStart.handlerProcesses } : {}),
  };
  return figures;
}

function ownCpuSeconds(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1e6;
}

/** User and system time of every child process that has exited and been reaped, in seconds (Linux only). */
function childCpuSeconds(): number | undefined {
  try {
    // The fields after the command name: cutime and cstime are the 14th and 15th, in clock ticks (USER_HZ, 100 on Linux).
    const fields = fs.readFileSync('/proc/self/stat', 'utf8').split(') ')[1].split(' ');
    return (Number(fields[13]) + Number(fields[14])) / 100;
  } catch {
    return undefined;
  }
}

/** The CPU figure: what the run used, and the least wall time that needs on this machine's cores. */
export function cpuSummary(f: SoakFigures): string {
  const { soak, handlerProcesses } = f.cpuSeconds;
  if (handlerProcesses === undefined) return `${soak.toFixed(1)} s in the soak's process (handler processes not measurable here)`;
  const total = soak + handlerProcesses;
  const perInvocation = f.handlerInvocations ? (handlerProcesses * 1000) / f.handlerInvocations : 0;
  return `${total.toFixed(0)} s: handler processes ${handlerProcesses.toFixed(0)} s (${perInvocation.toFixed(0)} ms per invocation), the soak's process ${soak.toFixed(0)} s; `
    + `on ${f.cores} cores that is at least ${(total / f.cores).toFixed(0)} s of wall time`;
}

export function figuresTable(f: SoakFigures): string {
  const rows: Array<[string, string, string]> = [
    ['simulated days', String(f.days), String(f.days)],
    ['rotations completed / failed', `${f.rotationsCompleted} / ${f.rotationsFailed} (${f.rotationRetries} retried by the schedule)`, '–'],
    ['stack updates (of which rolled back)', `${f.stackUpdates} (${f.stackUpdatesRolledBack})`, '–'],
    ['consumer requests', f.consumerRequests.toLocaleString('en-US'), '–'],
    ['consumer requests refused', String(f.consumerRequestsRefused), '0'],
    ['requests that needed a re-read of AWSCURRENT first', String(f.consumerRetriesAfterRefresh), '–'],
    ['most live keys per credential at any time', String(f.mostLiveKeysPerCredential), 'at most 2'],
    ['orphaned keys at the end', String(f.orphanedKeysAtEnd), '0'],
    ['keys left after the stack was deleted', String(f.keysLeftAfterDelete), '0'],
    ['AWS calls in total', f.awsCalls.toLocaleString('en-US'), '–'],
    ['faults injected', Object.entries(f.faultsInjected).map(([k, v]) => `${k} ${v}`).join(', ') || 'none', '–'],
    ['handler invocations', `${f.handlerInvocations.toLocaleString('en-US')} (${f.processPerStep ? 'each in a process of its own' : 'CloudFormation events each in a process of its own; each rotation\'s four steps in one fresh environment'})`, '–'],
    ['CPU used', cpuSummary(f), '–'],
    ['wall time', `${f.wallSeconds.toFixed(1)} s`, 'under 2 minutes'],
  ];
  return ['| figure | measured | goal |', '| --- | --- | --- |', ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');
}

/** The figures of each credential: rotations, refused requests, most live keys at once, orphans. */
export function credentialsTable(f: SoakFigures): string {
  const rows = Object.entries(f.byCredential).map(([label, c]) =>
    `| ${label} | ${c.rotationsCompleted} / ${c.rotationsFailed} | ${c.consumerRequestsRefused} | ${c.mostLiveKeys} | ${c.orphanedKeysAtEnd} |`);
  return ['| credential | rotations completed / failed | requests refused | most live keys | orphans at the end |', '| --- | --- | --- | --- | --- |', ...rows].join('\n');
}
