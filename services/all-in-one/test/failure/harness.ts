import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { sampleEvent, startService, urlFromLog, type ServiceProcess } from '@eventpipe/testing';

export { metricValue } from '@eventpipe/testing';

/** Helpers of the failure suite: real service processes, load, and counting what was stored. */
const root = join(__dirname, '..', '..', '..', '..');
export const mainOf = (service: string) => join(root, 'services', service, 'dist', 'main.js');

export function pubsubEnv(host: string, base: string): Record<string, string> {
  return {
    PUBSUB_EMULATOR_HOST: host,
    GOOGLE_CLOUD_PROJECT: 'eventpipe-failure',
    PUBSUB_TOPIC: `${base}-t`,
    PUBSUB_SUBSCRIPTION: `${base}-s`,
    PUBSUB_DLQ_TOPIC: `${base}-dlq`,
    PUBSUB_DLQ_SUBSCRIPTION: `${base}-dlq-s`,
    // Nothing else is set: ack deadline, subscription policies (none on the emulator) and
    // batching are the defaults, as a crash in the field would meet them.
    HOST: '127.0.0.1',
    PORT: '0',
  };
}

const running: ServiceProcess[] = [];
export function start(service: string, env: Record<string, string>): ServiceProcess {
  // info level: the tests read the 'listening' lines.
  const p = startService(mainOf(service), { ...env, LOG_LEVEL: 'info' });
  running.push(p);
  return p;
}
export function killAll(): void {
  for (const p of running.splice(0)) p.kill();
}

export async function startWorker(
  env: Record<string, string>,
): Promise<{ proc: ServiceProcess; url: string }> {
  const proc = start('subscriber-worker', env);
  return { proc, url: await urlFromLog(proc, 'subscriber-worker running') };
}

export async function startPublisher(
  env: Record<string, string>,
): Promise<{ proc: ServiceProcess; url: string }> {
  const proc = start('publisher-api', env);
  return { proc, url: await urlFromLog(proc, 'publisher-api listening') };
}

export async function metrics(url: string): Promise<string> {
  return (await fetch(`${url}/metrics`)).text();
}

/** Rows and distinct (source, id) in a DuckDB file no process holds. */
export async function countRows(path: string): Promise<{ rows: number; distinct: number }> {
  const instance = await DuckDBInstance.create(path, { access_mode: 'READ_ONLY' });
  const conn = await instance.connect();
  const reader = await conn.runAndReadAll(
    'SELECT count(*) AS r, count(DISTINCT (source, id)) AS d FROM events',
  );
  const [row] = reader.getRowObjects();
  conn.closeSync();
  instance.closeSync();
  return { rows: Number(row!.r), distinct: Number(row!.d) };
}

/** POSTs events with ids `${prefix}-${n}`; returns the ids that got 202. */
export async function postEvents(
  url: string,
  prefix: string,
  from: number,
  count: number,
  source: string,
): Promise<{ accepted: string[]; statuses: number[] }> {
  const events = Array.from({ length: count }, (_, i) =>
    sampleEvent({ id: `${prefix}-${from + i}`, source }),
  );
  const res = await fetch(`${url}/v1/events`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(events),
  });
  await res.arrayBuffer();
  return {
    accepted: res.status === 202 ? events.map((e) => e.id as string) : [],
    statuses: [res.status],
  };
}

/** Every event of `source` through a query API process, all pages. */
export async function readAll(queryUrl: string, source: string): Promise<string[]> {
  const ids: string[] = [];
  let cursor: string | null = null;
  do {
    const qs = new URLSearchParams({ source, limit: '1000', ...(cursor ? { cursor } : {}) });
    const body = (await (await fetch(`${queryUrl}/v1/events?${qs}`)).json()) as {
      data: { id: string }[];
      nextCursor: string | null;
    };
    ids.push(...body.data.map((e) => e.id));
    cursor = body.nextCursor;
  } while (cursor);
  return ids;
}

/**
 * The load of the crash tests: `total` events with ids `${prefix}-0 …` in batches of `batch`,
 * over `connections` parallel connections, batch k due `k × batch / perSecond` seconds after the
 * start; a batch is sent again, with the same ids, until it gets 202 (a refused connection or a
 * 503 while the process restarts). Resolves with every accepted id once all are.
 */
export async function ingest(opts: {
  url: string;
  total: number;
  batch: number;
  connections: number;
  perSecond: number;
  source: string;
  prefix: string;
}): Promise<string[]> {
  const accepted: string[] = [];
  const started = Date.now();
  let next = 0;
  const connection = async () => {
    for (;;) {
      const from = next;
      if (from >= opts.total) return;
      next += opts.batch;
      const due = started + (from / opts.perSecond) * 1000;
      if (due > Date.now()) await new Promise((r) => setTimeout(r, due - Date.now()));
      const events = Array.from({ length: Math.min(opts.batch, opts.total - from) }, (_, i) =>
        sampleEvent({ id: `${opts.prefix}-${from + i}`, source: opts.source }),
      );
      const body = JSON.stringify(events);
      for (;;) {
        const status = await fetch(`${opts.url}/v1/events`, {
          method: 'POST',
          headers: { 'content-type': 'application/cloudevents-batch+json' },
          body,
        }).then(
          async (res) => (await res.arrayBuffer(), res.status),
          () => 0,
        );
        if (status === 202) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      accepted.push(...events.map((e) => e.id as string));
    }
  };
  await Promise.all(Array.from({ length: opts.connections }, connection));
  return accepted;
}

/** Resolves once `condition` holds, polled every `intervalMs`. */
export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
