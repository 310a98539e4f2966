/**
 * A stand-in for a self-managed Grafana server's HTTP API, on 127.0.0.1 over
 * https with the test bed's certificate (test/testbed/aws/tls), following
 * Grafana's HTTP API documentation for what the library uses:
 * - basic auth (the server admin) and bearer auth (API keys, service-account tokens);
 * - organizations, chosen with X-Grafana-Org-Id;
 * - legacy API keys (`/api/auth/keys`), gone in version 11 mode;
 * - service accounts and their tokens, with expiry on a clock the tests control;
 * - the max-TTL settings `api_key_max_seconds_to_live` and `token_expiration_day_limit`;
 * - 400, 401, 403, 404, 409 and 410 with Grafana's `{"message"}` bodies (and `messageId`, `statusCode` where
 *   Grafana answers through its errutil package);
 * - faults: refuse connections or hang.
 * No 412: Grafana answers 412 Precondition Failed only on dashboard and folder writes (version-mismatch,
 * name-exists; docs/sources/developers/http_api/dashboard.md and folder.md). The endpoints used here list 200,
 * 400, 401, 403, 404, 409, 410 and 500 (the swagger:route comments of pkg/api/apikey.go and
 * pkg/services/serviceaccounts/api/token.go), and errutil (pkg/apimachinery/errutil/status.go) has no 412.
 * Nothing here ever prints a token.
 */
import { randomBytes } from 'crypto';
import * as fs from 'fs';
import * as https from 'https';
import type { AddressInfo } from 'net';
import * as path from 'path';

type Role = 'Admin' | 'Editor' | 'Viewer';
const ROLES: readonly string[] = ['Admin', 'Editor', 'Viewer'];

interface Credential {
  readonly kind: 'apiKey' | 'serviceAccountToken';
  readonly id: number;
  readonly orgId: number;
  readonly name: string;
  readonly token: string;
  /** ms, or undefined for never. */
  readonly expiresAt?: number;
  readonly serviceAccountId?: number;
  readonly role: Role;
  deleted: boolean;
}

interface ServiceAccount { readonly id: number; readonly orgId: number; readonly name: string; readonly role: Role; deleted: boolean }

class GrafanaError extends Error {
  /** messageId: set where Grafana answers with an errutil error, whose body is {message, messageId, statusCode}. */
  constructor(readonly status: number, message: string, readonly messageId?: string) { super(message); }
}

export interface GrafanaServerOptions {
  /** Grafana version, e.g. '10.4.2' or '11.3.0'. */
  readonly version?: string;
  /** The simulated clock (ms) that expiry follows. */
  readonly now?: () => number;
  readonly adminUser?: string;
  readonly adminPassword?: string;
  readonly apiKeyMaxSecondsToLive?: number;
  readonly tokenExpirationDayLimit?: number;
}

export interface ServerCredential { readonly kind: 'apiKey' | 'serviceAccountToken'; readonly name: string; readonly orgId: number; readonly serviceAccountId?: number }

function tlsDir(): string {
  for (const dir of [path.join(__dirname, '..', 'aws', 'tls'), path.join(__dirname, '..', '..', '..', '..', 'test', 'testbed', 'aws', 'tls')]) {
    if (fs.existsSync(path.join(dir, 'cert.pem'))) return dir;
  }
  throw new Error('test bed TLS certificate not found');
}

export class GrafanaServerStandIn {
  static async start(opts: GrafanaServerOptions = {}): Promise<GrafanaServerStandIn> {
    const s = new GrafanaServerStandIn(opts);
    await new Promise<void>((r) => s.server.listen(0, '127.0.0.1', r));
    return s;
  }

  version: string;
  /** 'refuse' resets every connection; 'hang' never answers. */
  mode: 'up' | 'refuse' | 'hang' = 'up';
  apiKeyMaxSecondsToLive?: number;
  tokenExpirationDayLimit?: number;
  adminUser: string;
  adminPassword: string;
  readonly caCertPath = path.join(tlsDir(), 'cert.pem');

  private readonly server: https.Server;
  private readonly now: () => number;
  private readonly orgs = new Map<number, string>([[1, 'Main Org.']]);
  private readonly credentials: Credential[] = [];
  private readonly accounts: ServiceAccount[] = [];
  private readonly issued: string[] = [];
  private readonly counters = new Map<string, number>();
  private readonly held = new Set<import('http').ServerResponse>();
  private nextId = 1;

  private constructor(opts: GrafanaServerOptions) {
    this.version = opts.version ?? '10.4.2';
    this.now = opts.now ?? Date.now;
    this.adminUser = opts.adminUser ?? 'admin';
    this.adminPassword = opts.adminPassword ?? `pw-${randomBytes(8).toString('hex')}`;
    this.apiKeyMaxSecondsToLive = opts.apiKeyMaxSecondsToLive;
    this.tokenExpirationDayLimit = opts.tokenExpirationDayLimit;
    const dir = tlsDir();
    this.server = https.createServer({ key: fs.readFileSync(path.join(dir, 'key.pem')), cert: fs.readFileSync(path.join(dir, 'cert.pem')) }, (req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => this.serve(req, res, Buffer.concat(chunks).toString('utf8')));
    });
    this.server.keepAliveTimeout = 1000;
  }

  get url(): string { return `https://127.0.0.1:${(this.server.address() as AddressInfo).port}`; }

  async stop(): Promise<void> {
    for (const res of this.held) res.destroy();
    this.server.closeAllConnections();
    await new Promise((r) => this.server.close(r));
  }

  // ---------- test controls and inspection ----------

  addOrg(name: string): number {
    const id = Math.max(...this.orgs.keys()) + 1;
    this.orgs.set(id, name);
    return id;
  }

  /** A service account with the Admin role and a token for it, as an admin secret can hold. */
  adminToken(orgId = 1): string {
    const sa: ServiceAccount = { id: this.nextId++, orgId, name: `admin-sa-${this.nextId}`, role: 'Admin', deleted: false };
    this.accounts.push(sa);
    return this.newCredential('serviceAccountToken', orgId, `admin-token-${sa.id}`, 'Admin', 0, sa.id).token;
  }

  /** Credentials that work now, apart from admin tokens made by adminToken(). */
  live(): ServerCredential[] {
    return this.credentials.filter((c) => this.works(c) && !c.name.startsWith('admin-token-')).map(describe);
  }

  /** Credentials that exist (not deleted), expired or not, apart from admin tokens. */
  existing(): ServerCredential[] {
    return this.credentials.filter((c) => !c.deleted && !c.name.startsWith('admin-token-')).map(describe);
  }

  serviceAccounts(orgId?: number): Array<{ id: number; orgId: number; name: string; role: string }> {
    return this.accounts.filter((a) => !a.deleted && !a.name.startsWith('admin-sa-') && (orgId === undefined || a.orgId === orgId))
      .map(({ id, orgId: o, name, role }) => ({ id, orgId: o, name, role }));
  }

  /** Revokes a credential out of band, as a human in the UI would. */
  revokeByName(name: string): void {
    for (const c of this.credentials) if (c.name === name) c.deleted = true;
  }

  isValid(token: string): boolean {
    const c = this.credentials.find((x) => x.token === token);
    return !!c && this.works(c);
  }

  /** Every token and password ever handed out or set, for leak checks. */
  secrets(): string[] { return [...this.issued, this.adminPassword]; }

  counts(): Record<string, number> { return Object.fromEntries(this.counters); }
  resetCounts(): void { this.counters.clear(); }
  totalCalls(): number { return [...this.counters.values()].reduce((a, b) => a + b, 0); }

  // ---------- HTTP ----------

  private serve(req: import('http').IncomingMessage, res: import('http').ServerResponse, body: string): void {
    if (this.mode === 'refuse') { req.socket.destroy(); return; }
    if (this.mode === 'hang') { this.held.add(res); return; }
    const url = new URL(req.url ?? '/', 'https://x');
    const method = req.method ?? 'GET';
    const send = (status: number, payload: unknown) => res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(payload));
    let op = `${method} ${url.pathname.replace(/\/[0-9]+(?=\/|$)/g, '/{id}')}`;
    try {
      const route = this.route(method, url, req, body);
      op = route.op;
      const [status, payload] = route.handle();
      this.count(op);
      send(status, payload);
    } catch (err) {
      this.count(op);
      if (err instanceof GrafanaError) send(err.status, { message: err.message, ...(err.messageId ? { messageId: err.messageId, statusCode: err.status } : {}) });
      else send(500, { message: `stand-in error: ${(err as Error).message}` });
    }
  }

  private count(op: string): void { this.counters.set(op, (this.counters.get(op) ?? 0) + 1); }

  private major(): number { return Number(this.version.split('.')[0]); }

  private route(method: string, url: URL, req: import('http').IncomingMessage, body: string): { op: string; handle: () => [number, unknown] } {
    const p = url.pathname;
    const json = () => { try { return body ? JSON.parse(body) : {}; } catch { throw new GrafanaError(400, 'bad request data'); } };
    const who = () => this.authenticate(req);
    let m: RegExpExecArray | null;
    if (method === 'GET' && p === '/api/health') return { op: 'Health', handle: () => [200, { database: 'ok', version: this.version }] };
    if (method === 'GET' && p === '/api/org') return { op: 'GetOrg', handle: () => { const u = who(); return [200, { id: u.orgId, name: this.orgs.get(u.orgId) }]; } };
    if (method === 'GET' && p === '/api/access-control/user/permissions') {
      return { op: 'UserPermissions', handle: () => { if (this.major() < 9) throw new GrafanaError(404, 'Not found'); who(); return [200, { 'dashboards:read': ['dashboards:*'] }]; } };
    }
    if (p === '/api/auth/keys' && method === 'POST') return { op: 'CreateApiKey', handle: () => this.createApiKey(who(), json()) };
    if (p === '/api/auth/keys' && method === 'GET') return { op: 'ListApiKeys', handle: () => this.listApiKeys(who(), url.searchParams.get('includeExpired') === 'true') };
    if ((m = /^\/api\/auth\/keys\/([^/]+)$/.exec(p)) && method === 'DELETE') return { op: 'DeleteApiKey', handle: () => this.deleteApiKey(who(), m![1]) };
    if (p === '/api/serviceaccounts' && method === 'POST') return { op: 'CreateServiceAccount', handle: () => this.createServiceAccount(who(), json()) };
    if (p === '/api/serviceaccounts/search' && method === 'GET') return { op: 'SearchServiceAccounts', handle: () => this.searchServiceAccounts(who(), url.searchParams) };
    if ((m = /^\/api\/serviceaccounts\/([^/]+)$/.exec(p)) && method === 'DELETE') return { op: 'DeleteServiceAccount', handle: () => this.deleteServiceAccount(who(), m![1]) };
    if ((m = /^\/api\/serviceaccounts\/([^/]+)\/tokens$/.exec(p)) && method === 'POST') return { op: 'CreateToken', handle: () => this.createToken(who(), m![1], json()) };
    if ((m = /^\/api\/serviceaccounts\/([^/]+)\/tokens$/.exec(p)) && method === 'GET') return { op: 'ListTokens', handle: () => this.listTokens(who(), m![1]) };
    if ((m = /^\/api\/serviceaccounts\/([^/]+)\/tokens\/([^/]+)$/.exec(p)) && method === 'DELETE') return { op: 'DeleteToken', handle: () => this.deleteToken(who(), m![1], m![2]) };
    return { op: `${method} ${p}`, handle: () => { throw new GrafanaError(404, 'Not found'); } };
  }

  /** Who is calling, in which org, with which role; 401 as Grafana answers it. */
  private authenticate(req: import('http').IncomingMessage): { orgId: number; role: Role; serverAdmin: boolean } {
    const auth = req.headers.authorization ?? '';
    const header = req.headers['x-grafana-org-id'];
    const asked = typeof header === 'string' && header ? Number(header) : undefined;
    if (auth.startsWith('Basic ')) {
      const [user, ...rest] = Buffer.from(auth.slice(6), 'base64').toString('utf8').split(':');
      if (user !== this.adminUser || rest.join(':') !== this.adminPassword) throw new GrafanaError(401, 'invalid username or password');
      const orgId = asked ?? 1;
      if (!this.orgs.has(orgId)) throw new GrafanaError(401, 'user not a member of the organization');
      return { orgId, role: 'Admin', serverAdmin: true };
    }
    if (auth.startsWith('Bearer ')) {
      const c = this.credentials.find((x) => x.token === auth.slice(7));
      if (!c || c.deleted) throw new GrafanaError(401, 'Invalid API key');
      if (c.expiresAt !== undefined && c.expiresAt <= this.now()) throw new GrafanaError(401, 'Expired API key');
      if (asked !== undefined && asked !== c.orgId) throw new GrafanaError(401, 'API key does not belong to the requested organization');
      return { orgId: c.orgId, role: c.role, serverAdmin: false };
    }
    throw new GrafanaError(401, 'Unauthorized');
  }

  private requireAdmin(u: { role: Role }, action: string): void {
    if (u.role !== 'Admin') throw new GrafanaError(403, `You'll need additional permissions to perform this action. Permissions needed: ${action}`);
  }

  private works(c: Credential): boolean {
    if (c.deleted || (c.expiresAt !== undefined && c.expiresAt <= this.now())) return false;
    if (c.serviceAccountId !== undefined) return !this.accounts.find((a) => a.id === c.serviceAccountId)?.deleted;
    return true;
  }

  private newCredential(kind: Credential['kind'], orgId: number, name: string, role: Role, secondsToLive: number, serviceAccountId?: number): Credential {
    const token = kind === 'apiKey' ? `eyJr${randomBytes(24).toString('base64url')}` : `glsa_${randomBytes(24).toString('hex')}_${randomBytes(4).toString('hex')}`;
    const c: Credential = {
      kind, id: this.nextId++, orgId, name, token, role, serviceAccountId, deleted: false,
      expiresAt: secondsToLive > 0 ? this.now() + secondsToLive * 1000 : undefined,
    };
    this.credentials.push(c);
    this.issued.push(token);
    return c;
  }

  private checkSecondsToLive(value: unknown, maxSeconds: number | undefined, what: string): number {
    const seconds = value === undefined ? 0 : Number(value);
    if (!Number.isInteger(seconds) || seconds < 0) throw new GrafanaError(400, 'negative value for SecondsToLive');
    if (maxSeconds !== undefined && (seconds === 0 || seconds > maxSeconds)) throw new GrafanaError(400, `${what}: the expiration exceeds the limit set by the server`);
    return seconds;
  }

  private createApiKey(u: { orgId: number; role: Role }, body: any): [number, unknown] {
    if (this.major() >= 11) throw new GrafanaError(410, 'API keys have been removed: migrate to service accounts');
    this.requireAdmin(u, 'apikeys:create');
    if (typeof body.name !== 'string' || !body.name) throw new GrafanaError(400, 'bad request data: name required');
    if (!ROLES.includes(body.role)) throw new GrafanaError(400, 'bad request data: invalid role');
    const seconds = this.checkSecondsToLive(body.secondsToLive, this.apiKeyMaxSecondsToLive, 'api_key_max_seconds_to_live');
    if (this.credentials.some((c) => c.kind === 'apiKey' && !c.deleted && c.orgId === u.orgId && c.name === body.name)) {
      throw new GrafanaError(409, 'API key, organization ID and name must be unique');
    }
    const c = this.newCredential('apiKey', u.orgId, body.name, body.role, seconds);
    return [200, { id: c.id, name: c.name, key: c.token }];
  }

  private listApiKeys(u: { orgId: number; role: Role }, includeExpired: boolean): [number, unknown] {
    if (this.major() >= 11) throw new GrafanaError(410, 'API keys have been removed: migrate to service accounts');
    this.requireAdmin(u, 'apikeys:read');
    const keys = this.credentials.filter((c) => c.kind === 'apiKey' && !c.deleted && c.orgId === u.orgId && (includeExpired || this.works(c)));
    return [200, keys.map((c) => ({ id: c.id, name: c.name, role: c.role, expiration: c.expiresAt ? new Date(c.expiresAt).toISOString() : undefined }))];
  }

  private deleteApiKey(u: { orgId: number; role: Role }, id: string): [number, unknown] {
    this.requireAdmin(u, 'apikeys:delete');
    const c = this.credentials.find((x) => x.kind === 'apiKey' && !x.deleted && x.orgId === u.orgId && String(x.id) === id);
    if (!c) throw new GrafanaError(404, 'API key not found');
    c.deleted = true;
    return [200, { message: 'API key deleted' }];
  }

  private account(u: { orgId: number }, id: string): ServiceAccount {
    if (this.major() < 9) throw new GrafanaError(404, 'Not found');
    const sa = this.accounts.find((a) => !a.deleted && a.orgId === u.orgId && String(a.id) === id);
    if (!sa) throw new GrafanaError(404, 'service account not found');
    return sa;
  }

  private createServiceAccount(u: { orgId: number; role: Role }, body: any): [number, unknown] {
    if (this.major() < 9) throw new GrafanaError(404, 'Not found');
    this.requireAdmin(u, 'serviceaccounts:create');
    if (typeof body.name !== 'string' || !body.name) throw new GrafanaError(400, 'required value Name must not be empty');
    const role = body.role ?? 'Viewer';
    if (!ROLES.includes(role)) throw new GrafanaError(400, 'invalid role value');
    if (this.accounts.some((a) => !a.deleted && a.orgId === u.orgId && a.name === body.name)) throw new GrafanaError(409, 'service account already exists');
    const sa: ServiceAccount = { id: this.nextId++, orgId: u.orgId, name: body.name, role, deleted: false };
    this.accounts.push(sa);
    return [201, { id: sa.id, name: sa.name, login: `sa-${sa.name}`, orgId: sa.orgId, isDisabled: false, role: sa.role, tokens: 0 }];
  }

  private searchServiceAccounts(u: { orgId: number; role: Role }, q: URLSearchParams): [number, unknown] {
    this.requireAdmin(u, 'serviceaccounts:read');
    const query = q.get('query') ?? '';
    const perPage = Number(q.get('perpage') ?? 1000);
    const page = Number(q.get('page') ?? 1);
    const all = this.accounts.filter((a) => !a.deleted && a.orgId === u.orgId && a.name.includes(query));
    return [200, { totalCount: all.length, page, perPage, serviceAccounts: all.slice((page - 1) * perPage, page * perPage).map((a) => ({ id: a.id, name: a.name, orgId: a.orgId, role: a.role, isDisabled: false })) }];
  }

  private deleteServiceAccount(u: { orgId: number; role: Role }, id: string): [number, unknown] {
    this.requireAdmin(u, 'serviceaccounts:delete');
    const sa = this.account(u, id);
    sa.deleted = true;
    for (const c of this.credentials) if (c.serviceAccountId === sa.id) c.deleted = true;
    return [200, { message: 'Service account deleted' }];
  }

  private createToken(u: { orgId: number; role: Role }, id: string, body: any): [number, unknown] {
    this.requireAdmin(u, 'serviceaccounts:write');
    const sa = this.account(u, id);
    if (typeof body.name !== 'string' || !body.name) throw new GrafanaError(400, 'bad request data: name required');
    const limit = this.tokenExpirationDayLimit === undefined ? undefined : this.tokenExpirationDayLimit * 86_400;
    const seconds = this.checkSecondsToLive(body.secondsToLive, limit, 'token_expiration_day_limit');
    if (this.credentials.some((c) => c.serviceAccountId === sa.id && !c.deleted && c.name === body.name)) {
      // Grafana 9.0 answered 409 (token.go: database.ErrDuplicateToken -> StatusConflict). Since then CreateToken answers
      // response.ErrOrFallback(err) and ErrDuplicateToken is errutil.BadRequest (pkg/services/serviceaccounts/models.go): 400.
      const message = 'service account token with given name already exists in the organization';
      if (this.major() < 10) throw new GrafanaError(409, message);
      throw new GrafanaError(400, message, 'serviceaccounts.ErrTokenAlreadyExists');
    }
    const c = this.newCredential('serviceAccountToken', sa.orgId, body.name, sa.role, seconds, sa.id);
    return [200, { id: c.id, name: c.name, key: c.token }];
  }

  private listTokens(u: { orgId: number; role: Role }, id: string): [number, unknown] {
    this.requireAdmin(u, 'serviceaccounts:read');
    const sa = this.account(u, id);
    const tokens = this.credentials.filter((c) => c.serviceAccountId === sa.id && !c.deleted);
    return [200, tokens.map((c) => ({ id: c.id, name: c.name, expiration: c.expiresAt ? new Date(c.expiresAt).toISOString() : null, hasExpired: !this.works(c) }))];
  }

  private deleteToken(u: { orgId: number; role: Role }, id: string, tokenId: string): [number, unknown] {
    this.requireAdmin(u, 'serviceaccounts:write');
    const sa = this.account(u, id);
    const c = this.credentials.find((x) => x.serviceAccountId === sa.id && !x.deleted && String(x.id) === tokenId);
    if (!c) throw new GrafanaError(404, 'service account token not found');
    c.deleted = true;
    return [200, { message: 'Service account token deleted' }];
  }
}

function describe(c: Credential): ServerCredential {
  return { kind: c.kind, name: c.name, orgId: c.orgId, ...(c.serviceAccountId !== undefined ? { serviceAccountId: c.serviceAccountId } : {}) };
}
