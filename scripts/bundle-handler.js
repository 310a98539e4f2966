#!/usr/bin/env node
// Bundles lambda/index.ts into dist/handler/index.js: minified, with the AWS SDK
// clients inside, so consumers never need esbuild or Docker at synth time.
const path = require('path');
const fs = require('fs');
const esbuild = require('esbuild');

const root = path.join(__dirname, '..');
const outdir = path.join(root, 'dist', 'handler');

async function main() {
  fs.rmSync(outdir, { recursive: true, force: true });
  const result = await esbuild.build({
    entryPoints: [path.join(root, 'lambda', 'index.ts')],
    outfile: path.join(outdir, 'index.js'),
    bundle: true,
    minify: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    mainFields: ['module', 'main'],
    legalComments: 'none',
    metafile: true,
    // Lambda supplies credentials in the environment; drop the rest of the default chain.
    alias: { '@aws-sdk/credential-provider-node': path.join(root, 'lambda', 'shims', 'credential-provider-node.ts') },
    logLevel: 'warning',
  });
  fs.writeFileSync(path.join(root, 'dist', 'handler-meta.json'), JSON.stringify(result.metafile));
  const bytes = fs.statSync(path.join(outdir, 'index.js')).size;
  console.log(`handler bundle: dist/handler/index.js ${bytes} bytes`);
}

main().catch((err) => { console.error(err); process.exit(1); });
