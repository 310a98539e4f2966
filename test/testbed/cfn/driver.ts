/**
 * A small CloudFormation for custom resources: it deploys a synthesized stack
 * into the stand-ins, delivering Create, Update and Delete events to the real
 * bundled handler, and models what the library relies on:
 * - replacement: a changed physical id means a Delete of the old id at cleanup;
 * - rollback: an Update with old and new properties swapped, then cleanup;
 * - stack create failure: everything created is deleted again;
 * - duplicate delivery, and ServiceTimeout when no answer comes.
 */
import { randomUUID } from 'crypto';
import * as http from 'http';
import type { AddressInfo } from 'net';
import * as path from 'path';
import { App, Stack } from 'aws-cdk-lib';
import { ACCOUNT, AwsStandIns, REGION } from '../aws/standins';
import { FunctionSpec, InvocationResult, LambdaHost, ReusedEnvironment } from './lambda-host';

type Json = any;

interface ResourceState {
  readonly logicalId: string;
  readonly type: string;
  physicalId: string;
  /** Resolved properties as last applied (scalars as CloudFormation delivers them: strings). */
  props: Record<string, Json>;
  attributes: Record<string, string>;
  readonly retain: boolean;
}

export interface CfnResponse {
  readonly Status: 'SUCCESS' | 'FAILED';
  readonly Reason?: string;
  readonly PhysicalResourceId: string;
  readonly Data?: Record<string, string>;
  readonly NoEcho?: boolean;
}

export interface InvocationRecord {
  readonly requestType: string;
  readonly logicalId: string;
  readonly physicalId?: string;
  readonly responseBody?: string;
  readonly response?: CfnResponse;
  readonly invocation: InvocationResult;
  /** AWS calls the stand-ins counted while this invocation ran, by operation. */
  readonly calls: Record<string, number>;
  /** Real time (ms) the event was delivered and answered. */
  readonly startedAt: number;
  readonly endedAt: number;
}

export interface DeployOptions {
  /** Another resource fails after every update was applied: CloudFormation rolls back. */
  readonly failAfterUpdates?: boolean;
  /** Every custom-resource event is delivered twice (a retry); the last answer wins. */
  readonly duplicateEvents?: boolean;
  /**
   * Runs once every update was applied, before CloudFormation cleans up or rolls back: what happens meanwhile
   * (a scheduled rotation, say) while other resources of a large stack are still updating.
   */
  readonly afterUpdates?: () => Promise<void>;
  /** Kills the process of the first event of this type when `when` settles, as a runtime kill would: no answer comes. */
  readonly crash?: { readonly requestType: string; readonly when: Promise<unknown> };
}

export interface DeployResult {
  readonly ok: boolean;
  readonly status: string;
  readonly failures: string[];
}

export interface DriverOptions {
  /** Override every function's timeout (ms). */
  readonly lambdaTimeoutMs?: number;
  /** Override every custom resource's ServiceTimeout (ms). */
  readonly serviceTimeoutMs?: number;
  /**
   * How many independent resources a stack create works on at once, as
   * CloudFormation creates resources without dependencies between them in parallel.
   * @default 1
   */
  readonly concurrency?: number;
  /**
   * The stack id's UUID. Credential names derive from the stack id, so a run that must repeat (a seeded soak) fixes it.
   * @default a random UUID
   */
  readonly stackUuid?: string;
}

export interface RotationScheduleState { readonly secretArn: string; readonly functionLogicalId: string; readonly expression: string }

const PSEUDO: Record<string, string> = {
  'AWS::Region': REGION, 'AWS::AccountId': ACCOUNT, 'AWS::Partition': 'aws', 'AWS::URLSuffix': 'amazonaws.com', 'AWS::NoValue': '',
};

export class CfnDriver {
  static async start(standins: AwsStandIns, opts: DriverOptions = {}): Promise<CfnDriver> {
    const d = new CfnDriver(standins, opts);
    await new Promise<void>((r) => d.server.listen(0, '127.0.0.1', r));
    return d;
  }

  readonly host: LambdaHost;
  readonly records: InvocationRecord[] = [];
  private readonly server: http.Server;
  private readonly pending = new Map<string, (body: string) => void>();
  private resources = new Map<string, ResourceState>();
  private template: Json = { Resources: {} };
  private functions = new Map<string, FunctionSpec>();
  private crashed = false;
  private stackName = 'TestStack';
  private readonly stackId: string;

  private constructor(readonly standins: AwsStandIns, private readonly opts: DriverOptions) {
    this.stackId = `arn:aws:cloudformation:${REGION}:${ACCOUNT}:stack/TestStack/${opts.stackUuid ?? randomUUID()}`;
    this.host = new LambdaHost(() => standins.env());
    this.server = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c) => { body += c; });
      req.on('end', () => {
        const id = (req.url ?? '').split('/').pop() ?? '';
        this.pending.get(id)?.(body);
        res.writeHead(200).end();
      });
    });
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((r) => this.server.close(r));
    this.host.dispose();
  }

  // ---------- inspection ----------

  physicalId(logicalId: string): string { return this.require(logicalId).physicalId; }
  attribute(logicalId: string, name: string): string { return this.require(logicalId).attributes[name]; }
  /** A resource's properties as deployed, intrinsics resolved. */
  resourceProperties(logicalId: string): Json { return this.require(logicalId).props; }
  logicalIdsOfType(type: string): string[] { return [...this.resources.values()].filter((r) => r.type === type).map((r) => r.logicalId); }
  /** ARN of the first secret whose logical id starts with `prefix`. */
  secretArn(prefix: string): string {
    const r = [...this.resources.values()].find((x) => x.type === 'AWS::SecretsManager::Secret' && x.logicalId.startsWith(prefix));
    if (!r) throw new Error(`no secret resource starting with ${prefix}`);
    return r.physicalId;
  }
  rotationSchedules(): RotationScheduleState[] {
    return [...this.resources.values()].filter((r) => r.type === 'AWS::SecretsManager::RotationSchedule').map((r) => ({
      secretArn: String(r.props.SecretId), functionLogicalId: this.functionForArn(String(r.props.RotationLambdaARN)),
      expression: String(r.props.RotationRules?.ScheduleExpression ?? `rate(${r.props.RotationRules?.AutomaticallyAfterDays} days)`),
    }));
  }
  functionSpec(logicalId: string): FunctionSpec { return this.functions.get(logicalId)!; }
  responses(): string[] { return this.records.flatMap((r) => (r.responseBody ? [r.responseBody] : [])); }
  logs(): string[] { return this.host.logs; }

  private require(logicalId: string): ResourceState {
    const r = this.resources.get(logicalId);
    if (!r) throw new Error(`no resource ${logicalId}`);
    return r;
  }

  private functionForArn(arn: string): string {
    const name = arn.split(':').pop()!;
    return name;
  }

  // ---------- deploy / destroy ----------

  async deploy(stack: Stack, opts: DeployOptions = {}): Promise<DeployResult> {
    const assembly = App.of(stack)!.synth();
    const artifact = assembly.getStackByName(stack.stackName);
    this.stackName = stack.stackName;
    const next = artifact.template;
    this.registerFunctions(next, assembly.directory);
    return this.resources.size === 0 ? this.create(next, opts) : this.update(next, opts);
  }

  async destroy(opts: DeployOptions = {}): Promise<DeployResult> {
    const failures: string[] = [];
    for (const id of this.order(this.template).reverse()) {
      const r = this.resources.get(id);
      if (!r) continue;
      const err = await this.deleteResource(r, opts);
      if (err) failures.push(err);
      this.resources.delete(id);
    }
    this.template = { Resources: {} };
    return { ok: failures.length === 0, status: failures.length ? 'DELETE_FAILED' : 'DELETE_COMPLETE', failures };
  }

  private async create(next: Json, opts: DeployOptions): Promise<DeployResult> {
    const created: string[] = [];
    const failures: string[] = [];
    for (const level of this.levels(next)) {
      // Resources of one level do not depend on each other: create them side by side.
      const queue = [...level];
      const worker = async () => {
        for (let id = queue.shift(); id !== undefined; id = queue.shift()) {
          const err = await this.createResource(id, next.Resources[id], opts);
          created.push(id);
          if (err) failures.push(err);
        }
      };
      await Promise.all(Array.from({ length: Math.max(1, this.opts.concurrency ?? 1) }, worker));
      if (failures.length) {
        // Stack creation failed: CloudFormation deletes what it created, the failed resources included.
        for (const cid of this.order(next).reverse()) {
          if (!created.includes(cid)) continue;
          const r = this.resources.get(cid);
          if (r) await this.deleteResource(r, opts);
          this.resources.delete(cid);
        }
        this.template = { Resources: {} };
        return { ok: false, status: 'ROLLBACK_COMPLETE', failures };
      }
    }
    this.template = next;
    return { ok: true, status: 'CREATE_COMPLETE', failures: [] };
  }

  /** Resources grouped by dependency depth: each level depends only on earlier ones. */
  private levels(template: Json): string[][] {
    const order = this.order(template);
    const depth = new Map<string, number>();
    for (const id of order) {
      const def = template.Resources[id];
      let d = 0;
      const deps = new Set<string>([def.DependsOn ?? []].flat());
      collectRefs(def.Properties, (ref) => deps.add(ref));
      for (const dep of deps) if (depth.has(dep)) d = Math.max(d, depth.get(dep)! + 1);
      depth.set(id, d);
    }
    const levels: string[][] = [];
    for (const id of order) (levels[depth.get(id)!] ??= []).push(id);
    return levels.filter(Boolean);
  }

  private async update(next: Json, opts: DeployOptions): Promise<DeployResult> {
    const before = new Map([...this.resources].map(([k, v]) => [k, { ...v, props: v.props, attributes: { ...v.attributes } }]));
    const cleanup: ResourceState[] = [];
    const created: string[] = [];
    const updated: Array<{ id: string; oldProps: Json; newProps: Json; answeredId?: string; sentId: string }> = [];
    let failure: string | undefined;

    for (const id of this.order(next)) {
      const def = next.Resources[id];
      const existing = this.resources.get(id);
      if (!existing) {
        failure = await this.createResource(id, def, opts);
        created.push(id);
        if (failure) break;
        continue;
      }
      const newProps = this.resolve(def.Properties ?? {});
      if (sameJson(newProps, existing.props)) continue;
      if (existing.type === 'AWS::SecretsManager::Secret' && newProps.Name !== existing.props.Name) {
        cleanup.push({ ...existing });
        this.resources.delete(id);
        failure = await this.createResource(id, def, opts);
        created.push(id);
        if (failure) break;
        continue;
      }
      if (isCustom(existing.type)) {
        const sentId = existing.physicalId;
        const answer = await this.customEvent('Update', existing, newProps, existing.props, opts);
        const entry = { id, oldProps: existing.props, newProps, sentId, answeredId: answer.response?.PhysicalResourceId };
        updated.push(entry);
        if (answer.response?.Status !== 'SUCCESS') {
          failure = `${id}: ${answer.response?.Reason ?? 'no answer'}`;
          break;
        }
        if (answer.response.PhysicalResourceId !== sentId) cleanup.push({ ...existing, props: existing.props });
        existing.physicalId = answer.response.PhysicalResourceId;
        existing.attributes = { ...(answer.response.Data ?? {}) };
        existing.props = newProps;
      } else {
        await this.updatePlainResource(existing, newProps);
      }
    }
    if (!failure && opts.afterUpdates) await opts.afterUpdates();
    if (!failure && opts.failAfterUpdates) failure = 'SimulatedFailure: another resource in the stack failed to update';

    if (failure) {
      await this.rollback(before, created, updated, opts);
      return { ok: false, status: 'UPDATE_ROLLBACK_COMPLETE', failures: [failure] };
    }
    // Cleanup: removed resources and replaced physical ids, in reverse dependency order.
    const removed = [...this.resources.keys()].filter((id) => !(id in next.Resources));
    for (const id of this.order(this.template).reverse()) {
      if (removed.includes(id)) {
        await this.deleteResource(this.resources.get(id)!, opts);
        this.resources.delete(id);
      }
    }
    for (const r of cleanup.reverse()) await this.deleteResource(r, opts);
    this.template = next;
    return { ok: true, status: 'UPDATE_COMPLETE', failures: [] };
  }

  private async rollback(before: Map<string, ResourceState>, created: string[], updated: Array<{ id: string; oldProps: Json; newProps: Json; answeredId?: string; sentId: string }>, opts: DeployOptions): Promise<void> {
    const rollbackCleanup: ResourceState[] = [];
    for (const u of [...updated].reverse()) {
      const r = this.resources.get(u.id)!;
      const currentId = r.physicalId; // the new id if the forward update answered one, else the old one
      const answer = await this.customEvent('Update', r, u.oldProps, u.newProps, opts);
      const answeredId = answer.response?.PhysicalResourceId ?? currentId;
      if (answer.response?.Status === 'SUCCESS' && answeredId !== currentId) {
        rollbackCleanup.push({ ...r, physicalId: currentId, props: u.newProps });
      }
      r.physicalId = answeredId;
      r.props = u.oldProps;
      r.attributes = { ...(answer.response?.Data ?? before.get(u.id)!.attributes) };
    }
    for (const id of [...created].reverse()) {
      const r = this.resources.get(id);
      if (r) await this.deleteResource(r, opts);
      this.resources.delete(id);
      const old = before.get(id);
      if (old) this.resources.set(id, old); // a replaced secret: the old one stays
    }
    for (const r of rollbackCleanup.reverse()) await this.deleteResource(r, opts);
  }

  // ---------- resources ----------

  private registerFunctions(template: Json, assemblyDir: string): void {
    for (const [id, def] of Object.entries<Json>(template.Resources)) {
      if (def.Type !== 'AWS::Lambda::Function') continue;
      const assetPath = def.Metadata?.['aws:asset:path'] ?? `asset.${String(def.Properties.Code?.S3Key ?? '').replace(/\.zip$/, '')}`;
      this.functions.set(id, {
        functionName: id,
        assetDir: path.resolve(assemblyDir, assetPath),
        handler: def.Properties.Handler,
        timeoutMs: this.opts.lambdaTimeoutMs ?? (def.Properties.Timeout ?? 3) * 1000,
        environment: this.resolve(def.Properties.Environment?.Variables ?? {}),
      });
    }
  }

  private async createResource(id: string, def: Json, opts: DeployOptions): Promise<string | undefined> {
    const props = this.resolve(def.Properties ?? {});
    const retain = def.DeletionPolicy === 'Retain' || def.DeletionPolicy === 'RetainExceptOnCreate';
    const state: ResourceState = { logicalId: id, type: def.Type, physicalId: `${id}-${randomUUID().slice(0, 8)}`, props, attributes: {}, retain };
    if (def.Type === 'AWS::SecretsManager::Secret') {
      const out = this.standins.cloudFormationCall('CreateSecret', { Name: props.Name ?? `${id}-${randomUUID().slice(0, 12)}`, Description: props.Description, Tags: props.Tags, KmsKeyId: props.KmsKeyId, SecretString: props.SecretString });
      state.physicalId = out.ARN;
    } else if (def.Type === 'AWS::Lambda::Function') {
      state.physicalId = id;
      state.attributes.Arn = `arn:aws:lambda:${REGION}:${ACCOUNT}:function:${id}`;
    } else if (def.Type === 'AWS::ApiGateway::UsagePlan') {
      state.physicalId = this.standins.apiGateway.createUsagePlan(String(props.UsagePlanName ?? id));
    } else if (def.Type === 'AWS::Events::Rule') {
      state.attributes.Arn = `arn:aws:events:${REGION}:${ACCOUNT}:rule/${state.physicalId}`;
    } else if (def.Type === 'AWS::SecretsManager::RotationSchedule') {
      this.standins.cloudFormationCall('RotateSecret', { SecretId: props.SecretId, RotationLambdaARN: props.RotationLambdaARN, RotationRules: props.RotationRules });
      state.physicalId = String(props.SecretId);
    } else if (isCustom(def.Type)) {
      this.resources.set(id, state);
      const answer = await this.customEvent('Create', state, props, undefined, opts);
      state.physicalId = answer.response?.PhysicalResourceId ?? state.physicalId;
      state.attributes = { ...(answer.response?.Data ?? {}) };
      if (answer.response?.Status !== 'SUCCESS') return `${id}: ${answer.response?.Reason ?? 'no answer before ServiceTimeout'}`;
    }
    this.resources.set(id, state);
    return undefined;
  }

  private async updatePlainResource(r: ResourceState, props: Json): Promise<void> {
    if (r.type === 'AWS::SecretsManager::Secret' && props.Tags) this.standins.cloudFormationCall('TagResource', { SecretId: r.physicalId, Tags: props.Tags });
    if (r.type === 'AWS::SecretsManager::RotationSchedule') {
      this.standins.cloudFormationCall('RotateSecret', { SecretId: props.SecretId, RotationLambdaARN: props.RotationLambdaARN, RotationRules: props.RotationRules });
    }
    r.props = props;
  }

  private async deleteResource(r: ResourceState, opts: DeployOptions): Promise<string | undefined> {
    if (r.retain) return undefined;
    if (r.type === 'AWS::SecretsManager::Secret') {
      // CloudFormation deletes an AWS::SecretsManager::Secret without a recovery window.
      try { this.standins.cloudFormationCall('DeleteSecret', { SecretId: r.physicalId, ForceDeleteWithoutRecovery: true }); } catch { /* already gone */ }
    } else if (r.type === 'AWS::ApiGateway::UsagePlan') {
      this.standins.apiGateway.deleteUsagePlan(r.physicalId);
    } else if (r.type === 'AWS::SecretsManager::RotationSchedule') {
      try { this.standins.cloudFormationCall('CancelRotateSecret', { SecretId: r.physicalId }); } catch { /* secret gone */ }
    } else if (isCustom(r.type)) {
      const answer = await this.customEvent('Delete', r, r.props, undefined, opts);
      if (answer.response?.Status !== 'SUCCESS') return `${r.logicalId} (${r.physicalId}): ${answer.response?.Reason ?? 'no answer'}`;
    }
    return undefined;
  }

  /** Delivers one custom-resource event (twice with duplicateEvents) and waits for the handler's answer. */
  private async customEvent(requestType: 'Create' | 'Update' | 'Delete', r: ResourceState, props: Json, oldProps: Json | undefined, opts: DeployOptions): Promise<InvocationRecord> {
    const fnId = this.functionForArn(String(props.ServiceToken));
    const fn = this.functions.get(fnId);
    if (!fn) throw new Error(`${r.logicalId}: no function ${fnId} for ServiceToken`);
    const requestId = randomUUID();
    const port = (this.server.address() as AddressInfo).port;
    const event: Json = {
      RequestType: requestType,
      ServiceToken: props.ServiceToken,
      ResponseURL: `http://127.0.0.1:${port}/response/${requestId}`,
      StackId: this.stackId,
      RequestId: requestId,
      ResourceType: r.type,
      LogicalResourceId: r.logicalId,
      ResourceProperties: props,
      ...(requestType !== 'Create' ? { PhysicalResourceId: r.physicalId } : {}),
      ...(oldProps ? { OldResourceProperties: oldProps } : {}),
    };
    let record: InvocationRecord | undefined;
    for (let delivery = 0; delivery < (opts.duplicateEvents ? 2 : 1); delivery++) {
      const crash = opts.crash?.requestType === requestType && !this.crashed ? { crashWhen: opts.crash.when } : {};
      if (crash.crashWhen) this.crashed = true;
      record = await this.deliver(fn, event, r, requestType, crash);
    }
    return record!;
  }

  private async deliver(fn: FunctionSpec, event: Json, r: ResourceState, requestType: string, crash: { crashWhen?: Promise<unknown> } = {}): Promise<InvocationRecord> {
    const serviceTimeoutMs = this.opts.serviceTimeoutMs ?? Number(event.ResourceProperties.ServiceTimeout ?? 3600) * 1000;
    let responseBody: string | undefined;
    const answered = new Promise<void>((resolve) => this.pending.set(event.RequestId, (body) => { responseBody = body; resolve(); }));
    const callsBefore = this.standins.counts();
    const startedAt = Date.now();
    const invocation = await this.host.invoke(fn, event, crash);
    if (responseBody === undefined) {
      await Promise.race([answered, new Promise((res) => setTimeout(res, Math.max(0, serviceTimeoutMs - invocation.durationMs)))]);
    }
    this.pending.delete(event.RequestId);
    const record: InvocationRecord = {
      requestType, logicalId: r.logicalId, physicalId: event.PhysicalResourceId, responseBody,
      response: responseBody ? JSON.parse(responseBody) : undefined, invocation,
      calls: diffCounts(callsBefore, this.standins.counts()),
      startedAt, endedAt: Date.now(),
    };
    this.records.push(record);
    return record;
  }

  // ---------- rotation (Secrets Manager's side) ----------

  /** Invokes one rotation step as Secrets Manager does; resolves with the invocation result. */
  async rotationStep(secretArn: string, step: string, token: string, opts: { crashAfterMs?: number; crashWhen?: Promise<unknown>; reuse?: ReusedEnvironment } = {}): Promise<InvocationResult> {
    const schedule = this.rotationSchedules().find((s) => s.secretArn === secretArn);
    if (!schedule) throw new Error(`no rotation schedule for ${secretArn}`);
    const fn = this.functions.get(schedule.functionLogicalId)!;
    const event = { Step: step, SecretId: secretArn, ClientRequestToken: token };
    return opts.reuse ? this.host.invokeReusing(opts.reuse, fn, event, opts) : this.host.invoke(fn, event, opts);
  }

  // ---------- EventBridge's side ----------

  /**
   * Fires the stack's scheduled rules once, as EventBridge does when their
   * schedule comes round: each target function is invoked with the rule's
   * constant input. Resolves with one invocation per target.
   */
  async fireScheduledRules(): Promise<InvocationResult[]> {
    const out: InvocationResult[] = [];
    for (const r of this.resources.values()) {
      if (r.type !== 'AWS::Events::Rule' || !r.props.ScheduleExpression || r.props.State === 'DISABLED') continue;
      for (const target of r.props.Targets ?? []) {
        const fnId = this.functionForArn(String(target.Arn));
        const fn = this.functions.get(fnId);
        if (!fn) throw new Error(`rule ${r.logicalId}: target ${String(target.Arn)} is not a function of the stack`);
        const allowed = [...this.resources.values()].some((p) => p.type === 'AWS::Lambda::Permission' && p.props.Principal === 'events.amazonaws.com'
          && this.functionForArn(String(p.props.FunctionName)) === fnId && p.props.SourceArn === r.attributes.Arn);
        if (!allowed) throw new Error(`rule ${r.logicalId}: no permission lets EventBridge invoke ${fnId} for this rule`);
        out.push(await this.host.invoke(fn, target.Input !== undefined ? JSON.parse(String(target.Input)) : {}));
      }
    }
    return out;
  }

  // ---------- templates ----------

  private order(template: Json): string[] {
    const ids = Object.keys(template.Resources ?? {});
    const deps = new Map(ids.map((id) => [id, new Set<string>()]));
    for (const id of ids) {
      const def = template.Resources[id];
      for (const d of [def.DependsOn ?? []].flat()) deps.get(id)!.add(d);
      collectRefs(def.Properties, (ref) => { if (deps.has(ref)) deps.get(id)!.add(ref); });
    }
    const out: string[] = [];
    const seen = new Set<string>();
    const visit = (id: string) => {
      if (seen.has(id)) return;
      seen.add(id);
      for (const d of deps.get(id) ?? []) visit(d);
      out.push(id);
    };
    ids.forEach(visit);
    return out;
  }

  /** Resolves intrinsics against the current resources; scalars become strings, as CloudFormation delivers them. */
  resolve(value: Json): Json {
    if (value === null || value === undefined) return value;
    if (typeof value === 'number' || typeof value === 'boolean') return String(value);
    if (typeof value === 'string') return value;
    if (Array.isArray(value)) return value.map((v) => this.resolve(v));
    const keys = Object.keys(value);
    if (keys.length === 1) {
      const [k] = keys;
      const arg = value[k];
      switch (k) {
        case 'Ref': return this.ref(arg);
        case 'Fn::GetAtt': return this.getAtt(arg[0], arg[1]);
        case 'Fn::Join': return (this.resolve(arg[1]) as string[]).join(arg[0]);
        case 'Fn::Select': return (this.resolve(arg[1]) as string[])[Number(this.resolve(arg[0]))];
        case 'Fn::Split': return String(this.resolve(arg[1])).split(arg[0]);
        case 'Fn::Sub': {
          const [text, vars] = Array.isArray(arg) ? arg : [arg, {}];
          return String(text).replace(/\$\{([^}]+)\}/g, (_m, name: string) => {
            if (vars[name] !== undefined) return this.resolve(vars[name]);
            if (name.includes('.')) { const [a, b] = name.split('.'); return this.getAtt(a, b); }
            return this.ref(name);
          });
        }
      }
    }
    const out: Json = {};
    for (const [k, v] of Object.entries(value)) out[k] = this.resolve(v);
    return out;
  }

  private ref(name: string): string {
    if (name in PSEUDO) return PSEUDO[name];
    if (name === 'AWS::StackName') return this.stackName;
    if (name === 'AWS::StackId') return this.stackId;
    const r = this.resources.get(name);
    if (!r) throw new Error(`Ref to ${name}, which does not exist yet`);
    return r.physicalId;
  }

  private getAtt(id: string, attr: string): string {
    const r = this.resources.get(id);
    if (!r) throw new Error(`GetAtt ${id}.${attr}: no such resource yet`);
    if (attr in r.attributes) return r.attributes[attr];
    if (isCustom(r.type)) throw new Error(`GetAtt ${id}.${attr}: the custom resource returned no such attribute`);
    return `${r.physicalId}:${attr}`;
  }
}

function isCustom(type: string): boolean {
  return type.startsWith('Custom::') || type === 'AWS::CloudFormation::CustomResource';
}

function collectRefs(value: Json, add: (id: string) => void): void {
  if (!value || typeof value !== 'object') return;
  if (Array.isArray(value)) { value.forEach((v) => collectRefs(v, add)); return; }
  for (const [k, v] of Object.entries<Json>(value)) {
    if (k === 'Ref' && typeof v === 'string') add(v);
    else if (k === 'Fn::GetAtt') add(Array.isArray(v) ? v[0] : String(v).split('.')[0]);
    else if (k === 'Fn::Sub') {
      const text = Array.isArray(v) ? v[0] : v;
      for (const m of String(text).matchAll(/\$\{([^}.]+)/g)) add(m[1]);
      if (Array.isArray(v)) collectRefs(v[1], add);
    } else collectRefs(v, add);
  }
}

function sameJson(a: Json, b: Json): boolean {
  return JSON.stringify(sortKeys(a)) === JSON.stringify(sortKeys(b));
}

function sortKeys(v: Json): Json {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v && typeof v === 'object') return Object.fromEntries(Object.keys(v).sort().map((k) => [k, sortKeys(v[k])]));
  return v;
}

export function diffCounts(before: Record<string, number>, after: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(after)) if (v - (before[k] ?? 0) > 0) out[k] = v - (before[k] ?? 0);
  return out;
}
