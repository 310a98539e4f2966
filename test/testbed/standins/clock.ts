/**
 * The simulated clock every stand-in decision about time uses (key expiry,
 * secret deletion dates, version dates). Tests move it; it never moves by itself.
 */
export class SimClock {
  private ms: number;

  constructor(startMs: number) {
    if (!Number.isFinite(startMs)) throw new Error(`SimClock: start time must be a finite number of ms, got ${startMs}`);
    this.ms = startMs;
  }

  /** Simulated time, epoch milliseconds. */
  now(): number {
    return this.ms;
  }

  /** Simulated time, epoch seconds (as AWS timestamps are serialized). */
  nowSeconds(): number {
    return this.ms / 1000;
  }

  /** Moves the clock forward by `ms` (negative values move it back). */
  advance(ms: number): number {
    if (!Number.isFinite(ms)) throw new Error(`SimClock.advance: ms must be finite, got ${ms}`);
    this.ms += ms;
    return this.ms;
  }

  /** Sets the clock to an absolute epoch-ms time. */
  set(ms: number): number {
    if (!Number.isFinite(ms)) throw new Error(`SimClock.set: ms must be finite, got ${ms}`);
    this.ms = ms;
    return this.ms;
  }
}
