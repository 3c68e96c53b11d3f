import { DuckDBInstance } from '@duckdb/node-api';
import { LIMITS, formatMicros, parseRfc3339 } from '@eventpipe/schema';
import { type PageKey } from '@eventpipe/store';
import { DuckDbStore } from '@eventpipe/store/adapters';
import { infoFigure, limitFigure, ratioFigure, type Bench } from '../harness';
import { counter } from '../metrics';
import { startQueryApi } from './query';

const MB = 2 ** 20;

/** Reference: the export's own chunked keyset SQL on a bare DuckDB connection, every value
 * materialized, no HTTP and no JSON. Rows per second. */
async function rawChunks(dbPath: string, type: string, from: string): Promise<number> {
  const store = await DuckDbStore.open({ path: dbPath, readOnly: true });
  const instance = await DuckDBInstance.create(dbPath, { access_mode: 'READ_ONLY' });
  const conn = await instance.connect();
  const started = performance.now();
  let rows = 0;
  let after: PageKey | undefined;
  for (;;) {
    const { sql, params } = store.listStatement({
      type,
      from,
      limit: LIMITS.exportChunkRows,
      after,
      maxBytes: LIMITS.exportChunkBytes, // each chunk bounded in bytes too, as the export's are
    });
    const chunk = (await conn.runAndReadAll(sql, params)).getRowObjects();
    if (chunk.length === 0) break;
    rows += chunk.length;
    const last = chunk[chunk.length - 1]!;
    after = {
      time: formatMicros(BigInt(last.time as bigint)), // selected as epoch microseconds
      source: String(last.source),
      id: String(last.id),
    };
  }
  const seconds = (performance.now() - started) / 1000;
  conn.closeSync();
  instance.closeSync();
  await store.close();
  return rows / seconds;
}

/** Reads a whole NDJSON export as fast as this process can; rows and bytes. */
async function readExport(url: string, apiKey: string) {
  const res = await fetch(url, {
    headers: { Accept: 'application/x-ndjson', Authorization: `Bearer ${apiKey}` },
  });
  if (res.status !== 200) throw new Error(`export answered ${res.status}: ${await res.text()}`);
  let rows = 0;
  let bytes = 0;
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    bytes += chunk.length;
    for (const b of chunk) if (b === 10) rows += 1;
  }
  return { rows, bytes };
}

export const exportBench: Bench = {
  name: 'export',
  what: 'GET /v1/events as NDJSON: every event of one type over the last days of 10M rows',
  async run(ctx) {
    const data = await ctx.dataset();
    const type = data.types[0]!;
    // The last 10 of 30 days: a third of one type's events (about 330 000 of 10M).
    const days = ctx.size(10n, 1n);
    const from = formatMicros(parseRfc3339(data.to)! - days * 24n * 3600n * 1_000_000n);
    ctx.log('reference: the same chunked SQL on DuckDB');
    await rawChunks(data.path, type, from); // warm-up: file pages into the OS cache
    const rawRowsPerSecond = await rawChunks(data.path, type, from);

    ctx.log('query API export');
    const api = await startQueryApi(ctx, data.path);
    const url = `${api.url}/v1/events?type=${encodeURIComponent(type)}&from=${from}`;
    await readExport(url, ctx.apiKey); // warm-up
    const heapBefore =
      (await counter(api.url, 'eventpipe_nodejs_heap_size_used_bytes', {}, ctx.apiKey)) / MB;
    const rssBefore = api.rss() / MB;
    let rssPeak = rssBefore;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        rssPeak = Math.max(rssPeak, api.rss() / MB);
        await new Promise((r) => setTimeout(r, 50));
      }
    })();
    const started = performance.now();
    const { rows, bytes } = await readExport(url, ctx.apiKey);
    const seconds = (performance.now() - started) / 1000;
    sampling = false;
    await sampler;
    const heapAfter =
      (await counter(api.url, 'eventpipe_nodejs_heap_size_used_bytes', {}, ctx.apiKey)) / MB;
    await api.stop();
    if (rows === 0) throw new Error('the export returned no rows');

    return {
      figures: [
        ratioFigure(
          'rows/s',
          'rows/s',
          rows / seconds,
          { what: 'the same chunked SQL on DuckDB, rows/s', value: rawRowsPerSecond },
          { min: 0.7 },
        ),
        infoFigure('MiB/s', 'MiB/s', bytes / MB / seconds),
        limitFigure('RSS growth during the export', 'MB', rssPeak - rssBefore, { below: 100 }),
        infoFigure('JS heap after the export', 'MB', heapAfter, {
          what: 'before it',
          value: heapBefore,
        }),
      ],
      params: { rows, bytes, type, from, chunkRows: LIMITS.exportChunkRows },
      notes: [
        'One client reading as fast as it can over loopback. The server sizes chunks by bytes (about 4 MiB, at most 1000 rows; these rows make 1000-row chunks after a first one of 100) and reads the next while it writes the current one; the reference reads 1000-row chunks.',
      ],
    };
  },
};
