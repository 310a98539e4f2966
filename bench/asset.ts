/** Figure 1: the handler asset's size and its cold init next to a bare node process. */
import * as fs from 'fs';
import * as path from 'path';
import * as zlib from 'zlib';
import { interleaved } from './measure';

export interface AssetFigures {
  readonly rawBytes: number;
  readonly gzipBytes: number;
  readonly bareMs: number;
  readonly requireMs: number;
  readonly ratio: number;
  readonly rounds: number;
  readonly entryBytes: number;
}

function filesUnder(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? filesUnder(path.join(dir, e.name)) : [path.join(dir, e.name)]);
}

/** Measures the whole asset directory; init loads its entry point, as Lambda's cold start does. */
export function measureAsset(handlerDir: string, rounds = 21): AssetFigures {
  const files = filesUnder(handlerDir);
  const raw = Buffer.concat(files.map((f) => fs.readFileSync(f)));
  const handlerFile = path.join(handlerDir, 'index.mjs');
  const cwd = handlerDir;
  const { spawnSync } = require('child_process') as typeof import('child_process');
  const run = (code: string) => () => {
    const start = process.hrtime.bigint();
    const out = spawnSync(process.execPath, ['-e', code], { cwd, stdio: 'ignore' });
    if (out.status !== 0) throw new Error(`node -e failed: ${code}`);
    return Number(process.hrtime.bigint() - start) / 1e6;
  };
  const medians = interleaved(rounds, {
    bare: run('0'),
    require: run(`import(${JSON.stringify(handlerFile)})`),
  });
  return {
    rawBytes: raw.length,
    // Sum of each file gzipped, as a zip archive compresses them one by one.
    gzipBytes: files.reduce((n, f) => n + zlib.gzipSync(fs.readFileSync(f), { level: 9 }).length, 0),
    bareMs: medians.bare,
    requireMs: medians.require,
    ratio: medians.require / medians.bare,
    rounds,
    entryBytes: fs.statSync(handlerFile).size,
  };
}
