/** Small measuring helpers: side-by-side timing in one run, medians, ratios. */
import { spawnSync } from 'child_process';

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** Wall time of a fresh node process running `code`, in ms. */
export function timeNode(code: string, cwd: string): number {
  const start = process.hrtime.bigint();
  const out = spawnSync(process.execPath, ['-e', code], { cwd, stdio: 'ignore' });
  if (out.status !== 0) throw new Error(`node -e ${code} exited ${out.status}`);
  return Number(process.hrtime.bigint() - start) / 1e6;
}

/**
 * Runs the candidates interleaved (A B A B …) so that machine noise hits them
 * alike, and returns each one's median.
 */
export function interleaved(rounds: number, candidates: Record<string, () => number>): Record<string, number> {
  const samples: Record<string, number[]> = {};
  for (const name of Object.keys(candidates)) samples[name] = [];
  for (let i = 0; i < rounds; i++) {
    for (const [name, run] of Object.entries(candidates)) samples[name].push(run());
  }
  const out: Record<string, number> = {};
  for (const [name, values] of Object.entries(samples)) out[name] = median(values);
  return out;
}

export function fmt(n: number, digits = 2): string {
  return n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
}

export function table(headers: string[], rows: Array<Array<string | number>>): string {
  const line = (cells: Array<string | number>) => `| ${cells.join(' | ')} |`;
  return [line(headers), line(headers.map(() => '---')), ...rows.map(line)].join('\n');
}
