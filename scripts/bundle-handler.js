#!/usr/bin/env node
// Bundles lambda/index.ts into dist/handler/: minified, with the AWS SDK clients
// inside, so consumers never need esbuild or Docker at synth time. ESM with code
// splitting: index.mjs is small, and each SDK client is a chunk loaded by the
// first event that needs it, which keeps cold start close to a bare node.
const path = require('path');
const fs = require('fs');
const esbuild = require('esbuild');

const root = path.join(__dirname, '..');
const outdir = path.join(root, 'dist', 'handler');

// Dynamic imports the SDK makes only in browsers or for streaming operations.
const UNUSED = [/[\\/]bowser[\\/]/, /[\\/]@smithy[\\/]core[\\/]dist-es[\\/]submodules[\\/]event-streams[\\/]/];
const unusedSdkModules = {
  name: 'unused-sdk-modules',
  setup(build) {
    build.onLoad({ filter: /\.m?js$/ }, (args) => (UNUSED.some((re) => re.test(args.path))
      ? { contents: "throw new Error('This SDK feature is not included in the grafana-credentials handler bundle');", loader: 'js' }
      : undefined));
  },
};

// Each SDK client reads its package.json only for its version (the user agent); keep just the name and version.
const sdkPackageJson = {
  name: 'sdk-package-json',
  setup(build) {
    build.onLoad({ filter: /[\\/]@aws-sdk[\\/]client-[a-z-]+[\\/]package\.json$/ }, (args) => {
      const { name, version } = JSON.parse(fs.readFileSync(args.path, 'utf8'));
      return { contents: JSON.stringify({ name, version }), loader: 'json' };
    });
  },
};

async function main() {
  fs.rmSync(outdir, { recursive: true, force: true });
  const result = await esbuild.build({
    entryPoints: [path.join(root, 'lambda', 'index.ts')],
    outdir,
    splitting: true,
    entryNames: '[name]',
    chunkNames: 'chunks/[name]-[hash]',
    outExtension: { '.js': '.mjs' },
    bundle: true,
    minify: true,
    platform: 'node',
    target: 'node20',
    format: 'esm',
    // Some SDK dependencies are CommonJS and require node built-ins.
    banner: { js: "import{createRequire as __cr}from'module';const require=__cr(import.meta.url);" },
    mainFields: ['module', 'main'],
    legalComments: 'none',
    metafile: true,
    // Lambda supplies credentials in the environment; drop the rest of the default chain.
    alias: { '@aws-sdk/credential-provider-node': path.join(root, 'lambda', 'shims', 'credential-provider-node.ts') },
    plugins: [unusedSdkModules, sdkPackageJson],
    logLevel: 'warning',
  });
  fs.writeFileSync(path.join(root, 'dist', 'handler-meta.json'), JSON.stringify(result.metafile));
  let total = 0;
  const walk = (dir) => fs.readdirSync(dir, { withFileTypes: true }).forEach((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) walk(p); else total += fs.statSync(p).size;
  });
  walk(outdir);
  const entry = fs.statSync(path.join(outdir, 'index.mjs')).size;
  console.log(`handler bundle: dist/handler/ ${total} bytes in all, index.mjs ${entry} bytes`);
}

main().catch((err) => { console.error(err); process.exit(1); });
