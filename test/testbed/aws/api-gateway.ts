/**
 * A stand-in for the part of Amazon API Gateway (REST APIs, restJson1) that
 * RotatingApiKey uses: API keys (API Gateway generates each value, tags, and
 * names that several keys may share), usage plans and their keys, the errors
 * API Gateway answers (NotFoundException, ConflictException,
 * BadRequestException, LimitExceededException at 10,000 keys), and a tiny REST
 * endpoint that answers 200 to a request whose `x-api-key` is an enabled key
 * in an existing usage plan, and 403 otherwise. AwsStandIns hosts it: the
 * control plane on its HTTP port (AWS_ENDPOINT_URL_API_GATEWAY), the endpoint
 * on its HTTPS port under ENDPOINT_PATH. Throttling comes from the shared
 * fault injector (`faults.rateLimit('CreateApiKey', 5)`), answered as API
 * Gateway does: 429 TooManyRequestsException.
 */
import { randomBytes } from 'crypto';
import type * as http from 'http';

export const ENDPOINT_PATH = '/execute-api/';

/** API Gateway's control-plane operations the stand-in answers; a throttled one is a 429 TooManyRequestsException. */
export const API_GATEWAY_OPERATIONS = new Set([
  'CreateApiKey', 'GetApiKeys', 'GetApiKey', 'DeleteApiKey', 'UpdateApiKey',
  'CreateUsagePlanKey', 'GetUsagePlanKey', 'GetUsagePlanKeys', 'DeleteUsagePlanKey',
]);

export class ApiGatewayError extends Error {
  constructor(readonly status: number, readonly type: string, message: string) { super(message); }
}

interface ApiKey {
  readonly id: string;
  readonly name: string;
  readonly value: string;
  enabled: boolean;
  readonly description?: string;
  readonly customerId?: string;
  readonly tags: Record<string, string>;
  readonly createdAt: number;
  deleted: boolean;
}

interface UsagePlan { readonly id: string; readonly name: string; readonly keyIds: Set<string>; deleted: boolean }

export interface ApiKeyView {
  readonly id: string;
  readonly name: string;
  readonly enabled: boolean;
  readonly tags: Record<string, string>;
  readonly usagePlanIds: string[];
  readonly customerId?: string;
  readonly description?: string;
}

type Route = { op: string; handle: (body: any, q: URLSearchParams) => unknown };

export class ApiGatewayStandIn {
  /** API Gateway's default quota of API keys per account and region. */
  maxKeys = 10_000;
  /** Requests to the REST endpoint, by answer: the soak counts refused client requests. */
  readonly endpointAnswers = { ok: 0, refused: 0 };

  private readonly keys = new Map<string, ApiKey>();
  private readonly plans = new Map<string, UsagePlan>();
  private readonly values: string[] = [];

  constructor(private readonly now: () => number) {}

  // ---------- test controls and inspection ----------

  /** A usage plan, as CloudFormation creates it for an AWS::ApiGateway::UsagePlan. */
  createUsagePlan(name: string): string {
    const id = randomBytes(5).toString('hex').slice(0, 6) + randomBytes(2).toString('hex');
    this.plans.set(id, { id, name, keyIds: new Set(), deleted: false });
    return id;
  }

  /** Deletes a usage plan (CloudFormation, or someone outside the stack); its keys stay, outside the plan. */
  deleteUsagePlan(id: string): void {
    const plan = this.plans.get(id);
    if (plan) plan.deleted = true;
  }

  /** The id of the existing usage plan of this name. */
  usagePlanId(name: string): string {
    const plan = [...this.plans.values()].find((p) => !p.deleted && p.name === name);
    if (!plan) throw new Error(`no usage plan named ${name}`);
    return plan.id;
  }

  /** Creates a key outside the stack (a leftover of a crash, or someone else's key); returns its id. */
  addKey(name: string, tags: Record<string, string> = {}): string {
    return (this.createApiKey({ name, enabled: true, tags }) as { id: string }).id;
  }

  /** Keys that exist. */
  liveKeys(): ApiKeyView[] {
    return [...this.keys.values()].filter((k) => !k.deleted).map((k) => this.view(k));
  }

  /** Disables or enables a key outside the stack. */
  setEnabled(keyId: string, enabled: boolean): void { this.requireKey(keyId).enabled = enabled; }

  /** Takes a key out of a usage plan outside the stack. */
  removeFromPlan(planId: string, keyId: string): void { this.plans.get(planId)?.keyIds.delete(keyId); }

  /** Every value ever generated, for the leak checks. */
  issuedValues(): string[] { return [...this.values]; }

  /** The REST endpoint's answer to a request carrying `value` in x-api-key. */
  endpointStatus(value: string | undefined): number {
    const key = [...this.keys.values()].find((k) => !k.deleted && k.value === value);
    const inPlan = key !== undefined && [...this.plans.values()].some((p) => !p.deleted && p.keyIds.has(key.id));
    return key?.enabled && inPlan ? 200 : 403;
  }

  // ---------- HTTP ----------

  serveEndpoint(req: http.IncomingMessage, res: http.ServerResponse, record: (op: string, status: number) => void): void {
    const header = req.headers['x-api-key'];
    const status = this.endpointStatus(Array.isArray(header) ? header[0] : header);
    if (status === 200) this.endpointAnswers.ok++; else this.endpointAnswers.refused++;
    record('ApiGatewayEndpoint', status);
    res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(status === 200 ? { ok: true } : { message: 'Forbidden' }));
  }

  route(method: string, pathname: string): Route | undefined {
    const parts = pathname.split('/').filter(Boolean).map(decodeURIComponent);
    const n = parts.length;
    if (parts[0] === 'apikeys') {
      if (n === 1 && method === 'POST') return { op: 'CreateApiKey', handle: (b) => this.createApiKey(b) };
      if (n === 1 && method === 'GET') return { op: 'GetApiKeys', handle: (_b, q) => this.getApiKeys(q) };
      if (n === 2 && method === 'GET') return { op: 'GetApiKey', handle: (_b, q) => this.describe(this.requireKey(parts[1]), q.get('includeValue') === 'true') };
      if (n === 2 && method === 'DELETE') return { op: 'DeleteApiKey', handle: () => this.deleteApiKey(parts[1]) };
    }
    if (parts[0] === 'usageplans' && n >= 3 && parts[2] === 'keys') {
      const planId = parts[1];
      if (n === 3 && method === 'POST') return { op: 'CreateUsagePlanKey', handle: (b) => this.createUsagePlanKey(planId, b) };
      if (n === 3 && method === 'GET') return { op: 'GetUsagePlanKeys', handle: () => this.getUsagePlanKeys(planId) };
      if (n === 4 && method === 'GET') return { op: 'GetUsagePlanKey', handle: () => this.getUsagePlanKey(planId, parts[3]) };
      if (n === 4 && method === 'DELETE') return { op: 'DeleteUsagePlanKey', handle: () => this.deleteUsagePlanKey(planId, parts[3]) };
    }
    return undefined;
  }

  // ---------- API Gateway ----------

  private view(k: ApiKey): ApiKeyView {
    const usagePlanIds = [...this.plans.values()].filter((p) => !p.deleted && p.keyIds.has(k.id)).map((p) => p.id).sort();
    return { id: k.id, name: k.name, enabled: k.enabled, tags: { ...k.tags }, usagePlanIds, customerId: k.customerId, description: k.description };
  }

  private describe(k: ApiKey, includeValue: boolean) {
    const created = Math.floor(k.createdAt / 1000);
    return {
      id: k.id, name: k.name, enabled: k.enabled, description: k.description, customerId: k.customerId, tags: k.tags,
      createdDate: created, lastUpdatedDate: created, stageKeys: [], ...(includeValue ? { value: k.value } : {}),
    };
  }

  private requireKey(id: string): ApiKey {
    const k = this.keys.get(id);
    if (!k || k.deleted) throw new ApiGatewayError(404, 'NotFoundException', 'Invalid API Key identifier specified');
    return k;
  }

  private requirePlan(id: string): UsagePlan {
    const p = this.plans.get(id);
    if (!p || p.deleted) throw new ApiGatewayError(404, 'NotFoundException', 'Invalid Usage Plan ID specified');
    return p;
  }

  private createApiKey(body: { name?: unknown; description?: unknown; enabled?: unknown; customerId?: unknown; tags?: unknown; value?: unknown }) {
    if (body.name !== undefined && (typeof body.name !== 'string' || body.name.length > 1024)) throw new ApiGatewayError(400, 'BadRequestException', 'Invalid API Key name');
    if (this.liveKeys().length >= this.maxKeys) throw new ApiGatewayError(429, 'LimitExceededException', `API key limit exceeded: ${this.maxKeys} per account and region`);
    const tags = (typeof body.tags === 'object' && body.tags !== null ? body.tags : {}) as Record<string, string>;
    for (const key of Object.keys(tags)) if (key.startsWith('aws:')) throw new ApiGatewayError(400, 'BadRequestException', 'Tag keys must not start with aws:');
    // As API Gateway does when no value is given: 40 random letters and digits.
    const value = typeof body.value === 'string' ? body.value : randomBytes(40).toString('base64').replace(/[^A-Za-z0-9]/g, 'x').slice(0, 40);
    if (value.length < 20) throw new ApiGatewayError(400, 'BadRequestException', 'API Key value should be at least 20 characters');
    const id = randomBytes(5).toString('hex');
    const k: ApiKey = {
      id, name: typeof body.name === 'string' ? body.name : id, value, enabled: body.enabled === true,
      description: typeof body.description === 'string' ? body.description : undefined,
      customerId: typeof body.customerId === 'string' ? body.customerId : undefined,
      tags, createdAt: this.now(), deleted: false,
    };
    this.keys.set(id, k);
    this.values.push(value);
    return this.describe(k, true);
  }

  private getApiKeys(q: URLSearchParams) {
    const nameQuery = q.get('name') ?? '';
    const all = [...this.keys.values()].filter((k) => !k.deleted && k.name.startsWith(nameQuery)).sort((a, b) => a.createdAt - b.createdAt || a.id.localeCompare(b.id));
    const limit = Math.min(500, Number(q.get('limit') ?? 25));
    const start = Number(q.get('position') ?? 0);
    const items = all.slice(start, start + limit).map((k) => this.describe(k, q.get('includeValues') === 'true'));
    // API Gateway names a page's list 'item' on the wire (the SDK calls it items).
    return { item: items, ...(start + limit < all.length ? { position: String(start + limit) } : {}) };
  }

  private deleteApiKey(id: string) {
    const k = this.requireKey(id);
    k.deleted = true;
    // As API Gateway does: a deleted key leaves every usage plan.
    for (const p of this.plans.values()) p.keyIds.delete(id);
    return {};
  }

  private createUsagePlanKey(planId: string, body: { keyId?: unknown; keyType?: unknown }) {
    const plan = this.requirePlan(planId);
    if (body.keyType !== 'API_KEY') throw new ApiGatewayError(400, 'BadRequestException', 'keyType must be API_KEY');
    const k = this.requireKey(String(body.keyId));
    if (plan.keyIds.has(k.id)) throw new ApiGatewayError(409, 'ConflictException', `Usage Plan ${planId} cannot be added because API Key ${k.id} cannot reference a Usage Plan more than once`);
    const plansOfKey = [...this.plans.values()].filter((p) => !p.deleted && p.keyIds.has(k.id)).length;
    if (plansOfKey >= 10) throw new ApiGatewayError(400, 'BadRequestException', 'An API key can be associated with at most 10 usage plans');
    plan.keyIds.add(k.id);
    return { id: k.id, type: 'API_KEY', name: k.name };
  }

  private getUsagePlanKeys(planId: string) {
    const plan = this.requirePlan(planId);
    return { item: [...plan.keyIds].map((id) => ({ id, type: 'API_KEY', name: this.keys.get(id)?.name })) };
  }

  private getUsagePlanKey(planId: string, keyId: string) {
    const plan = this.requirePlan(planId);
    if (!plan.keyIds.has(keyId)) throw new ApiGatewayError(404, 'NotFoundException', 'Invalid Usage Plan Key specified');
    return { id: keyId, type: 'API_KEY', name: this.keys.get(keyId)?.name };
  }

  private deleteUsagePlanKey(planId: string, keyId: string) {
    const plan = this.requirePlan(planId);
    if (!plan.keyIds.delete(keyId)) throw new ApiGatewayError(404, 'NotFoundException', 'Invalid Usage Plan Key specified');
    return {};
  }
}
