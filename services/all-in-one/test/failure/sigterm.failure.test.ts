import {
  describeWithEmulator,
  sampleEvent,
  tempDuckDbPath,
  uniqueName,
  urlFromLog,
  waitFor,
} from '@eventpipe/testing';
import {
  countRows,
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
    const env = {
      ...pubsubEnv(host, uniqueName('term')),
      DUCKDB_PATH: tempDuckDbPath(),
      BATCH_MAX_WAIT_MS: '300',
    };
    const publisher = await startPublisher(env);
    const worker = await startWorker(env);
    const source = `/term/${uniqueName('s')}`;
    const accepted: string[] = [];
    const refused: number[] = [];
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
          if (res.status === 202) accepted.push(...body.ids!);
          else refused.push(res.status);
        } catch {
          return; // connection refused or reset: the publisher has closed
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
    expect(refused.filter((s) => s >= 500)).toEqual([]);

    // What the stopped worker had not pulled yet waits in the subscription for the next one.
    const storedAtStop = (await countRows(env.DUCKDB_PATH)).rows;
    const next = await startWorker(env);
    await waitFor(
      async () =>
        metricValue(await metrics(next.url), 'eventpipe_worker_rows_total', {
          result: 'inserted',
        }) ===
        accepted.length - storedAtStop
          ? true
          : undefined,
      { what: 'the next worker to store the rest', timeoutMs: 60_000 },
    );
    next.proc.child.kill('SIGTERM');
    expect(await next.proc.exited).toBe(0);
    expect(await countRows(env.DUCKDB_PATH)).toEqual({
      rows: accepted.length,
      distinct: accepted.length,
    });
    const query = start('query-api', { ...env, CURSOR_SECRET: 'failure-suite-cursor-secret' });
    const ids = await readAll(await urlFromLog(query, 'query-api listening'), source);
    expect(new Set(ids)).toEqual(new Set(accepted));
  });
});
