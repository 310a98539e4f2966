/**
 * Runs handler invocations the way Lambda does for this test bed: each one in
 * its own node process, with the function's environment plus the stand-ins'
 * endpoints, killed at the function's timeout. Keeps every invocation's logs.
 */
import { fork } from 'child_process';
import { randomUUID } from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
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
  /** Kill the process this many ms after start, as a crash would (the process dies). */
  readonly crashAfterMs?: number;
}

export class LambdaHost {
  readonly logs: string[] = [];
  invocations = 0;
  private readonly workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'grafana-credentials-testbed-'));

  constructor(private readonly baseEnv: () => Record<string, string>) {}

  async invoke(fn: FunctionSpec, event: unknown, opts: InvokeOptions = {}): Promise<InvocationResult> {
    this.invocations++;
    const jobFile = path.join(this.workDir, `${randomUUID()}.json`);
    fs.writeFileSync(jobFile, JSON.stringify({
      assetDir: fn.assetDir, handler: fn.handler, event, timeoutMs: fn.timeoutMs, functionName: fn.functionName, requestId: randomUUID(),
    }));
    const started = Date.now();
    const child = fork(RUNNER, [jobFile], {
      env: {
        PATH: process.env.PATH ?? '',
        AWS_LAMBDA_FUNCTION_NAME: fn.functionName,
        AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '256',
        AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs22.x',
        NODE_NO_WARNINGS: '1',
        NODE_OPTIONS: `--require ${CLOCK_PRELOAD}`,
        ...fn.environment,
        ...this.baseEnv(),
      },
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    });
    let output = '';
    child.stdout!.on('data', (d: Buffer) => { output += d.toString(); });
    child.stderr!.on('data', (d: Buffer) => { output += d.toString(); });
    let timedOut = false;
    const timer = setTimeout(() => { timedOut = true; child.kill('SIGKILL'); }, fn.timeoutMs);
    const crash = opts.crashAfterMs !== undefined ? setTimeout(() => child.kill('SIGKILL'), opts.crashAfterMs) : undefined;
    const exitCode = await new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    clearTimeout(timer);
    if (crash) clearTimeout(crash);
    fs.rmSync(jobFile, { force: true });
    const marker = output.lastIndexOf('__INVOCATION_ERROR__');
    let error: InvocationResult['error'];
    if (marker >= 0) {
      try { error = JSON.parse(output.slice(marker + '__INVOCATION_ERROR__'.length).split('\n')[0]); } catch { error = { message: 'unparseable error' }; }
      output = output.slice(0, marker);
    }
    this.logs.push(output);
    return { ok: exitCode === 0, timedOut, error, logs: output, durationMs: Date.now() - started, exitCode };
  }

  dispose(): void {
    fs.rmSync(this.workDir, { recursive: true, force: true });
  }
}
