/**
 * The one place where the interleaving test touches the handler: how an
 * invocation is started, how its AWS calls and its answer to CloudFormation
 * are intercepted, and how a secret version names its credential. The rest of
 * test/model/ knows only `handler(event, context)` of lambda/index.ts; a
 * rewritten engine adapts this file and nothing else.
 *
 * Every AWS call goes through aws-sdk-client-mock to `route(op, input)`, with
 * AsyncLocalStorage telling which invocation made it; the answer is a PUT
 * that sendAnswer would make, taken here instead of over HTTP.
 */
import { AsyncLocalStorage } from 'async_hooks';
import * as G from '@aws-sdk/client-grafana';
import * as S from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import * as cfnResponse from '../../lambda/cfn-response';
import * as contract from '../../lib/private/contract';
import * as issuers from '../../lambda/issuers';
import { credentialName, parseOwnLabel } from '../../lambda/engine/ids';
import { handler } from '../../lambda/index';
import { Op, SDK_ROUTES, SdkClient } from '../unit/helpers/fake-aws';
import { plannedKeyIssuer } from './planned-key-issuer';

/** What an invocation answered CloudFormation. */
export interface CfnAnswer { readonly status: 'SUCCESS' | 'FAILED'; readonly physicalResourceId: string; readonly reason?: string }

/** The operations the handler may call (SDK_ROUTES); any other fails loudly. */
export type { Op };

export interface Hooks<Inv> {
  /** An AWS call made by `inv` (undefined outside any invocation). Resolve or reject it whenever the scheduler decides. */
  call(inv: Inv | undefined, op: Op, input: any): Promise<any>;
  /** `inv` answered CloudFormation. A promise that never settles models an answer that never leaves a dead process. */
  answer(inv: Inv | undefined, answer: CfnAnswer): Promise<void>;
}

const current = new AsyncLocalStorage<unknown>();

/**
 * The rotated secrets the construct writes into the function's environment (as test/unit/helpers/bed.ts does):
 * without it, the handler refuses every rotation at createSecret, and the model would fuzz no rotation at all.
 */
export const MODEL_MANAGED_SECRETS = JSON.stringify({
  arnPrefix: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:', prefixes: ['grafana-credentials/Stack/'], names: {},
});

/** Routes the SDK clients and the CloudFormation answer to `hooks`. Call once per test file, in beforeAll. */
export function installAdapter<Inv>(hooks: () => Hooks<Inv>): () => void {
  const savedEnv = process.env[contract.MANAGED_SECRETS_ENV];
  process.env[contract.MANAGED_SECRETS_ENV] = MODEL_MANAGED_SECRETS;
  const grafana = mockClient(G.GrafanaClient);
  const sm = mockClient(S.SecretsManagerClient);
  const mocks: Record<SdkClient, any> = { grafana, secretsManager: sm };
  grafana.onAnyCommand().callsFake((input: unknown) => { throw new Error(`model AWS: unexpected Grafana command ${JSON.stringify(input)}`); });
  sm.onAnyCommand().callsFake((input: unknown) => { throw new Error(`model AWS: unexpected Secrets Manager command ${JSON.stringify(input)}`); });
  for (const [client, command, op] of SDK_ROUTES) mocks[client].on(command).callsFake((input: any) => hooks().call(current.getStore() as Inv | undefined, op, input));
  const answer = jest.spyOn(cfnResponse, 'sendAnswer').mockImplementation(async (_event, a) =>
    hooks().answer(current.getStore() as Inv | undefined, { status: a.status, physicalResourceId: a.physicalResourceId, reason: a.reason }));
  // The model's kind is an API key with plans, an in-place field (planned-key-issuer.ts); its plan calls are AWS calls too.
  const planned = plannedKeyIssuer((op, input) => hooks().call(current.getStore() as Inv | undefined, op, input));
  const realIssuerFor = issuers.issuerFor;
  const issuerFor = jest.spyOn(issuers, 'issuerFor').mockImplementation((kind) => (kind === planned.kind ? planned : realIssuerFor(kind)));
  // The amg-api-key parser drops UsagePlanIds; the model's kind reads them.
  const realParse = contract.parseProperties;
  const parse = jest.spyOn(contract, 'parseProperties').mockImplementation((raw: any) => {
    const parsed = realParse(raw);
    return parsed.Kind === planned.kind && typeof raw?.UsagePlanIds === 'string' ? { ...parsed, UsagePlanIds: raw.UsagePlanIds } as typeof parsed : parsed;
  });
  forget = () => { grafana.resetHistory(); sm.resetHistory(); answer.mockClear(); issuerFor.mockClear(); parse.mockClear(); };
  return () => {
    grafana.restore(); sm.restore(); answer.mockRestore(); issuerFor.mockRestore(); parse.mockRestore(); forget = () => undefined;
    if (savedEnv === undefined) delete process.env[contract.MANAGED_SECRETS_ENV];
    else process.env[contract.MANAGED_SECRETS_ENV] = savedEnv;
  };
}

let forget = (): void => undefined;
/** Drops the mocks' record of past calls: thousands of sequences would otherwise keep every input alive. */
export function forgetCalls(): void { forget(); }

/** Runs the handler for `event` as invocation `inv`, with a Lambda context of `timeoutMs` on the (fake) clock. */
export function invoke<Inv>(inv: Inv, event: Record<string, unknown>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const context: any = {
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    awsRequestId: 'fuzz', functionName: 'Handler', functionVersion: '$LATEST', invokedFunctionArn: 'arn:fn', memoryLimitInMB: '256',
    logGroupName: '/aws/lambda/Handler', logStreamName: 's', callbackWaitsForEmptyEventLoop: true,
  };
  return current.run(inv, () => handler(event, context));
}

/** How long before its timeout the handler's guard answers (lambda/index.ts guardMarginMs), for a `timeoutMs` function. */
export function guardAfterMs(timeoutMs: number): number {
  return timeoutMs - Math.min(20_000, Math.max(1_000, Math.round(timeoutMs * 0.15)));
}

/** Custom-resource properties as the WorkspaceApiKey construct writes them; `touch` changes nothing the credential depends on. */
export function keyProperties(secretArn: string, workspaceId: string, role: string, touch: number, plans = ''): Record<string, string> {
  return {
    ServiceToken: 'arn:aws:lambda:us-east-1:123456789012:function:Handler', ServiceTimeout: '300',
    Kind: 'amg-api-key', SecretArn: secretArn, WorkspaceId: workspaceId, NamePrefix: 'Stack-Key', SecondsToLive: '86400', Role: role,
    // Verification is an https GET outside the scheduler's control; the fuzz checks AWSCURRENT itself.
    VerifyRotatedKey: 'false',
    Touch: String(touch),
    // The in-place field of the model's kind (planned-key-issuer.ts).
    UsagePlanIds: plans,
  };
}

/** The plans a key belongs to, sorted and comma-separated, as a definition names them. */
export const planList = (plans: ReadonlySet<string> | undefined): string => [...plans ?? []].sort().join(',');

/**
 * The names of the credentials a labelled secret version stands for: the
 * credential it holds, and the name of every slot whose OWN-<generation>-<slot>
 * label it carries (the ledger of lambda/engine/ledger.ts; an intent record,
 * written before issuing, carries the labels of the credential being issued).
 * Other names a record mentions do not count: that is bookkeeping, not a label.
 */
export function credentialNamesIn(secretString: string | undefined, stages: readonly string[] = []): string[] {
  if (!secretString) return [];
  let v: any;
  try { v = JSON.parse(secretString); } catch { return []; }
  const prefix = v?.lifecycle?.definition?.namePrefix ?? v?.intent?.definition?.namePrefix;
  const names = [v?.keyName];
  for (const label of stages) {
    const own = parseOwnLabel(label);
    if (own && typeof prefix === 'string') names.push(credentialName(prefix, own.generation, own.slot));
  }
  return names.filter((n): n is string => typeof n === 'string');
}

/** The token a secret version holds, if it holds one. */
export function tokenIn(secretString: string | undefined): string | undefined {
  if (!secretString) return undefined;
  try { const v = JSON.parse(secretString); return typeof v?.key === 'string' && v.key ? v.key : undefined; } catch { return undefined; }
}
