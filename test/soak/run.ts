/**
 * `npm run soak`: a year of simulated life (or `--days N`). Prints the figures,
 * writes them into docs/reliability.md when run for 365 days, draws one
 * credential's keys over the run as docs/soak-timeline.svg (and its first 60
 * days as docs/soak-timeline-60d.svg, which the README shows),
 * and exits non-zero if any figure misses its goal, naming the day and the credential.
 */
import * as fs from 'fs';
import * as path from 'path';
import { cpuSummary, credentialsTable, figuresTable, runSoak } from './soak';
import { renderSvg, window } from './timeline';

async function main() {
  const args = process.argv.slice(2);
  const days = Number(args[args.indexOf('--days') + 1] || 365) || 365;
  const seedArg = args.indexOf('--seed');
  const seed = seedArg >= 0 ? Number(args[seedArg + 1]) : undefined;
  const processPerStep = args.includes('--process-per-step');
  const figures = await runSoak({ days, seed, processPerStep, progress: (line) => process.stdout.write(`${line}\n`) });
  const table = figuresTable(figures);
  process.stdout.write(`\n${table}\n`);
  process.stdout.write(`\n${credentialsTable(figures)}\n`);
  if (figures.timeline && !args.includes('--no-readme')) {
    const docs = path.join(__dirname, '..', '..', '..', 'docs');
    fs.writeFileSync(path.join(docs, 'soak-timeline.svg'), renderSvg(figures.timeline, 1400));
    const t = figures.timeline;
    fs.writeFileSync(path.join(docs, 'soak-timeline-60d.svg'), renderSvg(window(t, t.start, Math.min(t.end, t.start + 60 * 86_400_000))));
    process.stdout.write(`wrote docs/soak-timeline.svg (${t.keys.length} keys of ${t.credential}) and docs/soak-timeline-60d.svg\n`);
  }
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
