/** The leak check every handler test relies on (rule: no token in logs) must itself be able to fail. */
import { assertNoLeaks } from './helpers/bed';
import { World } from './helpers/fake-aws';

function bedWith(token: string, where: 'logs' | 'bodies' | 'errors', text: string) {
  const world = new World();
  world.issuedTokens.push(token);
  return { world, logs: [] as string[], bodies: [] as string[], errors: [] as string[], [where]: [text] };
}

test.each(['logs', 'bodies', 'errors'] as const)('a token inside %s is reported', (where) => {
  const token = 'eyJrIjoiabc123';
  expect(() => assertNoLeaks(bedWith(token, where, `{"level":"info","detail":"xx${token}yy"}`))).toThrow(/an issued token leaked/);
});

test('lines without a token pass, and an answer over 4,096 bytes is reported', () => {
  expect(() => assertNoLeaks(bedWith('eyJrIjoiabc123', 'logs', '{"level":"info","credentialName":"Stack-Key-0123456789"}'))).not.toThrow();
  expect(() => assertNoLeaks(bedWith('t', 'bodies', 'x'.repeat(4097)))).toThrow(/over CloudFormation's 4,096/);
});
