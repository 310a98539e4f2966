/**
 * Runs handler invocations the way Lambda does for this test bed: each one in
 * its own node process, with the function's environment plus the stand-ins'
 * endpoints, killed at the function's timeout. The next process for a function
 * is started while the current one runs (its init overlaps), which keeps
 * "one process per invocation" affordable in long soaks. Keeps every log.
 */
import { ChildProcess, fork } from 'child_process';
import { randomUUID } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';

export function packageRoot(): string {
  let dir = __dirname;
  while (!fs.existsSync(path.join(dir, 'package.json'))) {
    const up = path.dirname(dir);
    if (up === dir) throw new Error('package.json not found above the test bed');
    dir = up;
  }
  return dir;
}

const RUNNER = path.join(packageRoot(), 'test', 'testbed', 'cfn', 'invoke-runner.js');
const CLOCK_PRELOAD = path.join(packageRoot(), 'test', 'testbed', 'cfn', 'clock-preload.js');

export interface FunctionSpec {
  readonly functionName: string;
  readonly assetDir: string;
  readonly handler: string;
  readonly timeoutMs: number;
  readonly environment: Record<string, string>;
}

export interface InvocationResult {
  readonly ok: boolean;
  readonly timedOut: boolean;
  readonly error?: { name?: string; message?: string };
  readonly logs: string;
  readonly durationMs: number;
  readonly exitCode: number | null;
}

export interface InvokeOptions {
  /** Kill the process this many ms after the invocation starts, as a crash would (the process dies). */
  readonly crashAfterMs?: number;
  /** Kill the process when this settles (if the invocation is still running): a crash at a chosen moment. */
  readonly crashWhen?: Promise<unknown>;
}

/**
 * An execution environment kept for several invocations, as Lambda keeps one
 * warm for back-to-back invocations. Open one, invoke through it, close it.
 */
export interface ReusedEnvironment {
  env?: Environment;
  logOffset: number;
}

interface Environment {
  readonly child: ChildProcess;
  readonly ready: Promise<void>;
  readonly exited: Promise<number | null>;
  output: string;
}

export class LambdaHost {
  readonly logs: string[] = [];
  invocations = 0;
  /** Time spent waiting for a process to finish its init, summed (the part not hidden by starting early). */
  readyWaitMs = 0;
  /** Processes already started (their init running) for each function, next in line first. */
  private readonly spare = new Map<string, Environment[]>();
  /** How many processes per function are started ahead of need. */
  prestart = 1;
  /** Keep only the most recent logs when a long run would otherwise hold too many. */
  maxLogs = Infinity;

  constructor(private readonly baseEnv: () => Record<string, string>) {}

  private start(fn: FunctionSpec): Environment {
    const { TESTBED_CLOCK_OFFSET_MS: _offset, ...env } = this.baseEnv();
    const child = fork(RUNNER, [fn.assetDir, fn.handler], {
      env: {
        PATH: process.env.PATH ?? '',
        AWS_LAMBDA_FUNCTION_NAME: fn.functionName,
        AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '256',
        AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs24.x',
        NODE_NO_WARNINGS: '1',
        NODE_OPTIONS: `--require ${CLOCK_PRELOAD}`,
        ...fn.environment,
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    });
    const environment: Environment = {
      child,
      output: '',
      ready: new Promise<void>((resolve) => child.once('message', () => resolve())),
      exited: new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code))),
    };
    child.stdout!.on('data', (d: Buffer) => { environment.output += d.toString(); });
    child.stderr!.on('data', (d: Buffer) => { environment.output += d.toString(); });
    return environment;
  }

  async invoke(fn: FunctionSpec, event: unknown, opts: InvokeOptions = {}): Promise<InvocationResult> {
    this.invocations++;
    const env = this.takeStarted(fn);
    const waitStart = Date.now();
    const ready = await Promise.race([env.ready.then(() => true), env.exited.then(() => false)]);
    this.readyWaitMs += Date.now() - waitStart;
    const started = Date.now();
    // A process that died during init gets no event (sending would throw ERR_IPC_CHANNEL_CLOSED): its exit is the answer.
    if (ready) {
      env.child.send({
        event, timeoutMs: fn.timeoutMs, functionName: fn.functionName, requestId: randomUUID(),
        env: { TESTBED_CLOCK_OFFSET_MS: this.baseEnv().TESTBED_CLOCK_OFFSET_MS ?? '0' },
      }, (err) => { if (err) env.child.kill('SIGKILL'); });
    }
    const watch = this.watch(env, fn, opts);
    const exitCode = await env.exited;
    watch.stop();
    // Let the pipes drain what the process wrote just before it exited.
    await new Promise((r) => setImmediate(r));
    let output = env.output;
    const marker = output.lastIndexOf('__INVOCATION_ERROR__');
    let error: InvocationResult['error'];
    if (marker >= 0) {
      const start = marker + '__INVOCATION_ERROR__'.length;
      const end = output.indexOf('\n', start);
      try { error = JSON.parse(output.slice(start, end === -1 ? undefined : end)); } catch { error = { message: 'unparseable error' }; }
      // Only the marker line goes: stdout and stderr arrive on separate pipes, so what the handler wrote to stdout may come after it.
      output = output.slice(0, marker) + (end === -1 ? '' : output.slice(end + 1));
    }
    this.keepLog(output);
    return { ok: exitCode === 0, timedOut: watch.timedOut, error, logs: output, durationMs: Date.now() - started, exitCode };
  }

  private keepLog(output: string): void {
    this.logs.push(output);
    if (this.logs.length > this.maxLogs) this.logs.splice(0, this.logs.length - this.maxLogs);
  }

  /** Kills the process at the function's timeout, or when the invocation asks for a crash; stop() once it answered. */
  private watch(env: Environment, fn: FunctionSpec, opts: InvokeOptions): { readonly timedOut: boolean; stop(): void } {
    let running = true;
    let timedOut = false;
    const timer = setTimeout(() => { timedOut = true; env.child.kill('SIGKILL'); }, fn.timeoutMs);
    const crash = opts.crashAfterMs !== undefined ? setTimeout(() => env.child.kill('SIGKILL'), opts.crashAfterMs) : undefined;
    void opts.crashWhen?.then(() => { if (running) env.child.kill('SIGKILL'); });
    return {
      get timedOut() { return timedOut; },
      stop() { running = false; clearTimeout(timer); if (crash) clearTimeout(crash); },
    };
  }

  /** The spare processes for this function's current asset; spares for an asset a stack update replaced are ended. */
  private queueFor(fn: FunctionSpec): Environment[] {
    const key = `${fn.functionName}:${fn.assetDir}`;
    for (const [other, queue] of this.spare) {
      if (other !== key && other.startsWith(`${fn.functionName}:`)) {
        for (const env of queue) env.child.kill('SIGKILL');
        this.spare.delete(other);
      }
    }
    const queue = this.spare.get(key) ?? [];
    this.spare.set(key, queue);
    return queue;
  }

  /** A process whose init is under way (or done), and another started to take its place. */
  private takeStarted(fn: FunctionSpec): Environment {
    const queue = this.queueFor(fn);
    const env = queue.shift() ?? this.start(fn);
    while (queue.length < this.prestart) queue.push(this.start(fn));
    return env;
  }

  /** Invokes in a kept environment (started on first use, or again after a crash or timeout). */
  async invokeReusing(reuse: ReusedEnvironment, fn: FunctionSpec, event: unknown, opts: InvokeOptions = {}): Promise<InvocationResult> {
    this.invocations++;
    if (!reuse.env) {
      reuse.env = this.takeStarted(fn);
      reuse.logOffset = 0;
      await Promise.race([reuse.env.ready, reuse.env.exited]);
    }
    const env = reuse.env;
    if (env.child.exitCode !== null || env.child.signalCode !== null) {
      // Died during init: this invocation fails as the process did; the next one starts a new environment.
      reuse.env = undefined;
      const output = env.output.slice(reuse.logOffset);
      this.keepLog(output);
      return { ok: false, timedOut: false, error: { message: 'the execution environment exited during init' }, logs: output, durationMs: 0, exitCode: env.child.exitCode };
    }
    const started = Date.now();
    const answer = new Promise<{ ok: boolean; error?: InvocationResult['error'] } | undefined>((resolve) => {
      env.child.once('message', (m: any) => resolve(m));
      void env.exited.then(() => resolve(undefined));
    });
    env.child.send({
      event, timeoutMs: fn.timeoutMs, functionName: fn.functionName, requestId: randomUUID(), keepAlive: true,
      env: { TESTBED_CLOCK_OFFSET_MS: this.baseEnv().TESTBED_CLOCK_OFFSET_MS ?? '0' },
    }, (err) => { if (err) env.child.kill('SIGKILL'); });
    const watch = this.watch(env, fn, opts);
    const result = await answer;
    watch.stop();
    if (!result) reuse.env = undefined; // the process died: the next invocation starts a new environment
    await new Promise((r) => setImmediate(r));
    const output = env.output.slice(reuse.logOffset);
    reuse.logOffset = env.output.length;
    this.keepLog(output);
    return { ok: !!result?.ok, timedOut: watch.timedOut, error: result?.error, logs: output, durationMs: Date.now() - started, exitCode: result ? 0 : null };
  }

  /** Ends a kept environment. */
  release(reuse: ReusedEnvironment): void {
    reuse.env?.child.kill('SIGKILL');
    reuse.env = undefined;
  }

  dispose(): void {
    for (const queue of this.spare.values()) for (const env of queue) env.child.kill('SIGKILL');
    this.spare.clear();
  }
}
