/** The entry point's guaranteed answer, and the 4,096-byte cap on answers. */
import { CreateWorkspaceApiKeyCommand, GrafanaClient } from '@aws-sdk/client-grafana';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { MAX_RESPONSE_BYTES, responseBody } from '../../lambda/cfn-response';
import { handler, guardMarginMs } from '../../lambda/index';
import { captureLogs, context, props, responseServer } from './helpers';

process.env.GRAFANA_CREDENTIALS_MAX_ATTEMPTS = '1';
const grafana = mockClient(GrafanaClient);
mockClient(SecretsManagerClient);
let logs: ReturnType<typeof captureLogs>;
beforeEach(() => { grafana.reset(); logs = captureLogs(); });
afterEach(() => logs.restore());

const createEvent = (url: string) => ({
  RequestType: 'Create', ServiceToken: 'arn:fn', ResponseURL: url, StackId: 'stack', RequestId: 'req-1',
  LogicalResourceId: 'Key', ResourceType: 'Custom::GrafanaWorkspaceApiKey', ResourceProperties: props(),
});

test('an exception answers FAILED, with the failed-create marker as physical id', async () => {
  const server = await responseServer();
  try {
    grafana.on(CreateWorkspaceApiKeyCommand).rejects(Object.assign(new Error('denied'), { name: 'AccessDeniedException' }));
    await handler(createEvent(server.url), context());
    const body = JSON.parse(server.bodies[0]);
    expect(body).toMatchObject({ Status: 'FAILED', PhysicalResourceId: 'grafana-credentials-create-failed', RequestId: 'req-1', LogicalResourceId: 'Key', NoEcho: true });
    expect(body.Reason).toMatch(/g-0123456789.*AccessDeniedException/);
  } finally {
    await server.close();
  }
});

test('a call that never returns is answered FAILED before the function times out', async () => {
  const server = await responseServer();
  try {
    grafana.on(CreateWorkspaceApiKeyCommand).callsFake(() => new Promise(() => undefined));
    const started = Date.now();
    await handler(createEvent(server.url), context(3000));
    expect(Date.now() - started).toBeLessThan(3000);
    expect(JSON.parse(server.bodies[0])).toMatchObject({ Status: 'FAILED', Reason: expect.stringMatching(/^Timed out after \d+ s waiting for AWS/) });
  } finally {
    await server.close();
  }
});

test('an event that is neither CloudFormation nor rotation is refused', async () => {
  await expect(handler({ hello: 'world' }, context())).rejects.toThrow(/Unrecognised event/);
});

test('an over-long reason is cut to fit 4,096 bytes; the ids stay whole', () => {
  const event = createEvent('http://x') as any;
  const body = responseBody(event, { status: 'FAILED', physicalResourceId: 'p'.repeat(200), reason: 'r'.repeat(10_000) });
  expect(Buffer.byteLength(body)).toBeLessThanOrEqual(MAX_RESPONSE_BYTES);
  const parsed = JSON.parse(body);
  expect(parsed.PhysicalResourceId).toBe('p'.repeat(200));
  expect(parsed.Reason).toMatch(/\[truncated\]$/);
});

test('the guard leaves between 1 and 20 seconds before the timeout', () => {
  expect(guardMarginMs(3000)).toBe(1000);
  expect(guardMarginMs(120_000)).toBe(18_000);
  expect(guardMarginMs(900_000)).toBe(20_000);
});
