import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** Summarises V8 .cpuprofile files: self time by function and by package, top first.
 * usage: node bench/dist/profile-summary.js <file or directory> [top] */
interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: Node[];
  samples: number[];
  timeDeltas: number[];
}

function packageOf(url: string): string {
  if (!url) return '(native / V8)';
  const m = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (m) return m[1]!;
  if (url.startsWith('node:')) return 'node core';
  const own = /\/(packages|services|bench)\/([^/]+)\//.exec(url);
  return own ? `eventpipe ${own[2]}` : url;
}

function summarise(file: string, top: number): void {
  const p = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  p.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (p.timeDeltas[i] ?? 0)));
  const total = [...self.values()].reduce((a, b) => a + b, 0);
  const fn = new Map<string, number>();
  const pkg = new Map<string, number>();
  for (const [id, us] of self) {
    const n = byId.get(id)!;
    const f = n.callFrame;
    const key = `${f.functionName || '(anonymous)'} ${f.url.replace(/^.*node_modules\//, '').replace(/^file:\/\/.*?\/(packages|services|bench)\//, '$1/')}:${f.lineNumber + 1}`;
    fn.set(key, (fn.get(key) ?? 0) + us);
    const k = packageOf(f.url);
    pkg.set(k, (pkg.get(k) ?? 0) + us);
  }
  const show = (m: Map<string, number>) =>
    [...m.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([k, us]) => `  ${((100 * us) / total).toFixed(1).padStart(5)}%  ${k}`)
      .join('\n');
  console.log(
    `${file}: ${(total / 1e6).toFixed(1)} s sampled\nby package:\n${show(pkg)}\nby function:\n${show(fn)}\n`,
  );
}

const target = process.argv[2];
const top = Number(process.argv[3] ?? 25);
if (!target) {
  console.error('usage: node bench/dist/profile-summary.js <file.cpuprofile | directory> [top]');
  process.exit(64);
}
const files = statSync(target).isDirectory()
  ? readdirSync(target)
      .filter((f) => f.endsWith('.cpuprofile'))
      .map((f) => join(target, f))
  : [target];
for (const f of files) summarise(f, top);
