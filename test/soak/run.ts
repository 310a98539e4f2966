/**
 * `npm run soak`: a year of simulated life (or `--days N`). Prints the figures,
 * writes them into docs/reliability.md when run for 365 days,
 * and exits non-zero if any figure misses its goal, naming the day and the credential.
 */
import * as fs from 'fs';
import * as path from 'path';
import { cpuSummary, figuresTable, runSoak } from './soak';

async function main() {
  const args = process.argv.slice(2);
  const days = Number(args[args.indexOf('--days') + 1] || 365) || 365;
  const seedArg = args.indexOf('--seed');
  const seed = seedArg >= 0 ? Number(args[seedArg + 1]) : undefined;
  const processPerStep = args.includes('--process-per-step');
  const figures = await runSoak({ days, seed, processPerStep, progress: (line) => process.stdout.write(`${line}\n`) });
  const table = figuresTable(figures);
  process.stdout.write(`\n${table}\n`);
  const missed = [...figures.failures];
  if (figures.wallSeconds >= 120 && days >= 365) missed.push(`wall time ${figures.wallSeconds.toFixed(1)} s is over 2 minutes (CPU used: ${cpuSummary(figures)})`);
  if (days === 365 && !processPerStep && !args.includes('--no-readme')) {
    const readme = path.join(__dirname, '..', '..', '..', 'docs', 'reliability.md');
    const text = fs.readFileSync(readme, 'utf8');
    const block = `<!-- soak:start -->\n${table}\n\nFrom \`npm run soak\` (seed ${figures.seed}), ${new Date().toISOString().slice(0, 10)}.\n<!-- soak:end -->`;
    if (text.includes('<!-- soak:start -->')) fs.writeFileSync(readme, text.replace(/<!-- soak:start -->[\s\S]*<!-- soak:end -->/, block));
  }
  if (missed.length) {
    process.stdout.write(`\nsoak: ${missed.length} goal(s) missed:\n${missed.map((m) => `  ${m}`).join('\n')}\n`);
    process.exit(1);
  }
  process.stdout.write('\nsoak: every goal met\n');
}

main().catch((err) => { console.error(err); process.exit(1); });
