/**
 * The timeout guard. CloudFormation must get an answer before the function
 * times out, so the entry point answers FAILED shortly before that. From then
 * on this invocation may not write or promote anything: a credential it
 * issues afterwards is revoked, and one whose write was already on its way
 * lands under its own OWN label only, where the next event's reconcile finds it.
 */
import { AbandonedError } from './ledger';

/** How long before the function's timeout the guard answers FAILED. */
export function guardMarginMs(timeoutMs: number): number {
  return Math.min(20_000, Math.max(1_000, Math.round(timeoutMs * 0.15)));
}

export class Guard {
  private givenUp = false;

  /** Throws once the guard has given up. */
  check(): void {
    if (this.givenUp) throw new AbandonedError();
  }

  /**
   * Runs `work`, or resolves 'timeout' when `remainingMs` less the margin has
   * passed first; from then on check() throws.
   */
  async run<T>(work: Promise<T>, remainingMs: number): Promise<T | 'timeout'> {
    const limitMs = Math.max(0, remainingMs - guardMarginMs(remainingMs));
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((resolve) => { timer = setTimeout(() => resolve('timeout'), limitMs); });
    const outcome = await Promise.race([work, timeout]);
    clearTimeout(timer);
    if (outcome === 'timeout') this.givenUp = true;
    return outcome;
  }
}
