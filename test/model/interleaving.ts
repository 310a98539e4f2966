/**
 * Model-based interleaving of everything that can happen to one credential
 * construct, over the in-memory AWS (test/unit/helpers/fake-aws.ts World, whose
 * Secrets Manager is the shared model): CloudFormation's Create, Update
 * (reissuing or not), rollback, cleanup Delete and Delete, each possibly
 * delivered twice, including Updates that change only the key's plans (an
 * in-place field: test/model/planned-key-issuer.ts) and their rollbacks;
 * Secrets Manager's four rotation steps; a crash at any
 * await point (the invocation freezes at its next AWS call, which may or may
 * not have landed); the timeout guard firing (the fake clock reaches it); a
 * failed AWS call; out-of-band deletes of the secret or the workspace.
 *
 * Every AWS call of every invocation waits in `pending` until an action
 * releases it, so a sequence of actions is one interleaving, and the same
 * sequence replays the same interleaving. CloudFormation and Secrets Manager
 * are small state machines (`createOp`, `updateOp`, `deleteOp`, `rotateOp`)
 * that react to answers as the services do. After every action the
 * invariants (test/model/invariants.ts) are checked; at the end the sequence
 * is drained (every call released, every stack operation and rotation run to
 * its end, an unfinished rotation retried once as Secrets Manager would) and
 * checked again.
 */
import fc from 'fast-check';
import { World } from '../unit/helpers/fake-aws';
import { CfnAnswer, forgetCalls, guardAfterMs, Hooks, invoke, keyProperties, Op, planList } from './adapter';
import { checkInvariants, Rule, Violation } from './invariants';

export const WS = 'g-0a1b2c3d4e';
export const SECRET_ARN = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:grafana-credentials/Stack/Key-AbCdEf';
const STACK_ID = 'arn:aws:cloudformation:us-east-1:123456789012:stack/Stack/0f1e2d3c-0000-1111-2222-333344445555';
const LOGICAL_ID = 'ApiKey1A2B3C4D';
/** The singleton function's timeout (lib/private/handler-function.ts) and the custom resource's ServiceTimeout. */
const FUNCTION_TIMEOUT_MS = 120_000;
const SERVICE_TIMEOUT_MS = 300_000;
/** How long the guard waits for its revocations before it answers (lambda/index.ts: at most 5 s). */
const GUARD_REVOKE_WAIT_MS = 5_000;
const ROLES = ['VIEWER', 'EDITOR', 'ADMIN'];
/** The key's plans (the in-place field), by index; '' is no plan at all. */
const PLAN_SETS = ['p1', 'p1,p2', 'p2', ''];
const STEPS = ['createSecret', 'setSecret', 'testSecret', 'finishSecret'] as const;

/** Delivery of a CloudFormation event: once, twice at the same time, or again after the first answer. */
export type Dup = 0 | 1 | 2;
export type Action =
  /** `noop`: the role stays; `plans` (0 to 3): how far the plans move along PLAN_SETS (0: they stay). */
  | { readonly t: 'create' | 'update' | 'delete'; readonly role: number; readonly noop: boolean; readonly plans?: number; readonly failAfter: boolean; readonly dup: Dup }
  | { readonly t: 'rotate'; readonly dup: boolean }
  | { readonly t: 'release'; readonly k: number }
  | { readonly t: 'fail'; readonly k: number; readonly landed: boolean }
  | { readonly t: 'crash'; readonly k: number; readonly landed: boolean }
  | { readonly t: 'guard'; readonly k: number }
  | { readonly t: 'tick'; readonly ms: number }
  | { readonly t: 'deleteSecret'; readonly force: boolean }
  | { readonly t: 'deleteWorkspace' };

export type Feature = 'crash' | 'guard' | 'fail' | 'outOfBand' | 'dup';

/** Random actions; `features` adds crashes, the guard, failed calls, out-of-band deletes and duplicate deliveries. */
export function actionArb(features: ReadonlySet<Feature>): fc.Arbitrary<Action> {
  const dup: fc.Arbitrary<Dup> = features.has('dup') ? fc.constantFrom<Dup>(0, 0, 1, 2) : fc.constant<Dup>(0);
  const k = fc.nat(7);
  const parts: Array<fc.WeightedArbitrary<Action>> = [
    { weight: 12, arbitrary: fc.record({ t: fc.constant('release' as const), k }) },
    { weight: 2, arbitrary: fc.record({ t: fc.constantFrom('create' as const, 'update' as const, 'update' as const, 'delete' as const), role: fc.nat(1), noop: fc.boolean(), plans: fc.nat(3), failAfter: fc.boolean(), dup }) },
    { weight: 2, arbitrary: fc.record({ t: fc.constant('rotate' as const), dup: features.has('dup') ? fc.boolean() : fc.constant(false) }) },
  ];
  if (features.has('crash')) parts.push({ weight: 1, arbitrary: fc.record({ t: fc.constant('crash' as const), k, landed: fc.boolean() }) });
  if (features.has('guard')) {
    parts.push({ weight: 1, arbitrary: fc.record({ t: fc.constant('guard' as const), k }) });
    parts.push({ weight: 1, arbitrary: fc.record({ t: fc.constant('tick' as const), ms: fc.constantFrom(1_000, 6_000, 30_000) }) });
  }
  if (features.has('fail')) parts.push({ weight: 1, arbitrary: fc.record({ t: fc.constant('fail' as const), k, landed: fc.boolean() }) });
  if (features.has('outOfBand')) {
    parts.push({ weight: 1, arbitrary: fc.record({ t: fc.constant('deleteSecret' as const), force: fc.boolean() }) });
    parts.push({ weight: 1, arbitrary: fc.constant({ t: 'deleteWorkspace' as const }) });
  }
  return fc.oneof(...parts);
}

interface Invocation {
  readonly run: Interleaving;
  readonly label: string;
  readonly kind: 'cfn' | 'rotation';
  /** An Update (or its rollback) that changes only the plans: it may not issue a credential. */
  readonly inPlace: boolean;
  /** Names whose CreateWorkspaceApiKey this invocation was refused (ConflictException). */
  readonly conflicted: Set<string>;
  readonly guardAt?: number;
  readonly killAt: number;
  returned: boolean;
  crashed: boolean;
  error?: unknown;
  answer?: CfnAnswer;
}

interface PendingCall { readonly inv: Invocation; readonly op: Op; readonly input: any; readonly seq: number; resolve(v: any): void; reject(e: any): void }

export interface Outcome {
  /** The first violation of each rule, with the step it happened at. */
  readonly violations: ReadonlyArray<Violation & { readonly step: number }>;
  readonly trace: readonly string[];
  /** Most live credentials seen at any time, and while something was in flight. */
  readonly maxLive: number;
  readonly maxLiveInFlight: number;
  readonly applied: ReadonlySet<string>;
  readonly quiescentChecks: number;
}

/** The interleaving the adapter's hooks report to (one at a time). */
let active: Interleaving | undefined;

export const hooks = (): Hooks<Invocation> => ({
  call(inv, op, input) {
    const run = active;
    if (!run || !inv) return Promise.reject(new Error(`model AWS: ${op} outside any invocation`));
    if (inv.run !== run || inv.crashed) return new Promise(() => undefined);
    if (inv.inPlace && op === 'CreateWorkspaceApiKey') run.issuedInPlace.push(`${inv.label} issued ${input?.keyName}`);
    if (op === 'DeleteWorkspaceApiKey' && inv.conflicted.has(input?.keyName)) run.replacedNames.add(input.keyName);
    return new Promise((resolve, reject) => { run.pending.push({ inv, op, input, seq: run.seq++, resolve, reject }); run.bump(); });
  },
  answer(inv, answer) {
    const run = active;
    if (!run || !inv || inv.run !== run || inv.crashed) return new Promise(() => undefined);
    if (!inv.answer) inv.answer = answer;
    run.log(`    ${inv.label} answered ${answer.status} ${answer.physicalResourceId}${answer.reason ? ` (${answer.reason.slice(0, 120)})` : ''}`);
    run.bump();
    return Promise.resolve();
  },
});

export class Interleaving {
  readonly world = new World();
  readonly pending: PendingCall[] = [];
  seq = 0;
  private progress = 0;
  private readonly invocations: Invocation[] = [];
  private readonly waiters: Array<{ until: () => boolean; resolve: () => void }> = [];
  private readonly trace: string[] = [];
  private requests = 0;
  private tokens = 0;
  private step = 0;
  private readonly violations: Array<Violation & { step: number }> = [];
  private maxLive = 0;
  private maxLiveInFlight = 0;
  private drainRotations = 0;
  /** What CloudFormation knows of the resource. */
  private readonly res = { exists: false, deleting: false, physicalId: '', role: 0, touch: 0, plans: 0, plansKnown: true };
  /** Names an invocation revoked after its own issue of that name was refused: it took them for a dead attempt's. */
  readonly replacedNames = new Set<string>();
  /** CreateWorkspaceApiKey calls made by in-place Updates. */
  readonly issuedInPlace: string[] = [];
  private cfnBusy = false;
  /** Times a service waits for (CloudFormation's ServiceTimeout); only the main loop moves the clock. */
  private readonly deadlines: number[] = [];
  private rotationBusy = false;
  private readonly oob = { workspace: false, secret: 'no' as 'no' | 'scheduled' | 'forced' };

  constructor() {
    this.world.addWorkspace(WS);
    this.world.addSecret(SECRET_ARN);
  }

  log(line: string): void { this.trace.push(line); }

  bump(): void {
    this.progress++;
    for (const w of [...this.waiters]) {
      if (w.until()) { this.waiters.splice(this.waiters.indexOf(w), 1); w.resolve(); }
    }
  }

  async run(actions: readonly Action[]): Promise<Outcome> {
    active = this;
    try {
      this.log('create (VIEWER, plans p1)');
      void this.createOp(0, 0, false, 0);
      await this.settle();
      this.check();
      for (const action of actions) {
        this.step++;
        await this.apply(action);
        await this.settle();
        await this.passDeadlines();
        this.check();
      }
      this.step++;
      this.log('drain');
      await this.drain();
      this.check();
    } catch (err) {
      throw new Error(`${(err as Error).message}\n--- interleaving ---\n${this.trace.join('\n')}`);
    } finally {
      active = undefined;
    }
    return {
      violations: this.violations, trace: this.trace, maxLive: this.maxLive, maxLiveInFlight: this.maxLiveInFlight,
      applied: this.applied, quiescentChecks: this.quiescentChecks,
    };
  }

  // ---------- actions ----------

  /** Action kinds that did something in this run (the census checks the harness reaches every kind). */
  readonly applied = new Set<string>();
  /** How many checks ran with nothing in flight. */
  quiescentChecks = 0;

  private async apply(a: Action): Promise<void> {
    const before = this.trace.length;
    await this.applyAction(a);
    if (this.trace.length > before) this.applied.add(a.t === 'crash' || a.t === 'fail' ? `${a.t}${a.landed ? '-landed' : ''}` : a.t);
  }

  private async applyAction(a: Action): Promise<void> {
    switch (a.t) {
      case 'create':
        if (this.cfnBusy || this.res.exists) return;
        this.log(`create (${ROLES[a.role]}, plans ${PLAN_SETS[(a.plans ?? 0) % PLAN_SETS.length] || 'none'}${a.failAfter ? ', the stack then fails' : ''}${dupText(a.dup)})`);
        void this.createOp(a.role, (a.plans ?? 0) % PLAN_SETS.length, a.failAfter, a.dup);
        return;
      case 'update':
        if (this.cfnBusy || !this.res.exists || this.res.deleting) return;
        void this.updateOp(a.role, a.noop, a.plans ?? 0, a.failAfter, a.dup);
        return;
      case 'delete':
        if (this.cfnBusy || !this.res.exists) return;
        this.log(`delete${dupText(a.dup)}`);
        void this.deleteOp(a.dup);
        return;
      case 'rotate':
        if (this.rotationBusy || !this.res.exists) return;
        void this.rotateOp(a.dup, 'rotate');
        return;
      case 'release': {
        const p = this.pick(this.pending, a.k);
        if (p) this.perform(p);
        return;
      }
      case 'fail': {
        const p = this.pick(this.pending, a.k);
        if (!p) return;
        this.pending.splice(this.pending.indexOf(p), 1);
        if (a.landed) void this.world.handle(p.op, p.input).catch(() => undefined);
        this.log(`    ${p.inv.label}: ${p.op} ${brief(p.input)} fails${a.landed ? ' after it landed' : ''} (InternalFailure)`);
        p.reject(transientError(p.op));
        return;
      }
      case 'crash': {
        const inv = this.pick(this.invocations.filter((i) => this.running(i)), a.k);
        if (!inv) return;
        const mine = this.pending.filter((p) => p.inv === inv);
        this.log(`    ${inv.label} crashes${mine.length ? ` at ${mine.map((p) => p.op).join(', ')}${a.landed ? ', which lands' : ''}` : ''}`);
        for (const p of mine) {
          this.pending.splice(this.pending.indexOf(p), 1);
          if (a.landed) void this.world.handle(p.op, p.input).catch(() => undefined);
        }
        inv.crashed = true;
        this.bump();
        return;
      }
      case 'guard': {
        const inv = this.pick(this.invocations.filter((i) => i.kind === 'cfn' && !i.returned && !i.crashed), a.k);
        if (!inv?.guardAt) return;
        this.log(`    time passes to ${inv.label}'s guard`);
        await this.advanceTo(inv.guardAt);
        return;
      }
      case 'tick':
        if (!this.invocations.some((i) => this.running(i))) return;
        this.log(`    ${a.ms / 1000} s pass`);
        await this.advanceTo(Date.now() + a.ms);
        return;
      case 'deleteSecret':
        if (!this.world.sm.find(SECRET_ARN)) return;
        this.log(`the secret is deleted out of band${a.force ? ' (forced)' : ' (7-day recovery window)'}`);
        this.world.sm.deleteSecret(a.force ? { SecretId: SECRET_ARN, ForceDeleteWithoutRecovery: true } : { SecretId: SECRET_ARN, RecoveryWindowInDays: 7 });
        this.oob.secret = a.force ? 'forced' : 'scheduled';
        return;
      case 'deleteWorkspace':
        if (this.oob.workspace) return;
        this.log('the workspace is deleted out of band');
        this.world.workspaces.delete(WS);
        this.oob.workspace = true;
        return;
    }
  }

  private pick<T>(items: readonly T[], k: number): T | undefined {
    return items.length ? items[k % items.length] : undefined;
  }

  private perform(p: PendingCall): void {
    this.pending.splice(this.pending.indexOf(p), 1);
    this.log(`    ${p.inv.label}: ${p.op} ${brief(p.input)}`);
    this.world.handle(p.op, p.input).then(p.resolve, (err) => {
      this.log(`      -> ${err?.name}`);
      if (p.op === 'CreateWorkspaceApiKey' && err?.name === 'ConflictException') p.inv.conflicted.add(p.input.keyName);
      p.reject(err);
    });
  }

  // ---------- CloudFormation ----------

  private props(role: number, touch: number, plans: number) { return keyProperties(SECRET_ARN, WS, ROLES[role], touch, PLAN_SETS[plans]); }

  private event(requestType: 'Create' | 'Update' | 'Delete', props: Record<string, string>, extra: Record<string, unknown> = {}) {
    const requestId = `req-${++this.requests}`;
    return {
      RequestType: requestType, ServiceToken: props.ServiceToken, ResponseURL: `https://cloudformation-response.invalid/${requestId}`,
      StackId: STACK_ID, RequestId: requestId, LogicalResourceId: LOGICAL_ID, ResourceType: 'Custom::GrafanaWorkspaceApiKey',
      ResourceProperties: props, ...extra,
    };
  }

  /** Delivers one event (twice with `dup`) and waits for the first answer, or for ServiceTimeout when none comes. */
  private async deliver(event: Record<string, any>, dup: Dup, inPlace = false): Promise<CfnAnswer | undefined> {
    const label = `${event.RequestType}[${event.RequestId}${event.PhysicalResourceId ? ` ${event.PhysicalResourceId}` : ''}]`;
    const started = Date.now();
    const invs = [this.start('cfn', label, event, inPlace)];
    if (dup === 1) invs.push(this.start('cfn', `${label}'`, event, inPlace));
    await this.until(() => invs.some((i) => i.answer) || invs.every((i) => i.crashed || i.returned));
    const answer = invs.find((i) => i.answer)?.answer;
    if (dup === 2) this.start('cfn', `${label}''`, event, inPlace); // delivered again; CloudFormation already has its answer
    if (!answer) {
      this.log(`    no answer to ${label}: CloudFormation waits for ServiceTimeout`);
      const deadline = started + SERVICE_TIMEOUT_MS;
      this.deadlines.push(deadline);
      await this.until(() => Date.now() >= deadline);
      this.deadlines.splice(this.deadlines.indexOf(deadline), 1);
    }
    return answer;
  }

  private async createOp(role: number, plans: number, failAfter: boolean, dup: Dup): Promise<void> {
    this.cfnBusy = true;
    try {
      if (!this.world.sm.find(SECRET_ARN, true)) { this.world.addSecret(SECRET_ARN); this.oob.secret = 'no'; }
      if (this.world.sm.find(SECRET_ARN, true)?.deletedDate) { this.log('    CreateSecret refused: the name is scheduled for deletion'); return; }
      const props = this.props(role, 0, plans);
      const a = await this.deliver(this.event('Create', props), dup);
      if (a?.status === 'SUCCESS' && !failAfter) {
        Object.assign(this.res, { exists: true, deleting: false, physicalId: a.physicalResourceId, role, touch: 0, plans, plansKnown: true });
        return;
      }
      // The stack's create fails: CloudFormation deletes what it created, this resource with the id it answered (if any).
      const id = a?.physicalResourceId ?? `${LOGICAL_ID}-cfn-generated`;
      const b = await this.deliver(this.event('Delete', props, { PhysicalResourceId: id }), dup);
      if (b?.status !== 'SUCCESS') {
        // ROLLBACK_FAILED: CloudFormation keeps what it could not delete, and the secret this resource depends on;
        // the only way on is to delete the stack, which sends this Delete again.
        this.log('    ROLLBACK_FAILED');
        Object.assign(this.res, { exists: true, deleting: true, physicalId: id, role, touch: 0, plans, plansKnown: false });
        return;
      }
      this.deleteStackSecret();
    } finally {
      this.cfnBusy = false;
      this.bump();
    }
  }

  private async updateOp(roleChoice: number, noop: boolean, plansStep: number, failAfter: boolean, dup: Dup): Promise<void> {
    this.cfnBusy = true;
    try {
      const oldRole = this.res.role;
      const oldTouch = this.res.touch;
      const oldPlans = this.res.plans;
      const newRole = noop ? oldRole : (oldRole + 1 + roleChoice) % 3;
      const newTouch = oldTouch + 1;
      const newPlans = (oldPlans + plansStep) % PLAN_SETS.length;
      const oldProps = this.props(oldRole, oldTouch, oldPlans);
      const newProps = this.props(newRole, newTouch, newPlans);
      const oldId = this.res.physicalId;
      // Only the plans change: the engine reconfigures in place, both ways (the rollback too).
      const inPlace = newRole === oldRole && newPlans !== oldPlans;
      if (inPlace) this.applied.add('update-in-place');
      const plansText = newPlans === oldPlans ? '' : `plans ${PLAN_SETS[oldPlans] || 'none'} -> ${PLAN_SETS[newPlans] || 'none'}`;
      const roleText = noop ? '' : `${ROLES[oldRole]} -> ${ROLES[newRole]}`;
      this.log(`update (${[roleText, plansText].filter((t) => t).join(', ') || 'nothing about the key'})${failAfter ? ', the stack then fails' : ''}${dupText(dup)}`);
      const a = await this.deliver(this.event('Update', newProps, { PhysicalResourceId: oldId, OldResourceProperties: oldProps }), dup, inPlace);
      if (a?.status === 'SUCCESS') {
        const newId = a.physicalResourceId;
        Object.assign(this.res, { physicalId: newId, role: newRole, touch: newTouch, plans: newPlans });
        if (!failAfter) {
          this.res.plansKnown = true;
          if (newId !== oldId) await this.deliver(this.event('Delete', oldProps, { PhysicalResourceId: oldId }), dup);
          return;
        }
        const b = await this.deliver(this.event('Update', oldProps, { PhysicalResourceId: newId, OldResourceProperties: newProps }), dup, inPlace);
        if (b?.status !== 'SUCCESS') { this.log('    UPDATE_ROLLBACK_FAILED'); this.res.plansKnown = false; return; }
        Object.assign(this.res, { physicalId: b.physicalResourceId, role: oldRole, touch: oldTouch, plans: oldPlans });
        if (b.physicalResourceId !== newId) await this.deliver(this.event('Delete', newProps, { PhysicalResourceId: newId }), dup);
        return;
      }
      // The update failed: CloudFormation rolls this resource back too.
      const b = await this.deliver(this.event('Update', oldProps, { PhysicalResourceId: oldId, OldResourceProperties: newProps }), dup, inPlace);
      if (b?.status !== 'SUCCESS') { this.log('    UPDATE_ROLLBACK_FAILED'); this.res.plansKnown = false; return; }
      this.res.physicalId = b.physicalResourceId;
      if (b.physicalResourceId !== oldId) await this.deliver(this.event('Delete', oldProps, { PhysicalResourceId: oldId }), dup);
    } finally {
      this.cfnBusy = false;
      this.bump();
    }
  }

  private async deleteOp(dup: Dup): Promise<void> {
    this.cfnBusy = true;
    this.res.deleting = true;
    try {
      const a = await this.deliver(this.event('Delete', this.props(this.res.role, this.res.touch, this.res.plans), { PhysicalResourceId: this.res.physicalId }), dup);
      // DELETE_FAILED: the resource stays, condemned (the only way on is to delete it again), so AWSCURRENT need not work.
      if (a?.status !== 'SUCCESS') { this.log('    DELETE_FAILED'); return; }
      this.res.exists = false;
      this.res.deleting = false;
      this.deleteStackSecret();
    } finally {
      this.cfnBusy = false;
      this.bump();
    }
  }

  /** CloudFormation deletes the stack's secret after the custom resource, without a recovery window. */
  private deleteStackSecret(): void {
    this.world.sm.deleteSecret({ SecretId: SECRET_ARN, ForceDeleteWithoutRecovery: true });
    this.log('    CloudFormation deletes the secret');
  }

  // ---------- Secrets Manager rotation ----------

  private pendingRotation(): string | undefined {
    const s = this.world.sm.find(SECRET_ARN);
    const pending = s?.holderOf('AWSPENDING');
    return pending && pending !== s!.holderOf('AWSCURRENT') ? pending.id : undefined;
  }

  private async rotateOp(dup: boolean, why: string): Promise<void> {
    const s = this.world.sm.find(SECRET_ARN);
    if (!s) return;
    this.rotationBusy = true;
    try {
      // RotateSecret reuses the version a rotation that did not finish left with AWSPENDING.
      const token = this.pendingRotation() ?? rotationToken(++this.tokens);
      this.log(`${why} (token ${token.slice(0, 8)})${dup ? ', each step delivered twice' : ''}`);
      this.world.sm.beginRotation(SECRET_ARN, token);
      for (const step of STEPS) {
        const event = { Step: step, SecretId: SECRET_ARN, ClientRequestToken: token };
        const label = `${step}[${token.slice(0, 8)}]`;
        const invs = [this.start('rotation', label, event)];
        if (dup) invs.push(this.start('rotation', `${label}'`, event));
        await this.until(() => invs.every((i) => i.crashed || i.returned));
        if (!invs.some((i) => i.returned && !i.error)) {
          this.log(`    rotation failed at ${step}${invs[0].error ? `: ${String((invs[0].error as Error).message).slice(0, 160)}` : ''}`);
          return;
        }
      }
      this.applied.add('rotate-finished');
    } finally {
      this.rotationBusy = false;
      this.bump();
    }
  }

  // ---------- invocations, time, settling ----------

  private start(kind: Invocation['kind'], label: string, event: Record<string, unknown>, inPlace = false): Invocation {
    const now = Date.now();
    const inv: Invocation = {
      run: this, label, kind, inPlace, conflicted: new Set(), returned: false, crashed: false, killAt: now + FUNCTION_TIMEOUT_MS,
      guardAt: kind === 'cfn' ? now + guardAfterMs(FUNCTION_TIMEOUT_MS) : undefined,
    };
    this.invocations.push(inv);
    this.log(`  start ${label}`);
    invoke(inv, event, FUNCTION_TIMEOUT_MS).then(
      () => { inv.returned = true; this.bump(); },
      (err) => { inv.returned = true; inv.error = err; this.bump(); });
    this.bump();
    return inv;
  }

  /** Not crashed, and either still running or with work left that a thawed sandbox would resume. */
  private running(inv: Invocation): boolean {
    return !inv.crashed && (!inv.returned || this.pending.some((p) => p.inv === inv));
  }

  private until(pred: () => boolean): Promise<void> {
    if (pred()) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ until: pred, resolve }));
  }

  /** Lets every continuation run until nothing changes any more (the handler's I/O is all in `pending`, so microtasks are all there is). */
  private async settle(): Promise<void> {
    let seen: number;
    do {
      seen = this.progress;
      await new Promise((r) => setImmediate(r));
    } while (seen !== this.progress);
  }

  /**
   * Moves the fake clock on to `t`, stopping at every guard, at the end of the guard's wait for its revocations, and
   * at every Lambda timeout on the way, so that each happens in its order; Lambda ends an invocation at its timeout.
   */
  private async advanceTo(t: number): Promise<void> {
    while (Date.now() < t) {
      const now = Date.now();
      const stops = this.invocations.filter((i) => !i.crashed && !i.returned)
        .flatMap((i) => [i.guardAt, i.guardAt === undefined ? undefined : i.guardAt + GUARD_REVOKE_WAIT_MS, i.killAt])
        .filter((x): x is number => x !== undefined && x > now);
      jest.advanceTimersByTime(Math.min(t, ...stops) - now);
      for (const inv of this.invocations) {
        if (!inv.crashed && !inv.returned && Date.now() >= inv.killAt) {
          this.log(`    ${inv.label} is ended by Lambda at its timeout`);
          for (const p of this.pending.filter((x) => x.inv === inv)) this.pending.splice(this.pending.indexOf(p), 1);
          inv.crashed = true;
        }
      }
      this.bump();
      await this.settle();
    }
  }

  /** A service that waits (ServiceTimeout) gives up: nothing else can answer a dead invocation. */
  private async passDeadlines(): Promise<void> {
    while (this.deadlines.length) {
      await this.advanceTo(Math.min(...this.deadlines));
      await this.settle();
    }
  }

  /** Releases everything, runs every stack operation and rotation to its end, and retries an unfinished rotation once. */
  private async drain(): Promise<void> {
    for (let round = 0; round < 2000; round++) {
      const next = [...this.pending].sort((a, b) => a.seq - b.seq)[0];
      if (next) { this.perform(next); await this.settle(); this.check(); continue; }
      if (this.deadlines.length) { await this.passDeadlines(); continue; }
      if (this.invocations.some((i) => !i.crashed && !i.returned) || this.cfnBusy || this.rotationBusy) {
        await this.advanceTo(Date.now() + 1000);
        continue;
      }
      if (this.res.exists && this.pendingRotation() && this.drainRotations++ < 2) {
        void this.rotateOp(false, 'Secrets Manager retries the rotation');
        await this.settle();
        continue;
      }
      return;
    }
    throw new Error('the drain did not end');
  }

  private quiescent(): boolean {
    return !this.cfnBusy && !this.rotationBusy && !this.invocations.some((i) => this.running(i))
      && !(this.res.exists && this.pendingRotation());
  }

  private check(): void {
    const live = this.world.liveKeys(WS);
    const quiescent = this.quiescent();
    if (quiescent) this.quiescentChecks++;
    this.maxLive = Math.max(this.maxLive, live.length);
    if (!quiescent) this.maxLiveInFlight = Math.max(this.maxLiveInFlight, live.length);
    const found = checkInvariants({
      live, isLive: (t) => this.world.isLive(t), secret: this.world.sm.find(SECRET_ARN, true),
      resourceInUse: this.res.exists && !this.res.deleting, resourceDeleted: !this.res.exists, quiescent,
      workspaceDeletedOutOfBand: this.oob.workspace, secretDeletedOutOfBand: this.oob.secret,
      plansOf: (name) => planList(this.world.workspaces.get(WS)?.plans.get(name)),
      deployedPlans: this.res.exists && !this.res.deleting && this.res.plansKnown ? PLAN_SETS[this.res.plans] : undefined,
      issuedInPlace: this.issuedInPlace,
    });
    // The known race (interleavings.test.ts, 'known: ...'): counted under its own rule, which no property enforces.
    const currentName = tokenHolderName(this.world.sm.find(SECRET_ARN, true)?.holderOf('AWSCURRENT')?.value);
    const known = found.map((v) => (v.rule === 'current-works' && currentName && this.replacedNames.has(currentName)
      ? { rule: 'known-twin-replaced' as const, detail: `${v.detail}: ${currentName} was revoked by a twin that took it for a dead attempt's` } : v));
    for (const v of known) {
      if (this.violations.some((x) => x.rule === v.rule)) continue;
      this.violations.push({ ...v, step: this.step });
      this.log(`  !! ${v.rule}: ${v.detail}`);
    }
  }
}

function tokenHolderName(value: string | undefined): string | undefined {
  try { return value ? JSON.parse(value)?.keyName : undefined; } catch { return undefined; }
}

function dupText(dup: Dup): string {
  return dup === 1 ? ', delivered twice at once' : dup === 2 ? ', delivered again after its answer' : '';
}

function rotationToken(n: number): string {
  const h = n.toString(16).padStart(12, '0');
  return `${h.slice(-8)}-0000-4000-8000-${h}`;
}

function brief(input: any): string {
  const parts: string[] = [];
  for (const k of ['keyName', 'VersionStage', 'VersionId', 'ClientRequestToken', 'MoveToVersionId', 'RemoveFromVersionId']) {
    if (input?.[k]) parts.push(`${k}=${String(input[k]).slice(0, 24)}`);
  }
  if (input?.VersionStages) parts.push(`stages=${input.VersionStages.join('+')}`);
  return parts.join(' ');
}

function transientError(op: Op): Error {
  const grafana = op.endsWith('ApiKey') || op === 'DescribeWorkspace';
  return Object.assign(new Error('We encountered an internal error. Please try again.'), { name: grafana ? 'InternalServerException' : 'InternalServiceError', $metadata: { httpStatusCode: 500 } });
}

/** Rules a property enforces. */
export const QUIESCENT_RULES: readonly Rule[] = ['reachable', 'current-works', 'at-most-2', 'none-after-delete', 'plans-as-deployed', 'in-place-issues-nothing'];
export const ALL_RULES: readonly Rule[] = [...QUIESCENT_RULES, 'reachable-in-flight'];

/** What a batch of sequences saw. */
export class Census {
  sequences = 0;
  maxLive = 0;
  maxLiveInFlight = 0;
  quiescentChecks = 0;
  readonly applied = new Set<string>();
  /** Sequences that broke each rule, and the shortest such sequence's trace. */
  readonly broken = new Map<Rule, { count: number; shortest?: readonly string[] }>();

  add(o: Outcome): void {
    this.sequences++;
    this.maxLive = Math.max(this.maxLive, o.maxLive);
    this.maxLiveInFlight = Math.max(this.maxLiveInFlight, o.maxLiveInFlight);
    this.quiescentChecks += o.quiescentChecks;
    for (const a of o.applied) this.applied.add(a);
    for (const v of o.violations) {
      const b = this.broken.get(v.rule) ?? { count: 0 };
      b.count++;
      if (!b.shortest || o.trace.length < b.shortest.length) b.shortest = o.trace;
      this.broken.set(v.rule, b);
    }
  }

  summary(): string {
    const rules = [...this.broken].map(([rule, b]) => `${rule}: ${b.count}`).join(', ') || 'none';
    return `${this.sequences} sequences; most live credentials ${this.maxLive}, ${this.maxLiveInFlight} while events overlapped; `
      + `${this.quiescentChecks} checks at rest; sequences breaking a rule: ${rules}`;
  }
}

/** Runs one sequence; throws (with the trace) when it breaks one of `rules`. */
export async function runAndCheck(actions: readonly Action[], rules: readonly Rule[], census?: Census): Promise<void> {
  jest.clearAllTimers();
  forgetCalls();
  const outcome = await new Interleaving().run(actions);
  census?.add(outcome);
  const broken = outcome.violations.filter((v) => rules.includes(v.rule));
  if (broken.length) {
    throw new Error(`${broken.map((v) => `${v.rule} (at step ${v.step}): ${v.detail}`).join('\n')}\n--- interleaving ---\n${outcome.trace.join('\n')}`);
  }
}
