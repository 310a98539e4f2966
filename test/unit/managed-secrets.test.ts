/** The handler rotates only the secrets its construct listed, and refuses any other before an AWS call. */
import { isManagedSecret, parseManagedSecrets } from '../../lambda/managed-secrets';
import { MANAGED_SECRETS_ENV } from '../../lib/private/contract';
import { parsedLogs, SECRET_ARN, useBed } from './helpers/bed';

const ARN = 'arn:aws:secretsmanager:eu-west-1:111111111111:secret:';
const list = {
  arnPrefix: ARN,
  prefixes: ['grafana-credentials/Stack/'],
  names: { 'team/grafana/': ['dashboards', 'alerts'], '': ['top-level'] },
};

describe('isManagedSecret', () => {
  test.each([
    ['a default-named secret under the prefix', `${ARN}grafana-credentials/Stack/Key-AbCdEf`],
    ['a deeper default name', `${ARN}grafana-credentials/Stack/Sa/Token-a1B2c3`],
    ['an exact name in a path, with the 6-character suffix', `${ARN}team/grafana/dashboards-Zz9Yy8`],
    ['an exact name without a path', `${ARN}top-level-000000`],
  ])('accepts %s', (_, arn) => expect(isManagedSecret(arn, list)).toBe(true));

  test.each([
    ['another stack\'s default name', `${ARN}grafana-credentials/Stack2/Key-AbCdEf`],
    ['a sibling of a named secret in its path', `${ARN}team/grafana/other-AbCdEf`],
    ['a named secret with something appended', `${ARN}team/grafana/dashboards-old-AbCdEf`],
    ['a named secret without the suffix Secrets Manager appends', `${ARN}team/grafana/dashboards`],
    ['a suffix one character short', `${ARN}top-level-AbCdE`],
    ['the same name in another account', 'arn:aws:secretsmanager:eu-west-1:222222222222:secret:top-level-AbCdEf'],
    ['the same name in another region', 'arn:aws:secretsmanager:us-east-1:111111111111:secret:top-level-AbCdEf'],
    ['a name instead of an ARN', 'top-level'],
  ])('refuses %s', (_, arn) => expect(isManagedSecret(arn, list)).toBe(false));

  test('an empty list manages nothing', () => {
    expect(isManagedSecret(`${ARN}grafana-credentials/Stack/Key-AbCdEf`, { arnPrefix: ARN, prefixes: [], names: {} })).toBe(false);
  });
});

describe('parseManagedSecrets', () => {
  test('reads what the construct writes', () => expect(parseManagedSecrets(JSON.stringify(list))).toEqual(list));
  test.each([undefined, '', 'not json', '{}', '{"arnPrefix":"x","prefixes":[]}'])('a missing or unreadable list is none: %p', (text) => {
    expect(parseManagedSecrets(text)).toBeUndefined();
  });
});

describe('the entry point', () => {
  const bed = useBed();
  const UNMANAGED = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:someone-elses-secret-AbCdEf';

  test('refuses a rotation event for a secret it does not manage, before any AWS call, naming the secret', async () => {
    bed.world.addSecret(UNMANAGED, {});
    const err = await bed.rotate('createSecret', '11111111-aaaa-4aaa-8aaa-aaaaaaaaaaaa', UNMANAGED);
    expect(err?.message).toMatch(new RegExp(`^Refused to rotate secret ${UNMANAGED}: it is not one of the secrets this function manages`));
    expect(bed.world.calls).toEqual([]);
    const refusal = parsedLogs(bed).find((l) => l.level === 'error');
    expect(refusal).toMatchObject({ message: 'rotation createSecret: refused: it is not one of the secrets this function manages', secretArn: UNMANAGED, outcome: 'refused' });
  });

  test('refuses every rotation when the list is missing from its environment', async () => {
    const saved = process.env[MANAGED_SECRETS_ENV];
    delete process.env[MANAGED_SECRETS_ENV];
    try {
      const err = await bed.rotate('createSecret', '11111111-aaaa-4aaa-8aaa-aaaaaaaaaaaa', SECRET_ARN);
      expect(err?.message).toMatch(/^Refused to rotate secret .*: GRAFANA_CREDENTIALS_MANAGED_SECRETS is missing or unreadable/);
      expect(bed.world.calls).toEqual([]);
    } finally {
      process.env[MANAGED_SECRETS_ENV] = saved;
    }
  });

  test('goes ahead for a managed secret', async () => {
    await bed.rotate('createSecret', '11111111-aaaa-4aaa-8aaa-aaaaaaaaaaaa', SECRET_ARN);
    expect(bed.world.calls.length).toBeGreaterThan(0);
  });
});
