import { join } from 'node:path';
import { EventpipeClient, type StoredEvent } from '@eventpipe/client';
import { formatMicros, jsonTextOf, type Envelope } from '@eventpipe/schema';
import { type InsertItem } from '@eventpipe/store';
import { DuckDbStore } from '@eventpipe/store/adapters';
import {
  metricValue,
  startService,
  tempDuckDbPath,
  urlFromLog,
  waitFor,
  type ServiceProcess,
} from '@eventpipe/testing';

// Streaming export against the built query API as its own process, over 100 000 stored events
// of about 1 KiB each (a ~130 MB export): every row arrives once and in order, the server's
// heap stays flat, a reader that stops reading stops the export, and a broken stream resumes.
const root = join(__dirname, '..', '..', '..');
const ROWS = 100_000;
const SOURCE = '/export';
const PAD = 'x'.repeat(900);
const T0 = 1_795_000_000_000_000n; // µs; one event per millisecond going back from here

let query: ServiceProcess;
let url: string;
let client: EventpipeClient;

beforeAll(async () => {
  const path = tempDuckDbPath();
  const store = await DuckDbStore.open({ path });
  await store.init();
  const now = formatMicros(T0);
  for (let start = 0; start < ROWS; start += 5000) {
    const items: InsertItem[] = [];
    for (let i = start; i < start + 5000; i++) {
      const event: Envelope = {
        specversion: '1.0',
        id: `e-${String(i).padStart(6, '0')}`,
        source: SOURCE,
        type: i % 2 ? 'com.example.odd' : 'com.example.even',
        time: formatMicros(T0 - BigInt(i) * 1000n),
        data: jsonTextOf({ i, pad: PAD, note: 'comma, "quote"\nnewline' }),
        extensions: { shard: i % 7 },
      };
      items.push({ event, meta: { receivedAt: now, publishedAt: now, messageId: `m-${i}` } });
    }
    await store.insert(items);
  }
  await store.close();
  query = startService(join(root, 'services', 'query-api', 'dist', 'main.js'), {
    PORT: '0',
    HOST: '127.0.0.1',
    DUCKDB_PATH: path,
    EXPORT_MAX_CONCURRENT: '1',
  });
  url = await urlFromLog(query, 'query-api listening');
  client = new EventpipeClient({ queryUrl: url });
}, 120_000);

afterAll(() => query?.kill());

const metrics = async () => (await fetch(`${url}/metrics`)).text();
const heapMb = async () =>
  metricValue(await metrics(), 'eventpipe_nodejs_heap_size_used_bytes') / 2 ** 20;
const exportedRows = async () =>
  metricValue(await metrics(), 'eventpipe_query_rows_returned_total', { operation: 'export' });

it('exports all 100 000 rows once, in list order, with the server heap flat', async () => {
  // Warm up code paths, then take the baseline.
  for await (const _ of client.export({ source: SOURCE, to: formatMicros(T0 - 99_000_000n) })) {
    void _;
  }
  const baseline = await heapMb();
  let peak = baseline;
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      peak = Math.max(peak, await heapMb());
      await new Promise((r) => setTimeout(r, 100));
    }
  })();

  let count = 0;
  let bytes = 0;
  let previous: StoredEvent | undefined;
  for await (const e of client.export({ source: SOURCE })) {
    const expectedId = `e-${String(count).padStart(6, '0')}`;
    if (e.id !== expectedId) throw new Error(`row ${count} is ${e.id}, expected ${expectedId}`);
    if (previous && !(previous.time > e.time)) throw new Error(`row ${count} out of order`);
    if ((e.data as { i: number }).i !== count || e.shard !== count % 7) {
      throw new Error(`row ${count} has the wrong content`);
    }
    bytes += JSON.stringify(e).length + 1;
    previous = e;
    count += 1;
  }
  sampling = false;
  await sampler;

  expect(count).toBe(ROWS);
  expect(bytes).toBeGreaterThan(100 * 2 ** 20);
  // Buffering the export would need > 100 MB; one chunk and the write buffer are a few MB.
  process.stdout.write(
    `export of ${ROWS} rows (${(bytes / 2 ** 20).toFixed(0)} MiB): server heap ${baseline.toFixed(1)} MiB before, ${peak.toFixed(1)} MiB at most\n`,
  );
  expect(peak - baseline).toBeLessThan(40);
  // An export's duration grows with its size: it is labelled apart from the /v1/ routes whose
  // latency the query SLO measures (deploy/prometheus: route=~"/v1/.+").
  const text = await metrics();
  expect(
    metricValue(text, 'eventpipe_http_request_duration_seconds_count', {
      route: 'export /v1/events',
      status: '200',
    }),
  ).toBe(2);
  expect(text).not.toMatch(
    /eventpipe_http_request_duration_seconds_count\{[^}]*route="\/v1\/events"[^}]*status="200"/,
  );
}, 180_000);

it('stops reading the store while the client does not read (backpressure)', async () => {
  const before = await exportedRows();
  const controller = new AbortController();
  const res = await fetch(`${url}/v1/events?source=${SOURCE}`, {
    headers: { Accept: 'application/x-ndjson' },
    signal: controller.signal,
  });
  expect(res.status).toBe(200);
  const reader = res.body!.getReader();
  await reader.read(); // one chunk, then the client stops reading
  // The server fills the socket buffers, then waits: the count of rows it read stands still.
  const stalled = await waitFor(
    async () => {
      const a = await exportedRows();
      await new Promise((r) => setTimeout(r, 500));
      const b = await exportedRows();
      return a === b ? b : undefined;
    },
    { what: 'the export to stall', timeoutMs: 20_000 },
  );
  expect(stalled - before).toBeLessThan(ROWS / 4);
  // The stalled export holds the one slot (EXPORT_MAX_CONCURRENT=1): another is refused.
  expect(metricValue(await metrics(), 'eventpipe_query_exports_in_progress')).toBe(1);
  const second = await fetch(`${url}/v1/events`, { headers: { Accept: 'text/csv' } });
  expect(second.status).toBe(429);
  expect(second.headers.get('retry-after')).toBe('5');
  expect(((await second.json()) as { code: string }).code).toBe('too-many-exports');
  // A page is not an export: it is still served.
  expect((await fetch(`${url}/v1/events?limit=1`)).status).toBe(200);
  // The typed client waits out the 429 (Retry-After) and exports once the slot is free.
  const statuses: number[] = [];
  const counting = new EventpipeClient({
    queryUrl: url,
    fetch: async (input, init) => {
      const res = await fetch(input, init);
      statuses.push(res.status);
      return res;
    },
  });
  const waiting = (async () => {
    const ids: string[] = [];
    for await (const e of counting.export({ source: SOURCE, from: formatMicros(T0 - 9_000n) })) {
      ids.push(e.id);
    }
    return ids;
  })();
  waiting.catch(() => undefined); // awaited below; a failure before that must not go unhandled
  await waitFor(() => (statuses.length ? true : undefined), { what: 'the first export answer' });
  controller.abort();
  await reader.cancel().catch(() => undefined);
  // The export the client gave up on is counted as 499 (closed by the client) once the server
  // has seen the connection go.
  await waitFor(
    async () =>
      metricValue(await metrics(), 'eventpipe_http_requests_total', {
        route: 'export /v1/events',
        status: '499',
      }) === 1
        ? true
        : undefined,
    { what: 'the abandoned export counted as 499' },
  );
  expect(await waiting).toEqual(Array.from({ length: 10 }, (_, i) => `e-00000${i}`));
  expect(statuses).toEqual([429, 200]);
  // The aborted export gives its slot back.
  await waitFor(
    async () =>
      metricValue(await metrics(), 'eventpipe_query_exports_in_progress') === 0 ? true : undefined,
    { what: 'the export slot freed' },
  );
}, 60_000);

it('resumes after a broken stream from the last complete row: nothing lost, nothing twice', async () => {
  // A fetch whose first export response breaks off after 3 MB, mid-row.
  let broken = 0;
  const breaking: typeof fetch = async (input, init) => {
    const res = await fetch(input, init);
    if (broken > 0 || !String(input).includes('source=')) return res;
    broken += 1;
    const reader = res.body!.getReader();
    let seen = 0;
    const body = new ReadableStream<Uint8Array>({
      async pull(c) {
        const { done, value } = await reader.read();
        if (done) return c.close();
        seen += value.length;
        if (seen > 3_000_000) {
          c.enqueue(value.subarray(0, 100));
          await reader.cancel();
          c.error(new TypeError('terminated')); // what fetch reports for a cut connection
          return;
        }
        c.enqueue(value);
      },
    });
    return new Response(body, { status: res.status, headers: res.headers });
  };
  const resuming = new EventpipeClient({ queryUrl: url, fetch: breaking });
  const ids: string[] = [];
  for await (const e of resuming.export({ source: SOURCE, type: 'com.example.even' }))
    ids.push(e.id);
  expect(broken).toBe(1);
  expect(ids).toHaveLength(ROWS / 2);
  expect(new Set(ids).size).toBe(ROWS / 2);
  expect(ids[0]).toBe('e-000000');
  expect(ids.at(-1)).toBe(`e-${String(ROWS - 2).padStart(6, '0')}`);
}, 120_000);

it('exports CSV with a header row and RFC 4180 quoting that a parser reads back', async () => {
  let text = '';
  for await (const chunk of client.exportCsv({
    source: SOURCE,
    to: formatMicros(T0 - 99_990_000n),
  })) {
    text += chunk;
  }
  const records = parseCsv(text);
  expect(records[0]).toEqual([
    'id',
    'source',
    'type',
    'specversion',
    'time',
    'subject',
    'datacontenttype',
    'dataschema',
    'data',
    'data_base64',
    'extensions',
    'receivedAt',
    'publishedAt',
    'storedAt',
    'messageId',
    'producer',
  ]);
  const rows = records.slice(1);
  expect(rows).toHaveLength(9);
  expect(rows[0]![0]).toBe('e-099991');
  expect(JSON.parse(rows[0]![8]!)).toEqual({
    i: 99_991,
    pad: PAD,
    note: 'comma, "quote"\nnewline',
  });
  expect(JSON.parse(rows[0]![10]!)).toEqual({ shard: 99_991 % 7 });
});

it('starts where a page stopped when given its nextCursor', async () => {
  const filter = { source: SOURCE, to: formatMicros(T0 - 99_000_000n) }; // the oldest 999 rows
  const page = await client.listPage({ ...filter, pageSize: 7 });
  expect(page.data.map((e) => e.id)).toEqual(
    Array.from({ length: 7 }, (_, i) => `e-${String(99_001 + i).padStart(6, '0')}`),
  );
  const rest: string[] = [];
  for await (const e of client.export({ ...filter, cursor: page.nextCursor! })) rest.push(e.id);
  expect(rest).toEqual(
    Array.from({ length: 992 }, (_, i) => `e-${String(99_008 + i).padStart(6, '0')}`),
  );
});

it('refuses limit on an export and an Accept it cannot serve', async () => {
  const limited = await fetch(`${url}/v1/events?limit=10`, { headers: { Accept: 'text/csv' } });
  expect(limited.status).toBe(400);
  expect(((await limited.json()) as { errors: { pointer: string }[] }).errors[0]!.pointer).toBe(
    'limit',
  );
  const png = await fetch(`${url}/v1/events`, { headers: { Accept: 'image/png' } });
  expect(png.status).toBe(406);
  expect(((await png.json()) as { code: string }).code).toBe('not-acceptable');
});

/** A strict RFC 4180 reader: quoted fields, doubled quotes, CRLF record ends. */
function parseCsv(text: string): string[][] {
  const records: string[][] = [];
  let record: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c !== '"') field += c;
      else if (text[i + 1] === '"') {
        field += '"';
        i++;
      } else quoted = false;
    } else if (c === '"') {
      quoted = true;
    } else if (c === ',') {
      record.push(field);
      field = '';
    } else if (c === '\r' && text[i + 1] === '\n') {
      record.push(field);
      records.push(record);
      record = [];
      field = '';
      i++;
    } else {
      field += c;
    }
  }
  if (field || record.length) throw new Error('CSV does not end with CRLF');
  return records;
}
