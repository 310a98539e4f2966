/** `npm run demo` is the README's first command: it must keep working and exit 0. */
import { spawnSync } from 'child_process';
import * as path from 'path';

test('the demo deploys, updates, rotates and deletes the example app without a misbehaving step', () => {
  const root = path.join(__dirname, '..', '..');
  const out = spawnSync(process.execPath, [path.join(root, 'dist', 'test', 'testbed', 'demo.js')], { cwd: root, encoding: 'utf8', timeout: 120_000 });
  expect(out.stdout).toContain('1. create');
  expect(out.stdout).toContain('3. rotation');
  expect(out.stdout).toContain('6. beside the workspace: a self-managed Grafana server');
  // issue #18: the health check reports every credential, and a revoked token as not working
  expect(out.stdout).toContain('ok   every credential of the stack works');
  expect(out.stdout).toContain('ok   CredentialWorks drops to 0 for that token');
  expect(out.stdout).toMatch(/demo: every step behaved/);
  // issue #17: an API Gateway key beside the Grafana credentials
  expect(out.stdout).toContain('ok   API Gateway key rotation finished');
  expect(out.stdout).toContain('ok   0 API Gateway keys left');
  expect(out.stdout).not.toMatch(/FAIL/);
  expect(out.status).toBe(0);
});
