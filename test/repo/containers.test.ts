import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { resolveApiKeys } from '@eventpipe/platform';
import { publisherConfigSchema } from '@eventpipe/publisher-api';
import { queryConfigSchema } from '@eventpipe/query-api';
import { workerConfigSchema } from '@eventpipe/subscriber-worker';

/** No Docker engine runs here, so the Dockerfiles are checked as text against what the services
 * actually are: their port, their entry point and the workspace packages they import. */
const root = join(__dirname, '..', '..');

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

describe('the Dockerfile (one for every service, build argument SERVICE)', () => {
  const text = readFileSync(join(root, 'Dockerfile'), 'utf8');
  const all = instructions(text);
  const lastFrom = all.map((i) => i.op).lastIndexOf('FROM');
  const runtime = all.slice(lastFrom);

  it('when built, then it is multi-stage on a Node 22 slim base pinned to an exact version and digest', () => {
    expect(all.filter((i) => i.op === 'FROM').length).toBeGreaterThanOrEqual(2);
    const base = /ARG NODE_IMAGE=(\S+)/.exec(text)?.[1];
    expect(base).toMatch(/^node:22\.\d+\.\d+-[a-z]+-slim@sha256:[0-9a-f]{64}$/);
    // 22.12.0 shipped an npm whose bundled cross-spawn had a fixed HIGH advisory (CVE-2024-21538).
    const [minor, patch] = /^node:22\.(\d+)\.(\d+)/.exec(base!)!.slice(1).map(Number);
    expect(minor! * 1000 + patch!).toBeGreaterThan(12 * 1000 + 0);
    for (const from of all.filter((i) => i.op === 'FROM'))
      expect(from.args).toMatch(/^\$\{NODE_IMAGE\}/);
  });

  it("when it runs, then the final stage has one service's production dependencies only, no npm, and a non-root user", () => {
    const script = readFileSync(join(root, 'scripts', 'assemble-image.sh'), 'utf8');
    expect(script).toMatch(/npm ci\b.*--omit=dev.*--workspace="@eventpipe\/\$\{service\}"/);
    const runs = runtime.filter((i) => i.op === 'RUN').map((i) => i.args);
    expect(runs.some((r) => r.includes('rm -rf /usr/local/lib/node_modules/npm'))).toBe(true);
    expect(runs.filter((r) => /npm (ci|install)/.test(r))).toEqual([]);
    const user = runtime.filter((i) => i.op === 'USER').at(-1)?.args;
    expect(user).toBeDefined();
    expect(['root', '0']).not.toContain(user);
  });

  it('when the container starts, then node is PID 1 in exec form, running the service named at build', () => {
    const cmd = runtime.filter((i) => i.op === 'CMD').at(-1)!.args;
    expect(JSON.parse(cmd)).toEqual(['node', 'main.js']);
    const script = readFileSync(join(root, 'scripts', 'assemble-image.sh'), 'utf8');
    expect(script).toContain(
      `echo "require('./services/\${service}/dist/main.js');" > "$out/main.js"`,
    );
    expect(script).toContain('npx tsc -b "services/${service}"');
    expect(runtime.find((i) => i.op === 'EXPOSE')?.args).toBe('${PORT}');
    const health = runtime.find((i) => i.op === 'HEALTHCHECK')!.args;
    expect(health).toMatch(/CMD \["node", "-e", ".*\/healthz/);
  });

  it.each(SERVICES)(
    'when built for $name, then its entry point exists and its packages are compiled by its build',
    ({ name }) => {
      expect(existsSync(join(root, 'services', name, 'src', 'main.ts'))).toBe(true);
      // tsc -b services/<name> compiles the packages its tsconfig references: every workspace
      // package it imports must be among them.
      const tsconfig = readFileSync(join(root, 'services', name, 'tsconfig.json'), 'utf8');
      const needed = [...workspaceDeps(`services/${name}`)].filter((n) =>
        existsSync(join(root, 'packages', n)),
      );
      expect(needed.length).toBeGreaterThan(0);
      for (const n of needed) expect([n, tsconfig.includes(`packages/${n}"`)]).toEqual([n, true]);
    },
  );
});

describe('.dockerignore', () => {
  it('when the context is sent, then node_modules, build output, git and secrets stay out', () => {
    const lines = readFileSync(join(root, '.dockerignore'), 'utf8').split('\n');
    for (const p of ['**/node_modules', '**/dist', '.git', '.env']) expect(lines).toContain(p);
    // ... but nothing the Dockerfiles copy is excluded.
    for (const p of ['packages', 'services', 'package.json', 'package-lock.json'])
      expect(lines).not.toContain(p);
    // scripts/ stays out, except the one the build stage runs.
    expect(lines.indexOf('!scripts/assemble-image.sh')).toBeGreaterThan(lines.indexOf('scripts'));
  });
});

describe('docker-compose.yml', () => {
  const compose = parse(readFileSync(join(root, 'docker-compose.yml'), 'utf8'), {
    merge: true,
  }) as {
    services: Record<
      string,
      {
        environment?: Record<string, string>;
        ports?: string[];
        build?: { dockerfile: string; args?: Record<string, string> };
        depends_on?: Record<string, { condition: string }>;
        healthcheck?: unknown;
      }
    >;
  };
  const schemas = {
    'publisher-api': publisherConfigSchema,
    'subscriber-worker': workerConfigSchema,
    'query-api': queryConfigSchema,
  };

  it.each(Object.keys(schemas))(
    'when %s starts in compose, then every variable it is given is one its config reads and accepts',
    (name) => {
      const schema = schemas[name as keyof typeof schemas];
      const env = compose.services[name]!.environment!;
      const known = Object.keys(schema.shape);
      expect(Object.keys(env).filter((k) => !known.includes(k))).toEqual([]);
      // NODE_ENV=production comes from the image.
      const parsed = schema.safeParse({ NODE_ENV: 'production', ...env });
      expect(parsed.error?.issues ?? []).toEqual([]);
      if ('AUTH_MODE' in schema.shape) {
        expect(() => resolveApiKeys(parsed.data as never, true)).not.toThrow();
      }
      expect(compose.services[name]!.build).toMatchObject({
        dockerfile: 'Dockerfile',
        args: { SERVICE: name },
      });
      const port = (parsed.data as { PORT: number }).PORT;
      expect(compose.services[name]!.ports).toEqual([`127.0.0.1:${port}:${port}`]);
    },
  );

  it('when Prometheus in compose scrapes, then its targets are the compose services on their ports', () => {
    const prom = parse(
      readFileSync(join(root, 'deploy', 'prometheus', 'prometheus.yml'), 'utf8'),
    ) as {
      scrape_configs: { static_configs: { targets: string[] }[] }[];
    };
    const targets = prom.scrape_configs.flatMap((c) => c.static_configs.flatMap((s) => s.targets));
    const expected = Object.keys(schemas).map(
      (name) => `${name}:${compose.services[name]!.environment!.PORT}`,
    );
    expect(targets.sort()).toEqual(expected.sort());
  });

  it('when the stack starts, then each service waits for what it needs to be healthy or done', () => {
    const s = compose.services;
    expect(s['pubsub-emulator']!.healthcheck).toBeDefined();
    expect(s['pubsub-init']!.depends_on!['pubsub-emulator']!.condition).toBe('service_healthy');
    for (const name of ['publisher-api', 'subscriber-worker'])
      expect(s[name]!.depends_on!['pubsub-init']!.condition).toBe('service_completed_successfully');
    expect(s['query-api']!.depends_on!['subscriber-worker']!.condition).toBe('service_healthy');
    expect(s.seed!.depends_on!['publisher-api']!.condition).toBe('service_healthy');
    expect(s.seed!.depends_on!['query-api']!.condition).toBe('service_healthy');
    // Every image is pinned to a version.
    const text = readFileSync(join(root, 'docker-compose.yml'), 'utf8');
    for (const m of text.matchAll(/image: (\S+)/g)) expect(m[1]).toMatch(/:[^:]*\d/);
  });
});
