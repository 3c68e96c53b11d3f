import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { publisherConfigSchema } from '@eventpipe/publisher-api';
import { queryConfigSchema } from '@eventpipe/query-api';
import { workerConfigSchema } from '@eventpipe/subscriber-worker';

/** No Docker engine runs here, so the Dockerfiles are checked as text against what the services
 * actually are: their port, their entry point and the workspace packages they import. */
const root = join(__dirname, '..', '..', '..');

const SERVICES = [
  { name: 'publisher-api', port: publisherConfigSchema.parse({}).PORT },
  { name: 'subscriber-worker', port: workerConfigSchema.parse({}).PORT },
  { name: 'query-api', port: queryConfigSchema.parse({}).PORT },
];

/** The @eventpipe packages a workspace needs at run time, transitively. */
function workspaceDeps(dir: string, seen = new Set<string>()): Set<string> {
  const pkg = JSON.parse(readFileSync(join(root, dir, 'package.json'), 'utf8')) as {
    dependencies?: Record<string, string>;
  };
  for (const dep of Object.keys(pkg.dependencies ?? {})) {
    if (!dep.startsWith('@eventpipe/')) continue;
    const name = dep.slice('@eventpipe/'.length);
    if (seen.has(name)) continue;
    seen.add(name);
    workspaceDeps(
      existsSync(join(root, 'packages', name)) ? `packages/${name}` : `services/${name}`,
      seen,
    );
  }
  return seen;
}

/** Instructions of a Dockerfile, continuation lines joined, comments dropped. */
function instructions(text: string): { op: string; args: string }[] {
  return text
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'))
    .map((l) => {
      const [op, ...rest] = l.split(/\s+/);
      return { op: op!.toUpperCase(), args: rest.join(' ') };
    });
}

describe.each(SERVICES)('the $name image', ({ name, port }) => {
  const text = readFileSync(join(root, 'services', name, 'Dockerfile'), 'utf8');
  const all = instructions(text);
  const lastFrom = all.map((i) => i.op).lastIndexOf('FROM');
  const runtime = all.slice(lastFrom);

  it('when built, then it is multi-stage on a Node 22 slim base pinned to an exact version', () => {
    expect(all.filter((i) => i.op === 'FROM').length).toBeGreaterThanOrEqual(2);
    const base = /ARG NODE_IMAGE=(\S+)/.exec(text)?.[1];
    expect(base).toMatch(/^node:22\.\d+\.\d+-[a-z]+-slim$/);
    for (const from of all.filter((i) => i.op === 'FROM'))
      expect(from.args).toMatch(/^\$\{NODE_IMAGE\}/);
  });

  it('when it runs, then the final stage has production dependencies only and a non-root user', () => {
    const runs = runtime.filter((i) => i.op === 'RUN').map((i) => i.args);
    expect(runs.some((r) => /npm ci\b.*--omit=dev/.test(r))).toBe(true);
    const user = runtime.filter((i) => i.op === 'USER').at(-1)?.args;
    expect(user).toBeDefined();
    expect(['root', '0']).not.toContain(user);
  });

  it('when the container starts, then node is PID 1 in exec form on the config default port', () => {
    const cmd = runtime.filter((i) => i.op === 'CMD').at(-1)!.args;
    const argv = JSON.parse(cmd) as string[];
    expect(argv).toEqual(['node', `services/${name}/dist/main.js`]);
    expect(existsSync(join(root, 'services', name, 'src', 'main.ts'))).toBe(true);
    expect(runtime.find((i) => i.op === 'EXPOSE')?.args).toBe(String(port));
    expect(text).toContain(`PORT=${port}`);
    const health = runtime.find((i) => i.op === 'HEALTHCHECK')!.args;
    expect(health).toMatch(/CMD \["node", "-e", ".*\/healthz/);
  });

  it('when it is built, then every workspace package it imports is compiled and copied', () => {
    const needed = [...workspaceDeps(`services/${name}`)].filter((n) =>
      existsSync(join(root, 'packages', n)),
    );
    expect(needed.length).toBeGreaterThan(0);
    const build = all.find((i) => i.op === 'RUN' && i.args.includes('tsc -b'))!.args;
    for (const n of needed) {
      expect(build).toContain(`packages/${n}`);
      expect(text).toContain(`COPY --from=build /app/packages/${n}/dist ./packages/${n}/dist`);
    }
    expect(build).toContain(`services/${name}`);
    expect(text).toContain(`--workspace=@eventpipe/${name}`);
    // What the build stage copies from the context exists and is not excluded by .dockerignore.
    for (const src of ['package.json', 'package-lock.json', 'tsconfig.base.json', 'tsconfig.json'])
      expect(existsSync(join(root, src))).toBe(true);
  });
});

describe('.dockerignore', () => {
  it('when the context is sent, then node_modules, build output, git and secrets stay out', () => {
    const lines = readFileSync(join(root, '.dockerignore'), 'utf8').split('\n');
    for (const p of ['**/node_modules', '**/dist', '.git', '.env']) expect(lines).toContain(p);
    // ... but nothing the Dockerfiles copy is excluded.
    for (const p of ['packages', 'services', 'package.json', 'package-lock.json'])
      expect(lines).not.toContain(p);
  });
});
