import request from 'supertest';
import { createRegistry } from '@eventpipe/platform';
import { createQueryApp } from '@eventpipe/query-api';
import { LIMITS, parseInputEvents } from '@eventpipe/schema';
import type { EventStore, ListQuery } from '@eventpipe/store';
import { DuckDbStore } from '@eventpipe/store/adapters';
import { BigQueryFake, memoryLogger, tempDuckDbPath, testBigQueryStore } from '@eventpipe/testing';
import { ReadGate } from '../src/read-gate';

// A page of large events: 1 000 events of 255 KB in one page once took 261 MB and 4.5 s of CPU.
// A page ends at PAGE_MAX_BYTES (default 8 MiB) and the rest follows by cursor.

const DEFAULT_PAGE_MAX_BYTES = 8 * 1024 * 1024;
const EVENTS = 40;
const DATA_BYTES = 250 * 1024;

describe.each(['duckdb', 'bigquery'] as const)('GET /v1/events of large events on %s', (kind) => {
  let fake: BigQueryFake | undefined;
  let store: EventStore;
  let app: ReturnType<typeof createQueryApp>;
  /** What each store read returned, in bytes of its rows as JSON. */
  const reads: number[] = [];

  beforeAll(async () => {
    if (kind === 'bigquery') {
      fake = await BigQueryFake.start();
      store = testBigQueryStore(fake.endpoint);
    } else store = await DuckDbStore.open({ path: tempDuckDbPath() });
    await store.init();
    const now = Date.now();
    const r = parseInputEvents(
      Array.from({ length: EVENTS }, (_, i) => ({
        type: 'com.example.big',
        source: '/big',
        id: `big-${String(i).padStart(3, '0')}`,
        time: new Date(now - 60_000 - i * 1000).toISOString(),
        data: { i, pad: 'é'.repeat(DATA_BYTES / 2) },
      })),
    );
    if (!r.ok) throw new Error('fixture invalid');
    const at = new Date(now).toISOString();
    await store.insert(
      r.events.map((event) => ({
        event,
        meta: { receivedAt: at, publishedAt: at, messageId: 'm' },
      })),
    );
    // The store as the app sees it, recording the weight of what each list() returned.
    const watched = new Proxy(store, {
      get(target, prop) {
        if (prop === 'list') {
          return async (q: ListQuery) => {
            const rows = await target.list(q);
            reads.push(Buffer.byteLength(JSON.stringify(rows)));
            return rows;
          };
        }
        const value = Reflect.get(target, prop) as unknown;
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
    app = createQueryApp({
      store: watched,
      logger: memoryLogger().logger,
      registry: createRegistry('query-api'),
      cursorSecret: Buffer.from('0123456789abcdef0123456789abcdef'),
    });
  }, 60_000);
  afterAll(async () => {
    await store.close();
    await fake?.stop();
  });

  it('when the events of a page would pass PAGE_MAX_BYTES, then it ends early with a cursor, and the cursors walk every event once', async () => {
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const res: request.Response = await request(app)
        .get('/v1/events')
        .query({ limit: 1000, source: '/big', ...(cursor ? { cursor } : {}) });
      expect(res.status).toBe(200);
      // The bound, plus the one event that crosses it and the page's own JSON.
      expect(Buffer.byteLength(res.text)).toBeLessThan(DEFAULT_PAGE_MAX_BYTES + 2 * DATA_BYTES);
      seen.push(...(res.body.data as { id: string }[]).map((e) => e.id));
      cursor = res.body.nextCursor;
      pages += 1;
    } while (cursor && pages < 20);
    expect(pages).toBeGreaterThan(1);
    expect(seen).toEqual(
      Array.from({ length: EVENTS }, (_, i) => `big-${String(i).padStart(3, '0')}`),
    );
  });

  it('when they are exported, then every event comes once, in order, and no store read holds more than a chunk', async () => {
    reads.length = 0;
    const res = await request(app)
      .get('/v1/events')
      .query({ source: '/big' })
      .set('Accept', 'application/x-ndjson');
    expect(res.status).toBe(200);
    const ids = res.text
      .split('\n')
      .filter(Boolean)
      .map((l) => (JSON.parse(l) as { id: string }).id);
    expect(ids).toEqual(
      Array.from({ length: EVENTS }, (_, i) => `big-${String(i).padStart(3, '0')}`),
    );
    expect(reads.length).toBeGreaterThan(2);
    for (const bytes of reads) expect(bytes).toBeLessThan(LIMITS.exportChunkBytes + 2 * DATA_BYTES);
  });

  it('when events carry their weight in extensions, not data, then the bound holds as well', async () => {
    const now = Date.now();
    const heavy = parseInputEvents(
      Array.from({ length: 30 }, (_, i) => ({
        type: 'com.example.ext',
        source: '/ext',
        id: `ext-${String(i).padStart(3, '0')}`,
        time: new Date(now - 60_000 - i * 1000).toISOString(),
        ...Object.fromEntries(
          Array.from({ length: 50 }, (_, j) => [
            `x${String(j).padStart(2, '0')}`,
            '"'.repeat(1000),
          ]),
        ),
      })),
    );
    if (!heavy.ok) throw new Error('fixture invalid');
    const at = new Date(now).toISOString();
    await store.insert(
      heavy.events.map((event) => ({
        event,
        meta: { receivedAt: at, publishedAt: at, messageId: 'm' },
      })),
    );
    const small = createQueryApp({
      store,
      logger: memoryLogger().logger,
      registry: createRegistry('query-api'),
      cursorSecret: Buffer.from('0123456789abcdef0123456789abcdef'),
      pageMaxBytes: 256 * 1024,
    });
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const res: request.Response = await request(small)
        .get('/v1/events')
        .query({ limit: 1000, source: '/ext', ...(cursor ? { cursor } : {}) });
      // Each event is about 100 KB of JSON (every quote escaped): the bound plus one event.
      expect(Buffer.byteLength(res.text)).toBeLessThan(256 * 1024 + 110 * 1024);
      seen.push(...(res.body.data as { id: string }[]).map((e) => e.id));
      cursor = res.body.nextCursor;
      pages += 1;
    } while (cursor && pages < 40);
    expect(seen).toEqual(Array.from({ length: 30 }, (_, i) => `ext-${String(i).padStart(3, '0')}`));
  });

  it('when small events fill the page, then the byte bound does not cut it', async () => {
    const res = await request(app).get('/v1/events').query({ limit: 3, source: '/big' });
    expect(res.body.data).toHaveLength(3);
  });
});

describe('ReadGate', () => {
  const settle = () => new Promise((r) => setImmediate(r));

  it('when more reads come than it runs at once, then they wait their turn, and past the waiting bound 503', async () => {
    const gate = new ReadGate(2, 2);
    const order: string[] = [];
    const releases: (() => void)[] = [];
    const read = (name: string) =>
      gate.run(
        name,
        () =>
          new Promise<string>((resolve) => {
            order.push(`start ${name}`);
            releases.push(() => resolve(name));
          }),
      );
    const running = [read('a'), read('b'), read('c'), read('d')];
    await expect(read('e')).rejects.toMatchObject({ code: 'unavailable', status: 503 });
    await settle();
    expect(order).toEqual(['start a', 'start b']);
    releases.shift()!();
    await running[0];
    await settle();
    expect(order).toEqual(['start a', 'start b', 'start c']);
    while (releases.length) {
      releases.shift()!();
      await settle();
    }
    expect(await Promise.all(running)).toEqual(['a', 'b', 'c', 'd']);
  });

  it('when one consumer has as many reads running or waiting as there are slots, then its next is 503 and others still queue', async () => {
    const gate = new ReadGate(2, 8);
    const releases: (() => void)[] = [];
    const read = (owner: string) =>
      gate.run(owner, () => new Promise<void>((resolve) => releases.push(resolve)));
    const mine = [read('tenant-a'), read('tenant-a')];
    await expect(read('tenant-a')).rejects.toMatchObject({ code: 'unavailable' });
    const theirs = read('tenant-b');
    await settle();
    expect(releases).toHaveLength(2);
    releases.shift()!();
    await settle();
    expect(releases).toHaveLength(2); // tenant-b got the freed slot
    while (releases.length) {
      releases.shift()!();
      await settle();
    }
    await Promise.all([...mine, theirs]);
  });
});
