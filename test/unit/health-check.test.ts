/**
 * The stack's health check and the rotation-failure metric, through the Lambda
 * entry point against the in-memory AWS: the metric lines (Embedded Metric
 * Format) name each credential by its secret, and never carry a token.
 */
import { handler } from '../../lambda/index';
import { emfLine, secretNameOf } from '../../lambda/metrics';
import { MANAGED_SECRETS_ENV } from '../../lib/private/contract';
import { keyProps, lambdaContext, SECRET_ARN, useBed, WS } from './helpers/bed';

const bed = useBed();
const HEALTH_CHECK = { GrafanaCredentials: 'HealthCheck' };
const SECRET_NAME = 'grafana-credentials/Stack/Key';
const T1 = '11111111-aaaa-4aaa-8aaa-aaaaaaaaaaaa';

async function deploy(props = keyProps(), requestId = 'create-1'): Promise<string> {
  const answer = await bed.create({ requestId, props });
  expect(answer.Status).toBe('SUCCESS');
  return answer.PhysicalResourceId;
}

const metricsOf = (name: string) => bed.metrics.filter((m) => m.SecretName === name);

describe('EMF lines', () => {
  test('a line declares its namespace, dimension sets and units, and carries the values at the top level', () => {
    const line = JSON.parse(emfLine({ SecretName: 's' }, [['SecretName']], [{ name: 'CredentialWorks', value: 1, unit: 'Count' }], 1_000));
    expect(line).toEqual({
      _aws: { Timestamp: 1_000, CloudWatchMetrics: [{ Namespace: 'GrafanaCredentials', Dimensions: [['SecretName']], Metrics: [{ Name: 'CredentialWorks', Unit: 'Count' }] }] },
      SecretName: 's', CredentialWorks: 1,
    });
  });

  test('the secret name comes from the ARN without the 6 characters Secrets Manager appends', () => {
    expect(secretNameOf(SECRET_ARN)).toBe(SECRET_NAME);
    expect(secretNameOf('plain-name')).toBe('plain-name');
  });
});

describe('health check', () => {
  test('publishes SecondsUntilExpiry, CredentialWorks 1 and RotationOverdue 0 for a working credential, with its secret name as dimension and no token', async () => {
    await deploy();
    bed.world.resetCalls();

    await handler(HEALTH_CHECK, lambdaContext());

    expect(bed.metrics).toHaveLength(1);
    const [line] = bed.metrics;
    expect(line._aws.CloudWatchMetrics[0]).toEqual({
      Namespace: 'GrafanaCredentials', Dimensions: [['SecretName']],
      Metrics: [{ Name: 'SecondsUntilExpiry', Unit: 'Seconds' }, { Name: 'CredentialWorks', Unit: 'Count' }, { Name: 'RotationOverdue', Unit: 'Count' }],
    });
    expect(line).toMatchObject({ SecretName: SECRET_NAME, CredentialWorks: 1, RotationOverdue: 0 });
    expect(line.SecondsUntilExpiry).toBeGreaterThan(86_400 - 60);
    expect(line.SecondsUntilExpiry).toBeLessThanOrEqual(86_400);
    const token = bed.world.secret(SECRET_ARN).valueAt().key;
    for (const text of bed.logs) expect(text).not.toContain(token);
    // It reads; it never writes, moves a label or touches Grafana beyond finding where to verify.
    expect(bed.world.ops().sort()).toEqual(['DescribeWorkspace', 'GetSecretValue', 'ListSecrets']);
  });

  test('CredentialWorks drops to 0 when the key is revoked out of band', async () => {
    const keyName = await deploy();
    bed.world.workspaces.get(WS)!.keys.delete(keyName);

    await handler(HEALTH_CHECK, lambdaContext());

    expect(metricsOf(SECRET_NAME)).toEqual([expect.objectContaining({ CredentialWorks: 0, RotationOverdue: 0 })]);
  });

  test('one line per credential: every secret under the default prefix and every listed name, nothing else', async () => {
    await deploy();
    const otherArn = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:grafana-credentials/Stack/Other-XyZ123';
    const namedArn = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:team/unrotated-QwErTy';
    const strangerArn = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:team/unrotated2-AsDfGh';
    for (const arn of [otherArn, namedArn, strangerArn]) bed.world.addSecret(arn);
    await deploy(keyProps({ SecretArn: otherArn, NamePrefix: 'Stack-Other' }), 'create-2');
    await deploy(keyProps({ SecretArn: namedArn, NamePrefix: 'Stack-Named' }), 'create-3');
    await deploy(keyProps({ SecretArn: strangerArn, NamePrefix: 'Stack-Stranger' }), 'create-4');
    const env = JSON.parse(process.env[MANAGED_SECRETS_ENV]!);
    process.env[MANAGED_SECRETS_ENV] = JSON.stringify({ ...env, unrotated: { prefixes: [], names: { 'team/': ['unrotated'] } } });
    try {
      await handler(HEALTH_CHECK, lambdaContext());
    } finally {
      process.env[MANAGED_SECRETS_ENV] = JSON.stringify(env);
    }

    expect(bed.metrics.map((m) => m.SecretName).sort()).toEqual(['grafana-credentials/Stack/Key', 'grafana-credentials/Stack/Other', 'team/unrotated']);
    expect(bed.metrics.every((m) => m.CredentialWorks === 1)).toBe(true);
  });

  test('RotationOverdue is 1 when Secrets Manager should have rotated more than a day ago', async () => {
    await deploy();
    bed.world.secret(SECRET_ARN).rotation = { enabled: true, nextRotationDate: new Date(Date.now() - 25 * 3600 * 1000) };

    await handler(HEALTH_CHECK, lambdaContext());

    expect(metricsOf(SECRET_NAME)).toEqual([expect.objectContaining({ RotationOverdue: 1, CredentialWorks: 1 })]);
  });

  test('a secret whose value cannot be read reports CredentialWorks 0 and the others are still checked', async () => {
    await deploy();
    const otherArn = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:grafana-credentials/Stack/Other-XyZ123';
    bed.world.addSecret(otherArn);
    await deploy(keyProps({ SecretArn: otherArn, NamePrefix: 'Stack-Other' }), 'create-2');
    bed.world.intercept('GetSecretValue', (input, proceed) => {
      if (input.SecretId === SECRET_ARN) throw Object.assign(new Error('Access to KMS is not allowed'), { name: 'AccessDeniedException' });
      return proceed();
    });

    await handler(HEALTH_CHECK, lambdaContext());

    expect(metricsOf(SECRET_NAME)).toEqual([expect.objectContaining({ CredentialWorks: 0 })]);
    expect(metricsOf(SECRET_NAME)[0].SecondsUntilExpiry).toBeUndefined();
    expect(metricsOf('grafana-credentials/Stack/Other')).toEqual([expect.objectContaining({ CredentialWorks: 1 })]);
  });

  test('150 credentials: 10 checked at a time, one ListSecrets page per 100 secrets and one read per secret', async () => {
    const arns = Array.from({ length: 150 }, (_, i) => `arn:aws:secretsmanager:us-east-1:123456789012:secret:grafana-credentials/Stack/K${i}-AbC${String(i).padStart(3, '0')}`);
    for (const [i, arn] of arns.entries()) {
      bed.world.addSecret(arn);
      await deploy(keyProps({ SecretArn: arn, NamePrefix: `Stack-K${i}` }), `create-${i}`);
    }
    let inFlight = 0;
    let most = 0;
    bed.world.intercept('GetSecretValue', async (_input, proceed) => {
      most = Math.max(most, ++inFlight);
      await new Promise((r) => setTimeout(r, 1));
      inFlight--;
      return proceed();
    });
    bed.world.resetCalls();

    await handler(HEALTH_CHECK, lambdaContext());

    expect(bed.metrics.filter((m) => m.CredentialWorks === 1)).toHaveLength(150);
    expect(most).toBe(10);
    expect(bed.world.count('ListSecrets')).toBe(2);
    // The bed's own empty secret is under the prefix too: read, found to hold no credential, skipped.
    expect(bed.world.count('GetSecretValue')).toBe(151);
  });

  test('with little time left no new check starts: unchecked credentials get no metric rather than a wrong one', async () => {
    await deploy();

    await handler(HEALTH_CHECK, lambdaContext(10_000));

    expect(bed.metrics).toEqual([]);
    expect(bed.logs.some((l) => l.includes('"unchecked":1'))).toBe(true);
  });
});

describe('rotation failures', () => {
  const failureLines = () => bed.metrics.filter((m) => m.RotationFailures !== undefined);

  test('a testSecret whose new key does not work publishes RotationFailures with step testSecret and cause VerificationFailed', async () => {
    await deploy();
    expect(await bed.rotate('createSecret', T1)).toBeUndefined();
    const pending = bed.world.secret(SECRET_ARN).valueAt('AWSPENDING');
    bed.world.workspaces.get(WS)!.keys.delete(pending.keyName);

    expect(await bed.rotate('testSecret', T1)).toBeInstanceOf(Error);

    expect(failureLines()).toEqual([expect.objectContaining({ SecretName: SECRET_NAME, Step: 'testSecret', Cause: 'VerificationFailed', RotationFailures: 1 })]);
    expect(failureLines()[0]._aws.CloudWatchMetrics[0].Dimensions).toEqual([['SecretName'], ['SecretName', 'Step', 'Cause']]);
  });

  test('Grafana refusing the new key is ServiceRefused', async () => {
    await deploy();
    bed.world.fail('CreateWorkspaceApiKey', Object.assign(new Error('quota'), { name: 'ServiceQuotaExceededException' }));

    expect(await bed.rotate('createSecret', T1)).toBeInstanceOf(Error);

    expect(failureLines()).toEqual([expect.objectContaining({ Step: 'createSecret', Cause: 'ServiceRefused' })]);
  });

  test('Secrets Manager refusing the write is SecretsManagerConflict', async () => {
    await deploy();
    bed.world.fail('PutSecretValue', Object.assign(new Error('version exists with another value'), { name: 'ResourceExistsException' }));

    expect(await bed.rotate('createSecret', T1)).toBeInstanceOf(Error);

    expect(failureLines()).toEqual([expect.objectContaining({ Step: 'createSecret', Cause: 'SecretsManagerConflict' })]);
  });

  test('anything else is Other, and a successful step publishes nothing', async () => {
    await deploy();
    expect(await bed.rotate('createSecret', T1)).toBeUndefined();
    expect(failureLines()).toEqual([]);
    bed.world.fail('GetSecretValue', Object.assign(new Error('throttled'), { name: 'ThrottlingException' }));

    expect(await bed.rotate('testSecret', T1)).toBeInstanceOf(Error);

    expect(failureLines()).toEqual([expect.objectContaining({ Step: 'testSecret', Cause: 'Other' })]);
  });

  test('a refused event for a secret the function does not manage publishes nothing under that name', async () => {
    const stranger = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:elsewhere/secret-AbCdEf';
    expect(await bed.rotate('createSecret', T1, stranger)).toBeInstanceOf(Error);
    expect(failureLines()).toEqual([]);
  });
});
