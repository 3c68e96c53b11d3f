import { BigQueryFake } from '@eventpipe/testing';
import {
  infoFigure,
  limitFigure,
  percentile,
  round,
  sleep,
  type Bench,
  type BenchContext,
} from '../harness';
import { PUBLISH_BATCHING, publishRaw, pubsubClient } from '../events';
import { counter } from '../metrics';
import { backlog, drainWithWorker } from './drain';

const MB = 1024 * 1024;

/** DuckDB's buffer pool limit in the DuckDB run (128MB made inserts fail past ~700k rows). */
const DUCKDB_LIMIT = '256MB';
/** The worker's V8 heap cap, as docs/PERFORMANCE.md recommends for a worker container. Without
 * one V8 sizes the heap from the machine's memory and lets garbage pile up (225 MB of JS heap
 * seen on this 24 GiB machine, against ~50 MB live). */
export const WORKER_NODE_OPTIONS = '--max-old-space-size=160';

/**
 * Worker RSS while it drains 1M messages. On Google Cloud, streaming-pull flow control bounds
 * what a subscriber holds whatever the backlog. The emulator does not honour it: it streams the
 * whole backlog into the client, which queues it in memory (50 000 queued against a limit of 100,
 * docs/PERFORMANCE.md), and it serves a 1M backlog at only ~400–750 msg/s even to a bare client.
 * So the backlog stands at 10 000 and is topped up as the worker drains, until 1M messages have
 * passed through: what grows with messages processed shows; the emulator's flood stays bounded.
 */
const STANDING_BACKLOG = 10_000;
interface Drained {
  rssMB: number[];
  heapMB: number[];
  rate: number;
  seconds: number;
}

/** Drains `total` messages through a standing backlog into the given store; samples RSS. */
async function measure(
  ctx: BenchContext,
  total: number,
  storeEnv: Record<string, string>,
): Promise<Drained> {
  const standing = Math.min(total, ctx.size(STANDING_BACKLOG, 2_000));
  const chunk = Math.max(1000, Math.floor(standing / 5));
  const base = await backlog(ctx, 'memory', ['worker'], standing);
  let published = standing;
  let acked = 0;
  let feeding = true;
  const client = pubsubClient(ctx.emulatorHost);
  const topic = client.topic(`${base}-t`, { batching: PUBLISH_BATCHING });
  const feeder = (async () => {
    while (feeding && published < total) {
      if (published - acked <= standing - chunk) {
        const count = Math.min(chunk, total - published);
        await publishRaw(topic, { count, window: 10_000 });
        published += count;
      } else {
        await sleep(100);
      }
    }
  })();
  const rss: number[] = [];
  const heap: number[] = [];
  try {
    const { worker, samples } = await drainWithWorker(
      ctx,
      base,
      total,
      (w, n) => {
        acked = n;
        rss.push(w.rss() / MB);
        if (rss.length % 10 === 0) {
          void counter(w.url, 'eventpipe_nodejs_heap_size_used_bytes').then((b) =>
            heap.push(b / MB),
          );
        }
      },
      storeEnv,
    );
    // One more heap reading at the end, so a short drain has one too.
    heap.push((await counter(worker.url, 'eventpipe_nodejs_heap_size_used_bytes')) / MB);
    await worker.stop();
    await feeder;
    const first = samples.find((s) => s.value > 0)!;
    const seconds = (samples.at(-1)!.at - first.at) / 1000;
    return { rssMB: rss, heapMB: heap, rate: (total - first.value) / seconds, seconds };
  } finally {
    feeding = false;
    await feeder.catch(() => undefined);
    await client.close();
  }
}

/** Medians of the 2nd and 4th quarter of the samples: "flat" when they differ by < 30 MB. */
function quarters(values: number[]) {
  const q = Math.floor(values.length / 4);
  // A drain too short for four quarters (smoke runs) compares the first and the last sample.
  const second = q ? values.slice(q, 2 * q) : values.slice(0, 1);
  const fourth = q ? values.slice(3 * q) : values.slice(-1);
  return {
    early: percentile(second, 50),
    late: percentile(fourth, 50),
    max: Math.max(...values),
  };
}

export const workerMemory: Bench = {
  name: 'worker-memory',
  what: 'worker RSS while draining 1M messages (standing backlog 10k)',
  async run(ctx) {
    const total = ctx.size(1_000_000, 5_000);
    // 1. The production shape: STORE=bigquery (the REST fake runs in this bench process, so the
    //    worker's RSS is the worker's own: Node, Pub/Sub client, batches, BigQuery client).
    ctx.log(`worker → BigQuery (REST fake): ${total} messages`);
    const fake = await BigQueryFake.start({ recordRequests: false });
    let bq: Drained;
    try {
      bq = await measure(ctx, total, {
        STORE: 'bigquery',
        BIGQUERY_EMULATOR_HOST: fake.endpoint,
        BIGQUERY_AUTO_CREATE: 'true',
        BIGQUERY_DATASET: `bench_${Date.now()}`,
        NODE_OPTIONS: WORKER_NODE_OPTIONS,
      });
    } finally {
      await fake.stop();
    }
    // 2. The embedded store, for comparison: DuckDB's memory is in the worker's process.
    ctx.log(`worker → DuckDB (DUCKDB_MEMORY_LIMIT=${DUCKDB_LIMIT}): ${total} messages`);
    const duck = await measure(ctx, total, {
      STORE: 'duckdb',
      DUCKDB_MEMORY_LIMIT: DUCKDB_LIMIT,
      NODE_OPTIONS: WORKER_NODE_OPTIONS,
    });
    const b = quarters(bq.rssMB);
    const d = quarters(duck.rssMB);
    return {
      figures: [
        limitFigure('BigQuery store: max RSS', 'MB', b.max, { below: 300 }),
        limitFigure('BigQuery store: RSS growth, 2nd → 4th quarter', 'MB', b.late - b.early, {
          below: 30,
        }),
        infoFigure('BigQuery store: max JS heap used', 'MB', Math.max(...bq.heapMB)),
        infoFigure('BigQuery store: drain rate', 'events/s', bq.rate),
        limitFigure('DuckDB store: max RSS', 'MB', d.max, { below: 300 }),
        limitFigure('DuckDB store: RSS growth, 2nd → 4th quarter', 'MB', d.late - d.early, {
          below: 30,
        }),
        infoFigure('DuckDB store: max JS heap used', 'MB', Math.max(...duck.heapMB)),
        infoFigure('DuckDB store: drain rate', 'events/s', duck.rate),
      ],
      params: {
        messages: total,
        standingBacklog: Math.min(total, ctx.size(STANDING_BACKLOG, 2_000)),
        bigqueryDrainSeconds: round(bq.seconds, 1),
        duckdbDrainSeconds: round(duck.seconds, 1),
        DUCKDB_MEMORY_LIMIT: DUCKDB_LIMIT,
        NODE_OPTIONS: WORKER_NODE_OPTIONS,
      },
      notes: [
        '"Flat": the median RSS of the last quarter of the drain is within 30 MB of the second quarter.',
      ],
    };
  },
};
