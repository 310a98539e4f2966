/**
 * The published package: `npm pack`, unpacked into a fresh CDK app in a
 * temporary folder (aws-cdk-lib and constructs as the peer dependencies the app
 * brings), synthesizes a stack with no esbuild and no Docker anywhere in reach.
 */
import { execFileSync, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

const root = path.join(__dirname, '..', '..');

test('npm pack ships the library, its types and the prebuilt handler, and nothing of test/, bench/ or lambda/', () => {
  const out = execFileSync('npm', ['pack', '--dry-run', '--json'], { cwd: root, encoding: 'utf8' });
  const files: string[] = JSON.parse(out)[0].files.map((f: { path: string }) => f.path);
  expect(files).toContain('dist/lib/index.js');
  expect(files).toContain('dist/lib/index.d.ts');
  expect(files).toContain('dist/handler/index.mjs');
  expect(files).toContain('LICENSE');
  // The jsii assembly and its API reference, for jsii-pacmak and Construct Hub.
  expect(files).toContain('.jsii');
  expect(files).toContain('API.md');
  expect(files.filter((f) => /^(test|bench|lambda|examples|dist\/test|dist\/bench|dist\/lambda)\//.test(f))).toEqual([]);
});

test('no packed .js points at a source map or a source the package does not ship', () => {
  const out = execFileSync('npm', ['pack', '--dry-run', '--json'], { cwd: root, encoding: 'utf8' });
  const files = new Set<string>(JSON.parse(out)[0].files.map((f: { path: string }) => f.path));
  const dangling: string[] = [];
  for (const file of [...files].filter((f) => /^dist\/lib\/.*\.js$/.test(f))) {
    const text = fs.readFileSync(path.join(root, file), 'utf8');
    for (const [, url] of text.matchAll(/[#@] sourceMappingURL=(\S+)/g)) {
      let map: { sources?: string[]; sourceRoot?: string };
      let mapFile = file;
      if (url.startsWith('data:')) {
        map = JSON.parse(Buffer.from(url.slice(url.indexOf(',') + 1), url.includes(';base64,') ? 'base64' : 'utf8').toString('utf8'));
      } else {
        mapFile = path.posix.join(path.posix.dirname(file), url);
        if (!files.has(mapFile)) { dangling.push(`${file} -> ${mapFile}`); continue; }
        map = JSON.parse(fs.readFileSync(path.join(root, mapFile), 'utf8'));
      }
      for (const source of map.sources ?? []) {
        const shipped = path.posix.normalize(path.posix.join(path.posix.dirname(mapFile), map.sourceRoot ?? '', source));
        if (!files.has(shipped)) dangling.push(`${file} -> ${shipped}`);
      }
    }
  }
  // A stack trace or a CDK validation error would otherwise start with a line of a file that is not in node_modules.
  expect(dangling).toEqual([]);
});

test('a fresh CDK app synthesizes with the packed tarball, without esbuild or Docker', () => {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'grafana-credentials-pack-'));
  try {
    execFileSync('npm', ['pack', '--pack-destination', work], { cwd: root, stdio: 'ignore' });
    const tarball = fs.readdirSync(work).find((f) => f.endsWith('.tgz'))!;
    const app = path.join(work, 'app');
    const pkg = path.join(app, 'node_modules', 'cdk-grafana-credentials');
    fs.mkdirSync(pkg, { recursive: true });
    execFileSync('tar', ['-xzf', path.join(work, tarball), '-C', pkg, '--strip-components=1']);
    for (const peer of ['aws-cdk-lib', 'constructs']) fs.symlinkSync(path.join(root, 'node_modules', peer), path.join(app, 'node_modules', peer));
    fs.writeFileSync(path.join(app, 'app.js'), `
      const { App, Stack } = require('aws-cdk-lib');
      const { WorkspaceApiKey, WorkspaceServiceAccount } = require('cdk-grafana-credentials');
      const app = new App({ outdir: 'cdk.out' });
      const stack = new Stack(app, 'Consumer');
      new WorkspaceApiKey(stack, 'Key', { workspaceId: 'g-0123456789' });
      new WorkspaceServiceAccount(stack, 'Sa', { workspaceId: 'g-0123456789' }).addToken('Token');
      app.synth();
      let esbuild = 'absent';
      try { require.resolve('esbuild'); esbuild = 'present'; } catch {}
      console.log('esbuild ' + esbuild);
    `);
    const env = { PATH: '/usr/bin:/bin', HOME: work };
    expect(spawnSync('sh', ['-c', 'command -v docker'], { env }).status).not.toBe(0); // no Docker on this PATH
    const run = spawnSync(process.execPath, ['app.js'], { cwd: app, encoding: 'utf8', env });
    expect(run.stderr).not.toMatch(/Error/);
    expect(run.stdout).toContain('esbuild absent');
    const assets = fs.readdirSync(path.join(app, 'cdk.out')).filter((d) => d.startsWith('asset.'));
    expect(assets.some((d) => fs.existsSync(path.join(app, 'cdk.out', d, 'index.mjs')))).toBe(true);
    const template = JSON.parse(fs.readFileSync(path.join(app, 'cdk.out', 'Consumer.template.json'), 'utf8'));
    expect(Object.values<any>(template.Resources).filter((r) => r.Type === 'AWS::Lambda::Function')).toHaveLength(1);
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
});
