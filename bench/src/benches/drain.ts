import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import type { Message } from '@google-cloud/pubsub';
import { freePort } from '@eventpipe/testing';
import {
  infoFigure,
  limitFigure,
  percentile,
  ratioFigure,
  round,
  sleep,
  serviceMain,
  type Bench,
  type BenchContext,
  type Running,
} from '../harness';
import { paced } from '../paced';
import { counter, rateOf, sampleUntil } from '../metrics';
import {
  PUBLISH_BATCHING,
  createTopology,
  producerEvent,
  publishRaw,
  pubsubClient,
  pubsubEnv,
} from '../events';

/** The worker's default flow control (WORKER_MAX_OUTSTANDING_*), given to the reference too. */
const FLOW = { maxMessages: 2000, maxBytes: 64 * 1024 * 1024, allowExcessMessages: false };

/** Publishes `count` messages (as the publisher makes them) onto a topic whose subscriptions
 * are named in `subscriptions`; returns the topic base name. */
export async function backlog(
  ctx: BenchContext,
  name: string,
  subscriptions: string[],
  count: number,
) {
  const client = pubsubClient(ctx.emulatorHost);
  const base = `${name}-${Date.now()}`;
  await createTopology(
    client,
    base,
    subscriptions.map((s) => `${base}-${s}`),
  );
  const topic = client.topic(`${base}-t`, { batching: PUBLISH_BATCHING });
  const started = Date.now();
  const { published } = await publishRaw(topic, { count, window: 10_000 });
  ctx.log(`backlog of ${published} messages in ${round((Date.now() - started) / 1000, 1)} s`);
  await client.close();
  return base;
}

/** Starts the worker on `base`'s `worker` subscription and samples its acked counter until
 * `total` messages are settled. */
export async function drainWithWorker(
  ctx: BenchContext,
  base: string,
  total: number,
  onSample?: (worker: Running, acked: number) => void,
  extraEnv: Record<string, string> = {},
) {
  const worker = await ctx.startProcess(
    'subscriber-worker',
    serviceMain('subscriber-worker'),
    ctx.serviceEnv({
      ...pubsubEnv(ctx.emulatorHost, base, `${base}-worker`),
      STORE: 'duckdb',
      DUCKDB_PATH: join(ctx.workDir, `${base}.duckdb`),
      LOG_LEVEL: 'info',
      ...extraEnv,
    }),
  );
  const samples = await sampleUntil(
    async () => {
      const acked = await counter(worker.url, 'eventpipe_worker_messages_total', {
        outcome: 'acked',
      });
      onSample?.(worker, acked);
      return acked;
    },
    (n) => n >= total,
    { intervalMs: 100, timeoutMs: 30 * 60_000, what: `worker acking ${total} messages` },
  );
  return { worker, samples };
}

export const drain: Bench = {
  name: 'drain',
  what: 'worker: emulator backlog → DuckDB, events/s; lag at half that rate',
  async run(ctx) {
    const total = ctx.size(100_000, 3_000);
    const base = await backlog(ctx, 'drain', ['ref', 'worker'], total);

    // Reference: streaming pull + ack of the same backlog, same flow control, no work.
    ctx.log('reference: raw streaming pull + ack');
    const client = pubsubClient(ctx.emulatorHost);
    const sub = client.subscription(`${base}-ref`, { flowControl: FLOW });
    let acked = 0;
    sub.on('message', (m: Message) => {
      m.ack();
      acked += 1;
    });
    sub.on('error', (e) => ctx.log(`reference subscription error: ${String(e)}`));
    const refSamples = await sampleUntil(
      async () => acked,
      (n) => n >= total,
      { intervalMs: 100, timeoutMs: 30 * 60_000, what: `raw pull of ${total}` },
    );
    await sub.close();
    await client.close();
    const refRate = rateOf(refSamples, total);

    ctx.log('worker → DuckDB');
    const { worker, samples } = await drainWithWorker(ctx, base, total);
    await worker.stop();
    const rate = rateOf(samples, total);

    // End-to-end lag on npm start's shape (publisher, worker and query API in one process, as
    // DuckDB requires), at half the rate the worker drained at.
    const half = rate / 2;
    const lag = await lagRun(ctx, half);
    return {
      figures: [
        ratioFigure(
          'events/s',
          'events/s',
          rate,
          { what: 'raw streaming pull + ack', value: refRate },
          { min: 1.0 },
        ),
        infoFigure(
          `lag p50 (accepted → visible in GET) at ${round(half, 0)} events/s`,
          'ms',
          lag.p50,
        ),
        limitFigure(
          `lag p99 (accepted → visible in GET) at ${round(half, 0)} events/s`,
          'ms',
          lag.p99,
          {
            below: 1000,
          },
        ),
        infoFigure('stored − received p50, every event of that run', 'ms', lag.rowP50),
        infoFigure('stored − received p99, every event of that run', 'ms', lag.rowP99),
      ],
      params: {
        backlog: total,
        lagSeconds: lag.seconds,
        lagProbes: lag.probes,
        lagEvents: lag.events,
        lagRate: round(half, 0),
        workerFlowControlMessages: FLOW.maxMessages,
      },
      notes: [
        'Lag is measured on the one-process stack with BUS=pubsub: a probe event every 250 ms is POSTed and its GET polled every 25 ms, beside steady batch load (10 events per request) at the stated rate.',
      ],
    };
  },
};

async function lagRun(ctx: BenchContext, eventsPerSecond: number) {
  const seconds = ctx.size(20, 3);
  const base = await backlog(ctx, 'lag', ['worker'], 0);
  const dbPath = join(ctx.workDir, `${base}.duckdb`);
  const [queryPort, workerPort] = [await freePort(), await freePort()];
  const stack = await ctx.startProcess(
    'all-in-one',
    serviceMain('all-in-one'),
    ctx.serviceEnv({
      ...pubsubEnv(ctx.emulatorHost, base, `${base}-worker`),
      STORE: 'duckdb',
      DUCKDB_PATH: dbPath,
      QUERY_PORT: String(queryPort),
      WORKER_PORT: String(workerPort),
      CURSOR_SECRET: 'bench-cursor-secret-0123456789',
      LOG_LEVEL: 'info',
    }),
    'PUBLISHER_PORT',
  );
  const query = `http://127.0.0.1:${queryPort}`;
  const auth = { authorization: `Bearer ${ctx.apiKey}` };
  const perRequest = 10;
  const body = JSON.stringify(Array.from({ length: perRequest }, (_, i) => producerEvent(i)));
  // Steady background load (open loop: evenly spaced requests, whatever the answers do).
  const background = paced({
    url: `${stack.url}/v1/events`,
    method: 'POST',
    headers: { ...auth, 'content-type': 'application/json' },
    body: () => body,
    seconds,
    rate: eventsPerSecond / perRequest,
    sockets: 16,
  });
  const lags: number[] = [];
  const probes: Promise<void>[] = [];
  const stopAt = Date.now() + seconds * 1000;
  let n = 0;
  while (Date.now() < stopAt) {
    const id = `probe-${Date.now()}-${n++}`;
    probes.push(
      (async () => {
        const res = await fetch(`${stack.url}/v1/events`, {
          method: 'POST',
          headers: { ...auth, 'content-type': 'application/cloudevents+json' },
          body: JSON.stringify({ ...producerEvent(n), id, source: '/bench/probe' }),
        });
        if (res.status !== 202) throw new Error(`probe POST answered ${res.status}`);
        const accepted = Date.now();
        for (;;) {
          const got = await fetch(`${query}/v1/events/${id}?source=%2Fbench%2Fprobe`, {
            headers: auth,
          });
          if (got.status === 200) break;
          if (got.status !== 404) throw new Error(`probe GET answered ${got.status}`);
          if (Date.now() - accepted > 60_000) throw new Error(`probe ${id} not visible in 60 s`);
          await sleep(25);
        }
        lags.push(Date.now() - accepted);
      })(),
    );
    await sleep(250);
  }
  const loadResult = await background;
  await Promise.all(probes);
  if (loadResult.non2xx || loadResult.errors || loadResult.skipped || loadResult.ok === 0) {
    throw new Error(
      `batch load during the lag run: ${loadResult.ok} 2xx, ${loadResult.non2xx} non-2xx, ` +
        `${loadResult.errors} errors, ${loadResult.skipped} not sent (stack fell behind)`,
    );
  }
  await stack.stop();
  const instance = await DuckDBInstance.create(dbPath, { access_mode: 'READ_ONLY' });
  const conn = await instance.connect();
  const row = (
    await conn.runAndReadAll(
      `SELECT count(*) AS n,
              quantile_disc(epoch_ms(stored_at) - epoch_ms(received_at), 0.5) AS p50,
              quantile_disc(epoch_ms(stored_at) - epoch_ms(received_at), 0.99) AS p99
         FROM events`,
    )
  ).getRowObjects()[0]!;
  conn.closeSync();
  instance.closeSync();
  return {
    seconds,
    probes: lags.length,
    events: Number(row.n),
    p50: percentile(lags, 50),
    p99: percentile(lags, 99),
    rowP50: Number(row.p50),
    rowP99: Number(row.p99),
  };
}
