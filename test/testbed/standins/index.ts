/**
 * Local stand-ins for the AWS APIs the library uses, on 127.0.0.1 only:
 * - one plain HTTP server for the AWS control planes: Amazon Managed Grafana
 *   (restJson1) and Secrets Manager (awsJson1.1, X-Amz-Target);
 * - one HTTPS server for the workspaces' Grafana HTTP API (`GET /api/org`
 *   with a bearer key), with a committed self-signed certificate.
 *
 * Errors are put on the wire as the services do, so the real AWS SDK v3
 * clients raise the real exception classes. Every time-dependent decision
 * (key expiry, scheduled secret deletion) uses a simulated clock the tests
 * control. SigV4 signatures are not verified, but requests must be signed for
 * the right service and region. Nothing here prints anything, tokens least of all.
 *
 *     const aws = await AwsStandIns.start();
 *     const ws = aws.addWorkspace();                   // Grafana 10.4
 *     spawn(process.execPath, [script], { env: { ...process.env, ...aws.env() } });
 *     aws.clock.advance(8 * 86_400_000);               // keys expire
 *     aws.faults.add({ operation: 'PutSecretValue', kind: 'throttle', times: 2 });
 *     await aws.stop();
 */
import { randomUUID } from 'crypto';
import * as http from 'http';
import * as https from 'https';
import type { AddressInfo, Socket } from 'net';
import { SimClock } from './clock';
import { ServiceError } from './errors';
import { type FaultDecision, type FaultKind, Faults, type ServiceName } from './faults';
import { ACCOUNT, GrafanaModel, type KeyInfo, REGION, type ServiceAccountInfo, type WorkspaceInfo } from './grafana';
import { Rng } from './rng';
import { type RotateHandler, type SecretInfo, SecretsManagerModel } from './secrets-manager';
import { loadOrCreateTls } from './tls';

export { ACCOUNT, REGION } from './grafana';
export { SimClock } from './clock';
export { ServiceError } from './errors';
export { Faults, operationMatches } from './faults';
export type { FaultCall, FaultDecision, FaultKind, FaultSpec, RandomFaults, ServiceName } from './faults';
export type { CredentialKind, KeyInfo, ServiceAccountInfo, WorkspaceInfo } from './grafana';
export type { RotateHandler, SecretInfo } from './secrets-manager';
export { mulberry32 } from './rng';

export interface StartOptions {
  /** Seeds generated ids (workspace ids, ARN suffixes, version ids) and the default random-fault seed; default 1. */
  readonly seed?: number;
  /** Simulated clock start, epoch ms; default Date.UTC(2026, 0, 1). */
  readonly startTime?: number;
}

export interface CallRecord {
  readonly op: string;
  readonly service: ServiceName;
  /** Simulated epoch ms at which the request arrived. */
  readonly at: number;
  /** HTTP status answered; 0 when the connection was dropped or the answer withheld (hang). */
  readonly status: number;
  readonly errorType?: string;
  readonly fault?: FaultKind;
}

const MAX_BODY = 1024 * 1024;
const SM_TARGET_PREFIX = 'secretsmanager.';

type Protocol = 'restJson' | 'awsJson';

interface AwsRequest {
  readonly service: 'grafana' | 'secretsmanager';
  readonly protocol: Protocol;
  readonly op: string;
  readonly run: () => unknown;
  readonly input: Record<string, unknown>;
}

export class AwsStandIns {
  /** Starts both servers on 127.0.0.1 (ephemeral ports). */
  static async start(opts: StartOptions = {}): Promise<AwsStandIns> {
    const s = new AwsStandIns(opts.seed ?? 1, opts.startTime ?? Date.UTC(2026, 0, 1));
    await s.listen();
    return s;
  }

  /** The simulated clock. */
  readonly clock: SimClock;
  /** Faults on demand (scripted, random, rate limits). */
  readonly faults: Faults;
  /** http://127.0.0.1:PORT — the AWS control planes. */
  url = '';
  /** https://127.0.0.1:PORT2 — every workspace's Grafana HTTP API. */
  grafanaHttpsUrl = '';
  /** The self-signed certificate the HTTPS server presents (for NODE_EXTRA_CA_CERTS). */
  readonly caCertPath: string;

  private readonly grafana: GrafanaModel;
  private readonly secretsManager: SecretsManagerModel;
  private readonly httpServer: http.Server;
  private readonly httpsServer: https.Server;
  private readonly sockets = new Set<Socket>();
  private readonly hanging = new Set<http.ServerResponse>();
  private readonly sleepers = new Set<{ timer: NodeJS.Timeout; resolve: () => void }>();
  private readonly denied = new Set<string>();
  private readonly counters = new Map<string, number>();
  private calls: CallRecord[] = [];
  private stopped = false;

  private constructor(seed: number, startTime: number) {
    this.clock = new SimClock(startTime);
    const rng = new Rng(seed);
    this.faults = new Faults();
    this.faults.random(undefined);
    this.grafana = new GrafanaModel(this.clock, rng, () => this.grafanaHttpsUrl.replace(/^https:\/\//, ''));
    this.secretsManager = new SecretsManagerModel(this.clock, rng);
    const tls = loadOrCreateTls();
    this.caCertPath = tls.certPath;
    this.httpServer = http.createServer((req, res) => this.receive(req, res, 'aws'));
    this.httpsServer = https.createServer({ key: tls.key, cert: tls.cert }, (req, res) => this.receive(req, res, 'workspace'));
    for (const server of [this.httpServer, this.httpsServer]) {
      server.on('connection', (socket: Socket) => {
        this.sockets.add(socket);
        socket.on('close', () => this.sockets.delete(socket));
      });
      server.on('clientError', (_err, socket) => socket.destroy());
    }
    this.httpsServer.on('tlsClientError', () => { /* a client that rejects the certificate: nothing to answer */ });
  }

  private async listen(): Promise<void> {
    await new Promise<void>((resolve, reject) => { this.httpServer.once('error', reject); this.httpServer.listen(0, '127.0.0.1', resolve); });
    await new Promise<void>((resolve, reject) => { this.httpsServer.once('error', reject); this.httpsServer.listen(0, '127.0.0.1', resolve); });
    this.url = `http://127.0.0.1:${(this.httpServer.address() as AddressInfo).port}`;
    this.grafanaHttpsUrl = `https://127.0.0.1:${(this.httpsServer.address() as AddressInfo).port}`;
  }

  /** Closes both servers and every connection (hanging and delayed requests included). */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    for (const s of this.sleepers) { clearTimeout(s.timer); s.resolve(); }
    this.sleepers.clear();
    for (const res of this.hanging) res.destroy();
    this.hanging.clear();
    const closed = Promise.all([
      new Promise<void>((r) => this.httpServer.close(() => r())),
      new Promise<void>((r) => this.httpsServer.close(() => r())),
    ]);
    this.httpServer.closeAllConnections();
    this.httpsServer.closeAllConnections();
    for (const socket of this.sockets) socket.destroy();
    await closed;
  }

  /**
   * Environment for a process whose real AWS SDK v3 clients should talk to the
   * stand-ins (merge over process.env). TESTBED_CLOCK_OFFSET_MS is simulated
   * minus real time now, for processes that want their Date.now() to follow
   * the simulated clock (see test/testbed/cfn/clock-preload.js).
   */
  env(): Record<string, string> {
    return {
      AWS_ENDPOINT_URL_GRAFANA: this.url,
      AWS_ENDPOINT_URL_SECRETS_MANAGER: this.url,
      AWS_REGION: REGION,
      AWS_DEFAULT_REGION: REGION,
      AWS_ACCESS_KEY_ID: 'AKIASTANDIN000000000',
      AWS_SECRET_ACCESS_KEY: 'standin-secret-access-key-not-a-secret',
      AWS_EC2_METADATA_DISABLED: 'true',
      NODE_EXTRA_CA_CERTS: this.caCertPath,
      TESTBED_CLOCK_OFFSET_MS: String(this.clock.now() - Date.now()),
    };
  }

  // ------------------------------------------------------------------ workspaces

  /** A new ACTIVE workspace (Grafana 10.4 unless told); its endpoint is the HTTPS stand-in's host:port. */
  addWorkspace(opts: { id?: string; grafanaVersion?: string; name?: string } = {}): WorkspaceInfo {
    return this.grafana.addWorkspace(opts);
  }

  /** The workspace disappears (deleted outside the stack): control-plane calls answer 404, its keys stop working. */
  removeWorkspace(id: string): void {
    this.grafana.removeWorkspace(id);
  }

  setGrafanaVersion(id: string, version: string): void {
    this.grafana.setGrafanaVersion(id, version);
  }

  /** CreateWorkspaceApiKey answers 402 ServiceQuotaExceededException once the workspace has `maxKeys` API keys (expired ones count). */
  setQuota(workspaceId: string, maxKeys: number | undefined): void {
    this.grafana.setQuota(workspaceId, maxKeys);
  }

  /** Makes `operation` answer AccessDeniedException (403 for Grafana, 400 for Secrets Manager); `denied=false` undoes it. */
  denyAccess(operation: string, denied = true): void {
    if (denied) this.denied.add(operation);
    else this.denied.delete(operation);
  }

  /** Disables/enables a service account (as the Grafana UI can); a disabled account's tokens fail authentication. */
  setServiceAccountDisabled(workspaceId: string, serviceAccountId: string, disabled: boolean): void {
    this.grafana.setServiceAccountDisabled(workspaceId, serviceAccountId, disabled);
  }

  /** Deletes a key or token behind the library's back (as someone in the Grafana UI would). */
  revoke(token: string): boolean {
    return this.grafana.revoke(token);
  }

  // ------------------------------------------------------------------ inspection: Grafana

  /** API keys and service-account tokens that work now: not deleted, not expired (service account present and enabled). */
  liveKeys(workspaceId?: string): KeyInfo[] {
    return this.grafana.keys({ workspaceId, live: true });
  }

  /** API keys and service-account tokens that exist (not deleted), expired or not. */
  existingKeys(workspaceId?: string): KeyInfo[] {
    return this.grafana.keys({ workspaceId });
  }

  /** The workspace's API keys that exist, expired-but-not-deleted included. */
  apiKeys(workspaceId: string): KeyInfo[] {
    return this.grafana.keys({ workspaceId, kind: 'apiKey' });
  }

  /** The workspace's service accounts (not deleted). */
  serviceAccounts(workspaceId: string): ServiceAccountInfo[] {
    return this.grafana.serviceAccountList(workspaceId);
  }

  /** The service account's tokens that exist, expired-but-not-deleted included. */
  serviceAccountTokens(workspaceId: string, serviceAccountId: string): KeyInfo[] {
    return this.grafana.keys({ workspaceId, kind: 'serviceAccountToken', serviceAccountId });
  }

  /** Whether `token` would pass Grafana's authentication now. */
  isKeyValid(token: string): boolean {
    return this.grafana.isKeyValid(token);
  }

  /** Every key or token string any Create call ever returned (to scan logs, responses and events for leaks). */
  allIssuedTokens(): string[] {
    return [...this.grafana.issued];
  }

  // ------------------------------------------------------------------ inspection: Secrets Manager

  /** A secret by name, ARN or partial ARN (a live one if there is, else the latest deleted one). */
  secret(nameOrArn: string): SecretInfo | undefined {
    return this.secretsManager.info(nameOrArn);
  }

  /** Secrets that are not deleted (or all of them, scheduled and finished deletions included). */
  secrets(opts: { includeDeleted?: boolean } = {}): SecretInfo[] {
    return this.secretsManager.list(!!opts.includeDeleted);
  }

  /**
   * Secrets Manager's first move in a rotation: version `token` (created
   * without a value if new) gets AWSPENDING. Returns the token.
   */
  beginRotation(secretId: string, token: string = randomUUID()): string {
    return this.secretsManager.beginRotation(secretId, token);
  }

  /**
   * With a handler, RotateSecret (RotateImmediately, the default) starts a
   * rotation as the service does (AWSPENDING on a new version; "A previous
   * rotation isn't complete" if one is pending) and calls the handler with the
   * token on the next tick. Without one (the default), RotateSecret only
   * records the rotation configuration.
   */
  onRotateSecret(handler: RotateHandler | undefined): void {
    this.secretsManager.onRotate = handler;
  }

  /**
   * A Secrets Manager call made by CloudFormation itself (the driver creating,
   * tagging or deleting a stack's secrets): not counted, never faulted or
   * denied. Throws ServiceError as the service would answer.
   */
  cloudFormationCall(op: string, input: Record<string, unknown>): any {
    return this.secretsManager.invoke(op, input);
  }

  // ------------------------------------------------------------------ calls

  /** Requests received, by operation ('GrafanaApiOrg' for GET /api/org), faulted ones included. */
  counts(): Record<string, number> {
    return Object.fromEntries(this.counters);
  }

  totalCalls(): number {
    let n = 0;
    for (const v of this.counters.values()) n += v;
    return n;
  }

  resetCounts(): void {
    this.counters.clear();
    this.calls = [];
  }

  /** Every request in arrival order, with the status answered (0: dropped or withheld). */
  callLog(): CallRecord[] {
    return [...this.calls];
  }

  /** Shorthand for faults.rateLimit: at most `perSecond` calls per real second, beyond that throttling. */
  rateLimit(operation: string, perSecond: number | undefined): void {
    this.faults.rateLimit(operation, perSecond);
  }

  // ------------------------------------------------------------------ HTTP plumbing

  private receive(req: http.IncomingMessage, res: http.ServerResponse, server: 'aws' | 'workspace'): void {
    const chunks: Buffer[] = [];
    let size = 0;
    let tooBig = false;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY) { tooBig = true; return; }
      chunks.push(chunk);
    });
    req.on('end', () => {
      if (tooBig) {
        res.writeHead(413, { 'content-type': 'application/json', connection: 'close' }).end('{"message":"Request entity too large"}');
        return;
      }
      const body = Buffer.concat(chunks).toString('utf8');
      const handle = server === 'aws' ? this.handleAws(req, res, body) : this.handleWorkspace(req, res);
      handle.catch(() => {
        // A bug in the stand-in itself: answer 500 rather than leave the client waiting.
        if (!res.headersSent && !res.destroyed) res.writeHead(500, { 'content-type': 'application/json' }).end('{"message":"stand-in failure"}');
      });
    });
    req.on('error', () => res.destroy());
  }

  private record(op: string): void {
    this.counters.set(op, (this.counters.get(op) ?? 0) + 1);
  }

  private log(entry: CallRecord): void {
    this.calls.push(entry);
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const entry = { timer: setTimeout(() => { this.sleepers.delete(entry); resolve(); }, ms), resolve };
      this.sleepers.add(entry);
    });
  }

  /** Applies a drop/hang/delay fault. Returns true when the request is finished (dropped or hanging). */
  private async applyTransportFault(fault: FaultDecision, req: http.IncomingMessage, res: http.ServerResponse, entry: Omit<CallRecord, 'status'>): Promise<boolean> {
    if (fault.kind === 'drop') {
      this.log({ ...entry, status: 0, fault: 'drop' });
      req.socket.destroy();
      return true;
    }
    if (fault.kind === 'hang') {
      this.log({ ...entry, status: 0, fault: 'hang' });
      this.hanging.add(res);
      res.on('close', () => this.hanging.delete(res));
      return true;
    }
    if (fault.kind === 'delay') {
      await this.sleep(fault.delayMs);
      if (this.stopped) return true;
    }
    return false;
  }

  private parseAws(req: http.IncomingMessage, body: string): AwsRequest | ServiceError & { service: 'grafana' | 'secretsmanager'; protocol: Protocol; op: string } {
    const fail = (e: ServiceError, service: 'grafana' | 'secretsmanager', protocol: Protocol, op: string) => Object.assign(e, { service, protocol, op });
    const target = req.headers['x-amz-target'];
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    if (typeof target === 'string') {
      if (!target.startsWith(SM_TARGET_PREFIX)) {
        return fail(new ServiceError(400, 'UnknownOperationException', `Unknown target ${target}`), 'secretsmanager', 'awsJson', 'Unknown');
      }
      const op = target.slice(SM_TARGET_PREFIX.length);
      let input: Record<string, unknown>;
      try {
        const parsed = body.trim() ? JSON.parse(body) : {};
        if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('not an object');
        input = parsed;
      } catch {
        return fail(new ServiceError(400, 'SerializationException', 'The request body is not a JSON object'), 'secretsmanager', 'awsJson', op);
      }
      return { service: 'secretsmanager', protocol: 'awsJson', op, input, run: () => this.secretsManager.invoke(op, input) };
    }
    const route = this.grafana.route(req.method ?? 'GET', url.pathname);
    if (!route) {
      return fail(new ServiceError(404, 'UnknownOperationException', `No operation for ${req.method} ${url.pathname}`), 'grafana', 'restJson', 'Unknown');
    }
    let bodyInput: Record<string, unknown> = {};
    try {
      const parsed = body.trim() ? JSON.parse(body) : {};
      if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('not an object');
      bodyInput = parsed;
    } catch {
      return fail(new ServiceError(400, 'ValidationException', 'The request body could not be parsed as a JSON object', { reason: 'CANNOT_PARSE' }), 'grafana', 'restJson', route.op);
    }
    const input: Record<string, unknown> = { ...Object.fromEntries(url.searchParams), ...bodyInput, ...route.labels };
    const run = route.modelled
      ? () => this.grafana.invoke(route.op, route.labels, url.searchParams, bodyInput)
      : () => { throw new ServiceError(501, 'NotImplemented', `The stand-in does not model ${route.op}`); };
    return { service: 'grafana', protocol: 'restJson', op: route.op, input, run };
  }

  /** SigV4 presence and scope (service and region); the signature itself is not checked. */
  private checkSignature(req: http.IncomingMessage, service: 'grafana' | 'secretsmanager'): ServiceError | undefined {
    const auth = req.headers.authorization;
    const status = service === 'grafana' ? 403 : 400;
    if (!auth) return new ServiceError(status, 'MissingAuthenticationTokenException', 'Missing Authentication Token');
    const m = /Credential=([^/,\s]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request/.exec(auth);
    if (!auth.startsWith('AWS4-HMAC-SHA256') || !m) {
      return new ServiceError(status, 'IncompleteSignatureException', 'Authorization header requires a valid AWS4-HMAC-SHA256 Credential scope');
    }
    if (m[4] !== service) return new ServiceError(403, 'InvalidSignatureException', `Credential should be scoped to correct service: '${service}'.`);
    if (m[3] !== REGION) return new ServiceError(403, 'InvalidSignatureException', `Credential should be scoped to a valid region, not '${m[3]}'. `);
    return undefined;
  }

  private async handleAws(req: http.IncomingMessage, res: http.ServerResponse, body: string): Promise<void> {
    const at = this.clock.now();
    const parsed = this.parseAws(req, body);
    const { service, protocol, op } = parsed;
    this.record(op);
    const entry = { op, service, at };
    if (parsed instanceof ServiceError) {
      this.sendAwsError(res, protocol, parsed, entry);
      return;
    }
    const fault = this.faults.draw({ op, service, input: parsed.input });
    if (fault && !fault.afterProcessing && (await this.applyTransportFault(fault, req, res, entry))) return;

    const signatureProblem = this.checkSignature(req, service);
    if (signatureProblem) {
      this.sendAwsError(res, protocol, signatureProblem, entry);
      return;
    }
    if (fault?.kind === 'throttle') {
      const e = service === 'grafana'
        ? new ServiceError(429, 'ThrottlingException', 'Rate exceeded', { serviceCode: 'grafana' })
        : new ServiceError(400, 'ThrottlingException', 'Rate exceeded');
      this.sendAwsError(res, protocol, e, { ...entry, fault: 'throttle' });
      return;
    }
    if (fault?.kind === 'serverError') {
      const e = service === 'grafana'
        ? new ServiceError(500, 'InternalServerException', 'Internal server error')
        : new ServiceError(500, 'InternalServiceError', 'An error occurred on the server side.');
      this.sendAwsError(res, protocol, e, { ...entry, fault: 'serverError' });
      return;
    }
    if (this.denied.has(op)) {
      const action = `${service === 'grafana' ? 'grafana' : 'secretsmanager'}:${op}`;
      const e = new ServiceError(service === 'grafana' ? 403 : 400, 'AccessDeniedException',
        `User: arn:aws:sts::${ACCOUNT}:assumed-role/standin-role/standin is not authorized to perform: ${action} because no identity-based policy allows the ${action} action`);
      this.sendAwsError(res, protocol, e, entry);
      return;
    }

    let status = 200;
    let payload: unknown;
    let error: ServiceError | undefined;
    try {
      payload = parsed.run();
    } catch (err) {
      if (!(err instanceof ServiceError)) throw err;
      error = err;
      status = err.status;
    }
    if (fault?.afterProcessing && (await this.applyTransportFault(fault, req, res, { ...entry }))) return;
    const faultTag = fault && fault.kind === 'delay' ? { fault: 'delay' as const } : {};
    if (error) {
      this.sendAwsError(res, protocol, error, { ...entry, ...faultTag });
      return;
    }
    this.log({ ...entry, ...faultTag, status });
    this.write(res, status, protocol, payload ?? {});
  }

  private sendAwsError(res: http.ServerResponse, protocol: Protocol, e: ServiceError, entry: Omit<CallRecord, 'status'>): void {
    this.log({ ...entry, status: e.status, errorType: e.type });
    if (protocol === 'restJson') {
      this.write(res, e.status, protocol, { message: e.message, ...e.fields }, e.type);
    } else {
      this.write(res, e.status, protocol, { __type: e.type, Message: e.message });
    }
  }

  private write(res: http.ServerResponse, status: number, protocol: Protocol, payload: unknown, errorType?: string): void {
    if (res.destroyed || res.headersSent) return;
    const text = JSON.stringify(payload);
    const headers: Record<string, string | number> = {
      'content-type': protocol === 'restJson' ? 'application/json' : 'application/x-amz-json-1.1',
      'content-length': Buffer.byteLength(text),
      'x-amzn-requestid': randomUUID(),
      date: new Date().toUTCString(),
    };
    if (errorType) headers['x-amzn-errortype'] = errorType;
    res.writeHead(status, headers).end(text);
  }

  // ------------------------------------------------------------------ workspace HTTP API

  private async handleWorkspace(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const at = this.clock.now();
    const url = new URL(req.url ?? '/', 'https://127.0.0.1');
    const method = req.method ?? 'GET';
    const op = url.pathname === '/api/org' ? 'GrafanaApiOrg' : url.pathname === '/api/health' ? 'GrafanaApiHealth' : 'GrafanaApiOther';
    this.record(op);
    const entry = { op, service: 'workspace' as const, at };
    const fault = this.faults.draw({ op, service: 'workspace', input: { method, path: url.pathname } });
    const send = (status: number, payload: unknown, extra: Partial<CallRecord> = {}) => {
      this.log({ ...entry, ...extra, status });
      if (res.destroyed || res.headersSent) return;
      const text = JSON.stringify(payload);
      res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) }).end(text);
    };
    if (fault && !fault.afterProcessing && (await this.applyTransportFault(fault, req, res, entry))) return;
    if (fault?.kind === 'throttle') return send(429, { message: 'Too many requests' }, { fault: 'throttle' });
    if (fault?.kind === 'serverError') return send(500, { message: 'Internal Server Error' }, { fault: 'serverError' });
    if (this.denied.has(op)) return send(403, { message: 'Access denied' });

    let status: number;
    let payload: unknown;
    if (op === 'GrafanaApiHealth' && method === 'GET') {
      status = 200;
      payload = { database: 'ok' };
    } else {
      const auth = this.grafana.authenticate(req.headers.authorization);
      if (!auth.ok) {
        status = 401;
        payload = { message: auth.message };
      } else if (op === 'GrafanaApiOrg' && method === 'GET') {
        status = 200;
        payload = { id: 1, name: 'Main Org.', address: { address1: '', address2: '', city: '', zipCode: '', state: '', country: '' } };
      } else {
        status = 404;
        payload = { message: 'Not found' };
      }
    }
    if (fault?.afterProcessing && (await this.applyTransportFault(fault, req, res, entry))) return;
    send(status, payload, fault?.kind === 'delay' ? { fault: 'delay' } : {});
  }
}
