/**
 * In-memory Secrets Manager and Amazon Managed Grafana, wired into the SDK
 * clients with aws-sdk-client-mock. The handler's calls change state here the
 * way they would in AWS (labels move, AWSPREVIOUS follows AWSCURRENT, key names
 * are unique), so a test can drive several events in a row and then assert on
 * what is left: which keys still work, which version is AWSCURRENT. Secrets
 * Manager is the shared model in test/model/secrets-manager-model.ts, the same
 * one the test bed's stand-ins serve.
 *
 * Every call is recorded in one ordered list across both services, so tests
 * can assert call counts and ordering (e.g. "stored before deleted").
 */
import { randomBytes } from 'crypto';
import * as G from '@aws-sdk/client-grafana';
import * as S from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { ModelSecret, SecretsManagerError, SecretsManagerModel } from '../../model/secrets-manager-model';

export type Op =
  | 'CreateWorkspaceApiKey' | 'DeleteWorkspaceApiKey' | 'DescribeWorkspace'
  | 'DescribeSecret' | 'GetSecretValue' | 'PutSecretValue' | 'UpdateSecretVersionStage'
  | 'ListSecretVersionIds' | 'RestoreSecret' | 'DeleteSecret' | 'ListSecrets'
  // A plan membership per key, for the model's credential kind with an in-place field (test/model/planned-key-issuer.ts).
  | 'AddKeyToPlan' | 'RemoveKeyFromPlan';

export interface Call { readonly op: Op; readonly input: any }

/** Returned by an interceptor to fall through to the fake's normal behaviour. */
export const PASS = Symbol('pass');
export type Interceptor = (input: any, proceed: () => Promise<any>) => any;

export interface ApiKey { readonly name: string; readonly token: string; readonly role: string; readonly secondsToLive: number }

export class FakeWorkspace {
  readonly keys = new Map<string, ApiKey>();
  /** The plans each key belongs to, by key name; a deleted key leaves every plan, as an API Gateway key does. */
  readonly plans = new Map<string, Set<string>>();
  constructor(readonly id: string, public grafanaVersion = '10.4', public endpoint = `${id}.grafana-workspace.us-east-1.amazonaws.com`) {}
}

/** A secret of the shared Secrets Manager model (test/model/secrets-manager-model.ts). */
export type FakeSecret = ModelSecret;

function smError(Ctor: any, message: string, name?: string): Error {
  const err = new Ctor({ message, $metadata: { httpStatusCode: 400 } });
  if (name) err.name = name;
  return err;
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
  /** Secrets Manager, as the shared model. */
  readonly sm = new SecretsManagerModel();
  /** Every secret by ARN (the model's map: deleting an entry deletes the secret outright). */
  readonly secrets = this.sm.secrets;
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
    return this.sm.addSecret(arn, (arn.split(':secret:')[1] ?? arn).replace(/-[A-Za-z0-9]{6}$/, ''), Object.entries(tags).map(([Key, Value]) => ({ Key, Value })));
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
        ws.plans.set(key.name, new Set());
        this.issuedTokens.push(key.token);
        return { key: key.token, keyName: key.name, workspaceId: ws.id };
      }
      case 'DeleteWorkspaceApiKey': {
        const ws = this.workspaces.get(input.workspaceId);
        if (!ws || !ws.keys.delete(input.keyName)) throw GrafanaErrors.notFound(`Key ${input.keyName} not found`);
        ws.plans.delete(input.keyName);
        return { keyName: input.keyName, workspaceId: ws.id };
      }
      case 'AddKeyToPlan':
      case 'RemoveKeyFromPlan': {
        const ws = this.workspaces.get(input.workspaceId);
        if (!ws?.keys.has(input.keyName)) throw GrafanaErrors.notFound(`Key ${input.keyName} not found`);
        const plans = ws.plans.get(input.keyName) ?? new Set<string>();
        if (op === 'AddKeyToPlan') plans.add(input.planId);
        else plans.delete(input.planId);
        ws.plans.set(input.keyName, plans);
        return {};
      }
      case 'DescribeWorkspace': {
        const ws = this.workspaces.get(input.workspaceId);
        if (!ws) throw GrafanaErrors.notFound();
        return { workspace: { id: ws.id, grafanaVersion: ws.grafanaVersion, endpoint: ws.endpoint, status: 'ACTIVE' } };
      }
      case 'DescribeSecret':
      case 'GetSecretValue':
      case 'PutSecretValue':
      case 'UpdateSecretVersionStage':
      case 'ListSecretVersionIds':
      case 'ListSecrets':
      case 'RestoreSecret':
      case 'DeleteSecret':
        try {
          return this.sm.call(op, input);
        } catch (err) {
          if (err instanceof SecretsManagerError) throw smError((S as any)[err.type] ?? S.SecretsManagerServiceException, err.message, err.type);
          throw err;
        }
    }
    throw new Error(`fake AWS: no behaviour for ${op}`);
  }
}

function newToken(): string {
  return `eyJrIjoi${randomBytes(18).toString('hex')}`;
}

/** Each SDK command the handler sends, which client sends it, and the operation the fakes answer it as. */
export type SdkClient = 'grafana' | 'secretsManager';
export const SDK_ROUTES: ReadonlyArray<readonly [SdkClient, new (input: any) => any, Op]> = [
  ['grafana', G.CreateWorkspaceApiKeyCommand, 'CreateWorkspaceApiKey'],
  ['grafana', G.DeleteWorkspaceApiKeyCommand, 'DeleteWorkspaceApiKey'],
  ['grafana', G.DescribeWorkspaceCommand, 'DescribeWorkspace'],
  ['secretsManager', S.DescribeSecretCommand, 'DescribeSecret'],
  ['secretsManager', S.GetSecretValueCommand, 'GetSecretValue'],
  ['secretsManager', S.PutSecretValueCommand, 'PutSecretValue'],
  ['secretsManager', S.UpdateSecretVersionStageCommand, 'UpdateSecretVersionStage'],
  ['secretsManager', S.ListSecretVersionIdsCommand, 'ListSecretVersionIds'],
  ['secretsManager', S.ListSecretsCommand, 'ListSecrets'],
  ['secretsManager', S.RestoreSecretCommand, 'RestoreSecret'],
  ['secretsManager', S.DeleteSecretCommand, 'DeleteSecret'],
];

/**
 * Routes the SDK clients' send() to `world()`. Call once per test file, then
 * `wire()` in beforeEach (after a fresh World is created). Any command the
 * fake does not model fails loudly.
 */
export function installFakeAws(world: () => World) {
  const grafana = mockClient(G.GrafanaClient);
  const sm = mockClient(S.SecretsManagerClient);
  const mocks: Record<SdkClient, any> = { grafana, secretsManager: sm };
  return {
    grafana,
    sm,
    wire(): void {
      grafana.reset();
      sm.reset();
      grafana.onAnyCommand().callsFake((input: unknown) => { throw new Error(`fake AWS: unexpected Grafana command ${JSON.stringify(input)}`); });
      sm.onAnyCommand().callsFake((input: unknown) => { throw new Error(`fake AWS: unexpected Secrets Manager command ${JSON.stringify(input)}`); });
      for (const [client, command, op] of SDK_ROUTES) mocks[client].on(command).callsFake((input: any) => world().handle(op, input));
    },
  };
}
