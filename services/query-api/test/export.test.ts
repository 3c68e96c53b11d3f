import { request as httpRequest } from 'node:http';
import express, { type Request } from 'express';
import request from 'supertest';
import { EventpipeClient } from '@eventpipe/client';
import { listen, type RunningServer } from '@eventpipe/platform';
import {
  LIMITS,
  formatMicros,
  type JsonText,
  type StoredEvent,
  type StoredRow,
} from '@eventpipe/schema';
import type { PageKey } from '@eventpipe/store';
import { memoryLogger, waitFor } from '@eventpipe/testing';
import { parse as parseCsv } from 'csv-parse/sync';
import { CSV_HEADER, LIST_FORMATS, csvRecord, negotiate, streamExport } from '../src/export';

// streamExport on its own, over real HTTP, with a store stand-in (`next`) that serves rows in
// list order and records what it was asked: the paths a store can't be made to take on demand.

const T0 = 1_795_000_000_000_000n;
const row = (i: number, padBytes = 100): StoredRow => ({
  specversion: '1.0',
  id: `e-${String(i).padStart(6, '0')}`,
  source: '/s',
  type: 't',
  time: formatMicros(T0 - BigInt(i)),
  time_text: null,
  subject: null,
  datacontenttype: null,
  dataschema: null,
  data: JSON.stringify({ i, pad: 'x'.repeat(padBytes) }) as JsonText,
  data_base64: null,
  extensions: '{}',
  received_at: formatMicros(T0),
  published_at: formatMicros(T0),
  stored_at: formatMicros(T0),
  message_id: `m-${i}`,
  digest: null,
  producer: null,
});

interface FakeStore {
  next: (after: PageKey | undefined, limit: number) => Promise<StoredRow[]>;
  calls: { after?: string; limit: number }[];
  /** How each export ended on the server: its response finished, or its connection closed. */
  ended: ('finished' | 'cut')[];
}

/** `total` rows; `failOnCall` makes that call (1-based) throw once. */
function fakeStore(total: number, opts: { padBytes?: number; failOnCall?: number } = {}) {
  const store: FakeStore = {
    calls: [],
    ended: [],
    next: async (after, limit) => {
      store.calls.push({ after: after?.id, limit });
      if (store.calls.length === opts.failOnCall) throw new Error('store went away');
      const start = after ? Number(after.id.slice(2)) + 1 : 0;
      const rows: StoredRow[] = [];
      for (let i = start; i < Math.min(total, start + limit); i++) rows.push(row(i, opts.padBytes));
      return rows;
    },
  };
  return store;
}

const servers: RunningServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close(100)));
});

async function serve(store: FakeStore, stallMs?: number): Promise<string> {
  const app = express();
  app.get('/v1/events', async (req, res) => {
    const format = negotiate(req, LIST_FORMATS);
    if (format === 'json' || format === 'cloudevents') {
      res.json({ data: [], nextCursor: null });
      return;
    }
    const q = req.query as Record<string, string | undefined>;
    const start = q.afterId
      ? { time: q.afterTime!, source: q.afterSource!, id: q.afterId }
      : undefined;
    await streamExport(res, format, store.next, {
      start,
      onRows: () => undefined,
      logger: memoryLogger().logger,
      stallMs,
    });
    store.ended.push(res.writableFinished ? 'finished' : 'cut');
  });
  const server = await listen(app, 0, '127.0.0.1');
  servers.push(server);
  return server.url;
}

const ndjson = { Accept: 'application/x-ndjson' };

describe('chunks', () => {
  it.each([
    [0, 1],
    [1, 1],
    [LIMITS.exportFirstChunkRows, 2], // a full first chunk, then an empty one ends it
    [LIMITS.exportFirstChunkRows + LIMITS.exportChunkRows, 3],
    [2500, 4],
  ])('%i rows: every row once, in order, in %i store reads', async (total, reads) => {
    const store = fakeStore(total);
    const url = await serve(store);
    const text = await (await fetch(`${url}/v1/events`, { headers: ndjson })).text();
    const ids = text
      .split('\n')
      .filter(Boolean)
      .map((l) => (JSON.parse(l) as StoredEvent).id);
    expect(ids).toEqual(Array.from({ length: total }, (_, i) => row(i).id));
    expect(store.calls).toHaveLength(reads);
    expect(store.calls[0]!.limit).toBe(LIMITS.exportFirstChunkRows);
  });

  it('large events make small chunks: about exportChunkBytes of output each', async () => {
    const store = fakeStore(300, { padBytes: 200_000 });
    const url = await serve(store);
    const body = await (await fetch(`${url}/v1/events`, { headers: ndjson })).text();
    expect(body.split('\n').filter(Boolean)).toHaveLength(300);
    const expected = Math.floor(LIMITS.exportChunkBytes / 200_000);
    expect(store.calls[0]!.limit).toBe(LIMITS.exportFirstChunkRows);
    for (const c of store.calls.slice(1)) {
      expect(c.limit).toBeGreaterThanOrEqual(expected - 1);
      expect(c.limit).toBeLessThanOrEqual(expected);
    }
  });
});

describe('failures and readers that go away', () => {
  it('a store failure after the first byte cuts the connection; the client resumes and gets every row once', async () => {
    const store = fakeStore(1500, { failOnCall: 3 });
    const url = await serve(store);
    await expect(
      (async () => (await fetch(`${url}/v1/events`, { headers: ndjson })).text())(),
    ).rejects.toThrow('terminated'); // no final chunk: fetch reports the cut

    const again = fakeStore(1500, { failOnCall: 3 });
    const client = new EventpipeClient({ queryUrl: await serve(again) });
    const ids: string[] = [];
    for await (const e of client.export()) ids.push(e.id);
    expect(ids).toEqual(Array.from({ length: 1500 }, (_, i) => row(i).id));
    // It resumed after the last row it had, not from the start.
    const resumed = again.calls.find((c, i) => i > 0 && again.calls[i - 1]!.after === undefined);
    expect(again.calls.filter((c) => c.after === undefined)).toHaveLength(1);
    expect(resumed).toBeDefined();
  });

  it('a reader that disconnects stops the store reads', async () => {
    const store = fakeStore(100_000, { padBytes: 2000 });
    const url = await serve(store);
    const controller = new AbortController();
    const res = await fetch(`${url}/v1/events`, { headers: ndjson, signal: controller.signal });
    const reader = res.body!.getReader();
    await reader.read();
    controller.abort();
    await reader.cancel().catch(() => undefined);
    const settled = await waitFor(
      async () => {
        const n = store.calls.length;
        await new Promise((r) => setTimeout(r, 300));
        return store.calls.length === n ? n : undefined;
      },
      { what: 'store reads to stop' },
    );
    expect(settled).toBeLessThan(10);
  });

  it('a reader that stops reading is cut after the stall time', async () => {
    const store = fakeStore(100_000, { padBytes: 2000 });
    const url = new URL(`${await serve(store, 300)}/v1/events`);
    const req = httpRequest(url, { headers: ndjson }, (res) => {
      res.pause(); // never read
      res.on('error', () => undefined);
    });
    req.on('error', () => undefined);
    req.end();
    // The server gives up on the export (and its slot) once writes stall for 300 ms.
    await waitFor(() => (store.ended.length ? true : undefined), {
      what: 'the stalled export to be cut',
      timeoutMs: 10_000,
    });
    expect(store.ended).toEqual(['cut']);
    expect(store.calls.length).toBeLessThan(10_000 / LIMITS.exportFirstChunkRows);
    req.destroy();
  });

  it('HEAD answers the headers and reads nothing', async () => {
    const store = fakeStore(10);
    const url = await serve(store);
    const res = await fetch(`${url}/v1/events`, { method: 'HEAD', headers: ndjson });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/x-ndjson/);
    expect(store.calls).toHaveLength(0);
  });
});

describe('content negotiation', () => {
  const format = (accept: string | undefined) =>
    negotiate({ get: () => accept } as unknown as Request, LIST_FORMATS);
  it.each([
    [undefined, 'json'],
    ['', 'json'],
    ['*/*', 'json'],
    ['application/*', 'json'],
    ['application/json; charset=utf-8', 'json'],
    ['text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8', 'json'],
    ['application/x-ndjson', 'ndjson'],
    ['application/x-ndjson; charset=utf-8', 'ndjson'],
    ['text/csv', 'csv'],
    ['text/csv;charset=utf-8;header=present', 'csv'],
    ['application/json;q=0.5, text/csv', 'csv'],
    ['application/json, text/csv', 'json'],
    ['text/csv;q=0.9, */*;q=0.1', 'csv'],
    ['application/cloudevents-batch+json', 'cloudevents'],
    ['application/cloudevents-batch+json, application/json;q=0.5', 'cloudevents'],
    ['application/json, application/cloudevents-batch+json', 'json'],
  ])('Accept %p → %s', (accept, expected) => {
    expect(format(accept)).toBe(expected);
  });
  it.each([['text/*'], ['image/png'], ['application/json;q=0'], ['text/csv;q=0']])(
    'Accept %p → 406 (an export is only sent when named)',
    (accept) => {
      expect(() => format(accept)).toThrow(expect.objectContaining({ code: 'not-acceptable' }));
    },
  );
  it('through express too', async () => {
    const url = await serve(fakeStore(1));
    await request(url).get('/v1/events').set('Accept', 'text/csv').expect(200).expect(/^id,/);
  });
});

describe('CSV cells a spreadsheet would run', () => {
  const row = (over: Partial<StoredRow>): StoredRow => ({
    id: 'plain',
    source: '/s',
    type: 't',
    specversion: '1.0',
    time: '2026-11-28T00:00:00.000000Z',
    time_text: null,
    subject: null,
    datacontenttype: null,
    dataschema: null,
    data: null,
    data_base64: null,
    extensions: '{}',
    digest: null,
    received_at: '2026-11-28T00:00:00.000000Z',
    published_at: '2026-11-28T00:00:00.000000Z',
    stored_at: '2026-11-28T00:00:00.000000Z',
    message_id: 'm',
    producer: null,
    ...over,
  });
  const cells = (r: StoredRow) =>
    (parseCsv(CSV_HEADER + csvRecord(r), { columns: true }) as Record<string, string>[])[0]!;

  it.each(['=HYPERLINK("http://x")', '+1+1', '-2+3', '@SUM(A1)', '\tcmd', '\rcmd', "'quoted"])(
    'when id, source, type, subject and datacontenttype start like %j, then each cell gets one leading quote',
    (value) => {
      const got = cells(
        row({ id: value, source: value, type: value, subject: value, datacontenttype: value }),
      );
      for (const c of ['id', 'source', 'type', 'subject', 'datacontenttype'])
        expect([c, got[c]]).toEqual([c, `'${value}`]);
    },
  );

  it('when data_base64 starts with + (base64 may), then its cell gets the quote too', () => {
    expect(cells(row({ data_base64: '+A1/B2+C3+D4' }))).toMatchObject({
      data_base64: "'+A1/B2+C3+D4",
    });
  });

  it('when a value starts otherwise, or is data, then the cell is the value as sent', () => {
    const got = cells(row({ id: 'a=b', subject: 'x-1', data: '-1' as JsonText }));
    expect(got).toMatchObject({ id: 'a=b', subject: 'x-1', data: '-1' });
  });
});
