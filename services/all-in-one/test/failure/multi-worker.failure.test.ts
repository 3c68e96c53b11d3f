import { BigQuery } from '@google-cloud/bigquery';
import {
  BigQueryFake,
  describeWithEmulator,
  uniqueName,
  urlFromLog,
  waitFor,
} from '@eventpipe/testing';
import {
  ingest,
  killAll,
  metrics,
  metricValue,
  pubsubEnv,
  readAll,
  sleep,
  start,
  startPublisher,
  startWorker,
} from './harness';

afterEach(killAll);

// Cloud Run scales the worker out: several worker processes pull one subscription. One of them
// is killed with SIGKILL mid-stream and not replaced; the others take over what it held once its
// leases lapse. BigQuery (the REST fake) is the store, since DuckDB admits one writer.
describeWithEmulator('failure: one of several workers on one subscription dies', (host) => {
  it.each([2, 3])(
    'when one of %i workers is kill -9ed mid-stream, then every event is in GET exactly once',
    async (workers) => {
      const bigquery = await BigQueryFake.start();
      try {
        const base = uniqueName(`multi${workers}`);
        const dataset = base.replaceAll('-', '_');
        const bus = pubsubEnv(host, base);
        const project = bus.GOOGLE_CLOUD_PROJECT!;
        const env = {
          ...bus,
          STORE: 'bigquery',
          BIGQUERY_EMULATOR_HOST: bigquery.endpoint,
          BIGQUERY_DATASET: dataset,
        };
        const total = 10_000;
        const source = `/multi/${base}`;
        const publisher = await startPublisher(env);
        const pool = [];
        for (let i = 0; i < workers; i++) pool.push(await startWorker(env));
        const query = start('query-api', { ...env, CURSOR_SECRET: 'failure-suite-cursor-secret' });
        const queryUrl = await urlFromLog(query, 'query-api listening');
        const started = Date.now();
        const load = ingest({
          url: publisher.url,
          total,
          batch: 100,
          connections: 4,
          perSecond: 1500,
          source,
          prefix: 'ev',
        });
        // Killed once it has stored some, so it dies holding messages mid-stream.
        const victim = pool[0]!;
        await waitFor(
          async () =>
            metricValue(await metrics(victim.url), 'eventpipe_worker_rows_total', {
              result: 'inserted',
            }) > 0
              ? true
              : undefined,
          { what: 'the first worker to store rows', timeoutMs: 60_000 },
        );
        await sleep(1000);
        victim.proc.child.kill('SIGKILL');
        expect(await victim.proc.exited).toBeNull();
        const accepted = await load;
        expect(new Set(accepted).size).toBe(total);

        let seen = 0;
        const ids = await waitFor(
          async () => {
            const got = await readAll(queryUrl, source);
            seen = got.length;
            return got.length >= total ? got : undefined;
          },
          { what: 'every event in GET', timeoutMs: 150_000, intervalMs: 1000 },
        ).catch((e: Error) => {
          throw new Error(`${e.message} (${seen} of ${total})`);
        });
        expect(ids).toHaveLength(total);
        expect(new Set(ids)).toEqual(new Set(accepted));
        // And in the table: one physical row per event (the insert lookup, then insertId).
        const raw = new BigQuery({
          projectId: project,
          apiEndpoint: bigquery.endpoint,
        });
        const [rows] = await raw.query({
          query: `SELECT COUNT(*) AS n FROM \`${project}.${dataset}.events\` WHERE time >= @from`,
          params: { from: BigQuery.timestamp(new Date(started - 3_600_000)) },
        });
        expect(rows).toEqual([{ n: total }]);
      } finally {
        killAll();
        await bigquery.stop();
      }
    },
    300_000,
  );
});
