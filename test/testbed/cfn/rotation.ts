/**
 * Secrets Manager's side of rotation: picks the ClientRequestToken (re-using
 * the version that still carries AWSPENDING when a previous rotation did not
 * finish, as the service does), attaches AWSPENDING to it, then invokes the
 * four steps in order, each in its own process, stopping at the first failure.
 */
import { randomUUID } from 'crypto';
import type { AwsStandIns } from '../aws/standins';
import type { CfnDriver } from './driver';
import type { InvocationResult } from './lambda-host';

export const STEPS = ['createSecret', 'setSecret', 'testSecret', 'finishSecret'] as const;
export type Step = typeof STEPS[number];

export interface RotateOptions {
  /** Invoke every step twice, as a retried invocation would. */
  readonly repeatEachStep?: boolean;
  /** Kill the process during this step (after `crashAfterMs`, default 150 ms): the process dies mid-step. */
  readonly crashDuring?: Step;
  readonly crashAfterMs?: number;
  /** Instead of a time: kill the process during `crashDuring` when this settles. */
  readonly crashWhen?: Promise<unknown>;
  /**
   * Runs each step's invocation (default: at once). The soak passes a lock so that rotations of different
   * secrets overlap step by step but no two steps run at the same instant: the order of AWS calls, and so
   * which call a seeded fault hits, is the same in every run.
   */
  readonly runStep?: <T>(invoke: () => Promise<T>) => Promise<T>;
  /** Runs before each step; tests use it to interfere (revoke a key, deploy an update). */
  readonly between?: (step: Step, token: string) => Promise<void>;
  /**
   * Run the four steps in one execution environment, as Lambda reuses a warm
   * one for back-to-back invocations (a crash still kills it). Default: each
   * step in a process of its own.
   */
  readonly reuseEnvironment?: boolean;
}

export interface RotationOutcome {
  readonly ok: boolean;
  readonly token: string;
  readonly failedStep?: Step;
  readonly error?: string;
  readonly invocations: InvocationResult[];
}

export async function rotate(driver: CfnDriver, standins: AwsStandIns, secretArn: string, opts: RotateOptions = {}): Promise<RotationOutcome> {
  const secret = standins.secret(secretArn);
  if (!secret) throw new Error(`no secret ${secretArn}`);
  const current = secret.versions.find((v) => v.stages.includes('AWSCURRENT'));
  const pending = secret.versions.find((v) => v.stages.includes('AWSPENDING'));
  const token = pending && pending.versionId !== current?.versionId ? pending.versionId : randomUUID();
  standins.beginRotation(secretArn, token);
  const invocations: InvocationResult[] = [];
  const reuse = opts.reuseEnvironment ? { logOffset: 0 } : undefined;
  try {
  for (const step of STEPS) {
    if (opts.between) await opts.between(step, token);
    const crash = opts.crashDuring !== step ? {}
      : opts.crashWhen ? { crashWhen: opts.crashWhen } : { crashAfterMs: opts.crashAfterMs ?? 150 };
    for (let i = 0; i < (opts.repeatEachStep ? 2 : 1); i++) {
      const invoke = () => driver.rotationStep(secretArn, step, token, { ...crash, reuse });
      const result = await (opts.runStep ? opts.runStep(invoke) : invoke());
      invocations.push(result);
      if (!result.ok) {
        return { ok: false, token, failedStep: step, error: result.error?.message ?? (result.timedOut ? 'timed out' : `exit ${result.exitCode}`), invocations };
      }
    }
  }
  } finally {
    if (reuse) driver.host.release(reuse);
  }
  return { ok: true, token, invocations };
}
