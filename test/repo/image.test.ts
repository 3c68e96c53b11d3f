import { execFileSync } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  existsSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PubSub } from '@google-cloud/pubsub';
import { parse } from 'yaml';
import {
  BigQueryFake,
  describeWithEmulator,
  startCommand,
  waitFor,
  type ServiceProcess,
} from '@eventpipe/testing';

/**
 * Each image's runtime stage, assembled without Docker: scripts/assemble-image.sh (the script the
 * Dockerfile's build stage runs) builds /app, the tree is left read-only as COPY leaves it, data/
 * is given to the run user as the Dockerfile's chown does, and each service is started as a
 * non-root user (uid 1000, the image's `node`) with docker-compose.yml's environment, its hosts
 * pointed at this machine's Pub/Sub emulator and the BigQuery REST fake.
 */
const root = join(__dirname, '..', '..');
const SERVICES = ['publisher-api', 'subscriber-worker', 'query-api'] as const;
type Service = (typeof SERVICES)[number];
const RUN_AS = 1000;
const asRoot = process.getuid?.() === 0;
const user = asRoot ? { uid: RUN_AS, gid: RUN_AS } : undefined;
const runUid = asRoot ? RUN_AS : process.getuid!();

const dockerfile = readFileSync(join(root, 'Dockerfile'), 'utf8');
const compose = parse(readFileSync(join(root, 'docker-compose.yml'), 'utf8'), { merge: true }) as {
  services: Record<string, { environment?: Record<string, string> }>;
};

let base: string;
const app = (s: Service) => join(base, s);
beforeAll(() => {
  base = mkdtempSync(join(tmpdir(), 'ep-image-'));
  chmodSync(base, 0o755);
  for (const s of SERVICES) {
    execFileSync('sh', ['scripts/assemble-image.sh', s, app(s)], { cwd: root, stdio: 'pipe' });
    // As the image has it: nothing writable by the service but data/.
    execFileSync('chmod', ['-R', 'a-w', app(s)]);
    chmodSync(join(app(s), 'data'), 0o755);
    if (asRoot) chownSync(join(app(s), 'data'), RUN_AS, RUN_AS);
  }
}, 240_000);
afterAll(() => {
  if (!base) return;
  execFileSync('chmod', ['-R', 'u+w', base]);
  rmSync(base, { recursive: true, force: true });
});

const running: ServiceProcess[] = [];
afterEach(() => {
  for (const p of running.splice(0)) p.kill();
});

/** The service as its image starts it: `node main.js` in /app, NODE_ENV and PORT from the
 * Dockerfile, then compose's environment (a free port instead of the published one). */
function start(s: Service, env: Record<string, string>): ServiceProcess {
  const proc = startCommand(
    process.execPath,
    ['main.js'],
    { NODE_ENV: 'production', ...env, PORT: '0' },
    { cwd: app(s), user },
  );
  running.push(proc);
  return proc;
}

async function ready(proc: ServiceProcess, s: Service): Promise<string> {
  const line = await proc
    .waitForLine((l) => l.includes('"url":"http'), `${s} listening`)
    .catch((e: Error) => {
      throw new Error(`${e.message}\n${proc.lines().slice(-10).join('\n')}`);
    });
  const { url } = JSON.parse(line) as { url: string };
  await waitFor(async () => (await fetch(`${url}/readyz`)).status === 200 || undefined, {
    what: `${s} ready`,
    timeoutMs: 30_000,
  });
  return url;
}

async function stops(proc: ServiceProcess): Promise<number | null> {
  proc.child.kill('SIGTERM');
  return proc.exited;
}

describe('the image as assembled by scripts/assemble-image.sh', () => {
  it('when the Dockerfile builds, then its build stage runs this same script and its runtime stage only copies the result', () => {
    expect(dockerfile).toMatch(/sh scripts\/assemble-image\.sh "\$\{SERVICE\}" \/app/);
    expect(dockerfile).toMatch(/COPY --from=build \/app/);
    expect(dockerfile).toMatch(/chown node:node \/app\/data/);
    expect(dockerfile).toMatch(/VOLUME \["\/app\/data"\]/);
  });

  it('when a service runs, then it runs with the V8 flags the benchmarks measured (image, npm start and bench alike)', () => {
    const flag = /SERVICE_NODE_OPTIONS = '([^']+)'/.exec(
      readFileSync(join(root, 'bench', 'src', 'harness.ts'), 'utf8'),
    )![1]!;
    expect(dockerfile).toContain(`NODE_OPTIONS=${flag}`);
    const start = (
      JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { scripts: { start: string } }
    ).scripts.start;
    expect(start).toContain(`node ${flag} services/all-in-one/dist/main.js`);
  });

  it.each(SERVICES)(
    'when %s is assembled, then it holds its compiled code, production dependencies only and a data directory',
    (s) => {
      expect(readFileSync(join(app(s), 'main.js'), 'utf8')).toContain(`services/${s}/dist/main.js`);
      expect(existsSync(join(app(s), 'node_modules', 'typescript'))).toBe(false);
      expect(existsSync(join(app(s), 'node_modules', 'jest'))).toBe(false);
      expect(statSync(join(app(s), 'data')).uid).toBe(asRoot ? RUN_AS : runUid);
    },
  );
});

describeWithEmulator(
  "the three images started as a non-root user with compose's environment",
  (host) => {
    const project = `eventpipe-image-${process.pid}`;
    let fake: BigQueryFake;
    /** docker-compose.yml's environment of a service, its hosts moved to this machine. */
    const envOf = (s: Service): Record<string, string> => {
      const env = { ...compose.services[s]!.environment };
      for (const [k, v] of Object.entries(env)) {
        env[k] = String(v)
          .replace('pubsub-emulator:8085', host)
          .replace('http://bigquery-emulator:9050', fake.endpoint)
          .replace('eventpipe-local', project);
      }
      return env as Record<string, string>;
    };

    beforeAll(async () => {
      fake = await BigQueryFake.start();
      // What compose's pubsub-init makes (deploy/compose/pubsub-init.sh).
      const pubsub = new PubSub({ projectId: project, apiEndpoint: host });
      const env = envOf('subscriber-worker');
      const [topic] = await pubsub.createTopic(env.PUBSUB_TOPIC!);
      const [dlq] = await pubsub.createTopic(env.PUBSUB_DLQ_TOPIC!);
      await topic.createSubscription(env.PUBSUB_SUBSCRIPTION!);
      await dlq.createSubscription(env.PUBSUB_DLQ_SUBSCRIPTION!);
      await pubsub.close();
    });
    afterAll(() => fake?.stop());

    it('when all three run, then each is ready, an event posted is read back byte for byte, and SIGTERM exits 0', async () => {
      const worker = start('subscriber-worker', envOf('subscriber-worker'));
      await ready(worker, 'subscriber-worker');
      const query = start('query-api', envOf('query-api'));
      const queryUrl = await ready(query, 'query-api');
      const publisher = start('publisher-api', envOf('publisher-api'));
      const publisherUrl = await ready(publisher, 'publisher-api');

      const body =
        '{"id":"img-1","source":"/image","type":"t","data":{"n":1.50,"big":12345678901234567890}}';
      const posted = await fetch(`${publisherUrl}/v1/events`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body,
      });
      expect(posted.status).toBe(202);
      const stored = await waitFor(
        async () => {
          const r = await fetch(`${queryUrl}/v1/events/img-1?source=%2Fimage`);
          return r.status === 200 ? await r.text() : undefined;
        },
        { what: 'the event stored and served', timeoutMs: 60_000 },
      );
      // The files the query API serves besides its code are in its image.
      expect((await fetch(`${queryUrl}/explorer`)).status).toBe(200);
      expect((await fetch(`${queryUrl}/explorer/uPlot.iife.min.js`)).status).toBe(200);
      // The response text, not a parse of it: data comes back as it was written.
      expect(stored).toContain('"data":{"n":1.50,"big":12345678901234567890}');
      for (const p of [publisher, query, worker]) expect(await stops(p)).toBe(0);
    }, 120_000);

    it('when the worker runs on its default store (DuckDB in /app/data), then it starts as the non-root user and its file is there', async () => {
      const env = envOf('subscriber-worker');
      for (const k of Object.keys(env)) if (/^(STORE|BIGQUERY_)/.test(k)) delete env[k];
      const worker = start('subscriber-worker', env);
      await ready(worker, 'subscriber-worker');
      const file = join(app('subscriber-worker'), 'data', 'eventpipe.duckdb');
      expect(existsSync(file)).toBe(true);
      expect(statSync(file).uid).toBe(runUid);
      expect(await stops(worker)).toBe(0);
    }, 60_000);
  },
);
