import {
  describeWithEmulator,
  tempDuckDbPath,
  uniqueName,
  waitFor,
  type ServiceProcess,
} from '@eventpipe/testing';
import {
  countRows,
  killAll,
  metrics,
  metricValue,
  postEvents,
  readAll,
  start,
  startPublisher,
  startWorker,
  pubsubEnv,
} from './harness';
import { urlFromLog } from '@eventpipe/testing';

afterEach(killAll);

describeWithEmulator('failure: the worker is killed with SIGKILL during ingest', (host) => {
  it('when the worker is kill -9ed three times during a 20 000-event ingest, then every accepted event is stored exactly once', async () => {
    const env = {
      ...pubsubEnv(host, uniqueName('crash')),
      DUCKDB_PATH: tempDuckDbPath(),
      BATCH_MAX_WAIT_MS: '200',
    };
    const publisher = await startPublisher(env);
    const source = `/crash/${uniqueName('s')}`;
    const accepted: string[] = [];
    let worker = await startWorker(env);
    let countAtLastStart = 0;
    let lastSeen = '';
    const total = 20_000;
    const perRequest = 500;
    const quarter = total / 4;

    const ingest = async (from: number) => {
      for (let n = from; n < from + quarter; n += perRequest) {
        const r = await postEvents(publisher.url, 'c', n, perRequest, source);
        expect(r.statuses).toEqual([202]);
        accepted.push(...r.accepted);
      }
    };
    const killAndRestart = async () => {
      // Kill only once this worker has stored something, so the kill lands mid-stream.
      await waitFor(
        async () =>
          metricValue(await metrics(worker.url), 'eventpipe_worker_rows_total', {
            result: 'inserted',
          }) > 0
            ? true
            : undefined,
        { what: 'the worker to store rows before it is killed', timeoutMs: 60_000 },
      );
      worker.proc.child.kill('SIGKILL');
      expect(await worker.proc.exited).toBeNull(); // died by signal
      countAtLastStart = (await countRows(env.DUCKDB_PATH)).rows;
      worker = await startWorker(env);
    };

    // Ingest in four parts with a kill between each: the kills land while events still arrive.
    await ingest(0);
    await killAndRestart();
    await ingest(quarter);
    await killAndRestart();
    await ingest(2 * quarter);
    await killAndRestart();
    await ingest(3 * quarter);
    expect(accepted).toHaveLength(total);

    // Everything not stored when the last worker started must be inserted by it (messages the
    // killed workers held come back after the 10 s ack deadline).
    await waitFor(
      async () => {
        const text = await metrics(worker.url);
        const inserted = metricValue(text, 'eventpipe_worker_rows_total', { result: 'inserted' });
        lastSeen = `${inserted} of ${total - countAtLastStart} inserted by the last worker`;
        return inserted === total - countAtLastStart ? true : undefined;
      },
      { what: 'the last worker to store the rest', timeoutMs: 120_000, intervalMs: 250 },
    ).catch((e: Error) => {
      throw new Error(`${e.message} (${lastSeen})`);
    });
    worker.proc.child.kill('SIGTERM');
    expect(await worker.proc.exited).toBe(0);
    publisher.proc.child.kill('SIGTERM');

    const stored = await countRows(env.DUCKDB_PATH);
    expect(stored).toEqual({ rows: total, distinct: total });
    const query = start('query-api', { ...env, CURSOR_SECRET: 'failure-suite-cursor-secret' });
    const ids = await readAll(await urlFromLog(query, 'query-api listening'), source);
    expect(ids).toHaveLength(total);
    expect(new Set(ids)).toEqual(new Set(accepted));
  });
});

export type { ServiceProcess };
