import {
  describeWithEmulator,
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
  sleep,
  start,
  startPublisher,
  startWorker,
} from './harness';

afterEach(killAll);

// The services as compose and Cloud Run run them, each its own process, with the default
// settings (60 s ack deadline; on the emulator a subscription without policies, as the
// services create it): the publisher and the worker are killed with SIGKILL at the same
// instant, three times during a 20 000-event ingest, and started again at once.
describeWithEmulator('failure: publisher and worker are killed at the same instant', (host) => {
  it('when both are kill -9ed together three times during a 20 000-event ingest, then every accepted event is stored exactly once', async () => {
    const env = { ...pubsubEnv(host, uniqueName('crash')), DUCKDB_PATH: tempDuckDbPath() };
    const total = 20_000;
    const source = `/crash/${uniqueName('s')}`;
    // The publisher's port is fixed, so the load finds it again after each restart.
    let publisher = await startPublisher(env);
    const port = new URL(publisher.url).port;
    const publisherEnv = { ...env, PORT: port };
    let worker = await startWorker(env);
    const load = ingest({
      url: publisher.url,
      total,
      batch: 100,
      connections: 4,
      perSecond: 1500,
      source,
      prefix: 'ev',
    });
    let storedBeforeLastStart = 0;
    for (let kill = 1; kill <= 3; kill++) {
      await sleep(2500);
      publisher.proc.child.kill('SIGKILL');
      worker.proc.child.kill('SIGKILL');
      expect(await publisher.proc.exited).toBeNull();
      expect(await worker.proc.exited).toBeNull();
      storedBeforeLastStart = (await countRows(env.DUCKDB_PATH)).rows;
      [publisher, worker] = await Promise.all([startPublisher(publisherEnv), startWorker(env)]);
    }
    const accepted = await load;
    expect(new Set(accepted).size).toBe(total);

    // The last worker stores the rest: what the killed ones held comes back after the ack
    // deadline (the DuckDB file is the worker's alone until it stops).
    let lastSeen = '';
    await waitFor(
      async () => {
        const inserted = metricValue(await metrics(worker.url), 'eventpipe_worker_rows_total', {
          result: 'inserted',
        });
        lastSeen = `${inserted} of ${total - storedBeforeLastStart}`;
        return inserted === total - storedBeforeLastStart ? true : undefined;
      },
      { what: 'the last worker to store the rest', timeoutMs: 150_000, intervalMs: 500 },
    ).catch((e: Error) => {
      throw new Error(`${e.message} (${lastSeen} inserted by the last worker)`);
    });
    worker.proc.child.kill('SIGTERM');
    expect(await worker.proc.exited).toBe(0);
    publisher.proc.child.kill('SIGTERM');

    expect(await countRows(env.DUCKDB_PATH)).toEqual({ rows: total, distinct: total });
    const query = start('query-api', { ...env, CURSOR_SECRET: 'failure-suite-cursor-secret' });
    const ids = await readAll(await urlFromLog(query, 'query-api listening'), source);
    expect(ids).toHaveLength(total);
    expect(new Set(ids)).toEqual(new Set(accepted));
  });
});
