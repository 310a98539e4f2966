/**
 * Every TypeScript snippet in the README compiles, with the context in
 * rosetta/default.ts-fixture, through jsii-rosetta: the same translation that
 * writes the Python, Java, C# and Go READMEs on Construct Hub. A snippet that
 * does not compile fails here (`--fail`), so no language shows broken code.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

test('jsii-rosetta compiles every README snippet without a diagnostic', () => {
  const root = path.join(__dirname, '..', '..');
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'rosetta-'));
  // The assembly embeds the README as built; its tablet goes to a temporary file so the tree stays clean.
  const out = spawnSync('npx', ['jsii-rosetta', 'extract', '--compile', '--fail', '--cache-to', path.join(work, 'tablet.json'), '.jsii'], {
    cwd: root, encoding: 'utf8', timeout: 240_000,
  });
  const output = `${out.stdout}\n${out.stderr}`;
  expect(output).not.toMatch(/error TS\d+/);
  expect(out.status).toBe(0);
  fs.rmSync(work, { recursive: true, force: true });
}, 300_000);
