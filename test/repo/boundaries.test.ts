import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** The boundaries of docs/ARCHITECTURE.md, checked on the built code: loading a service's app
 * (what tests and other code import) or a port entry loads no Google or DuckDB SDK; only the
 * adapters entries and the main.ts files do. */
const root = join(__dirname, '..', '..');

/** The modules Node loads for `file`, as paths. */
function modulesLoadedBy(file: string): string[] {
  const out = execFileSync(
    process.execPath,
    [
      '-e',
      `require(${JSON.stringify(file)}); console.log(JSON.stringify(Object.keys(require.cache)))`,
    ],
    { encoding: 'utf8', env: { PATH: process.env.PATH ?? '' } },
  );
  return JSON.parse(out) as string[];
}
const sdks = (modules: string[]) => [
  ...new Set(
    modules
      .map((m) => /node_modules\/(@google-cloud\/[^/]+|@duckdb\/[^/]+)/.exec(m)?.[1])
      .filter(Boolean),
  ),
];

const apps = [
  'services/publisher-api/dist/app.js',
  'services/query-api/dist/app.js',
  'services/subscriber-worker/dist/worker.js',
  'services/replay/dist/app.js',
  'services/audit/dist/app.js',
  'services/all-in-one/dist/app.js',
  'packages/bus/dist/index.js',
  'packages/store/dist/index.js',
];

describe('package boundaries', () => {
  it.each(apps)('when %s is loaded, then no Google or DuckDB SDK comes with it', (file) => {
    expect(existsSync(join(root, file))).toBe(true);
    expect(sdks(modulesLoadedBy(join(root, file)))).toEqual([]);
  });

  it.each(['packages/bus/dist/adapters.js', 'packages/store/dist/adapters.js'])(
    'when %s is loaded, then no HTTP server, logger or metrics library comes with it',
    (file) => {
      const heavy = modulesLoadedBy(join(root, file)).filter((m) =>
        /node_modules\/(express|helmet|pino|prom-client)\//.test(m),
      );
      expect(heavy).toEqual([]);
    },
  );

  it('when an adapters entry is loaded, then its SDKs come with it (the check above can fail)', () => {
    expect(sdks(modulesLoadedBy(join(root, 'packages/store/dist/adapters.js'))).sort()).toEqual(
      expect.arrayContaining(['@duckdb/node-api', '@google-cloud/bigquery']),
    );
    expect(sdks(modulesLoadedBy(join(root, 'packages/bus/dist/adapters.js')))).toContain(
      '@google-cloud/pubsub',
    );
  });

  it('when a service package lists its dependencies, then no other service is among them', () => {
    const services = ['publisher-api', 'subscriber-worker', 'query-api', 'replay', 'audit'];
    for (const s of services) {
      const pkg = JSON.parse(readFileSync(join(root, 'services', s, 'package.json'), 'utf8')) as {
        dependencies?: Record<string, string>;
      };
      const deps = Object.keys(pkg.dependencies ?? {});
      expect([s, deps.filter((d) => services.some((o) => d === `@eventpipe/${o}`))]).toEqual([
        s,
        [],
      ]);
    }
  });
});
