import { readFileSync, writeFileSync } from 'node:fs';
import type { BenchResult } from './harness';

const START = '<!-- bench:results:start -->';
const END = '<!-- bench:results:end -->';

/** The results as a Markdown table: one row per figure, with reference, ratio and goal. */
export function renderTable(results: BenchResult[]): string {
  const lines = [
    '| benchmark | figure | value | reference (same run) | ratio | goal | met |',
    '|---|---|---|---|---|---|---|',
  ];
  for (const r of results) {
    r.figures.forEach((f, i) => {
      const name = i === 0 ? `**${r.name}**` : '';
      const ref = f.reference ? `${f.reference.value} ${f.unit} — ${f.reference.what}` : '—';
      const met = f.met === null ? '' : f.met ? 'yes' : '**no**';
      lines.push(
        `| ${name} | ${f.metric} | ${f.value} ${f.unit} | ${ref} | ${f.ratio ?? '—'} | ${f.goal} | ${met} |`,
      );
    });
  }
  const machines = [...new Set(results.map((r) => JSON.stringify(r.machine)))].map(
    (m) => JSON.parse(m) as BenchResult['machine'],
  );
  const when = results.map((r) => r.date.slice(0, 10)).sort();
  const about = machines
    .map((m) => `${m.cpu}, ${m.cores} cores, ${m.memoryGiB} GiB, ${m.os}, Node ${m.node}`)
    .join('; ');
  return `${lines.join('\n')}\n\nMeasured ${when[0] ?? '?'}${when.at(-1) !== when[0] ? ` to ${when.at(-1)}` : ''} on ${about}.\n`;
}

/** Replaces the generated block of docs/PERFORMANCE.md, formatted as `npm run format` would. */
export async function updatePerformanceDoc(path: string, table: string): Promise<void> {
  const doc = readFileSync(path, 'utf8');
  const start = doc.indexOf(START);
  const end = doc.indexOf(END);
  if (start < 0 || end < start) throw new Error(`${path} lacks the ${START} … ${END} markers`);
  const text = `${doc.slice(0, start + START.length)}\n\n${table}\n${doc.slice(end)}`;
  const prettier = await import('prettier');
  const options = (await prettier.resolveConfig(path)) ?? {};
  writeFileSync(path, await prettier.format(text, { ...options, filepath: path }));
}
