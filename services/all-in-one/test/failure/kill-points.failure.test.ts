import { join } from 'node:path';
import {
  describeWithEmulator,
  startService,
  tempDuckDbPath,
  uniqueName,
  urlFromLog,
  waitFor,
} from '@eventpipe/testing';
import {
  countRows,
  ingest,
  killAll,
  metrics,
  metricValue,
  pubsubEnv,
  readAll,
  start,
  startPublisher,
  startWorker,
} from './harness';

afterEach(killAll);

// The two instants a worker crash is most likely to leave something half done: inside a DuckDB
// insert (the batch staged, not committed) and between the commit and the ack. A worker built
// as main.ts builds it kills itself there (kill-point-worker.mjs); a normal worker then takes
// over with the default settings.
describeWithEmulator('failure: the worker dies inside an insert', (host) => {
  it.each(['staged', 'committed'])(
    'when it dies with a batch %s, then every accepted event is stored exactly once',
    async (killAt) => {
      const env = { ...pubsubEnv(host, uniqueName(`kp-${killAt}`)), DUCKDB_PATH: tempDuckDbPath() };
      const total = 5000;
      const source = `/killpoint/${uniqueName(killAt)}`;
      const publisher = await startPublisher(env);
      const doomed = startService(join(__dirname, 'kill-point-worker.mjs'), {
        ...env,
        KILL_AT: killAt,
        LOG_LEVEL: 'info',
      });
      await urlFromLog(doomed, 'subscriber-worker running');
      const accepted = await ingest({
        url: publisher.url,
        total,
        batch: 100,
        connections: 4,
        perSecond: 1500,
        source,
        prefix: 'ev',
      });
      expect(await doomed.exited).toBeNull(); // killed by its own SIGKILL
      expect(doomed.lines().some((l) => l.includes(`"where":"${killAt}"`))).toBe(true);
      const before = await countRows(env.DUCKDB_PATH);
      // Staged rows were never committed: the file holds only whole batches.
      if (killAt === 'staged') expect(before.rows).toBeLessThan(total);

      const worker = await startWorker(env);
      await waitFor(
        async () =>
          metricValue(await metrics(worker.url), 'eventpipe_worker_rows_total', {
            result: 'inserted',
          }) ===
          total - before.rows
            ? true
            : undefined,
        { what: 'the new worker to store the rest', timeoutMs: 150_000, intervalMs: 500 },
      );
      const text = await metrics(worker.url);
      // After a commit without its ack, the batch comes back and is recognised, not stored again.
      if (killAt === 'committed') {
        expect(
          metricValue(text, 'eventpipe_worker_rows_total', { result: 'redelivered' }),
        ).toBeGreaterThan(0);
      }
      worker.proc.child.kill('SIGTERM');
      expect(await worker.proc.exited).toBe(0);
      publisher.proc.child.kill('SIGTERM');
      expect(await countRows(env.DUCKDB_PATH)).toEqual({ rows: total, distinct: total });
      const query = start('query-api', { ...env, CURSOR_SECRET: 'failure-suite-cursor-secret' });
      const ids = await readAll(await urlFromLog(query, 'query-api listening'), source);
      expect(new Set(ids)).toEqual(new Set(accepted));
      expect(ids).toHaveLength(total);
    },
    300_000,
  );
});
