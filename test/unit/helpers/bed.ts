/**
 * A test bed for the Lambda entry point: a fresh in-memory AWS per test, a
 * local ResponseURL that records what the handler PUTs, CloudFormation and
 * rotation event builders, and a leak check that runs after every test
 * (no issued token in any log line, response body or thrown error; every
 * response fits CloudFormation's 4,096 bytes).
 */
import * as http from 'http';
import type { AddressInfo } from 'net';
import { handler } from '../../../lambda/index';
import { MANAGED_SECRETS_ENV } from '../../../lib/private/contract';
import { installFakeAws, World } from './fake-aws';
import { HttpsWorkspace, startHttpsWorkspace } from './https-workspace';

export const WS = 'g-0a1b2c3d4e';
export const SECRET_ARN = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:grafana-credentials/Stack/Key-AbCdEf';
export const PREFIX = 'Stack-Key';
/** The list of rotated secrets the construct would write into the function's environment: the stack's default names, and one named secret. */
export const MANAGED_SECRETS = JSON.stringify({
  arnPrefix: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:', prefixes: ['grafana-credentials/Stack/'], names: { '': ['missing'] },
});
process.env[MANAGED_SECRETS_ENV] = MANAGED_SECRETS;
export const STACK_ID = 'arn:aws:cloudformation:us-east-1:123456789012:stack/Stack/0f1e2d3c-0000-1111-2222-333344445555';

/** Properties as the WorkspaceApiKey construct writes them. */
export function keyProps(overrides: Record<string, string> = {}): Record<string, string> {
  return {
    ServiceToken: 'arn:aws:lambda:us-east-1:123456789012:function:Handler',
    Kind: 'amg-api-key', SecretArn: SECRET_ARN, WorkspaceId: WS, NamePrefix: PREFIX, SecondsToLive: '86400', Role: 'VIEWER',
    ...overrides,
  };
}

/** What the handler PUT to the ResponseURL. */
export interface Answer {
  readonly Status: 'SUCCESS' | 'FAILED';
  readonly Reason?: string;
  readonly PhysicalResourceId: string;
  readonly StackId: string;
  readonly RequestId: string;
  readonly LogicalResourceId: string;
  readonly NoEcho?: boolean;
  readonly Data?: Record<string, string>;
}

/** A Lambda context whose remaining time counts down from `remainingMs`. */
export function lambdaContext(remainingMs = 60_000): any {
  const deadline = Date.now() + remainingMs;
  return {
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    awsRequestId: 'x', functionName: 'Handler', functionVersion: '$LATEST', invokedFunctionArn: 'arn:fn', memoryLimitInMB: '256',
    logGroupName: '/aws/lambda/Handler', logStreamName: 's', callbackWaitsForEmptyEventLoop: true,
  };
}

export function deferred<T = void>(): { promise: Promise<T>; resolve: (v: T) => void } {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => { resolve = r; });
  return { promise, resolve };
}

/** Lets pending promise continuations (e.g. work left running after the guard answered) settle. */
export async function settle(rounds = 20): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise((r) => setImmediate(r));
}

export interface Bed {
  world: World;
  /** Every body PUT to the ResponseURL, in order. */
  readonly bodies: string[];
  /** Every console line written during the current test, and every metric line (EMF) written to stdout. */
  readonly logs: string[];
  /** The metric lines (Embedded Metric Format) written during the current test, parsed. */
  readonly metrics: Array<Record<string, any>>;
  /** Messages of errors the handler threw (rotation steps). */
  readonly errors: string[];
  responseUrl: string;
  /** HTTP statuses the ResponseURL answers next (then 200); 0 means it never answers that request. */
  readonly responseStatuses: number[];
  /** Called when an answer arrives at the ResponseURL, before the handler returns (to observe state at answer time). */
  onAnswer?: (body: string) => void;
  create(opts?: { requestId?: string; props?: Record<string, string>; remainingMs?: number }): Promise<Answer>;
  update(opts: { physicalId: string; props: Record<string, string>; oldProps: Record<string, string>; requestId?: string; remainingMs?: number }): Promise<Answer>;
  del(opts: { physicalId: string; props?: Record<string, string>; requestId?: string; remainingMs?: number }): Promise<Answer>;
  /** Runs one rotation step through the entry point; resolves to the error it threw, if any. */
  rotate(step: string, token: string, secretId?: string): Promise<Error | undefined>;
  /** Raw entry-point call with an event; returns the answer it PUT. */
  invoke(event: Record<string, unknown>, remainingMs?: number): Promise<Answer>;
}

/**
 * Registers the hooks of a handler test file and returns the bed. Each test
 * starts with one workspace (WS, Grafana 10.4) and one empty secret
 * (SECRET_ARN). The workspace's endpoint is a local https stand-in of its
 * Grafana HTTP API: GET /api/org answers 200 for a key live in the fake
 * Grafana, 401 otherwise.
 */
export function useBed(): Bed {
  const fake = installFakeAws(() => bed.world);
  let server: http.Server;
  let grafanaHttp: HttpsWorkspace;
  const spies: jest.SpyInstance[] = [];
  let counter = 0;

  const bed: Bed = {
    world: new World(),
    bodies: [],
    logs: [],
    metrics: [],
    errors: [],
    responseUrl: '',
    responseStatuses: [],
    async invoke(event, remainingMs = 60_000) {
      const before = bed.bodies.length;
      await handler(event, lambdaContext(remainingMs));
      const mine = bed.bodies.slice(before);
      if (mine.length !== 1) throw new Error(`expected exactly one answer to the ResponseURL, got ${mine.length}`);
      return JSON.parse(mine[0]) as Answer;
    },
    create({ requestId = `req-create-${++counter}`, props = keyProps(), remainingMs } = {}) {
      return bed.invoke({ ...base(), RequestType: 'Create', RequestId: requestId, ResourceProperties: props }, remainingMs);
    },
    update({ physicalId, props, oldProps, requestId = `req-update-${++counter}`, remainingMs }) {
      return bed.invoke({
        ...base(), RequestType: 'Update', RequestId: requestId, PhysicalResourceId: physicalId,
        ResourceProperties: props, OldResourceProperties: oldProps,
      }, remainingMs);
    },
    del({ physicalId, props = keyProps(), requestId = `req-delete-${++counter}`, remainingMs }) {
      return bed.invoke({ ...base(), RequestType: 'Delete', RequestId: requestId, PhysicalResourceId: physicalId, ResourceProperties: props }, remainingMs);
    },
    async rotate(step, token, secretId = SECRET_ARN) {
      try {
        await handler({ Step: step, SecretId: secretId, ClientRequestToken: token }, lambdaContext());
        return undefined;
      } catch (err) {
        bed.errors.push(String((err as Error)?.message ?? err));
        return err as Error;
      }
    },
  };

  const base = () => ({
    ServiceToken: 'arn:aws:lambda:us-east-1:123456789012:function:Handler',
    ResponseURL: bed.responseUrl,
    StackId: STACK_ID,
    LogicalResourceId: 'ApiKey1A2B3C4D',
    ResourceType: 'Custom::GrafanaWorkspaceApiKey',
  });

  beforeAll(async () => {
    server = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c) => { body += c; });
      req.on('end', () => {
        const status = bed.responseStatuses.shift() ?? 200;
        if (status === 0) return; // hangs: the handler's own timeout must end the attempt
        if (req.method === 'PUT' && status === 200) {
          bed.bodies.push(body);
          bed.onAnswer?.(body);
        }
        res.writeHead(status).end();
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    bed.responseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/cloudformation-response?X-Amz-Signature=abc`;
    grafanaHttp = await startHttpsWorkspace((req, res) => {
      const ok = req.method === 'GET' && req.url === '/api/org' && bed.world.isLive((req.headers.authorization ?? '').replace(/^Bearer /, ''));
      res.writeHead(ok ? 200 : 401).end();
    });
  });
  afterAll(async () => {
    await grafanaHttp.close();
    await new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); });
  });

  beforeEach(() => {
    bed.world = new World();
    bed.world.addWorkspace(WS).endpoint = grafanaHttp.host;
    bed.world.addSecret(SECRET_ARN);
    fake.wire();
    bed.bodies.length = 0;
    bed.logs.length = 0;
    bed.metrics.length = 0;
    bed.errors.length = 0;
    bed.responseStatuses.length = 0;
    bed.onAnswer = undefined;
    for (const method of ['log', 'error', 'warn', 'info', 'debug'] as const) {
      spies.push(jest.spyOn(console, method).mockImplementation((...args: unknown[]) => {
        bed.logs.push(args.map((a) => (typeof a === 'string' ? a : JSON.stringify(a))).join(' '));
      }));
    }
    // The handler writes metric lines straight to stdout (see lambda/metrics.ts).
    const write = process.stdout.write.bind(process.stdout);
    spies.push(jest.spyOn(process.stdout, 'write').mockImplementation(((chunk: unknown, ...rest: unknown[]) => {
      const text = String(chunk);
      if (!text.startsWith('{"_aws"')) return (write as (...a: unknown[]) => boolean)(chunk, ...rest);
      bed.logs.push(text.trimEnd());
      bed.metrics.push(JSON.parse(text));
      return true;
    }) as typeof process.stdout.write));
  });

  afterEach(() => {
    while (spies.length) spies.pop()!.mockRestore();
    assertNoLeaks(bed);
  });

  return bed;
}

/** Fails when any issued token appears in a log line, a response body or an error message. */
export function assertNoLeaks(bed: Pick<Bed, 'world' | 'bodies' | 'logs' | 'errors'>): void {
  const haystacks = [...bed.bodies, ...bed.logs, ...bed.errors];
  for (const token of bed.world.issuedTokens) {
    const hit = haystacks.find((text) => text.includes(token));
    if (hit !== undefined) throw new Error(`an issued token leaked into a log line, response or error: ${hit.slice(0, 300)}`);
  }
  for (const body of bed.bodies) {
    if (Buffer.byteLength(body) > 4096) throw new Error(`a response is ${Buffer.byteLength(body)} bytes, over CloudFormation's 4,096`);
  }
}

/** The log lines, parsed (the handler logs one JSON object per line). */
export function parsedLogs(bed: Pick<Bed, 'logs'>): Array<Record<string, any>> {
  return bed.logs.flatMap((line) => { try { return [JSON.parse(line)]; } catch { return []; } });
}
