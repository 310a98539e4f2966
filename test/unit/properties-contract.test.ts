/** The one properties contract (lib/private/contract.ts): what the constructs write is what the handler parses. */
import { parseProperties, PropertyError } from '../../lib/private/contract';
import { keyProps, useBed } from './helpers/bed';

const apiKey = { Kind: 'amg-api-key', SecretArn: 'arn:secret', WorkspaceId: 'g-0123456789', NamePrefix: 'S-Key', SecondsToLive: '3600', Role: 'VIEWER' };
const token = { Kind: 'amg-service-account-token', SecretArn: 'arn:secret', WorkspaceId: 'g-0123456789', NamePrefix: 'S-Token', SecondsToLive: '3600', ServiceAccountId: '7' };
const account = { Kind: 'amg-service-account', WorkspaceId: 'g-0123456789', ServiceAccountName: 'ci', Role: 'EDITOR' };

describe('parseProperties', () => {
  test('returns the typed properties of each kind, scalars as CloudFormation delivers them', () => {
    expect(parseProperties({ ...apiKey, ServiceToken: 'arn:fn', SecondsToLive: '03600' })).toEqual({ ...apiKey });
    expect(parseProperties({ ...token, VerifyUrl: 'https://g.example.com/', VerifyRotatedKey: 'false' }))
      .toEqual({ ...token, VerifyUrl: 'https://g.example.com', VerifyRotatedKey: 'false' });
    expect(parseProperties(account)).toEqual(account);
  });

  test.each([
    ['Kind', apiKey], ['SecretArn', apiKey], ['WorkspaceId', apiKey], ['NamePrefix', apiKey], ['SecondsToLive', apiKey], ['Role', apiKey],
    ['ServiceAccountId', token], ['ServiceAccountName', account], ['Role', account],
  ])('a missing %s is refused, naming it', (name, props) => {
    const { [name]: _gone, ...rest } = props as Record<string, string>;
    expect(() => parseProperties(rest)).toThrow(new PropertyError(`Property ${name} is required`));
  });

  test.each([
    [{ Kind: 'amg-password' }, /Kind 'amg-password' is not a known credential kind/],
    [{ WorkspaceId: 'ws-1' }, /WorkspaceId 'ws-1' is not a workspace id/],
    [{ SecondsToLive: '2592001' }, /SecondsToLive '2592001' must be a whole number from 1 to 2592000/],
    [{ SecondsToLive: '1.5' }, /SecondsToLive '1.5' must be a whole number/],
    [{ Role: 'OWNER' }, /Role 'OWNER' is not one of ADMIN, EDITOR, VIEWER/],
    [{ VerifyUrl: 'http://g.example.com' }, /VerifyUrl 'http:\/\/g.example.com' must be an absolute https URL/],
    [{ VerifyRotatedKey: 'no' }, /VerifyRotatedKey 'no' must be 'true' or 'false'/],
  ])('a wrong value is refused, naming the property and the value: %j', (change, message) => {
    expect(() => parseProperties({ ...apiKey, ...change })).toThrow(message);
  });
});

describe('through the handler', () => {
  const bed = useBed();
  test.each(['SecretArn', 'NamePrefix', 'SecondsToLive'])('a Create without %s answers FAILED naming it, before any AWS call', async (name) => {
    const { [name]: _gone, ...props } = keyProps();
    const answer = await bed.create({ props });
    expect(answer.Status).toBe('FAILED');
    expect(answer.Reason).toContain(`Property ${name} is required`);
    expect(bed.world.calls).toEqual([]);
  });
});
