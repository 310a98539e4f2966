/**
 * In-memory Secrets Manager and Amazon Managed Grafana, wired into the SDK
 * clients with aws-sdk-client-mock. The handler's calls change state here the
 * way they would in AWS (labels move, AWSPREVIOUS follows AWSCURRENT, key names
 * are unique), so a test can drive several events in a row and then assert on
 * what is left: which keys still work, which version is AWSCURRENT.
 *
 * Every call is recorded in one ordered list across both services, so tests
 * can assert call counts and ordering (e.g. "stored before deleted").
 */
import { randomBytes } from 'crypto';
import * as G from '@aws-sdk/client-grafana';
import * as S from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';

export type Op =
  | 'CreateWorkspaceApiKey' | 'DeleteWorkspaceApiKey' | 'DescribeWorkspace'
  | 'DescribeSecret' | 'GetSecretValue' | 'PutSecretValue' | 'UpdateSecretVersionStage' | 'ListSecrets';

export interface Call { readonly op: Op; readonly input: any }

/** Returned by an interceptor to fall through to the fake's normal behaviour. */
export const PASS = Symbol('pass');
export type Interceptor = (input: any, proceed: () => Promise<any>) => any;

export interface ApiKey { readonly name: string; readonly token: string; readonly role: string; readonly secondsToLive: number }

export class FakeWorkspace {
  readonly keys = new Map<string, ApiKey>();
  constructor(readonly id: string, public grafanaVersion = '10.4', public endpoint = `${id}.grafana-workspace.us-east-1.amazonaws.com`) {}
}

export interface FakeVersion { readonly id: string; readonly value: string; readonly stages: Set<string> }

export class FakeSecret {
  readonly versions = new Map<string, FakeVersion>();
  deletedDate?: Date;
  /** What ListSecrets reports about rotation. */
  rotation?: { enabled: boolean; nextRotationDate?: Date };
  constructor(readonly arn: string, readonly name: string, readonly tags: Record<string, string> = {}) {}

  holderOf(stage: string): FakeVersion | undefined {
    for (const v of this.versions.values()) if (v.stages.has(stage)) return v;
    return undefined;
  }
  /** Version id -> labels, for labelled versions only (as DescribeSecret answers). */
  labels(): Record<string, string[]> {
    const out: Record<string, string[]> = {};
    for (const v of this.versions.values()) if (v.stages.size) out[v.id] = [...v.stages].sort();
    return out;
  }
  /** The parsed JSON stored under `stage`. */
  valueAt(stage = 'AWSCURRENT'): any {
    const v = this.holderOf(stage);
    return v ? JSON.parse(v.value) : undefined;
  }
  private attach(stage: string, to: FakeVersion): void {
    const holder = this.holderOf(stage);
    if (holder === to) return;
    if (holder) holder.stages.delete(stage);
    to.stages.add(stage);
    if (stage === 'AWSCURRENT' && holder) {
      // Secrets Manager moves AWSPREVIOUS to the version that lost AWSCURRENT.
      this.holderOf('AWSPREVIOUS')?.stages.delete('AWSPREVIOUS');
      holder.stages.add('AWSPREVIOUS');
    }
  }
  put(id: string, value: string, stages: string[]): void {
    const existing = this.versions.get(id);
    if (existing) {
      if (existing.value !== value) throw smError(S.ResourceExistsException, `A resource with the ID ${id} already exists with a different value.`);
      return; // idempotent
    }
    const v: FakeVersion = { id, value, stages: new Set() };
    this.versions.set(id, v);
    for (const stage of stages) this.attach(stage, v);
  }
  updateStage(stage: string, moveTo?: string, removeFrom?: string): void {
    const holder = this.holderOf(stage);
    if (removeFrom !== undefined && holder?.id !== removeFrom) {
      throw smError(S.InvalidParameterException, `The staging label ${stage} is not attached to version ${removeFrom}.`);
    }
    if (moveTo !== undefined) {
      const target = this.versions.get(moveTo);
      if (!target) throw smError(S.ResourceNotFoundException, `Version ${moveTo} not found.`);
      if (holder && holder !== target && removeFrom === undefined) {
        throw smError(S.InvalidParameterException, `The staging label ${stage} is attached to version ${holder.id}; specify RemoveFromVersionId.`);
      }
      this.attach(stage, target);
      return;
    }
    if (stage === 'AWSCURRENT') throw smError(S.InvalidParameterException, 'You can only move AWSCURRENT, not remove it.');
    holder!.stages.delete(stage);
  }
}

function smError(Ctor: any, message: string): Error {
  return new Ctor({ message, $metadata: { httpStatusCode: 400 } });
}
function grafanaError(Ctor: any, message: string): Error {
  return new Ctor({ message, $metadata: { httpStatusCode: 400 }, resourceId: 'x', resourceType: 'x', reason: 'OTHER', serviceCode: 'grafana', quotaCode: 'q' });
}

export const GrafanaErrors = {
  notFound: (m = 'Workspace not found') => grafanaError(G.ResourceNotFoundException, m),
  accessDenied: (m = 'User is not authorized to perform grafana:CreateWorkspaceApiKey') => grafanaError(G.AccessDeniedException, m),
  quota: (m = 'You have reached the maximum number of API keys') => grafanaError(G.ServiceQuotaExceededException, m),
  conflict: (m = 'Key already exists') => grafanaError(G.ConflictException, m),
  validation: (m = 'API keys are not supported') => grafanaError(G.ValidationException, m),
  throttling: (m = 'Rate exceeded') => grafanaError(G.ThrottlingException, m),
};
export const SecretsErrors = {
  internal: (m = 'Internal failure') => smError(S.InternalServiceError, m),
  notFound: (m = "Secrets Manager can't find the specified secret.") => smError(S.ResourceNotFoundException, m),
  accessDenied: (m = 'not authorized to perform secretsmanager:PutSecretValue') => Object.assign(new Error(m), { name: 'AccessDeniedException' }),
};

export class World {
  readonly calls: Call[] = [];
  readonly workspaces = new Map<string, FakeWorkspace>();
  readonly secrets = new Map<string, FakeSecret>();
  /** Every token the fake Grafana ever issued, plus any seeded ones: none may reach a log line or a response. */
  readonly issuedTokens: string[] = [];
  private readonly interceptors = new Map<Op, Array<{ fn: Interceptor; times: number }>>();

  addWorkspace(id: string, grafanaVersion = '10.4'): FakeWorkspace {
    const ws = new FakeWorkspace(id, grafanaVersion);
    this.workspaces.set(id, ws);
    return ws;
  }
  addSecret(arn: string, tags: Record<string, string> = {}): FakeSecret {
    // A secret's ARN is its name, '-' and 6 characters.
    const s = new FakeSecret(arn, (arn.split(':secret:')[1] ?? arn).replace(/-[A-Za-z0-9]{6}$/, ''), tags);
    this.secrets.set(arn, s);
    return s;
  }
  secret(arn: string): FakeSecret {
    const s = this.secrets.get(arn);
    if (!s) throw new Error(`no fake secret ${arn}`);
    return s;
  }
  /** Names of keys that currently work in a workspace. */
  liveKeys(workspaceId: string): string[] {
    return [...(this.workspaces.get(workspaceId)?.keys.keys() ?? [])].sort();
  }
  isLive(token: string): boolean {
    for (const ws of this.workspaces.values()) for (const k of ws.keys.values()) if (k.token === token) return true;
    return false;
  }
  /** Seeds a key that exists in Grafana (as if issued earlier). */
  seedKey(workspaceId: string, name: string, role = 'VIEWER', secondsToLive = 86400): ApiKey {
    const key = { name, token: newToken(), role, secondsToLive };
    this.workspaces.get(workspaceId)!.keys.set(name, key);
    this.issuedTokens.push(key.token);
    return key;
  }

  /** Replaces the behaviour of the next `times` calls of `op` (default: all). */
  intercept(op: Op, fn: Interceptor, times = Infinity): void {
    const list = this.interceptors.get(op) ?? [];
    list.push({ fn, times });
    this.interceptors.set(op, list);
  }
  /** Fails the next `times` calls of `op` with `error`. */
  fail(op: Op, error: Error, times = Infinity): void {
    this.intercept(op, () => { throw error; }, times);
  }
  /** The next `times` calls of `op` never answer. */
  hang(op: Op, times = 1): void {
    this.intercept(op, () => new Promise(() => undefined), times);
  }

  ops(): Op[] { return this.calls.map((c) => c.op); }
  count(op: Op): number { return this.calls.filter((c) => c.op === op).length; }
  inputs(op: Op): any[] { return this.calls.filter((c) => c.op === op).map((c) => c.input); }
  grafanaCalls(): Call[] { return this.calls.filter((c) => ['CreateWorkspaceApiKey', 'DeleteWorkspaceApiKey', 'DescribeWorkspace'].includes(c.op)); }
  resetCalls(): void { this.calls.length = 0; }

  async handle(op: Op, input: any): Promise<any> {
    this.calls.push({ op, input });
    const proceed = async () => this.perform(op, input);
    const list = this.interceptors.get(op);
    const hook = list?.find((h) => h.times > 0);
    if (hook) {
      hook.times--;
      const out = await hook.fn(input, proceed);
      if (out !== PASS) return out;
    }
    return proceed();
  }

  private perform(op: Op, input: any): any {
    switch (op) {
      case 'CreateWorkspaceApiKey': {
        const ws = this.workspaces.get(input.workspaceId);
        if (!ws) throw GrafanaErrors.notFound(`Workspace ${input.workspaceId} not found`);
        if (Number(ws.grafanaVersion.split('.')[0]) >= 11) throw GrafanaErrors.validation('API keys are not supported in this workspace');
        if (ws.keys.has(input.keyName)) throw GrafanaErrors.conflict(`Key ${input.keyName} already exists`);
        const key: ApiKey = { name: input.keyName, token: newToken(), role: input.keyRole, secondsToLive: input.secondsToLive };
        ws.keys.set(key.name, key);
        this.issuedTokens.push(key.token);
        return { key: key.token, keyName: key.name, workspaceId: ws.id };
      }
      case 'DeleteWorkspaceApiKey': {
        const ws = this.workspaces.get(input.workspaceId);
        if (!ws || !ws.keys.delete(input.keyName)) throw GrafanaErrors.notFound(`Key ${input.keyName} not found`);
        return { keyName: input.keyName, workspaceId: ws.id };
      }
      case 'DescribeWorkspace': {
        const ws = this.workspaces.get(input.workspaceId);
        if (!ws) throw GrafanaErrors.notFound();
        return { workspace: { id: ws.id, grafanaVersion: ws.grafanaVersion, endpoint: ws.endpoint, status: 'ACTIVE' } };
      }
      case 'DescribeSecret': {
        const s = this.secrets.get(input.SecretId);
        if (!s) throw SecretsErrors.notFound();
        return {
          ARN: s.arn, Name: s.name, DeletedDate: s.deletedDate, VersionIdsToStages: s.labels(),
          Tags: Object.entries(s.tags).map(([Key, Value]) => ({ Key, Value })),
        };
      }
      case 'GetSecretValue': {
        const s = this.secrets.get(input.SecretId);
        if (!s || s.deletedDate) throw SecretsErrors.notFound();
        const stage = input.VersionStage ?? (input.VersionId ? undefined : 'AWSCURRENT');
        const v = input.VersionId ? s.versions.get(input.VersionId) : s.holderOf(stage);
        if (!v || (stage && !v.stages.has(stage))) throw SecretsErrors.notFound("Secrets Manager can't find the specified secret value");
        return { ARN: s.arn, Name: s.name, VersionId: v.id, SecretString: v.value, VersionStages: [...v.stages] };
      }
      case 'PutSecretValue': {
        const s = this.secrets.get(input.SecretId);
        if (!s || s.deletedDate) throw SecretsErrors.notFound();
        const stages = input.VersionStages ?? ['AWSCURRENT'];
        s.put(input.ClientRequestToken, input.SecretString, stages);
        return { ARN: s.arn, Name: s.name, VersionId: input.ClientRequestToken, VersionStages: stages };
      }
      case 'ListSecrets': {
        // As the service does: a 'name' filter matches names beginning with any of its values; deleted secrets are left out.
        const values: string[] = input.Filters?.find((f: any) => f.Key === 'name')?.Values ?? [''];
        const all = [...this.secrets.values()].filter((s) => !s.deletedDate && values.some((v) => s.name.startsWith(v)));
        const start = Number(input.NextToken ?? 0);
        const page = all.slice(start, start + (input.MaxResults ?? 100));
        return {
          SecretList: page.map((s) => ({ ARN: s.arn, Name: s.name, RotationEnabled: s.rotation?.enabled ?? false, NextRotationDate: s.rotation?.nextRotationDate })),
          NextToken: start + page.length < all.length ? String(start + page.length) : undefined,
        };
      }
      case 'UpdateSecretVersionStage': {
        const s = this.secrets.get(input.SecretId);
        if (!s) throw SecretsErrors.notFound();
        s.updateStage(input.VersionStage, input.MoveToVersionId, input.RemoveFromVersionId);
        return { ARN: s.arn, Name: s.name };
      }
    }
    throw new Error(`fake AWS: no behaviour for ${op}`);
  }
}

function newToken(): string {
  return `eyJrIjoi${randomBytes(18).toString('hex')}`;
}

/**
 * Routes the SDK clients' send() to `world()`. Call once per test file, then
 * `wire()` in beforeEach (after a fresh World is created). Any command the
 * fake does not model fails loudly.
 */
export function installFakeAws(world: () => World) {
  const grafana = mockClient(G.GrafanaClient);
  const sm = mockClient(S.SecretsManagerClient);
  const routes: Array<[any, any, Op]> = [
    [grafana, G.CreateWorkspaceApiKeyCommand, 'CreateWorkspaceApiKey'],
    [grafana, G.DeleteWorkspaceApiKeyCommand, 'DeleteWorkspaceApiKey'],
    [grafana, G.DescribeWorkspaceCommand, 'DescribeWorkspace'],
    [sm, S.DescribeSecretCommand, 'DescribeSecret'],
    [sm, S.GetSecretValueCommand, 'GetSecretValue'],
    [sm, S.PutSecretValueCommand, 'PutSecretValue'],
    [sm, S.UpdateSecretVersionStageCommand, 'UpdateSecretVersionStage'],
    [sm, S.ListSecretsCommand, 'ListSecrets'],
  ];
  return {
    grafana,
    sm,
    wire(): void {
      grafana.reset();
      sm.reset();
      grafana.onAnyCommand().callsFake((input: unknown) => { throw new Error(`fake AWS: unexpected Grafana command ${JSON.stringify(input)}`); });
      sm.onAnyCommand().callsFake((input: unknown) => { throw new Error(`fake AWS: unexpected Secrets Manager command ${JSON.stringify(input)}`); });
      for (const [mock, command, op] of routes) mock.on(command).callsFake((input: any) => world().handle(op, input));
    },
  };
}
