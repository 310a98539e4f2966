/**
 * The public API compiles with jsii (so it can be published to PyPI, Maven,
 * NuGet and Go), and API.md is what jsii-docgen makes of it today: a change to
 * lib/ that is not followed by `npm run docgen` fails here.
 *
 * `npm run build` runs jsii last, so .jsii is normally fresh; run directly
 * after editing lib/, this test compiles with jsii first.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

const root = path.join(__dirname, '..', '..');
const assemblyFile = path.join(root, '.jsii');

function newestSource(dir: string): number {
  return fs.readdirSync(dir, { withFileTypes: true }).reduce((newest, entry) => {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) return Math.max(newest, newestSource(p));
    return entry.name.endsWith('.ts') ? Math.max(newest, fs.statSync(p).mtimeMs) : newest;
  }, 0);
}

function run(bin: string, args: string[]): string {
  const out = spawnSync(process.execPath, [path.join(root, 'node_modules', bin), ...args], {
    cwd: root, encoding: 'utf8', timeout: 120_000,
    env: { ...process.env, JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION: process.versions.node.split('.')[0] },
  });
  const output = `${out.stdout}\n${out.stderr}`;
  if (out.status !== 0) throw new Error(`${bin} ${args.join(' ')} failed (${out.status ?? out.signal}):\n${output}`);
  return output;
}

beforeAll(() => {
  const inputs = [newestSource(path.join(root, 'lib')), fs.statSync(path.join(root, 'tsconfig.jsii.json')).mtimeMs];
  if (!fs.existsSync(assemblyFile) || fs.statSync(assemblyFile).mtimeMs < Math.max(...inputs)) {
    run('jsii/bin/jsii', []);
  }
}, 120_000);

test('jsii assembly: every exported type, with the Python, Java, .NET and Go targets', () => {
  const assembly = JSON.parse(fs.readFileSync(assemblyFile, 'utf8'));
  expect(assembly.name).toBe('cdk-grafana-credentials');
  expect(Object.keys(assembly.types).sort()).toEqual([
    'cdk-grafana-credentials.CredentialBase',
    'cdk-grafana-credentials.CredentialOptions',
    'cdk-grafana-credentials.GrafanaApiKey',
    'cdk-grafana-credentials.GrafanaApiKeyProps',
    'cdk-grafana-credentials.GrafanaCredentialsHandler',
    'cdk-grafana-credentials.GrafanaCredentialsHandlerOptions',
    'cdk-grafana-credentials.GrafanaRole',
    'cdk-grafana-credentials.GrafanaServiceAccount',
    'cdk-grafana-credentials.GrafanaServiceAccountAttributes',
    'cdk-grafana-credentials.GrafanaServiceAccountProps',
    'cdk-grafana-credentials.GrafanaServiceAccountToken',
    'cdk-grafana-credentials.GrafanaServiceAccountTokenOptions',
    'cdk-grafana-credentials.GrafanaServiceAccountTokenProps',
    'cdk-grafana-credentials.GrafanaTtl',
    'cdk-grafana-credentials.HandlerPlacementOptions',
    'cdk-grafana-credentials.IGrafanaServiceAccount',
    'cdk-grafana-credentials.ISelfManagedGrafana',
    'cdk-grafana-credentials.IWorkspaceServiceAccount',
    'cdk-grafana-credentials.RotatingApiKey',
    'cdk-grafana-credentials.RotatingApiKeyProps',
    'cdk-grafana-credentials.SecretOptions',
    'cdk-grafana-credentials.SelfManagedCredentialOptions',
    'cdk-grafana-credentials.SelfManagedGrafana',
    'cdk-grafana-credentials.SelfManagedGrafanaAttributes',
    'cdk-grafana-credentials.WorkspaceApiKey',
    'cdk-grafana-credentials.WorkspaceApiKeyProps',
    'cdk-grafana-credentials.WorkspaceServiceAccount',
    'cdk-grafana-credentials.WorkspaceServiceAccountAttributes',
    'cdk-grafana-credentials.WorkspaceServiceAccountProps',
    'cdk-grafana-credentials.WorkspaceServiceAccountToken',
    'cdk-grafana-credentials.WorkspaceServiceAccountTokenOptions',
    'cdk-grafana-credentials.WorkspaceServiceAccountTokenProps',
  ]);
  expect(assembly.targets).toEqual({
    js: { npm: 'cdk-grafana-credentials' },
    python: { distName: 'cdk-grafana-credentials', module: 'cdk_grafana_credentials' },
    java: { package: 'io.github.cdkgrafanacredentials', maven: { groupId: 'io.github.cdk-grafana-credentials', artifactId: 'cdk-grafana-credentials' } },
    dotnet: { namespace: 'CdkGrafanaCredentials', packageId: 'CdkGrafanaCredentials' },
    go: { moduleName: 'github.com/cdk-grafana-credentials/cdk-grafana-credentials-go' },
  });
  // Nothing internal leaks into the API other languages see.
  expect(JSON.stringify(assembly.types)).not.toMatch(/CredentialHandler|\bManagedCredential|private\//); // SelfManagedCredentialOptions is public
});

test('API.md is up to date with lib/ (regenerate with `npm run docgen`)', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'grafana-credentials-docgen-'));
  try {
    const fresh = path.join(dir, 'API.md');
    run('jsii-docgen/bin/jsii-docgen', ['-o', fresh]);
    const committed = fs.readFileSync(path.join(root, 'API.md'), 'utf8');
    const generated = fs.readFileSync(fresh, 'utf8');
    if (generated !== committed) {
      const a = committed.split('\n');
      const b = generated.split('\n');
      const line = a.findIndex((l, i) => l !== b[i]);
      throw new Error(`API.md is stale: run 'npm run docgen' and commit it. First difference at line ${line + 1}:\n` +
        `  committed: ${a[line]}\n  generated: ${b[line]}`);
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
