import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import {
  describeWithEmulator,
  freePort,
  startCommand,
  uniqueName,
  waitFor,
  type ServiceProcess,
} from '@eventpipe/testing';
import { countRows, ingest, readAll, sleep } from './harness';

// A crash of the one process `npm start` runs (publisher, worker and query API together),
// killed with its whole process group by SIGKILL three times during a 20 000-event ingest and
// started again at once, with the default settings: every event that got a 202 must end as
// exactly one stored row, visible in GET within 2 minutes of the last restart, on the default
// in-process bus and on Pub/Sub (the emulator, subscription created by the service).
const root = join(__dirname, '..', '..', '..', '..');
const run = promisify(execFile);
const running: ServiceProcess[] = [];
afterEach(() => {
  for (const p of running.splice(0)) p.killGroup();
});

/** `npm start` in a process group of its own; resolves once it says it is running. */
async function npmStart(env: Record<string, string>): Promise<ServiceProcess> {
  const proc = startCommand('npm', ['start'], env, { cwd: root, group: true });
  running.push(proc);
  await proc.waitForLine((l) => l.includes('eventpipe is running'), 'npm start running', 60_000);
  return proc;
}

const TOTAL = 20_000;
/** The stated bound: every accepted event visible in GET this long after the last restart. */
const VISIBLE_WITHIN_MS = 120_000;

describeWithEmulator('failure: the whole npm start process is killed with SIGKILL', (host) => {
  it.each([
    ['BUS=memory (the default)', () => ({})],
    [
      'BUS=pubsub on the emulator',
      () => {
        const base = uniqueName('npmstart');
        return {
          BUS: 'pubsub',
          PUBSUB_EMULATOR_HOST: host,
          PUBSUB_TOPIC: `${base}-t`,
          PUBSUB_SUBSCRIPTION: `${base}-s`,
          PUBSUB_DLQ_TOPIC: `${base}-dlq`,
          PUBSUB_DLQ_SUBSCRIPTION: `${base}-dlq-s`,
        } as Record<string, string>;
      },
    ],
  ])(
    'when %s dies three times during a 20 000-event ingest, then every accepted event is stored once and visible within 2 minutes',
    async (_, busEnv) => {
      const dir = mkdtempSync(join(tmpdir(), 'eventpipe-npmstart-'));
      const [publisherPort, queryPort, workerPort] = [
        await freePort(),
        await freePort(),
        await freePort(),
      ];
      const env: Record<string, string> = {
        PUBLISHER_PORT: String(publisherPort),
        QUERY_PORT: String(queryPort),
        WORKER_PORT: String(workerPort),
        DUCKDB_PATH: join(dir, 'eventpipe.duckdb'),
        MEMORY_BUS_JOURNAL: join(dir, 'memory-bus.journal'),
        ACCEPTED_LOG: join(dir, 'accepted.ndjson'),
        CURSOR_SECRET: 'npm-start-crash-cursor-secret',
        ...busEnv(),
      };
      const source = `/npmstart/${uniqueName('s')}`;
      const startedAt = new Date(Date.now() - 60_000).toISOString();
      let stack = await npmStart(env);
      const load = ingest({
        url: `http://127.0.0.1:${publisherPort}`,
        total: TOTAL,
        batch: 100,
        connections: 4,
        perSecond: 1500,
        source,
        prefix: 'ev',
      });
      let loadDone = false;
      void load.then(() => (loadDone = true));
      for (let kill = 1; kill <= 3; kill++) {
        await sleep(2500); // into the load since the last (re)start
        expect(loadDone).toBe(false); // the kill lands while events still arrive
        stack.killGroup();
        expect(await stack.exited).toBeNull(); // died by the signal
        stack = await npmStart(env);
      }
      const restarted = Date.now();
      const accepted = await load;
      expect(new Set(accepted).size).toBe(TOTAL);

      const query = `http://127.0.0.1:${queryPort}`;
      let seen = 0;
      await waitFor(
        async () => {
          const ids = await readAll(query, source);
          seen = ids.length;
          return ids.length >= TOTAL ? ids : undefined;
        },
        { what: 'every accepted event in GET', timeoutMs: VISIBLE_WITHIN_MS, intervalMs: 1000 },
      ).catch((e: Error) => {
        throw new Error(`${e.message} (${seen} of ${TOTAL})`);
      });
      const ids = await readAll(query, source);
      process.stderr.write(
        `${_}: all ${TOTAL} visible ${((Date.now() - restarted) / 1000).toFixed(1)} s after the last restart\n`,
      );
      expect(ids).toHaveLength(TOTAL);
      expect(new Set(ids)).toEqual(new Set(accepted));

      // The audit, as an operator runs it, finds no gap.
      const audit = await run(
        process.execPath,
        [
          join(root, 'services', 'audit', 'dist', 'main.js'),
          '--source',
          source,
          '--from',
          startedAt,
          '--to',
          new Date(Date.now() + 60_000).toISOString(),
          '--accepted',
          env.ACCEPTED_LOG!,
          '--query-url',
          query,
        ],
        { env: { PATH: process.env.PATH ?? '' } },
      );
      expect(audit.stdout).toMatch(/accepted +20000 /);
      expect(audit.stdout).toMatch(/missing +0 /);
      expect(audit.stdout).toMatch(/repeated +0 /);

      // A clean stop, then the file itself: one row per event.
      stack.child.kill('SIGTERM');
      await stack.exited;
      const rows = await waitFor(() => countRows(env.DUCKDB_PATH!).catch(() => undefined), {
        what: 'the DuckDB file to be released',
      });
      expect(rows).toEqual({ rows: TOTAL, distinct: TOTAL });
    },
    480_000,
  );
});
