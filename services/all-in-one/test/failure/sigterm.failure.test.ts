import {
  BigQueryFake,
  describeWithEmulator,
  sampleEvent,
  uniqueName,
  urlFromLog,
  waitFor,
} from '@eventpipe/testing';
import {
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

describeWithEmulator('failure: SIGTERM to publisher and worker under load', (host) => {
  it('when both get SIGTERM mid-load, then they exit 0 and every event that got a 202 is stored once', async () => {
    // BigQuery (the REST fake) as the store, so the query API runs beside the workers throughout.
    const bigquery = await BigQueryFake.start();
    try {
      const base = uniqueName('term');
      const env = {
        ...pubsubEnv(host, base),
        STORE: 'bigquery',
        BIGQUERY_EMULATOR_HOST: bigquery.endpoint,
        BIGQUERY_DATASET: base.replaceAll('-', '_'),
        BATCH_MAX_WAIT_MS: '300',
      };
      const publisher = await startPublisher(env);
      const worker = await startWorker(env);
      const query = start('query-api', { ...env, CURSOR_SECRET: 'failure-suite-cursor-secret' });
      const queryUrl = await urlFromLog(query, 'query-api listening');
      const source = `/term/${base}`;
      const accepted: string[] = [];
      // Requests cut off by the shutdown got no answer: they may or may not have been published.
      const unanswered: string[] = [];
      let n = 0;
      // Load: four clients posting 50-event batches until the publisher stops answering.
      const client = async () => {
        for (;;) {
          const events = Array.from({ length: 50 }, () => sampleEvent({ id: `t-${n++}`, source }));
          try {
            const res = await fetch(`${publisher.url}/v1/events`, {
              method: 'POST',
              headers: { 'content-type': 'application/json' },
              body: JSON.stringify(events),
            });
            const body = (await res.json()) as { ids?: string[] };
            expect(res.status === 202 || res.status === 503).toBe(true);
            if (res.status === 202) accepted.push(...body.ids!);
          } catch {
            unanswered.push(...events.map((e) => e.id as string));
            return; // the publisher has closed
          }
        }
      };
      const load = Promise.all([client(), client(), client(), client()]);
      await waitFor(
        async () =>
          metricValue(await metrics(worker.url), 'eventpipe_worker_rows_total', {
            result: 'inserted',
          }) >= 1000
            ? true
            : undefined,
        { what: 'the worker storing under load' },
      );
      publisher.proc.child.kill('SIGTERM');
      worker.proc.child.kill('SIGTERM');
      expect(await publisher.proc.exited).toBe(0);
      expect(await worker.proc.exited).toBe(0);
      await load;

      // What the stopped worker had not pulled waits in the subscription for the next one.
      await startWorker(env);
      const stored = await waitFor(
        async () => {
          const ids = await readAll(queryUrl, source);
          const have = new Set(ids);
          return accepted.every((id) => have.has(id)) ? ids : undefined;
        },
        { what: 'every accepted event through the query API', timeoutMs: 90_000, intervalMs: 1000 },
      );
      expect(stored.length).toBe(new Set(stored).size); // once each
      const known = new Set([...accepted, ...unanswered]);
      expect(stored.filter((id) => !known.has(id))).toEqual([]);
    } finally {
      killAll();
      await bigquery.stop();
    }
  });
});
