/**
 * Amazon Managed Grafana, as the library sees it: the control plane's API-key
 * and service-account operations (restJson1, routed by method and URI as in
 * @aws-sdk/client-grafana) and each workspace's Grafana HTTP API bearer-token
 * check. Keys and tokens expire on the simulated clock.
 *
 * Grafana facts modelled here:
 * - API keys and service-account tokens live in one table per organization
 *   (one organization per workspace here), and a name is unique in it: a
 *   token name clashes with an API key or a token of any service account in
 *   the workspace ("service account token with given name already exists in
 *   the organization"). Expired keys still exist and still hold their name
 *   until deleted.
 * - Deleting a service account deletes its tokens.
 * - Service-account ids and key/token ids are small integers, as strings.
 * - API keys look like base64 JSON {"k","n","id"}; service-account tokens like
 *   glsa_<32 alphanumerics>_<crc32 hex>.
 */
import { randomBytes } from 'crypto';
import type { SimClock } from './clock';
import { ConstraintChecker, ServiceError } from './errors';
import { crc32, type Rng } from './rng';

export const ACCOUNT = '123456789012';
export const REGION = 'us-east-1';
export const ROLES = ['ADMIN', 'EDITOR', 'VIEWER'] as const;
export const MAX_SECONDS_TO_LIVE = 2_592_000;
const WORKSPACE_ID = /^g-[0-9a-f]{10}$/;
const PAGE_SIZE = 50;

export type CredentialKind = 'apiKey' | 'serviceAccountToken';

interface Credential {
  readonly kind: CredentialKind;
  readonly workspaceId: string;
  readonly rowId: string;
  readonly name: string;
  readonly token: string;
  readonly role: string;
  readonly createdAt: number;
  readonly expiresAt: number;
  readonly serviceAccountId?: string;
  lastUsedAt?: number;
  deleted: boolean;
}

interface ServiceAccount {
  readonly id: string;
  readonly name: string;
  readonly role: string;
  readonly createdAt: number;
  disabled: boolean;
  deleted: boolean;
}

interface Workspace {
  readonly id: string;
  readonly name: string;
  grafanaVersion: string;
  readonly createdAt: number;
  modifiedAt: number;
  removed: boolean;
  readonly credentials: Credential[];
  readonly serviceAccounts: ServiceAccount[];
  nextUserId: number;
  nextKeyId: number;
  maxApiKeys?: number;
}

/** What the inspection methods report about a key or token (never the token itself). */
export interface KeyInfo {
  readonly workspaceId: string;
  readonly kind: CredentialKind;
  readonly name: string;
  readonly role: string;
  /** Simulated epoch ms. */
  readonly createdAt: number;
  /** Simulated epoch ms; the key stops working at this instant. */
  readonly expiresAt: number;
  readonly expired: boolean;
  readonly serviceAccountId?: string;
  /** Service-account token id (as ListWorkspaceServiceAccountTokens reports it). */
  readonly tokenId?: string;
  readonly lastUsedAt?: number;
}

export interface ServiceAccountInfo {
  readonly id: string;
  readonly name: string;
  readonly role: string;
  readonly isDisabled: boolean;
  readonly createdAt: number;
}

export interface WorkspaceInfo {
  readonly id: string;
  readonly endpoint: string;
  readonly arn: string;
}

export type GrafanaOperation =
  | 'DescribeWorkspace'
  | 'CreateWorkspaceApiKey'
  | 'DeleteWorkspaceApiKey'
  | 'CreateWorkspaceServiceAccount'
  | 'DeleteWorkspaceServiceAccount'
  | 'ListWorkspaceServiceAccounts'
  | 'CreateWorkspaceServiceAccountToken'
  | 'DeleteWorkspaceServiceAccountToken'
  | 'ListWorkspaceServiceAccountTokens';

const ROUTES: Array<{ method: string; path: string; op: GrafanaOperation }> = [
  { method: 'GET', path: '/workspaces/{workspaceId}', op: 'DescribeWorkspace' },
  { method: 'POST', path: '/workspaces/{workspaceId}/apikeys', op: 'CreateWorkspaceApiKey' },
  { method: 'DELETE', path: '/workspaces/{workspaceId}/apikeys/{keyName}', op: 'DeleteWorkspaceApiKey' },
  { method: 'POST', path: '/workspaces/{workspaceId}/serviceaccounts', op: 'CreateWorkspaceServiceAccount' },
  { method: 'GET', path: '/workspaces/{workspaceId}/serviceaccounts', op: 'ListWorkspaceServiceAccounts' },
  { method: 'DELETE', path: '/workspaces/{workspaceId}/serviceaccounts/{serviceAccountId}', op: 'DeleteWorkspaceServiceAccount' },
  { method: 'POST', path: '/workspaces/{workspaceId}/serviceaccounts/{serviceAccountId}/tokens', op: 'CreateWorkspaceServiceAccountToken' },
  { method: 'GET', path: '/workspaces/{workspaceId}/serviceaccounts/{serviceAccountId}/tokens', op: 'ListWorkspaceServiceAccountTokens' },
  { method: 'DELETE', path: '/workspaces/{workspaceId}/serviceaccounts/{serviceAccountId}/tokens/{tokenId}', op: 'DeleteWorkspaceServiceAccountToken' },
];

/** Other control-plane operations of the real service: answered 501 so a gap in the stand-in is obvious. */
const UNMODELLED: Array<{ method: string; path: string; op: string }> = [
  { method: 'GET', path: '/workspaces', op: 'ListWorkspaces' },
  { method: 'POST', path: '/workspaces', op: 'CreateWorkspace' },
  { method: 'PUT', path: '/workspaces/{workspaceId}', op: 'UpdateWorkspace' },
  { method: 'DELETE', path: '/workspaces/{workspaceId}', op: 'DeleteWorkspace' },
  { method: 'GET', path: '/workspaces/{workspaceId}/authentication', op: 'DescribeWorkspaceAuthentication' },
  { method: 'GET', path: '/workspaces/{workspaceId}/configuration', op: 'DescribeWorkspaceConfiguration' },
  { method: 'GET', path: '/workspaces/{workspaceId}/permissions', op: 'ListPermissions' },
  { method: 'GET', path: '/versions', op: 'ListVersions' },
  { method: 'GET', path: '/tags/{resourceArn}', op: 'ListTagsForResource' },
];

function matchPath(template: string, pathname: string): Record<string, string> | undefined {
  const t = template.split('/').filter(Boolean);
  const p = pathname.split('/').filter(Boolean);
  if (t.length !== p.length) return undefined;
  const labels: Record<string, string> = {};
  for (let i = 0; i < t.length; i++) {
    if (t[i].startsWith('{')) {
      try {
        labels[t[i].slice(1, -1)] = decodeURIComponent(p[i]);
      } catch {
        return undefined;
      }
    } else if (t[i] !== p[i]) {
      return undefined;
    }
  }
  return labels;
}

function validation(message: string, fieldList?: Array<{ name: string; message: string }>, reason = 'FIELD_VALIDATION_FAILED'): ServiceError {
  return new ServiceError(400, 'ValidationException', message, fieldList ? { reason, fieldList } : { reason });
}

function notFound(message: string, resourceId: string, resourceType: string): ServiceError {
  return new ServiceError(404, 'ResourceNotFoundException', message, { resourceId, resourceType });
}

function conflict(message: string, resourceId: string, resourceType: string): ServiceError {
  return new ServiceError(409, 'ConflictException', message, { resourceId, resourceType });
}

function majorVersion(v: string): number {
  const m = /^(\d+)/.exec(v);
  return m ? Number(m[1]) : NaN;
}

/** Grafana's slug for service-account logins (sa-<slug>): lower case, runs of other characters to '-'. */
function slug(name: string): string {
  return name.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '');
}

function encodePageToken(offset: number): string {
  return Buffer.from(JSON.stringify({ o: offset })).toString('base64');
}

function decodePageToken(token: string | null): number {
  if (token === null) return 0;
  try {
    const o = JSON.parse(Buffer.from(token, 'base64').toString('utf8')).o;
    if (Number.isInteger(o) && o >= 0) return o;
  } catch {
    /* fall through */
  }
  throw validation('Invalid nextToken', [{ name: 'nextToken', message: 'The pagination token is not valid' }]);
}

export class GrafanaModel {
  private readonly workspaces = new Map<string, Workspace>();
  private readonly byToken = new Map<string, Credential>();
  /** Every key and token ever returned by a Create call, in order. */
  readonly issued: string[] = [];

  constructor(
    private readonly clock: SimClock,
    private readonly rng: Rng,
    private readonly endpoint: () => string,
  ) {}

  // ---------------- test controls ----------------

  addWorkspace(opts: { id?: string; grafanaVersion?: string; name?: string } = {}): WorkspaceInfo {
    let id = opts.id;
    if (id !== undefined) {
      if (!WORKSPACE_ID.test(id)) throw new Error(`addWorkspace: id ${id} does not match ${WORKSPACE_ID.source}`);
      if (this.workspaces.get(id) && !this.workspaces.get(id)!.removed) throw new Error(`addWorkspace: workspace ${id} already exists`);
    } else {
      do id = `g-${this.rng.hex(10)}`; while (this.workspaces.has(id));
    }
    const version = opts.grafanaVersion ?? '10.4';
    if (Number.isNaN(majorVersion(version))) throw new Error(`addWorkspace: grafanaVersion ${version} is not a version number`);
    const now = this.clock.now();
    this.workspaces.set(id, {
      id, name: opts.name ?? `workspace-${id.slice(2)}`, grafanaVersion: version, createdAt: now, modifiedAt: now, removed: false,
      credentials: [], serviceAccounts: [], nextUserId: 2, nextKeyId: 1,
    });
    return this.info(id);
  }

  info(id: string): WorkspaceInfo {
    return { id, endpoint: this.endpoint(), arn: `arn:aws:grafana:${REGION}:${ACCOUNT}:/workspaces/${id}` };
  }

  /** The workspace disappears (as if deleted outside the stack): its keys stop working, calls answer 404. */
  removeWorkspace(id: string): void {
    this.testWorkspace(id).removed = true;
  }

  setGrafanaVersion(id: string, version: string): void {
    if (Number.isNaN(majorVersion(version))) throw new Error(`setGrafanaVersion: ${version} is not a version number`);
    const ws = this.testWorkspace(id);
    ws.grafanaVersion = version;
    ws.modifiedAt = this.clock.now();
  }

  /** At most `maxKeys` API keys (expired ones count) in the workspace; `undefined` lifts the limit. */
  setQuota(id: string, maxKeys: number | undefined): void {
    this.testWorkspace(id).maxApiKeys = maxKeys;
  }

  /** Disables or enables a service account, as the Grafana UI can: a disabled account's tokens fail authentication. */
  setServiceAccountDisabled(workspaceId: string, serviceAccountId: string, disabled: boolean): void {
    const sa = this.testWorkspace(workspaceId).serviceAccounts.find((s) => s.id === serviceAccountId && !s.deleted);
    if (!sa) throw new Error(`no service account ${serviceAccountId} in ${workspaceId}`);
    sa.disabled = disabled;
  }

  /** Deletes a key or token out of band (as someone in the Grafana UI would). Returns false if unknown or already deleted. */
  revoke(token: string): boolean {
    const c = this.byToken.get(token);
    if (!c || c.deleted) return false;
    c.deleted = true;
    return true;
  }

  // ---------------- inspection ----------------

  keys(filter: { workspaceId?: string; kind?: CredentialKind; serviceAccountId?: string; live?: boolean }): KeyInfo[] {
    const out: KeyInfo[] = [];
    for (const ws of this.workspaces.values()) {
      if (filter.workspaceId !== undefined && ws.id !== filter.workspaceId) continue;
      if (ws.removed) continue;
      for (const c of ws.credentials) {
        if (c.deleted) continue;
        if (filter.kind && c.kind !== filter.kind) continue;
        if (filter.serviceAccountId !== undefined && c.serviceAccountId !== filter.serviceAccountId) continue;
        if (filter.live && !this.isLive(c)) continue;
        out.push(this.describeCredential(c));
      }
    }
    return out;
  }

  serviceAccountList(workspaceId: string): ServiceAccountInfo[] {
    const ws = this.workspaces.get(workspaceId);
    if (!ws || ws.removed) return [];
    return ws.serviceAccounts.filter((s) => !s.deleted).map((s) => ({ id: s.id, name: s.name, role: s.role, isDisabled: s.disabled, createdAt: s.createdAt }));
  }

  isKeyValid(token: string): boolean {
    const c = this.byToken.get(token);
    return !!c && this.isLive(c);
  }

  // ---------------- control plane ----------------

  /** The operation for a request, or undefined when no route matches. */
  route(method: string, pathname: string): { op: string; labels: Record<string, string>; modelled: boolean } | undefined {
    for (const r of ROUTES) {
      if (r.method !== method) continue;
      const labels = matchPath(r.path, pathname);
      if (labels) return { op: r.op, labels, modelled: true };
    }
    for (const r of UNMODELLED) {
      if (r.method !== method) continue;
      const labels = matchPath(r.path, pathname);
      if (labels) return { op: r.op, labels, modelled: false };
    }
    return undefined;
  }

  invoke(op: string, labels: Record<string, string>, query: URLSearchParams, body: Record<string, unknown>): unknown {
    switch (op as GrafanaOperation) {
      case 'DescribeWorkspace': return this.describeWorkspace(labels.workspaceId);
      case 'CreateWorkspaceApiKey': return this.createApiKey(labels.workspaceId, body);
      case 'DeleteWorkspaceApiKey': return this.deleteApiKey(labels.workspaceId, labels.keyName);
      case 'CreateWorkspaceServiceAccount': return this.createServiceAccount(labels.workspaceId, body);
      case 'DeleteWorkspaceServiceAccount': return this.deleteServiceAccount(labels.workspaceId, labels.serviceAccountId);
      case 'ListWorkspaceServiceAccounts': return this.listServiceAccounts(labels.workspaceId, query);
      case 'CreateWorkspaceServiceAccountToken': return this.createToken(labels.workspaceId, labels.serviceAccountId, body);
      case 'DeleteWorkspaceServiceAccountToken': return this.deleteToken(labels.workspaceId, labels.serviceAccountId, labels.tokenId);
      case 'ListWorkspaceServiceAccountTokens': return this.listTokens(labels.workspaceId, labels.serviceAccountId, query);
      default: throw new ServiceError(501, 'NotImplemented', `The stand-in does not model ${op}`);
    }
  }

  private describeWorkspace(id: string) {
    const c = new ConstraintChecker();
    this.checkWorkspaceId(c, id);
    c.throwIfAny((m, f) => validation(m, f));
    const ws = this.workspace(id);
    return {
      workspace: {
        id: ws.id,
        name: ws.name,
        endpoint: this.endpoint(),
        grafanaVersion: ws.grafanaVersion,
        status: 'ACTIVE',
        authentication: { providers: ['AWS_SSO'] },
        accountAccessType: 'CURRENT_ACCOUNT',
        permissionType: 'SERVICE_MANAGED',
        dataSources: [],
        notificationDestinations: [],
        created: ws.createdAt / 1000,
        modified: ws.modifiedAt / 1000,
        freeTrialConsumed: false,
      },
    };
  }

  private createApiKey(workspaceId: string, body: Record<string, unknown>) {
    const c = new ConstraintChecker();
    this.checkWorkspaceId(c, workspaceId);
    c.string('keyName', body.keyName, { required: true, min: 1, max: 100 });
    c.string('keyRole', body.keyRole, { required: true, enum: ROLES });
    c.integer('secondsToLive', body.secondsToLive, { required: true, min: 1, max: MAX_SECONDS_TO_LIVE });
    c.throwIfAny((m, f) => validation(m, f));
    const ws = this.workspace(workspaceId);
    const major = majorVersion(ws.grafanaVersion);
    if (major >= 11) {
      throw validation(`API keys are not supported in Grafana version ${ws.grafanaVersion}; use service accounts`, undefined, 'OTHER');
    }
    const name = body.keyName as string;
    if (this.nameTaken(ws, name)) {
      throw conflict(`An API key or service account token named ${name} already exists in workspace ${workspaceId}`, name, 'API_KEY');
    }
    const existingApiKeys = ws.credentials.filter((k) => !k.deleted && k.kind === 'apiKey').length;
    if (ws.maxApiKeys !== undefined && existingApiKeys >= ws.maxApiKeys) {
      throw new ServiceError(402, 'ServiceQuotaExceededException', `You have reached the limit of ${ws.maxApiKeys} API keys for workspace ${workspaceId}`, {
        resourceId: workspaceId, resourceType: 'WORKSPACE', serviceCode: 'grafana', quotaCode: 'API_KEYS_PER_WORKSPACE',
      });
    }
    const cred = this.issue(ws, 'apiKey', name, body.keyRole as string, body.secondsToLive as number);
    return { key: cred.token, keyName: name, workspaceId };
  }

  private deleteApiKey(workspaceId: string, keyName: string) {
    const c = new ConstraintChecker();
    this.checkWorkspaceId(c, workspaceId);
    c.string('keyName', keyName, { required: true, min: 1, max: 100 });
    c.throwIfAny((m, f) => validation(m, f));
    const ws = this.workspace(workspaceId);
    const key = ws.credentials.find((k) => !k.deleted && k.kind === 'apiKey' && k.name === keyName);
    if (!key) throw notFound(`API key ${keyName} not found in workspace ${workspaceId}`, keyName, 'API_KEY');
    key.deleted = true;
    return { keyName, workspaceId };
  }

  private createServiceAccount(workspaceId: string, body: Record<string, unknown>) {
    const c = new ConstraintChecker();
    this.checkWorkspaceId(c, workspaceId);
    c.string('name', body.name, { required: true, min: 1, max: 128 });
    c.string('grafanaRole', body.grafanaRole, { required: true, enum: ROLES });
    c.throwIfAny((m, f) => validation(m, f));
    const ws = this.workspace(workspaceId);
    this.requireServiceAccounts(ws);
    const name = body.name as string;
    const clash = ws.serviceAccounts.find((s) => !s.deleted && (s.name.toLowerCase() === name.toLowerCase() || slug(s.name) === slug(name)));
    if (clash) throw conflict(`A service account named ${clash.name} already exists in workspace ${workspaceId}`, name, 'SERVICE_ACCOUNT');
    const sa: ServiceAccount = { id: String(ws.nextUserId++), name, role: body.grafanaRole as string, createdAt: this.clock.now(), disabled: false, deleted: false };
    ws.serviceAccounts.push(sa);
    return { id: sa.id, name: sa.name, grafanaRole: sa.role, workspaceId };
  }

  private deleteServiceAccount(workspaceId: string, serviceAccountId: string) {
    const c = new ConstraintChecker();
    this.checkWorkspaceId(c, workspaceId);
    c.string('serviceAccountId', serviceAccountId, { required: true, min: 1 });
    c.throwIfAny((m, f) => validation(m, f));
    const ws = this.workspace(workspaceId);
    this.requireServiceAccounts(ws);
    const sa = this.serviceAccount(ws, serviceAccountId);
    sa.deleted = true;
    for (const t of ws.credentials) if (t.serviceAccountId === sa.id) t.deleted = true;
    return { serviceAccountId, workspaceId };
  }

  private listServiceAccounts(workspaceId: string, query: URLSearchParams) {
    const c = new ConstraintChecker();
    this.checkWorkspaceId(c, workspaceId);
    const size = this.checkMaxResults(c, query);
    c.throwIfAny((m, f) => validation(m, f));
    const ws = this.workspace(workspaceId);
    this.requireServiceAccounts(ws);
    const all = ws.serviceAccounts.filter((s) => !s.deleted)
      .sort((a, b) => a.name.toLowerCase().localeCompare(b.name.toLowerCase()) || Number(a.id) - Number(b.id))
      .map((s) => ({ id: s.id, name: s.name, isDisabled: String(s.disabled), grafanaRole: s.role }));
    const start = decodePageToken(query.get('nextToken'));
    const page = all.slice(start, start + size);
    return { serviceAccounts: page, workspaceId, ...(start + size < all.length ? { nextToken: encodePageToken(start + size) } : {}) };
  }

  private createToken(workspaceId: string, serviceAccountId: string, body: Record<string, unknown>) {
    const c = new ConstraintChecker();
    this.checkWorkspaceId(c, workspaceId);
    c.string('serviceAccountId', serviceAccountId, { required: true, min: 1 });
    c.string('name', body.name, { required: true, min: 1, max: 128 });
    c.integer('secondsToLive', body.secondsToLive, { required: true, min: 1, max: MAX_SECONDS_TO_LIVE });
    c.throwIfAny((m, f) => validation(m, f));
    const ws = this.workspace(workspaceId);
    this.requireServiceAccounts(ws);
    const sa = this.serviceAccount(ws, serviceAccountId);
    const name = body.name as string;
    if (this.nameTaken(ws, name)) {
      throw conflict(`service account token with name ${name} already exists in the organization`, name, 'SERVICE_ACCOUNT_TOKEN');
    }
    const cred = this.issue(ws, 'serviceAccountToken', name, sa.role, body.secondsToLive as number, sa.id);
    return { serviceAccountId: sa.id, serviceAccountToken: { id: cred.rowId, name, key: cred.token }, workspaceId };
  }

  private deleteToken(workspaceId: string, serviceAccountId: string, tokenId: string) {
    const c = new ConstraintChecker();
    this.checkWorkspaceId(c, workspaceId);
    c.string('serviceAccountId', serviceAccountId, { required: true, min: 1 });
    c.string('tokenId', tokenId, { required: true, min: 1 });
    c.throwIfAny((m, f) => validation(m, f));
    const ws = this.workspace(workspaceId);
    this.requireServiceAccounts(ws);
    const sa = this.serviceAccount(ws, serviceAccountId);
    const t = ws.credentials.find((k) => !k.deleted && k.serviceAccountId === sa.id && k.rowId === tokenId);
    if (!t) throw notFound(`Token ${tokenId} not found for service account ${serviceAccountId}`, tokenId, 'SERVICE_ACCOUNT_TOKEN');
    t.deleted = true;
    return { tokenId, serviceAccountId, workspaceId };
  }

  private listTokens(workspaceId: string, serviceAccountId: string, query: URLSearchParams) {
    const c = new ConstraintChecker();
    this.checkWorkspaceId(c, workspaceId);
    c.string('serviceAccountId', serviceAccountId, { required: true, min: 1 });
    const size = this.checkMaxResults(c, query);
    c.throwIfAny((m, f) => validation(m, f));
    const ws = this.workspace(workspaceId);
    this.requireServiceAccounts(ws);
    const sa = this.serviceAccount(ws, serviceAccountId);
    const all = ws.credentials.filter((k) => !k.deleted && k.serviceAccountId === sa.id)
      .sort((a, b) => a.name.localeCompare(b.name))
      .map((k) => ({
        id: k.rowId, name: k.name, createdAt: k.createdAt / 1000, expiresAt: k.expiresAt / 1000,
        ...(k.lastUsedAt !== undefined ? { lastUsedAt: k.lastUsedAt / 1000 } : {}),
      }));
    const start = decodePageToken(query.get('nextToken'));
    const page = all.slice(start, start + size);
    return { serviceAccountTokens: page, serviceAccountId: sa.id, workspaceId, ...(start + size < all.length ? { nextToken: encodePageToken(start + size) } : {}) };
  }

  // ---------------- workspace HTTP API ----------------

  /**
   * Grafana's bearer-token check. Returns the credential's workspace on
   * success, or the 401 message Grafana answers with.
   */
  authenticate(authorization: string | undefined): { ok: true; workspaceId: string; role: string } | { ok: false; message: string } {
    if (!authorization) return { ok: false, message: 'Unauthorized' };
    const m = /^Bearer\s+(.+)$/i.exec(authorization.trim());
    if (!m) return { ok: false, message: 'Unauthorized' };
    const c = this.byToken.get(m[1].trim());
    if (!c || c.deleted) return { ok: false, message: 'Invalid API key' };
    const ws = this.workspaces.get(c.workspaceId);
    if (!ws || ws.removed) return { ok: false, message: 'Invalid API key' };
    if (c.expiresAt <= this.clock.now()) return { ok: false, message: 'Expired API key' };
    if (c.serviceAccountId !== undefined) {
      const sa = ws.serviceAccounts.find((s) => s.id === c.serviceAccountId);
      if (!sa || sa.deleted) return { ok: false, message: 'Invalid API key' };
      if (sa.disabled) return { ok: false, message: 'Service account is disabled' };
    }
    c.lastUsedAt = this.clock.now();
    return { ok: true, workspaceId: c.workspaceId, role: c.role };
  }

  // ---------------- helpers ----------------

  private issue(ws: Workspace, kind: CredentialKind, name: string, role: string, secondsToLive: number, serviceAccountId?: string): Credential {
    const secret = randomAlnum(32);
    const token = kind === 'apiKey'
      ? Buffer.from(JSON.stringify({ k: secret, n: name, id: 1 })).toString('base64')
      : `glsa_${secret}_${crc32(`glsa_${secret}`).toString(16).padStart(8, '0')}`;
    const now = this.clock.now();
    const cred: Credential = {
      kind, workspaceId: ws.id, rowId: String(ws.nextKeyId++), name, token, role,
      createdAt: now, expiresAt: now + secondsToLive * 1000, serviceAccountId, deleted: false,
    };
    ws.credentials.push(cred);
    this.byToken.set(token, cred);
    this.issued.push(token);
    return cred;
  }

  private nameTaken(ws: Workspace, name: string): boolean {
    return ws.credentials.some((k) => !k.deleted && k.name === name);
  }

  private isLive(c: Credential): boolean {
    if (c.deleted || c.expiresAt <= this.clock.now()) return false;
    const ws = this.workspaces.get(c.workspaceId);
    if (!ws || ws.removed) return false;
    if (c.serviceAccountId !== undefined) {
      const sa = ws.serviceAccounts.find((s) => s.id === c.serviceAccountId);
      if (!sa || sa.deleted || sa.disabled) return false;
    }
    return true;
  }

  private describeCredential(c: Credential): KeyInfo {
    return {
      workspaceId: c.workspaceId, kind: c.kind, name: c.name, role: c.role, createdAt: c.createdAt, expiresAt: c.expiresAt,
      expired: c.expiresAt <= this.clock.now(),
      ...(c.serviceAccountId !== undefined ? { serviceAccountId: c.serviceAccountId, tokenId: c.rowId } : {}),
      ...(c.lastUsedAt !== undefined ? { lastUsedAt: c.lastUsedAt } : {}),
    };
  }

  private checkWorkspaceId(c: ConstraintChecker, id: string): void {
    c.string('workspaceId', id, { required: true, pattern: WORKSPACE_ID, patternText: '^g-[0-9a-f]{10}$' });
  }

  private checkMaxResults(c: ConstraintChecker, query: URLSearchParams): number {
    const raw = query.get('maxResults');
    if (raw === null) return PAGE_SIZE;
    const n = Number(raw);
    return c.integer('maxResults', Number.isFinite(n) ? n : raw, { min: 1, max: 100 }) ? n : PAGE_SIZE;
  }

  private workspace(id: string): Workspace {
    const ws = this.workspaces.get(id);
    if (!ws || ws.removed) throw notFound(`Workspace ${id} not found`, id, 'WORKSPACE');
    return ws;
  }

  private testWorkspace(id: string): Workspace {
    const ws = this.workspaces.get(id);
    if (!ws || ws.removed) throw new Error(`no workspace ${id}`);
    return ws;
  }

  private requireServiceAccounts(ws: Workspace): void {
    if (majorVersion(ws.grafanaVersion) < 9) {
      throw validation(`Service accounts are only available for workspaces that are compatible with Grafana version 9 and above; workspace ${ws.id} runs Grafana ${ws.grafanaVersion}`, undefined, 'OTHER');
    }
  }

  private serviceAccount(ws: Workspace, id: string): ServiceAccount {
    const sa = ws.serviceAccounts.find((s) => s.id === id && !s.deleted);
    if (!sa) throw notFound(`Service account ${id} not found in workspace ${ws.id}`, id, 'SERVICE_ACCOUNT');
    return sa;
  }
}

const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/** Unpredictable (crypto) alphanumerics for key material. */
function randomAlnum(n: number): string {
  let s = '';
  while (s.length < n) {
    for (const b of randomBytes(n * 2)) {
      if (b < 248) s += ALNUM[b % 62]; // 248 = 4 * 62: no modulo bias
      if (s.length === n) break;
    }
  }
  return s;
}
