import { SchemaRegistry } from '@eventpipe/registry';
import request from 'supertest';
import type { Express } from 'express';
import { createRegistry } from '@eventpipe/platform';
import { createQueryApp } from '@eventpipe/query-api';
import { parseInputEvents } from '@eventpipe/schema';
import { DuckDbStore } from '@eventpipe/store/adapters';
import { BigQueryFake, memoryLogger, tempDuckDbPath, testBigQueryStore } from '@eventpipe/testing';

const secret = Buffer.from('0123456789abcdef0123456789abcdef');
const meta = {
  receivedAt: '2026-11-28T00:00:00.000000Z',
  publishedAt: '2026-11-28T00:00:00.000000Z',
  messageId: 'm',
};

async function seed(store: DuckDbStore, events: Record<string, unknown>[]) {
  const r = parseInputEvents(events);
  if (!r.ok) throw new Error(JSON.stringify(r.issues));
  await store.insert(r.events.map((event) => ({ event, meta })));
}

describe('query API', () => {
  let store: DuckDbStore;
  let app: Express;

  beforeEach(async () => {
    store = await DuckDbStore.open({ path: tempDuckDbPath() });
    await store.init();
    app = createQueryApp({
      store,
      logger: memoryLogger('query-api').logger,
      registry: createRegistry('query-api'),
      cursorSecret: secret,
    });
    await seed(store, [
      { id: '1', source: '/a', type: 'x', subject: 's1', time: '2026-11-28T01:00:00Z' },
      { id: '2', source: '/a', type: 'y', subject: 's1', time: '2026-11-28T02:00:00Z' },
      { id: '3', source: '/b', type: 'x', subject: 's2', time: '2026-11-28T03:00:00Z' },
      { id: '4', source: '/b', type: 'x', subject: 's2', time: '2026-11-28T04:30:00Z' },
      { id: '1', source: '/b', type: 'z', time: '2026-11-28T05:00:00Z' },
    ]);
  });
  afterEach(() => store.close());

  const ids = (res: request.Response) =>
    (res.body.data as { id: string; source: string }[]).map((e) => `${e.source}#${e.id}`);

  describe('GET /v1/events', () => {
    it('when listing without filters, then every event comes newest first with no next page', async () => {
      const res = await request(app).get('/v1/events');
      expect(res.status).toBe(200);
      expect(ids(res)).toEqual(['/b#1', '/b#4', '/b#3', '/a#2', '/a#1']);
      expect(res.body.nextCursor).toBeNull();
      expect(res.body.data[0]).toMatchObject({
        specversion: '1.0',
        type: 'z',
        receivedAt: meta.receivedAt,
        messageId: 'm',
      });
    });

    it.each([
      ['type=x', ['/b#4', '/b#3', '/a#1']],
      ['source=/a', ['/a#2', '/a#1']],
      ['subject=s2&type=x', ['/b#4', '/b#3']],
      ['from=2026-11-28T02:00:00Z&to=2026-11-28T04:30:00Z', ['/b#3', '/a#2']],
      ['from=2026-11-28T03:00:00%2B01:00', ['/b#1', '/b#4', '/b#3', '/a#2']],
      ['type=nope', []],
    ])('when filtering by %s, then only matching events come back', async (query, expected) => {
      const res = await request(app).get(`/v1/events?${query}`);
      expect(res.status).toBe(200);
      expect(ids(res)).toEqual(expected);
    });

    it('when paging with limit=2, then the cursors walk every event once, in order', async () => {
      const seen: string[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const res: request.Response = await request(app)
          .get('/v1/events')
          .query({ limit: 2, ...(cursor ? { cursor } : {}) });
        expect(res.status).toBe(200);
        seen.push(...ids(res));
        cursor = res.body.nextCursor;
        pages += 1;
      } while (cursor);
      expect(pages).toBe(3);
      expect(seen).toEqual(['/b#1', '/b#4', '/b#3', '/a#2', '/a#1']);
    });

    it('when new events arrive between pages, then the next page neither repeats nor skips older events', async () => {
      const first = await request(app).get('/v1/events?limit=2');
      await seed(store, [
        { id: 'new', source: '/a', type: 'x', time: '2026-11-28T09:00:00Z' },
        { id: 'late', source: '/a', type: 'x', time: '2026-11-28T00:30:00Z' },
      ]);
      const second = await request(app)
        .get('/v1/events')
        .query({ limit: 10, cursor: first.body.nextCursor });
      expect(ids(first)).toEqual(['/b#1', '/b#4']);
      expect(ids(second)).toEqual(['/b#3', '/a#2', '/a#1', '/a#late']);
    });

    it('when a cursor is tampered with, truncated or used with other filters, then 400 invalid-cursor', async () => {
      const { body } = await request(app).get('/v1/events?type=x&limit=1');
      const cursor = body.nextCursor as string;
      const [payload, sig] = cursor.split('.');
      const forged = Buffer.from(
        JSON.stringify({ v: 1, t: '2030-01-01T00:00:00.000000Z', s: '/a', i: '1', f: 'x' }),
      ).toString('base64url');
      for (const bad of [
        `${forged}.${sig}`,
        cursor.slice(0, -3),
        `${payload}`,
        'garbage',
        `${cursor}.x`,
      ]) {
        const res = await request(app).get('/v1/events').query({ type: 'x', cursor: bad });
        expect(res.status).toBe(400);
        expect(res.body.code).toBe('invalid-cursor');
      }
      const replay = await request(app).get('/v1/events').query({ type: 'y', cursor });
      expect(replay.status).toBe(400);
      expect(replay.body.detail).toMatch(/other filters/);
    });

    it.each([
      ['limit=0', 'limit'],
      ['limit=1001', 'limit'],
      ['limit=-1', 'limit'],
      ['limit=abc', 'limit'],
      ['limit=1.5', 'limit'],
      ['from=yesterday', 'from'],
      ['to=2026-02-30T00:00:00Z', 'to'],
      ['from=2026-11-29T00:00:00Z&to=2026-11-28T00:00:00Z', 'from'],
      ['type=a&type=b', 'type'],
      ['typo=x', 'typo'],
      ['type=', 'type'],
    ])('when the query is %s, then 400 names %s', async (query, pointer) => {
      const res = await request(app).get(`/v1/events?${query}`);
      expect(res.status).toBe(400);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(res.body.errors.map((e: { pointer: string }) => e.pointer)).toContain(pointer);
    });

    it('when SQL metacharacters are in every filter, then they are plain values', async () => {
      const evil = "x' OR 1=1; DROP TABLE events; --";
      const res = await request(app)
        .get('/v1/events')
        .query({ type: evil, source: evil, subject: evil });
      expect(res.status).toBe(200);
      expect(res.body.data).toEqual([]);
      expect((await request(app).get('/v1/events')).body.data).toHaveLength(5);
    });
  });

  describe('GET /v1/events/{id}', () => {
    it('when getting by id, then the event, 404 when missing, 409 when two sources share it', async () => {
      const one = await request(app).get('/v1/events/2');
      expect(one.status).toBe(200);
      expect(one.body).toMatchObject({
        id: '2',
        source: '/a',
        type: 'y',
        storedAt: expect.any(String),
      });
      expect((await request(app).get('/v1/events/nope')).status).toBe(404);
      const both = await request(app).get('/v1/events/1');
      expect(both.status).toBe(409);
      expect(both.body.code).toBe('ambiguous-id');
      const chosen = await request(app).get('/v1/events/1?source=/b');
      expect(chosen.body).toMatchObject({ id: '1', source: '/b', type: 'z' });
      expect((await request(app).get('/v1/events/1?source=/c')).status).toBe(404);
    });

    it('when an event is read again with its ETag, then 304 without a body; lists are not cached', async () => {
      const first = await request(app).get('/v1/events/2');
      const etag = first.headers['etag'] as string;
      expect(etag).toMatch(/^"[A-Za-z0-9_-]{32}"$/);
      expect(first.headers['cache-control']).toBe('private, max-age=3600');
      expect(first.headers['content-type']).toMatch(/^application\/json/);
      const again = await request(app).get('/v1/events/2').set('If-None-Match', etag);
      expect(again.status).toBe(304);
      expect(again.text).toBe('');
      expect(again.headers['etag']).toBe(etag);
      for (const header of ['"other"', `W/${etag}`, `"x", ${etag}`, '*']) {
        const r = await request(app).get('/v1/events/2').set('If-None-Match', header);
        expect([header, r.status]).toEqual([header, header === '"other"' ? 200 : 304]);
      }
      // Another event has another tag; the same event read twice has the same one.
      expect((await request(app).get('/v1/events/1?source=/b')).headers['etag']).not.toBe(etag);
      expect((await request(app).get('/v1/events/2')).headers['etag']).toBe(etag);
      const list = await request(app).get('/v1/events');
      expect(list.headers['etag']).toBeUndefined();
      expect(list.headers['cache-control']).toBe('no-store');
      expect((await request(app).get('/v1/stats')).headers['cache-control']).toBe('no-store');
    });
  });

  describe('GET /v1/stats', () => {
    it('when stats are asked per hour by type, then counts per bucket', async () => {
      const res = await request(app).get('/v1/stats').query({
        from: '2026-11-28T00:00:00Z',
        to: '2026-11-29T00:00:00Z',
        interval: 'hour',
        groupBy: 'type',
      });
      expect(res.status).toBe(200);
      expect(res.body).toEqual({
        from: '2026-11-28T00:00:00.000000Z',
        to: '2026-11-29T00:00:00.000000Z',
        interval: 'hour',
        groupBy: 'type',
        buckets: [
          { start: '2026-11-28T01:00:00.000000Z', key: 'x', count: 1 },
          { start: '2026-11-28T02:00:00.000000Z', key: 'y', count: 1 },
          { start: '2026-11-28T03:00:00.000000Z', key: 'x', count: 1 },
          { start: '2026-11-28T04:00:00.000000Z', key: 'x', count: 1 },
          { start: '2026-11-28T05:00:00.000000Z', key: 'z', count: 1 },
        ],
      });
      const daily = await request(app).get('/v1/stats').query({
        from: '2026-11-28T00:00:00Z',
        to: '2026-11-29T00:00:00Z',
        interval: 'day',
        groupBy: 'source',
        type: 'x',
      });
      expect(daily.body.buckets).toEqual([
        { start: '2026-11-28T00:00:00.000000Z', key: '/a', count: 1 },
        { start: '2026-11-28T00:00:00.000000Z', key: '/b', count: 2 },
      ]);
    });

    it.each([
      ['interval=week', 'interval'],
      ['groupBy=subject', 'groupBy'],
      ['interval=minute&from=2026-01-01T00:00:00Z&to=2026-11-28T00:00:00Z', 'interval'],
      ['from=2026-11-29T00:00:00Z&to=2026-11-28T00:00:00Z', 'from'],
    ])('when stats get %s, then 400 names %s', async (query, pointer) => {
      const res = await request(app).get(`/v1/stats?${query}`);
      expect(res.status).toBe(400);
      expect(res.body.errors.map((e: { pointer: string }) => e.pointer)).toContain(pointer);
    });
  });
});

describe('GET /v1/events on a store that bounds reads in time (BigQuery, REST fake)', () => {
  let fake: BigQueryFake;
  let app: Express;
  let schemas: SchemaRegistry;
  beforeAll(async () => {
    fake = await BigQueryFake.start();
    const store = testBigQueryStore(fake.endpoint, {
      range: { defaultRangeMs: 7 * 86_400_000, maxRangeMs: 31 * 86_400_000 },
    });
    await store.init();
    // The schema registry loaded before the tests count the store's queries.
    schemas = new SchemaRegistry(store.schemas, { refreshMs: 60_000, uriBase: 'http://q' });
    await schemas.reload();
    app = createQueryApp({
      store,
      schemas,
      logger: memoryLogger().logger,
      registry: createRegistry('query-api'),
      cursorSecret: secret,
    });
  });
  afterAll(() => fake.stop());

  it('when from and to are further apart than the store allows, then 400 range-too-large before any query', async () => {
    const before = fake.queries.length;
    const list = await request(app)
      .get('/v1/events')
      .query({ from: '2026-01-01T00:00:00Z', to: '2026-03-01T00:00:00Z' });
    expect(list.status).toBe(400);
    expect(list.body).toMatchObject({
      code: 'range-too-large',
      detail: 'from and to may be at most 31 days apart on this store',
    });
    const stats = await request(app)
      .get('/v1/stats')
      .query({ from: '2026-01-01T00:00:00Z', to: '2026-03-01T00:00:00Z', interval: 'day' });
    expect(stats.status).toBe(400);
    expect(fake.queries.length).toBe(before);
  });

  it('when an export has no from, then every chunk query uses the same window, pruned after the key', async () => {
    const store = testBigQueryStore(fake.endpoint, {
      range: { defaultRangeMs: 7 * 86_400_000, maxRangeMs: 31 * 86_400_000 },
    });
    await store.init();
    const now = Date.now();
    const r = parseInputEvents(
      Array.from({ length: 250 }, (_, i) => ({
        type: 'com.example.export',
        source: '/bq-export',
        id: `x-${i}`,
        time: new Date(now - 60_000 - i * 1000).toISOString(),
      })),
    );
    if (!r.ok) throw new Error('fixture invalid');
    await store.insert(r.events.map((event) => ({ event, meta })));
    const exportApp = createQueryApp({
      store,
      schemas,
      logger: memoryLogger().logger,
      registry: createRegistry('query-api'),
      cursorSecret: secret,
    });
    const before = fake.queries.length;
    const res = await request(exportApp)
      .get('/v1/events')
      .query({ source: '/bq-export' })
      .set('Accept', 'application/x-ndjson');
    expect(res.status).toBe(200);
    expect(res.text.trim().split('\n')).toHaveLength(250);
    const chunks = fake.queries.slice(before) as {
      query: string;
      queryParameters: { name: string; parameterValue: { value: string } }[];
    }[];
    expect(chunks.length).toBeGreaterThanOrEqual(2);
    const froms = new Set(
      chunks.map((q) => q.queryParameters.find((p) => p.name === 'from')!.parameterValue.value),
    );
    expect(froms.size).toBe(1);
    for (const q of chunks.slice(1)) expect(q.query).toContain('time <= @at');
  });

  it('when the range fits, then the query runs', async () => {
    const res = await request(app)
      .get('/v1/events')
      .query({ from: '2026-01-01T00:00:00Z', to: '2026-01-20T00:00:00Z' });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ data: [], nextCursor: null });
  });
});

describe('GET /v1/events when the store fails', () => {
  it('when the store throws, then 503 with Retry-After and no internals', async () => {
    const store = await DuckDbStore.open({ path: tempDuckDbPath() });
    await store.init();
    await store.close(); // every query now fails inside DuckDB
    const { logger, lines } = memoryLogger('query-api');
    const app = createQueryApp({
      store,
      logger,
      registry: createRegistry('query-api'),
      cursorSecret: secret,
    });
    const res = await request(app).get('/v1/events');
    expect(res.status).toBe(503);
    expect(res.headers['retry-after']).toBe('5');
    expect(res.body.code).toBe('unavailable');
    expect(JSON.stringify(res.body)).not.toMatch(/SELECT|duckdb|closed/i);
    expect(lines().some((l) => l.severity === 'ERROR')).toBe(true);
  });
});
