/** The shared Secrets Manager model follows the service's documented rules (see its header). */
import { SecretsManagerError, SecretsManagerModel } from './secrets-manager-model';

const ARN = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:s-AbCdEf';
const V = (n: number) => `${String(n).padStart(8, '0')}-aaaa-4aaa-8aaa-aaaaaaaaaaaa`;

function setup() {
  let now = Date.UTC(2026, 0, 1);
  const sm = new SecretsManagerModel({ now: () => now });
  const secret = sm.addSecret(ARN);
  const put = (n: number, stages?: string[], value = `v${n}`) => sm.putSecretValue({ SecretId: ARN, ClientRequestToken: V(n), SecretString: value, VersionStages: stages });
  return { sm, secret, put, advance: (ms: number) => { now += ms; } };
}
const errorType = (f: () => unknown) => { try { f(); } catch (e) { return (e as SecretsManagerError).type; } return undefined; };

test('the first version gets AWSCURRENT whatever VersionStages says; a custom label never moves by itself', () => {
  const { secret, put } = setup();
  put(1, ['OWN-1']);
  expect(secret.labels()).toEqual({ [V(1)]: ['AWSCURRENT', 'OWN-1'] });
  put(2, ['OWN-2', 'AWSCURRENT']);
  put(3, ['OWN-3', 'AWSCURRENT']);
  expect(secret.labels()).toEqual({ [V(1)]: ['OWN-1'], [V(2)]: ['AWSPREVIOUS', 'OWN-2'], [V(3)]: ['AWSCURRENT', 'OWN-3'] });
});

test('PutSecretValue is idempotent per token: same value is a no-op, another value is ResourceExistsException', () => {
  const { secret, put } = setup();
  put(1);
  put(2, ['AWSPENDING']);
  expect(put(2, ['AWSCURRENT']).VersionStages).toEqual(['AWSPENDING']);
  expect(secret.labels()[V(2)]).toEqual(['AWSPENDING']);
  expect(errorType(() => put(2, ['AWSPENDING'], 'other'))).toBe('ResourceExistsException');
  expect(errorType(() => setup().sm.putSecretValue({ SecretId: ARN, ClientRequestToken: 'short', SecretString: 'x' }))).toBe('InvalidParameterException');
});

test('UpdateSecretVersionStage is a compare-and-swap; AWSCURRENT moves, carrying AWSPREVIOUS, and is never removed', () => {
  const { sm, secret, put } = setup();
  put(1);
  put(2, ['AWSPENDING']);
  const move = (to: string, from?: string) => sm.updateSecretVersionStage({ SecretId: ARN, VersionStage: 'AWSCURRENT', MoveToVersionId: to, RemoveFromVersionId: from });
  expect(errorType(() => move(V(2)))).toBe('InvalidParameterException');
  expect(errorType(() => move(V(2), V(2)))).toBe('InvalidParameterException');
  move(V(2), V(1));
  expect(secret.labels()).toEqual({ [V(1)]: ['AWSPREVIOUS'], [V(2)]: ['AWSCURRENT', 'AWSPENDING'] });
  expect(errorType(() => move(V(1), V(1)))).toBe('InvalidParameterException');
  expect(errorType(() => sm.updateSecretVersionStage({ SecretId: ARN, VersionStage: 'AWSCURRENT', RemoveFromVersionId: V(2) }))).toBe('InvalidParameterException');
  sm.updateSecretVersionStage({ SecretId: ARN, VersionStage: 'AWSPREVIOUS', RemoveFromVersionId: V(1) });
  expect(secret.labels()).toEqual({ [V(2)]: ['AWSCURRENT', 'AWSPENDING'] });
  expect(() => sm.getSecretValue({ SecretId: ARN, VersionId: V(1) })).not.toThrow(); // an unlabelled version is still readable by id
});

test('at most 20 staging labels per secret', () => {
  const { sm, secret, put } = setup();
  put(1);
  for (let i = 2; i <= 20; i++) put(i, [`OWN-${i}`]);
  expect(secret.labelCount()).toBe(20);
  expect(errorType(() => put(21, ['OWN-21']))).toBe('LimitExceededException');
  expect(errorType(() => sm.updateSecretVersionStage({ SecretId: ARN, VersionStage: 'OWN-21', MoveToVersionId: V(1) }))).toBe('LimitExceededException');
  sm.updateSecretVersionStage({ SecretId: ARN, VersionStage: 'OWN-20', RemoveFromVersionId: V(20) });
  expect(() => put(21, ['OWN-21'])).not.toThrow();
});

test('past 100 versions the oldest unlabelled ones older than a day are removed', () => {
  const { secret, put, advance } = setup();
  for (let i = 1; i <= 100; i++) put(i, ['AWSCURRENT']);
  put(101, ['AWSCURRENT']);
  expect(secret.versions.size).toBe(101); // all unlabelled ones are younger than a day
  advance(86_400_000);
  put(102, ['AWSCURRENT']);
  expect(secret.versions.size).toBe(100);
  expect(secret.versions.has(V(1))).toBe(false);
});

test('DeleteSecret with a recovery window: DescribeSecret shows DeletedDate, other calls are refused, RestoreSecret undoes it; force deletes at once', () => {
  const { sm, put, advance } = setup();
  put(1);
  sm.deleteSecret({ SecretId: ARN, RecoveryWindowInDays: 7 });
  expect(sm.describeSecret({ SecretId: ARN }).DeletedDate).toBeInstanceOf(Date);
  expect(errorType(() => sm.getSecretValue({ SecretId: ARN }))).toBe('InvalidRequestException');
  expect(errorType(() => put(2))).toBe('InvalidRequestException');
  sm.restoreSecret({ SecretId: ARN });
  expect(sm.getSecretValue({ SecretId: ARN }).SecretString).toBe('v1');
  sm.deleteSecret({ SecretId: ARN });
  advance(30 * 86_400_000);
  expect(errorType(() => sm.describeSecret({ SecretId: ARN }))).toBe('ResourceNotFoundException');

  const other = setup();
  other.sm.deleteSecret({ SecretId: ARN, ForceDeleteWithoutRecovery: true });
  expect(errorType(() => other.sm.describeSecret({ SecretId: ARN }))).toBe('ResourceNotFoundException');
  expect(() => other.sm.deleteSecret({ SecretId: ARN, ForceDeleteWithoutRecovery: true })).not.toThrow();
});

test('RotateSecret\'s prologue puts AWSPENDING on a version without a value, which PutSecretValue then fills', () => {
  const { sm, secret, put } = setup();
  put(1);
  sm.beginRotation(ARN, V(2));
  expect(secret.labels()[V(2)]).toEqual(['AWSPENDING']);
  expect(errorType(() => sm.getSecretValue({ SecretId: ARN, VersionStage: 'AWSPENDING' }))).toBe('ResourceNotFoundException');
  put(2, ['AWSPENDING']);
  expect(sm.getSecretValue({ SecretId: ARN, VersionStage: 'AWSPENDING' }).SecretString).toBe('v2');
});
