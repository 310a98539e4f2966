/**
 * Local stand-ins for the AWS APIs the library uses, on 127.0.0.1:
 * - the Amazon Managed Grafana control plane (restJson1),
 * - Secrets Manager (awsJson1.1 over X-Amz-Target): the shared model of versions and
 *   labels in test/model/secrets-manager-model.ts, served over HTTP,
 * - each workspace's Grafana HTTP API (`GET /api/org` with a bearer token), over HTTPS;
 * - Amazon API Gateway's API keys and usage plans, and a REST endpoint checking `x-api-key` (api-gateway.ts).
 * Errors are answered as the services answer them, so the real SDK clients
 * raise the right exception classes. Keys expire on a clock the tests control.
 * Nothing here ever prints a token.
 */
import { randomBytes, randomUUID } from 'crypto';
import * as fs from 'fs';
import * as http from 'http';
import * as https from 'https';
import type { AddressInfo } from 'net';
import * as path from 'path';
import { API_GATEWAY_OPERATIONS, ApiGatewayError, ApiGatewayStandIn, ENDPOINT_PATH } from './api-gateway';
import { FaultInjector } from './faults';
import { SecretsManagerError, SecretsManagerModel } from '../../model/secrets-manager-model';

export const ACCOUNT = '123456789012';
export const REGION = 'us-east-1';
const TLS_DIR = path.join(__dirname, 'tls');
/** Source-tree location of the certificate, also when this file runs compiled from dist/. */
function tlsDir(): string {
  for (const dir of [TLS_DIR, path.join(__dirname, '..', '..', '..', '..', 'test', 'testbed', 'aws', 'tls')]) {
    if (fs.existsSync(path.join(dir, 'cert.pem'))) return dir;
  }
  throw new Error(`test bed TLS certificate not found near ${TLS_DIR}`);
}

export class SimClock {
  constructor(private ms: number) {}
  now(): number { return this.ms; }
  advance(ms: number): void { this.ms += ms; }
  set(ms: number): void { this.ms = ms; }
}

class ServiceError extends Error {
  constructor(readonly status: number, readonly type: string, message: string) { super(message); }
}

interface Credential {
  readonly kind: 'apiKey' | 'serviceAccountToken';
  readonly workspaceId: string;
  readonly name: string;
  readonly token: string;
  readonly expiresAt: number;
  readonly createdAt: number;
  readonly role: string;
  readonly serviceAccountId?: string;
  readonly tokenId?: string;
  deleted: boolean;
  /** When it was deleted (the stand-ins' clock), for timelines. */
  deletedAt?: number;
}

interface ServiceAccount { id: string; name: string; role: string; deleted: boolean; tokens: Map<string, Credential> }

interface Workspace {
  readonly id: string;
  grafanaVersion: string;
  readonly apiKeys: Map<string, Credential>;
  readonly serviceAccounts: Map<string, ServiceAccount>;
  nextServiceAccountId: number;
  maxKeys?: number;
}

export interface LiveCredential {
  readonly kind: 'apiKey' | 'serviceAccountToken';
  readonly workspaceId: string;
  readonly name: string;
  readonly role: string;
  readonly expiresAt: number;
  readonly serviceAccountId?: string;
  readonly tokenId?: string;
}

export interface CallRecord { readonly op: string; readonly at: number; readonly status: number }

const ROLES = ['ADMIN', 'EDITOR', 'VIEWER'];
const MAX_TTL = 2_592_000;

export class AwsStandIns {
  static async start(opts: { seed?: number; startTime?: number } = {}): Promise<AwsStandIns> {
    const s = new AwsStandIns(opts.seed ?? 1, opts.startTime ?? Date.UTC(2026, 0, 1));
    await s.listen();
    return s;
  }

  readonly clock: SimClock;
  readonly faults: FaultInjector;
  url = '';
  grafanaHttpsUrl = '';
  readonly caCertPath = path.join(tlsDir(), 'cert.pem');
  /** Amazon API Gateway (issue #17). */
  readonly apiGateway: ApiGatewayStandIn;

  private readonly workspaces = new Map<string, Workspace>();
  /** Secrets Manager's state; the model's clock is the simulated one. */
  readonly sm: SecretsManagerModel;
  private readonly tokens = new Map<string, Credential>();
  private readonly issued: string[] = [];
  private readonly calls: CallRecord[] = [];
  private readonly counters = new Map<string, number>();
  private readonly denied = new Set<string>();
  private readonly hanging = new Set<http.ServerResponse>();
  private readonly http: http.Server;
  private readonly https: https.Server;

  private constructor(seed: number, startTime: number) {
    this.clock = new SimClock(startTime);
    this.sm = new SecretsManagerModel({ now: () => this.clock.now(), region: REGION, account: ACCOUNT });
    this.faults = new FaultInjector(seed);
    this.apiGateway = new ApiGatewayStandIn(() => this.clock.now());
    this.http = http.createServer((req, res) => this.serve(req, res));
    const dir = tlsDir();
    this.https = https.createServer({ key: fs.readFileSync(path.join(dir, 'key.pem')), cert: fs.readFileSync(path.join(dir, 'cert.pem')) },
      (req, res) => this.serve(req, res));
    this.http.keepAliveTimeout = 1000;
  }

  private async listen(): Promise<void> {
    await new Promise<void>((r) => this.http.listen(0, '127.0.0.1', r));
    await new Promise<void>((r) => this.https.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.http.address() as AddressInfo).port}`;
    this.grafanaHttpsUrl = `https://127.0.0.1:${(this.https.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    for (const res of this.hanging) res.destroy();
    this.http.closeAllConnections();
    this.https.closeAllConnections();
    await Promise.all([new Promise((r) => this.http.close(r)), new Promise((r) => this.https.close(r))]);
  }

  /** Environment for a process whose AWS SDK clients should talk to the stand-ins. */
  env(): Record<string, string> {
    return {
      AWS_ENDPOINT_URL_GRAFANA: this.url,
      AWS_ENDPOINT_URL_SECRETS_MANAGER: this.url,
      AWS_ENDPOINT_URL_API_GATEWAY: this.url,
      AWS_REGION: REGION,
      AWS_ACCESS_KEY_ID: 'AKIDSTANDIN',
      AWS_SECRET_ACCESS_KEY: 'standin-secret',
      AWS_SESSION_TOKEN: 'standin-session',
      NODE_EXTRA_CA_CERTS: this.caCertPath,
      // The handler's Date.now() follows the simulated clock (see test/testbed/cfn/clock-preload.js).
      TESTBED_CLOCK_OFFSET_MS: String(this.clock.now() - Date.now()),
    };
  }

  // ---------- test controls and inspection ----------

  addWorkspace(opts: { id?: string; grafanaVersion?: string } = {}): { id: string; endpoint: string; arn: string } {
    const id = opts.id ?? `g-${randomBytes(5).toString('hex')}`;
    this.workspaces.set(id, { id, grafanaVersion: opts.grafanaVersion ?? '10.4', apiKeys: new Map(), serviceAccounts: new Map(), nextServiceAccountId: 1 });
    return { id, endpoint: this.endpoint(), arn: `arn:aws:grafana:${REGION}:${ACCOUNT}:/workspaces/${id}` };
  }

  setGrafanaVersion(id: string, version: string): void { this.workspace(id).grafanaVersion = version; }
  setQuota(id: string, maxKeys: number | undefined): void { this.workspace(id).maxKeys = maxKeys; }
  denyAccess(operation: string, denied = true): void { if (denied) this.denied.add(operation); else this.denied.delete(operation); }

  /** Credentials that work right now (not deleted, not expired). */
  liveKeys(workspaceId?: string): LiveCredential[] {
    return this.allCredentials(workspaceId).filter((c) => this.isLive(c)).map(describeCredential);
  }

  /** Every credential ever issued, with when it was issued, when it expires and when it was deleted (if it was). */
  credentialHistory(workspaceId?: string): Array<{ name: string; createdAt: number; expiresAt: number; deletedAt?: number }> {
    return [...this.tokens.values()].filter((c) => !workspaceId || c.workspaceId === workspaceId).map(({ name, createdAt, expiresAt, deletedAt }) => ({ name, createdAt, expiresAt, ...(deletedAt !== undefined ? { deletedAt } : {}) }));
  }

  /** Credentials that exist (not deleted), expired or not. */
  existingKeys(workspaceId?: string): LiveCredential[] {
    return this.allCredentials(workspaceId).filter((c) => !c.deleted).map(describeCredential);
  }

  serviceAccounts(workspaceId: string): Array<{ id: string; name: string; role: string }> {
    return [...this.workspace(workspaceId).serviceAccounts.values()].filter((s) => !s.deleted).map(({ id, name, role }) => ({ id, name, role }));
  }

  /** Someone deletes the credential of this name in Grafana's UI: it stops working, nothing tells the library. */
  revokeOutOfBand(workspaceId: string, name: string): void {
    const c = this.allCredentials(workspaceId).find((x) => x.name === name && !x.deleted);
    if (!c) throw new Error(`no live credential ${name} in workspace ${workspaceId}`);
    c.deleted = true;
  }

  isKeyValid(token: string): boolean {
    const c = this.tokens.get(token);
    return !!c && this.isLive(c);
  }

  /** Every token ever handed out, so tests can scan logs and responses for leaks. */
  allIssuedTokens(): string[] { return [...this.issued, ...this.apiGateway.issuedValues()]; }

  /** The REST endpoint of the API Gateway stand-in, over HTTPS; any path below it checks `x-api-key`. */
  get apiGatewayEndpointUrl(): string { return `${this.grafanaHttpsUrl}${ENDPOINT_PATH}prod`; }

  secret(nameOrArn: string): { arn: string; name: string; tags: Array<{ Key: string; Value: string }>; deleted: boolean;
    rotation?: { lambdaArn?: string; rules?: Record<string, unknown>; enabled: boolean };
    versions: Array<{ versionId: string; stages: string[]; secretString?: string; createdAt: number }> } | undefined {
    const s = this.sm.find(nameOrArn, true);
    if (!s) return undefined;
    return {
      arn: s.arn, name: s.name, tags: s.tags, deleted: !!s.deletedDate, rotation: s.rotation,
      versions: [...s.versions.values()].map((v) => ({ versionId: v.id, stages: [...v.stages], secretString: v.value, createdAt: v.createdAt })),
    };
  }

  secrets(): string[] { return [...this.sm.secrets.values()].filter((s) => !s.deletedDate).map((s) => s.arn); }

  /** Secrets Manager's RotateSecret prologue: attaches AWSPENDING to a version that has no value yet. */
  beginRotation(secretId: string, token: string): void {
    this.sm.beginRotation(secretId, token);
  }

  /**
   * A Secrets Manager call made by CloudFormation itself (creating or deleting
   * the stack's secrets): not counted, never faulted.
   */
  cloudFormationCall(op: string, input: Record<string, unknown>): any {
    return this.secretsManager(op, input);
  }

  counts(): Record<string, number> { return Object.fromEntries(this.counters); }
  resetCounts(): void { this.counters.clear(); this.calls.length = 0; }
  callLog(): CallRecord[] { return [...this.calls]; }
  totalCalls(): number { let n = 0; for (const v of this.counters.values()) n += v; return n; }

  // ---------- HTTP ----------

  private endpoint(): string { return this.grafanaHttpsUrl.replace('https://', ''); }

  private serve(req: http.IncomingMessage, res: http.ServerResponse): void {
    this.inFlight++;
    let finished = false;
    const finish = () => {
      if (finished) return;
      finished = true;
      if (--this.inFlight === 0) for (const resolve of this.idleWaiters.splice(0)) resolve();
    };
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => { void this.dispatch(req, res, Buffer.concat(chunks).toString('utf8')).finally(finish); });
    req.on('error', finish);
    req.on('close', () => { if (!req.complete) finish(); });
  }

  private inFlight = 0;
  private idleWaiters: Array<() => void> = [];

  /**
   * Resolves once every request received so far has been handled, including
   * one whose caller has died (a crashed step's write, delayed by a fault,
   * still lands): a soak waits for it so that what happens next never depends
   * on real timing. Requests held by a 'hang' fault count as handled.
   */
  settled(): Promise<void> {
    return this.inFlight === 0 ? Promise.resolve() : new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private async dispatch(req: http.IncomingMessage, res: http.ServerResponse, body: string): Promise<void> {
    const target = req.headers['x-amz-target'];
    const url = new URL(req.url ?? '/', 'http://x');
    const isSm = typeof target === 'string' && target.startsWith('secretsmanager.');
    const route = isSm ? undefined : this.grafanaRoute(req.method ?? 'GET', url.pathname) ?? this.apiGateway.route(req.method ?? 'GET', url.pathname);
    const isEndpoint = url.pathname.startsWith(ENDPOINT_PATH);
    const op = isSm ? target.slice('secretsmanager.'.length) : route?.op ?? 'Unknown';
    const send = (status: number, payload: unknown, errorType?: string) => {
      this.record(op, status);
      // Timestamps go over the wire as epoch seconds, as the services send them.
      const text = JSON.stringify(payload ?? {}, function (this: any, key: string, value: unknown) {
        return this[key] instanceof Date ? this[key].getTime() / 1000 : value;
      });
      const headers: Record<string, string> = {
        'content-type': isSm ? 'application/x-amz-json-1.1' : 'application/json',
        'x-amzn-requestid': randomUUID(),
        // The simulated time, which the handler's clock follows too: a real-time Date would look like clock skew to the SDK.
        date: new Date(this.clock.now()).toUTCString(),
      };
      if (errorType) headers['x-amzn-errortype'] = errorType;
      res.writeHead(status, headers).end(text);
    };
    const fail = (e: ServiceError) => send(e.status, isSm ? { __type: e.type, message: e.message } : { message: e.message }, e.type);
    try {
      const fault = this.faults.draw(op, url.pathname === '/api/org' || isEndpoint);
      if (fault) {
        if (fault.kind === 'drop') { this.record(op, 0); req.socket.destroy(); return; }
        if (fault.kind === 'hang') { this.record(op, 0); this.hanging.add(res); return; }
        if (fault.kind === 'delay') await (fault.until ?? new Promise((r) => setTimeout(r, fault.delayMs ?? 1000)));
        if (fault.kind === 'throttle' && API_GATEWAY_OPERATIONS.has(op)) throw new ServiceError(429, 'TooManyRequestsException', 'Too Many Requests');
        if (fault.kind === 'throttle') throw isSm ? new ServiceError(400, 'ThrottlingException', 'Rate exceeded') : new ServiceError(429, 'ThrottlingException', 'Rate exceeded');
        if (fault.kind === 'serverError') throw isSm ? new ServiceError(500, 'InternalServiceError', 'Internal failure') : new ServiceError(500, 'InternalServerException', 'Internal failure');
      }
      if (this.denied.has(op)) throw new ServiceError(403, 'AccessDeniedException', `User is not authorized to perform: grafana:${op}`);
      if (isSm) { send(200, this.secretsManager(op, body ? JSON.parse(body) : {})); return; }
      if (url.pathname === '/api/org' && req.method === 'GET') { this.grafanaApiOrg(req, res); return; }
      if (isEndpoint) { this.apiGateway.serveEndpoint(req, res, (o, status) => this.record(o, status)); return; }
      if (!route) throw new ServiceError(404, 'ResourceNotFoundException', `No route for ${req.method} ${url.pathname}`);
      send(200, route.handle(body ? JSON.parse(body) : {}, url.searchParams));
    } catch (err) {
      if (err instanceof ServiceError) fail(err);
      else if (err instanceof ApiGatewayError) fail(new ServiceError(err.status, err.type, err.message));
      else fail(new ServiceError(500, isSm ? 'InternalServiceError' : 'InternalServerException', `stand-in error: ${(err as Error).message}`));
    }
  }

  private record(op: string, status: number): void {
    this.counters.set(op, (this.counters.get(op) ?? 0) + 1);
    this.calls.push({ op, at: this.clock.now(), status });
  }

  private grafanaApiOrg(req: http.IncomingMessage, res: http.ServerResponse): void {
    const auth = req.headers.authorization ?? '';
    const token = auth.startsWith('Bearer ') ? auth.slice(7) : '';
    const ok = this.isKeyValid(token);
    this.record('GrafanaApiOrg', ok ? 200 : 401);
    res.writeHead(ok ? 200 : 401, { 'content-type': 'application/json' })
      .end(JSON.stringify(ok ? { id: 1, name: 'Main Org.' } : { message: 'Invalid API key' }));
  }

  // ---------- Amazon Managed Grafana ----------

  private grafanaRoute(method: string, pathname: string): { op: string; handle: (body: any, q: URLSearchParams) => unknown } | undefined {
    const parts = pathname.split('/').filter(Boolean).map(decodeURIComponent);
    if (parts[0] !== 'workspaces' || parts.length < 2) return undefined;
    const ws = parts[1];
    const n = parts.length;
    if (n === 2 && method === 'GET') return { op: 'DescribeWorkspace', handle: () => this.describeWorkspace(ws) };
    if (n === 3 && parts[2] === 'apikeys' && method === 'POST') return { op: 'CreateWorkspaceApiKey', handle: (b) => this.createApiKey(ws, b) };
    if (n === 4 && parts[2] === 'apikeys' && method === 'DELETE') return { op: 'DeleteWorkspaceApiKey', handle: () => this.deleteApiKey(ws, parts[3]) };
    if (n === 3 && parts[2] === 'serviceaccounts' && method === 'POST') return { op: 'CreateWorkspaceServiceAccount', handle: (b) => this.createServiceAccount(ws, b) };
    if (n === 3 && parts[2] === 'serviceaccounts' && method === 'GET') return { op: 'ListWorkspaceServiceAccounts', handle: (_b, q) => this.listServiceAccounts(ws, q) };
    if (n === 4 && parts[2] === 'serviceaccounts' && method === 'DELETE') return { op: 'DeleteWorkspaceServiceAccount', handle: () => this.deleteServiceAccount(ws, parts[3]) };
    if (n === 5 && parts[4] === 'tokens' && method === 'POST') return { op: 'CreateWorkspaceServiceAccountToken', handle: (b) => this.createToken(ws, parts[3], b) };
    if (n === 5 && parts[4] === 'tokens' && method === 'GET') return { op: 'ListWorkspaceServiceAccountTokens', handle: (_b, q) => this.listTokens(ws, parts[3], q) };
    if (n === 6 && parts[4] === 'tokens' && method === 'DELETE') return { op: 'DeleteWorkspaceServiceAccountToken', handle: () => this.deleteToken(ws, parts[3], parts[5]) };
    return undefined;
  }

  private workspace(id: string): Workspace {
    if (!/^g-[0-9a-f]{10}$/.test(id)) throw new ServiceError(400, 'ValidationException', `1 validation error detected: Value '${id}' at 'workspaceId' failed to satisfy constraint: Member must satisfy regular expression pattern: ^g-[0-9a-f]{10}$`);
    const ws = this.workspaces.get(id);
    if (!ws) throw new ServiceError(404, 'ResourceNotFoundException', `Workspace ${id} not found`);
    return ws;
  }

  private describeWorkspace(id: string) {
    const ws = this.workspace(id);
    const created = Math.floor(this.clock.now() / 1000);
    return {
      workspace: {
        id, name: id, endpoint: this.endpoint(), grafanaVersion: ws.grafanaVersion, status: 'ACTIVE',
        authentication: { providers: ['AWS_SSO'] }, created, modified: created, dataSources: [],
      },
    };
  }

  private checkTtl(secondsToLive: unknown): number {
    if (!Number.isInteger(secondsToLive) || (secondsToLive as number) < 1 || (secondsToLive as number) > MAX_TTL) {
      throw new ServiceError(400, 'ValidationException', `secondsToLive must be between 1 and ${MAX_TTL}`);
    }
    return secondsToLive as number;
  }

  private checkRole(role: unknown, allowNone = false): string {
    if (typeof role !== 'string' || !(ROLES.includes(role) || (allowNone && role === 'NONE'))) {
      throw new ServiceError(400, 'ValidationException', `Role must be one of ${ROLES.join(', ')}`);
    }
    return role;
  }

  private newCredential(kind: Credential['kind'], workspaceId: string, name: string, role: string, ttl: number, extra: Partial<Credential> = {}): Credential {
    const token = kind === 'apiKey'
      ? `eyJrIjoi${randomBytes(24).toString('base64url')}`
      : `glsa_${randomBytes(24).toString('base64url')}_${randomBytes(4).toString('hex')}`;
    const now = this.clock.now();
    const c: Credential = { kind, workspaceId, name, token, role, createdAt: now, expiresAt: now + ttl * 1000, deleted: false, ...extra };
    this.tokens.set(token, c);
    this.issued.push(token);
    return c;
  }

  private createApiKey(id: string, body: { keyName?: unknown; keyRole?: unknown; secondsToLive?: unknown }) {
    const ws = this.workspace(id);
    const major = Number(ws.grafanaVersion.split('.')[0]);
    if (major >= 11) {
      throw new ServiceError(400, 'ValidationException', `API keys are not supported in Grafana version ${ws.grafanaVersion}; use service accounts`);
    }
    const name = body.keyName;
    if (typeof name !== 'string' || name.length < 1 || name.length > 100) throw new ServiceError(400, 'ValidationException', 'keyName must be 1 to 100 characters');
    const role = this.checkRole(body.keyRole);
    const ttl = this.checkTtl(body.secondsToLive);
    if (ws.apiKeys.has(name)) throw new ServiceError(409, 'ConflictException', `API key ${name} already exists`);
    if (ws.maxKeys !== undefined && ws.apiKeys.size >= ws.maxKeys) throw new ServiceError(402, 'ServiceQuotaExceededException', 'API key quota exceeded');
    const key = this.newCredential('apiKey', id, name, role, ttl);
    ws.apiKeys.set(name, key);
    return { key: key.token, keyName: name, workspaceId: id };
  }

  private deleteApiKey(id: string, name: string) {
    const ws = this.workspace(id);
    const key = ws.apiKeys.get(name);
    if (!key) throw new ServiceError(404, 'ResourceNotFoundException', `API key ${name} not found`);
    key.deleted = true;
    key.deletedAt = this.clock.now();
    ws.apiKeys.delete(name);
    return { keyName: name, workspaceId: id };
  }

  private serviceAccount(ws: Workspace, saId: string): ServiceAccount {
    const sa = ws.serviceAccounts.get(saId);
    if (!sa || sa.deleted) throw new ServiceError(404, 'ResourceNotFoundException', `Service account ${saId} not found`);
    return sa;
  }

  private requireServiceAccounts(ws: Workspace): void {
    if (Number(ws.grafanaVersion.split('.')[0]) < 9) throw new ServiceError(400, 'ValidationException', 'Service accounts need Grafana 9 or later');
  }

  private createServiceAccount(id: string, body: { name?: unknown; grafanaRole?: unknown }) {
    const ws = this.workspace(id);
    this.requireServiceAccounts(ws);
    const name = body.name;
    if (typeof name !== 'string' || name.length < 1 || name.length > 128) throw new ServiceError(400, 'ValidationException', 'name must be 1 to 128 characters');
    const role = this.checkRole(body.grafanaRole, true);
    if ([...ws.serviceAccounts.values()].some((s) => !s.deleted && s.name === name)) throw new ServiceError(409, 'ConflictException', `Service account ${name} already exists`);
    const saId = String(ws.nextServiceAccountId++);
    ws.serviceAccounts.set(saId, { id: saId, name, role, deleted: false, tokens: new Map() });
    return { id: saId, name, grafanaRole: role, workspaceId: id };
  }

  private deleteServiceAccount(id: string, saId: string) {
    const ws = this.workspace(id);
    const sa = this.serviceAccount(ws, saId);
    sa.deleted = true;
    for (const t of sa.tokens.values()) { t.deleted = true; t.deletedAt ??= this.clock.now(); } // Grafana deletes an account's tokens with it
    return { serviceAccountId: saId, workspaceId: id };
  }

  private page<T>(items: T[], q: URLSearchParams): { items: T[]; nextToken?: string } {
    const size = Number(q.get('maxResults') ?? 50);
    const start = Number(q.get('nextToken') ?? 0);
    const slice = items.slice(start, start + size);
    return { items: slice, nextToken: start + size < items.length ? String(start + size) : undefined };
  }

  private listServiceAccounts(id: string, q: URLSearchParams) {
    const ws = this.workspace(id);
    this.requireServiceAccounts(ws);
    const all = [...ws.serviceAccounts.values()].filter((s) => !s.deleted).map((s) => ({ id: s.id, name: s.name, grafanaRole: s.role, isDisabled: 'false' }));
    const { items, nextToken } = this.page(all, q);
    return { serviceAccounts: items, nextToken, workspaceId: id };
  }

  private createToken(id: string, saId: string, body: { name?: unknown; secondsToLive?: unknown }) {
    const ws = this.workspace(id);
    const sa = this.serviceAccount(ws, saId);
    const name = body.name;
    if (typeof name !== 'string' || name.length < 1 || name.length > 128) throw new ServiceError(400, 'ValidationException', 'name must be 1 to 128 characters');
    const ttl = this.checkTtl(body.secondsToLive);
    if ([...sa.tokens.values()].some((t) => !t.deleted && t.name === name)) throw new ServiceError(409, 'ConflictException', `Token ${name} already exists`);
    const tokenId = String(sa.tokens.size + 1);
    const t = this.newCredential('serviceAccountToken', id, name, sa.role, ttl, { serviceAccountId: saId, tokenId });
    sa.tokens.set(tokenId, t);
    return { serviceAccountId: saId, serviceAccountToken: { id: tokenId, name, key: t.token }, workspaceId: id };
  }

  private listTokens(id: string, saId: string, q: URLSearchParams) {
    const ws = this.workspace(id);
    const sa = this.serviceAccount(ws, saId);
    const all = [...sa.tokens.values()].filter((t) => !t.deleted).map((t) => ({
      id: t.tokenId, name: t.name, createdAt: Math.floor(t.createdAt / 1000), expiresAt: Math.floor(t.expiresAt / 1000),
    }));
    const { items, nextToken } = this.page(all, q);
    return { serviceAccountTokens: items, nextToken, serviceAccountId: saId, workspaceId: id };
  }

  private deleteToken(id: string, saId: string, tokenId: string) {
    const ws = this.workspace(id);
    const sa = this.serviceAccount(ws, saId);
    const t = sa.tokens.get(tokenId);
    if (!t || t.deleted) throw new ServiceError(404, 'ResourceNotFoundException', `Token ${tokenId} not found`);
    t.deleted = true;
    t.deletedAt = this.clock.now();
    return { serviceAccountId: saId, tokenId, workspaceId: id };
  }

  private allCredentials(workspaceId?: string): Credential[] {
    const out: Credential[] = [];
    for (const ws of this.workspaces.values()) {
      if (workspaceId && ws.id !== workspaceId) continue;
      out.push(...ws.apiKeys.values());
      for (const sa of ws.serviceAccounts.values()) out.push(...sa.tokens.values());
    }
    return out;
  }

  private isLive(c: Credential): boolean {
    if (c.deleted || c.expiresAt <= this.clock.now()) return false;
    if (c.kind === 'serviceAccountToken') {
      const sa = this.workspaces.get(c.workspaceId)?.serviceAccounts.get(c.serviceAccountId!);
      if (!sa || sa.deleted) return false;
    }
    return true;
  }

  // ---------- Secrets Manager ----------

  private secretsManager(op: string, input: any): unknown {
    try {
      return this.sm.call(op, input);
    } catch (err) {
      if (err instanceof SecretsManagerError) throw new ServiceError(400, err.type, err.message);
      throw err;
    }
  }
}

function describeCredential(c: Credential): LiveCredential {
  return { kind: c.kind, workspaceId: c.workspaceId, name: c.name, role: c.role, expiresAt: c.expiresAt, serviceAccountId: c.serviceAccountId, tokenId: c.tokenId };
}
