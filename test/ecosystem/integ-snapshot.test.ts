/**
 * The integration test's committed snapshot (test/integ.grafana-credentials.ts.snapshot)
 * is verified offline by integ-runner: no deployment, no AWS account. A change to the
 * library or the handler that alters the template fails here until the snapshot is
 * refreshed with `npm run integ:update` (and, by a maintainer with an account, deployed).
 */
import { spawnSync } from 'child_process';
import * as path from 'path';

test('integ-runner finds the synthesized integration test unchanged from its snapshot', () => {
  const root = path.join(__dirname, '..', '..');
  const out = spawnSync('npx', ['integ-runner', '--directory', 'test', '--language', 'typescript', '--parallel-regions', 'us-east-1'], {
    cwd: root, encoding: 'utf8', timeout: 240_000, env: { ...process.env, TS_NODE_TRANSPILE_ONLY: '1' },
  });
  const output = `${out.stdout}\n${out.stderr}`;
  expect(output).toMatch(/UNCHANGED\s+integ\.grafana-credentials/);
  expect(out.status).toBe(0);
}, 300_000);
