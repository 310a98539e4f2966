/**
 * Faults on demand: scripted per operation, seeded-random for soak tests, and
 * real-time rate limits (token buckets).
 *
 * Operation patterns (FaultSpec.operation, rateLimit, random.operations):
 * - an operation name: 'CreateWorkspaceApiKey', 'PutSecretValue', 'GrafanaApiOrg', ...
 * - '*': every AWS control-plane operation (Amazon Managed Grafana and Secrets Manager),
 *   not the workspaces' Grafana HTTP API
 * - 'grafana:*', 'secretsmanager:*': every operation of that service
 * - 'workspace:*': every request to the workspaces' Grafana HTTP API (HTTPS)
 */
import { performance } from 'perf_hooks';
import { mulberry32 } from './rng';

export type FaultKind = 'throttle' | 'serverError' | 'delay' | 'drop' | 'hang';
export type ServiceName = 'grafana' | 'secretsmanager' | 'workspace';

export interface FaultCall {
  readonly op: string;
  readonly service: ServiceName;
  /** The parsed request: JSON body for AWS operations, plus URI labels/query for Grafana. */
  readonly input: Readonly<Record<string, unknown>>;
}

export interface FaultSpec {
  /** Operation name or pattern (see the file comment). */
  readonly operation: string;
  readonly kind: FaultKind;
  /** How many matching calls this fault hits; default 1; Infinity allowed. */
  readonly times?: number;
  /** For 'delay': real milliseconds to wait; default 1000. */
  readonly delayMs?: number;
  /**
   * For 'delay', 'drop' and 'hang': let the call take effect first, then delay,
   * lose or withhold the answer (the client does not learn that, e.g., a key was
   * created). Default false: the fault happens before the request is processed.
   */
  readonly afterProcessing?: boolean;
  /** Only calls for which this returns true are hit (and count towards `times`). */
  readonly match?: (call: FaultCall) => boolean;
}

export interface RandomFaults {
  /** Probability per call of a throttling answer. */
  readonly throttleRate?: number;
  /** Probability per call of a server-error answer. */
  readonly serverErrorRate?: number;
  /** Seed of the generator, so a run repeats; default 1. */
  readonly seed?: number;
  /** Operation patterns subject to random faults; default ['*'] (every AWS operation). */
  readonly operations?: readonly string[];
}

export interface FaultDecision {
  readonly kind: FaultKind;
  readonly delayMs: number;
  readonly afterProcessing: boolean;
  readonly source: 'scripted' | 'rateLimit' | 'random';
}

const KINDS: readonly FaultKind[] = ['throttle', 'serverError', 'delay', 'drop', 'hang'];

/** Whether `pattern` covers operation `op` of `service`. */
export function operationMatches(pattern: string, op: string, service: ServiceName): boolean {
  if (pattern === op) return true;
  if (pattern === '*') return service !== 'workspace';
  if (pattern === 'grafana:*') return service === 'grafana';
  if (pattern === 'secretsmanager:*') return service === 'secretsmanager';
  if (pattern === 'workspace:*') return service === 'workspace';
  return false;
}

interface Bucket { perSecond: number; tokens: number; last: number }

export class Faults {
  private scripted: Array<{ spec: FaultSpec; left: number }> = [];
  private randomConfig?: { throttleRate: number; serverErrorRate: number; operations: readonly string[] };
  private randomNext: () => number = mulberry32(1);
  private readonly buckets = new Map<string, Bucket>();
  /** Faults injected so far, by kind (throttle answers from rate limits included). */
  readonly injected: Record<FaultKind, number> = { throttle: 0, serverError: 0, delay: 0, drop: 0, hang: 0 };

  /** Adds a scripted fault. Faults are consulted in the order they were added. */
  add(spec: FaultSpec): void {
    if (!spec || typeof spec.operation !== 'string' || !spec.operation) throw new Error('faults.add: operation is required');
    if (!KINDS.includes(spec.kind)) throw new Error(`faults.add: kind must be one of ${KINDS.join(', ')}`);
    const times = spec.times ?? 1;
    if (!(times > 0)) throw new Error('faults.add: times must be > 0 (Infinity allowed)');
    if (spec.delayMs !== undefined && !(spec.delayMs >= 0)) throw new Error('faults.add: delayMs must be >= 0');
    this.scripted.push({ spec, left: times });
  }

  /** Removes scripted faults, random faults and rate limits. */
  clear(): void {
    this.scripted = [];
    this.randomConfig = undefined;
    this.buckets.clear();
  }

  /** Seeded random faults for soak tests; `undefined` turns them off. */
  random(opts: RandomFaults | undefined): void {
    if (!opts) {
      this.randomConfig = undefined;
      return;
    }
    const throttleRate = opts.throttleRate ?? 0;
    const serverErrorRate = opts.serverErrorRate ?? 0;
    if (throttleRate < 0 || serverErrorRate < 0 || throttleRate + serverErrorRate > 1) {
      throw new Error('faults.random: rates must be >= 0 and sum to at most 1');
    }
    this.randomConfig = { throttleRate, serverErrorRate, operations: opts.operations ?? ['*'] };
    this.randomNext = mulberry32(opts.seed ?? 1);
  }

  /**
   * At most `perSecond` calls per real second for the pattern (a token bucket
   * holding up to `perSecond` tokens, refilled continuously); calls beyond it
   * are answered with throttling. `undefined` removes the limit.
   */
  rateLimit(operation: string, perSecond: number | undefined): void {
    if (perSecond === undefined) {
      this.buckets.delete(operation);
      return;
    }
    if (!(perSecond > 0)) throw new Error('rateLimit: perSecond must be > 0');
    this.buckets.set(operation, { perSecond, tokens: perSecond, last: performance.now() });
  }

  /** Scripted faults not used up yet. */
  pending(): Array<{ operation: string; kind: FaultKind; left: number }> {
    return this.scripted.filter((f) => f.left > 0).map((f) => ({ operation: f.spec.operation, kind: f.spec.kind, left: f.left }));
  }

  /** The fault for this call, if any (consumes it). */
  draw(call: FaultCall): FaultDecision | undefined {
    for (const f of this.scripted) {
      if (f.left <= 0 || !operationMatches(f.spec.operation, call.op, call.service)) continue;
      if (f.spec.match && !f.spec.match(call)) continue;
      f.left--;
      return this.count({ kind: f.spec.kind, delayMs: f.spec.delayMs ?? 1000, afterProcessing: !!f.spec.afterProcessing, source: 'scripted' });
    }
    this.scripted = this.scripted.filter((f) => f.left > 0);

    const matching = [...this.buckets.entries()].filter(([pattern]) => operationMatches(pattern, call.op, call.service)).map(([, b]) => b);
    if (matching.length) {
      const now = performance.now();
      for (const b of matching) {
        b.tokens = Math.min(b.perSecond, b.tokens + ((now - b.last) / 1000) * b.perSecond);
        b.last = now;
      }
      if (matching.some((b) => b.tokens < 1)) return this.count({ kind: 'throttle', delayMs: 0, afterProcessing: false, source: 'rateLimit' });
      for (const b of matching) b.tokens -= 1;
    }

    const r = this.randomConfig;
    if (r && r.operations.some((p) => operationMatches(p, call.op, call.service))) {
      const x = this.randomNext();
      if (x < r.throttleRate) return this.count({ kind: 'throttle', delayMs: 0, afterProcessing: false, source: 'random' });
      if (x < r.throttleRate + r.serverErrorRate) return this.count({ kind: 'serverError', delayMs: 0, afterProcessing: false, source: 'random' });
    }
    return undefined;
  }

  private count(d: FaultDecision): FaultDecision {
    this.injected[d.kind]++;
    return d;
  }
}
