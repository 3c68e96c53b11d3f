import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { formatMicros, parseRfc3339 } from '@eventpipe/schema';
import { type ListQuery, type StatsQuery } from '@eventpipe/store';
import { DuckDbStore, type DuckDbStatement } from '@eventpipe/store/adapters';
import {
  infoFigure,
  limitFigure,
  percentile,
  ratioFigure,
  round,
  serviceMain,
  type Bench,
  type BenchContext,
  type Figure,
} from '../harness';
import { assertClean, load, sequential } from '../load';

const DAY_US = 24n * 3600n * 1_000_000n;

interface Case {
  path: string;
  statement: DuckDbStatement;
}

/** The page byte budget the query API runs with (its default, set explicitly so that the
 * reference below runs the same statement). */
const PAGE_MAX_BYTES = 8 * 1024 * 1024;

/** The statement `GET /v1/events?limit=N` runs: one row more than the page (whether a next page
 * exists) under the page byte budget. */
const pageStatement = (store: DuckDbStore, q: ListQuery): DuckDbStatement =>
  store.listStatement({ ...q, limit: q.limit + 1, maxBytes: PAGE_MAX_BYTES });

/** Runs the statements round-robin on `concurrency` connections of a read-only instance for
 * `seconds`; per-query latency in ms and queries/s. */
async function rawRun(dbPath: string, cases: Case[], concurrency: number, seconds: number) {
  const instance = await DuckDBInstance.create(dbPath, { access_mode: 'READ_ONLY' });
  const conns: DuckDBConnection[] = [];
  for (let i = 0; i < concurrency; i++) conns.push(await instance.connect());
  const latencies: number[] = [];
  const stopAt = Date.now() + seconds * 1000;
  let next = 0;
  await Promise.all(
    conns.map(async (c) => {
      while (Date.now() < stopAt) {
        const { statement } = cases[next++ % cases.length]!;
        const t = performance.now();
        const reader = await c.runAndReadAll(statement.sql, statement.params);
        reader.getRows(); // materialize the values, as the adapter does
        latencies.push(performance.now() - t);
      }
    }),
  );
  for (const c of conns) c.closeSync();
  instance.closeSync();
  return { latencies, qps: latencies.length / seconds };
}

/** The query API as its own process on a DuckDB file (the query and export benchmarks). */
export async function startQueryApi(ctx: BenchContext, dbPath: string) {
  return ctx.startProcess(
    'query-api',
    serviceMain('query-api'),
    ctx.serviceEnv({
      STORE: 'duckdb',
      DUCKDB_PATH: dbPath,
      CURSOR_SECRET: 'bench-cursor-secret-0123456789',
      PAGE_MAX_BYTES: String(PAGE_MAX_BYTES),
      LOG_LEVEL: 'info',
    }),
  );
}

/** Raw statements vs the query API for the same cases: latency (1 connection) and throughput.
 * With `tenant`, the same requests also with the tenant's key (5 of 50 sources), in the same
 * process right after: its p50 and p99. */
async function compare(
  ctx: BenchContext,
  dbPath: string,
  cases: Case[],
  opts: { seconds: number; concurrency: number; tenant?: boolean },
) {
  ctx.log('reference: the same SQL on DuckDB');
  await rawRun(dbPath, cases, 1, ctx.size(2, 0.5)); // warm-up: file pages into the OS cache
  const rawLatency = await rawRun(dbPath, cases, 1, opts.seconds);
  const rawThroughput = await rawRun(dbPath, cases, opts.concurrency, opts.seconds);
  ctx.log('query API');
  const api = await startQueryApi(ctx, dbPath);
  const requests = cases.map((c) => ({
    method: 'GET' as const,
    path: c.path,
    headers: { authorization: `Bearer ${ctx.apiKey}` },
  }));
  // Latency on one connection, timed as the raw queries are (to a fraction of a millisecond).
  await sequential({ url: api.url, requests, seconds: ctx.size(2, 0.5) });
  const latency = await sequential({ url: api.url, requests, seconds: opts.seconds });
  assertClean('query API, one connection', latency);
  const throughput = await load({
    url: api.url,
    requests,
    connections: opts.concurrency,
    seconds: opts.seconds,
  });
  assertClean(`query API, ${opts.concurrency} connections`, throughput);
  let tenant: { p50: number; p99: number; again: { p50: number; p99: number } } | undefined;
  if (opts.tenant) {
    ctx.log('query API with a key limited to 5 of 50 sources');
    const limited = requests.map((r) => ({
      ...r,
      headers: { authorization: `Bearer ${ctx.tenantKey}` },
    }));
    const t = await sequential({ url: api.url, requests: limited, seconds: opts.seconds });
    assertClean('query API, limited key', t);
    // The unrestricted key again, right after: the ratio compares neighbours in time.
    const again = await sequential({ url: api.url, requests, seconds: opts.seconds });
    tenant = { p50: t.p50, p99: t.p99, again: { p50: again.p50, p99: again.p99 } };
  }
  await api.stop();
  return {
    raw: {
      p50: percentile(rawLatency.latencies, 50),
      p99: percentile(rawLatency.latencies, 99),
      qps: rawThroughput.qps,
    },
    api: { p50: latency.p50, p99: latency.p99, rps: throughput.rps },
    tenant,
  };
}

type Compared = Awaited<ReturnType<typeof compare>>;

/** The figures both query benchmarks report: p99 bound, p50 ratio, p99 and throughput beside. */
function queryFigures(
  r: Compared,
  goals: { p99Below: number; p50MaxRatio: number; concurrency: number },
): Figure[] {
  return [
    limitFigure('p99, 1 connection', 'ms', r.api.p99, { below: goals.p99Below }),
    ratioFigure(
      'p50, 1 connection',
      'ms',
      r.api.p50,
      { what: 'same SQL on DuckDB, p50', value: r.raw.p50 },
      { max: goals.p50MaxRatio },
    ),
    infoFigure('p99 vs raw p99', 'ms', r.api.p99, {
      what: 'same SQL on DuckDB, p99',
      value: r.raw.p99,
    }),
    infoFigure(`req/s, ${goals.concurrency} connections`, 'req/s', r.api.rps, {
      what: `same SQL on DuckDB, ${goals.concurrency} connections, queries/s`,
      value: r.raw.qps,
    }),
  ];
}

const usOf = (t: string) => parseRfc3339(t)!;

export const queryPage: Bench = {
  name: 'query-page',
  what: 'GET /v1/events filtered page of 100 over 10M rows',
  async run(ctx) {
    const data = await ctx.dataset();
    const seconds = ctx.size(15, 1);
    const concurrency = 4;
    const days = Number((usOf(data.to) - usOf(data.from)) / DAY_US);
    // 24 cases: a type and one day of it, spread over the 30 days.
    const store = await DuckDbStore.open({ path: data.path, readOnly: true });
    const cases: Case[] = Array.from({ length: 24 }, (_, k) => {
      const type = data.types[k % data.types.length]!;
      const from = formatMicros(usOf(data.from) + BigInt((k * 7) % days) * DAY_US);
      const to = formatMicros(usOf(from) + DAY_US);
      const q: ListQuery = { type, from, to, limit: 100 };
      return {
        path: `/v1/events?type=${encodeURIComponent(type)}&from=${from}&to=${to}&limit=100`,
        statement: pageStatement(store, q),
      };
    });
    const newest: Case[] = [
      { path: '/v1/events?limit=100', statement: pageStatement(store, { limit: 100 }) },
    ];
    await store.close();
    const r = await compare(ctx, data.path, cases, { seconds, concurrency, tenant: true });
    ctx.log('newest page without filters');
    const n = await compare(ctx, data.path, newest, { seconds: ctx.size(5, 0.5), concurrency });
    const figures: Figure[] = [
      ...queryFigures(r, { p99Below: 15, p50MaxRatio: 1.2, concurrency }),
      ratioFigure(
        'key limited to 5 of 50 sources: p50, 1 connection',
        'ms',
        r.tenant!.p50,
        { what: 'unrestricted key, same requests, p50', value: r.tenant!.again.p50 },
        { max: 1.1 },
      ),
      infoFigure('key limited to 5 of 50 sources: p99, 1 connection', 'ms', r.tenant!.p99, {
        what: 'unrestricted key, p99',
        value: r.tenant!.again.p99,
      }),
      infoFigure('newest page, no filter: p50, 1 connection', 'ms', n.api.p50, {
        what: 'same SQL on DuckDB, p50',
        value: n.raw.p50,
      }),
      infoFigure('newest page, no filter: p99, 1 connection', 'ms', n.api.p99, {
        what: 'same SQL on DuckDB, p99',
        value: n.raw.p99,
      }),
    ];
    return {
      figures,
      params: {
        rows: data.rows,
        seconds,
        concurrency,
        cases: cases.length,
        example: cases[0]!.path,
      },
      notes: [
        'autocannon reports latency in whole milliseconds; the raw query is timed with performance.now().',
      ],
    };
  },
};

export const queryStats: Bench = {
  name: 'query-stats',
  what: 'GET /v1/stats hourly by type over 10M rows',
  async run(ctx) {
    const data = await ctx.dataset();
    const seconds = ctx.size(15, 1);
    const store = await DuckDbStore.open({ path: data.path, readOnly: true });
    const q: StatsQuery = { from: data.from, to: data.to, interval: 'hour', groupBy: 'type' };
    const cases: Case[] = [
      {
        path: `/v1/stats?from=${data.from}&to=${data.to}&interval=hour&groupBy=type`,
        statement: store.statsStatement(q),
      },
    ];
    await store.close();
    const r = await compare(ctx, data.path, cases, { seconds, concurrency: 2 });
    return {
      figures: queryFigures(r, { p99Below: 150, p50MaxRatio: 1.1, concurrency: 2 }),
      params: { rows: data.rows, seconds, example: cases[0]!.path, rawP50: round(r.raw.p50) },
      notes: [],
    };
  },
};
