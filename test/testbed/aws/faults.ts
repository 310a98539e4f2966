/** Faults on demand for the stand-ins: scripted per operation, seeded random, or a rate limit. */

export type FaultKind = 'throttle' | 'serverError' | 'delay' | 'drop' | 'hang';

export interface FaultSpec {
  /** Operation name (e.g. 'CreateWorkspaceApiKey', 'PutSecretValue') or '*' for every AWS call. */
  readonly operation: string;
  readonly kind: FaultKind;
  /** How many calls it hits; default 1. */
  readonly times?: number;
  readonly delayMs?: number;
  /** For 'delay': hold the call until this settles instead of for `delayMs` (an event-driven delay). */
  readonly until?: Promise<unknown>;
  /** Called when a call hits this fault (before the fault acts), e.g. to crash the caller at that moment. */
  readonly onHit?: () => void;
}

/** mulberry32: a small seeded generator, so a run with the same seed repeats exactly. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export class FaultInjector {
  private scripted: Array<{ spec: FaultSpec; left: number }> = [];
  private randomRates?: { throttleRate: number; serverErrorRate: number };
  private random: () => number;
  private readonly limits = new Map<string, { perSecond: number; tokens: number; last: number }>();
  /** How many faults were injected, by kind. */
  readonly injected: Record<string, number> = {};

  constructor(seed: number) {
    this.random = seededRandom(seed);
  }

  add(spec: FaultSpec): void { this.scripted.push({ spec, left: spec.times ?? 1 }); }

  clear(): void { this.scripted = []; this.randomRates = undefined; this.limits.clear(); }

  setRandom(rates: { throttleRate: number; serverErrorRate: number; seed?: number } | undefined): void {
    this.randomRates = rates;
    if (rates?.seed !== undefined) this.random = seededRandom(rates.seed);
  }

  /** Beyond `perSecond` calls per real second, the operation is throttled (a token bucket). */
  rateLimit(operation: string, perSecond: number | undefined): void {
    if (perSecond === undefined) this.limits.delete(operation);
    else this.limits.set(operation, { perSecond, tokens: perSecond, last: Date.now() });
  }

  /** The fault for this call, if any. Grafana HTTP API calls only see scripted faults. */
  draw(operation: string, isWorkspaceHttp: boolean): { kind: FaultKind; delayMs?: number; until?: Promise<unknown> } | undefined {
    const hit = this.scripted.find((f) => f.left > 0 && (f.spec.operation === operation || (f.spec.operation === '*' && !isWorkspaceHttp)));
    if (hit) {
      hit.left--;
      hit.spec.onHit?.();
      return this.count({ kind: hit.spec.kind, delayMs: hit.spec.delayMs, until: hit.spec.until });
    }
    const limit = this.limits.get(operation);
    if (limit) {
      const now = Date.now();
      limit.tokens = Math.min(limit.perSecond, limit.tokens + ((now - limit.last) / 1000) * limit.perSecond);
      limit.last = now;
      if (limit.tokens < 1) return this.count({ kind: 'throttle' });
      limit.tokens -= 1;
    }
    if (this.randomRates && !isWorkspaceHttp) {
      const r = this.random();
      if (r < this.randomRates.throttleRate) return this.count({ kind: 'throttle' });
      if (r < this.randomRates.throttleRate + this.randomRates.serverErrorRate) return this.count({ kind: 'serverError' });
    }
    return undefined;
  }

  private count<T extends { kind: FaultKind }>(fault: T): T {
    this.injected[fault.kind] = (this.injected[fault.kind] ?? 0) + 1;
    return fault;
  }
}
