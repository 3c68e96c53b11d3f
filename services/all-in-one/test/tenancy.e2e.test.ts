import { parse as parseCsv } from 'csv-parse/sync';
import request from 'supertest';
import type { Stack } from '@eventpipe/all-in-one';
import type { OutgoingMessage } from '@eventpipe/bus';
import { MemoryBus } from '@eventpipe/bus/adapters';
import { hashKey, type ApiKey } from '@eventpipe/platform';
import { matchesGrant, type Grant } from '@eventpipe/schema';
import type { EventStore } from '@eventpipe/store';
import { DuckDbStore } from '@eventpipe/store/adapters';
import { BigQueryFake, tempDuckDbPath, testBigQueryStore, waitFor } from '@eventpipe/testing';
import { testStack } from './stack-fixture';

// Producers and consumers as tenants: what each key may write, and what each key reads on every
// read path, inside and outside its grant, on both stores (the grant is part of the store query).

/** The in-process bus, counting what is published (a refusal must publish nothing). */
class CountingBus extends MemoryBus {
  published = 0;
  override async publish(messages: OutgoingMessage[]): Promise<string[]> {
    this.published += messages.length;
    return super.publish(messages);
  }
}

const key = (name: string) => `ep_${name}-key-for-tenancy-tests`;
const entry = (name: string, scopes: ApiKey['scopes'], grant: Grant = {}): ApiKey => ({
  name,
  scopes,
  sha256: hashKey(key(name)),
  ...(grant.sources ? { sources: [...grant.sources] } : {}),
  ...(grant.types ? { types: [...grant.types] } : {}),
});

const READERS: Record<string, Grant> = {
  'reader-all': {},
  'reader-a': { sources: ['/partner-a/*'] },
  'reader-orders': { sources: ['/shop'], types: ['com.shop.order.*'] },
  'reader-exact': { sources: ['/partner-b/z', '/shop'], types: ['com.shop.payment.done'] },
};
const KEYS: ApiKey[] = [
  entry('writer-a', ['events:write'], { sources: ['/partner-a/*'] }),
  entry('writer-all', ['events:write']),
  ...Object.entries(READERS).map(([name, grant]) => entry(name, ['events:read'], grant)),
];

/** The seeded events: [source, type, id], the writer that may send them. */
const SEED: { source: string; type: string; id: string; writer: string }[] = [
  { source: '/partner-a/x', type: 'com.partner.made', id: 'a-1', writer: 'writer-a' },
  { source: '/partner-a/y/z', type: 'com.partner.made', id: 'a-2', writer: 'writer-a' },
  { source: '/partner-a', type: 'com.partner.made', id: 'a-3', writer: 'writer-all' },
  { source: '/partner-ab/x', type: 'com.partner.made', id: 'ab-1', writer: 'writer-all' },
  { source: '/partner-b/z', type: 'com.partner.made', id: 'b-1', writer: 'writer-all' },
  { source: '/shop', type: 'com.shop.order.created', id: 's-1', writer: 'writer-all' },
  { source: '/shop', type: 'com.shop.order.paid', id: 's-2', writer: 'writer-all' },
  { source: '/shop', type: 'com.shop.payment.done', id: 's-3', writer: 'writer-all' },
  { source: '/shop/eu', type: 'com.shop.order.created', id: 's-4', writer: 'writer-all' },
  // The same id under two sources: by id, each reader sees only its own.
  { source: '/partner-a/x', type: 'com.partner.made', id: 'twin', writer: 'writer-a' },
  { source: '/shop', type: 'com.shop.order.created', id: 'twin', writer: 'writer-all' },
];

const visibleTo = (reader: string) =>
  SEED.filter(
    (e) =>
      matchesGrant(e.source, READERS[reader]!.sources) &&
      matchesGrant(e.type, READERS[reader]!.types),
  )
    .map((e) => `${e.source}#${e.id}`)
    .sort();

const post = (stack: Stack, writer: string, body: unknown) =>
  request(stack.publisher)
    .post('/v1/events')
    .set('Authorization', `Bearer ${key(writer)}`)
    .set('Content-Type', 'application/json')
    .send(JSON.stringify(body));

const get = (stack: Stack, reader: string, path: string, accept = 'application/json') =>
  request(stack.query)
    .get(path)
    .set('Authorization', `Bearer ${key(reader)}`)
    .set('Accept', accept);

describe.each(['duckdb', 'bigquery'] as const)('tenancy on %s', (kind) => {
  let fake: BigQueryFake | undefined;
  let bus: CountingBus;
  let store: EventStore;
  let stack: Stack;

  const storedCount = async () => {
    const res = await get(stack, 'reader-all', '/v1/stats?interval=day');
    return (res.body.buckets as { count: number }[]).reduce((n, b) => n + b.count, 0);
  };

  beforeAll(async () => {
    bus = new CountingBus();
    if (kind === 'bigquery') {
      fake = await BigQueryFake.start();
      store = testBigQueryStore(fake.endpoint);
    } else {
      store = await DuckDbStore.open({ path: tempDuckDbPath() });
    }
    await store.init();
    stack = testStack({ bus, store, apiKeys: KEYS });
    stack.worker.start();
    for (const e of SEED) {
      const res = await post(stack, e.writer, { type: e.type, source: e.source, id: e.id });
      expect([e.id, res.status]).toEqual([e.id, 202]);
    }
    await waitFor(async () => ((await storedCount()) === SEED.length ? true : undefined), {
      what: `${SEED.length} seeded events stored`,
    });
  }, 60_000);
  afterAll(async () => {
    await stack.worker.stop();
    await bus.close();
    await store.close();
    await fake?.stop();
  });

  describe('POST /v1/events with a key limited to sources', () => {
    it('when every source matches its grant, then 202 and each event records the key as producer', async () => {
      const res = await post(stack, 'writer-a', [
        { type: 't', source: '/partner-a/new', id: 'w-1' },
      ]);
      expect(res.status).toBe(202);
      await waitFor(async () => {
        const one = await get(stack, 'reader-all', '/v1/events/w-1');
        return one.status === 200 ? one : undefined;
      }).then((one) => expect(one.body.producer).toBe('writer-a'));
    });

    it.each([
      ['another source', [{ type: 't', source: '/partner-b/x', id: 'f-1' }], [0]],
      [
        'a source that only shares the prefix text',
        [{ type: 't', source: '/partner-ab/q', id: 'f-2' }],
        [0],
      ],
      [
        'one foreign event in a batch',
        [
          { type: 't', source: '/partner-a/ok', id: 'f-3' },
          { type: 't', source: '/shop', id: 'f-4' },
          { type: 't', source: '/partner-a/ok', id: 'f-5' },
        ],
        [1],
      ],
    ])(
      'when it sends %s, then 403 source-not-allowed names each and nothing is published',
      async (_what, events, indexes) => {
        const published = bus.published;
        const res = await post(stack, 'writer-a', events);
        expect(res.status).toBe(403);
        expect(res.body.code).toBe('source-not-allowed');
        expect(res.body.errors.map((e: { index: number }) => e.index)).toEqual(indexes);
        expect(res.body.errors[0].pointer).toBe(`/${indexes[0]}/source`);
        expect(bus.published).toBe(published);
      },
    );

    it('when binary mode carries a foreign ce-source, then 403 points at the header', async () => {
      const res = await request(stack.publisher)
        .post('/v1/events')
        .set('Authorization', `Bearer ${key('writer-a')}`)
        .set({ 'ce-specversion': '1.0', 'ce-id': 'f-6', 'ce-source': '/shop', 'ce-type': 't' })
        .set('Content-Type', 'application/json')
        .send('{"x":1}');
      expect(res.status).toBe(403);
      expect(res.body.errors).toEqual([
        { index: 0, pointer: 'ce-source', detail: "source /shop is not among the key's sources" },
      ]);
    });

    it('when a key has no sources, then it writes any source', async () => {
      expect(
        (await post(stack, 'writer-all', { type: 't', source: '/any/where', id: 'w-2' })).status,
      ).toBe(202);
    });
  });

  describe('every read path with a key limited to sources and types', () => {
    const readers = Object.keys(READERS);
    const seeded = (keys: string[]) =>
      keys.filter((k) => SEED.some((e) => `${e.source}#${e.id}` === k)).sort();

    it.each(readers)(
      'when %s lists pages (JSON and CloudEvents batch), then it gets exactly its events',
      async (reader) => {
        const json = await get(stack, reader, '/v1/events?limit=1000');
        expect(json.status).toBe(200);
        const pageKeys = (json.body.data as { source: string; id: string }[]).map(
          (e) => `${e.source}#${e.id}`,
        );
        expect(seeded(pageKeys)).toEqual(visibleTo(reader));
        const batch = await get(
          stack,
          reader,
          '/v1/events?limit=1000',
          'application/cloudevents-batch+json',
        );
        const batchKeys = (JSON.parse(batch.text) as { source: string; id: string }[]).map(
          (e) => `${e.source}#${e.id}`,
        );
        expect(seeded(batchKeys)).toEqual(visibleTo(reader));
      },
    );

    it.each(readers)(
      'when %s exports NDJSON and CSV, then it gets exactly its events',
      async (reader) => {
        const ndjson = await get(stack, reader, '/v1/events', 'application/x-ndjson');
        const ndKeys = ndjson.text
          .split('\n')
          .filter(Boolean)
          .map((l) => {
            const e = JSON.parse(l) as { source: string; id: string };
            return `${e.source}#${e.id}`;
          });
        expect(seeded(ndKeys)).toEqual(visibleTo(reader));
        const csv = await get(stack, reader, '/v1/events', 'text/csv');
        const rows = parseCsv(csv.text, { columns: true }) as { source: string; id: string }[];
        expect(seeded(rows.map((r) => `${r.source}#${r.id}`))).toEqual(visibleTo(reader));
      },
    );

    it.each(readers)('when %s asks for stats, then it counts only its events', async (reader) => {
      const [bySource, byType, all, page] = await Promise.all([
        get(stack, reader, '/v1/stats?interval=day&groupBy=source'),
        get(stack, reader, '/v1/stats?interval=day&groupBy=type'),
        get(stack, reader, '/v1/stats?interval=day'),
        get(stack, reader, '/v1/events?limit=1000'),
      ]);
      const events = page.body.data as { source: string; type: string }[];
      const counted = (res: request.Response) =>
        Object.fromEntries(
          (res.body.buckets as { key: string; count: number }[]).map((b) => [b.key, b.count]),
        );
      const tally = (key: 'source' | 'type') =>
        events.reduce<Record<string, number>>(
          (t, e) => ({ ...t, [e[key]]: (t[e[key]] ?? 0) + 1 }),
          {},
        );
      // The counts are exactly those of the events the reader can list, and no others.
      expect(counted(bySource)).toEqual(tally('source'));
      expect(counted(byType)).toEqual(tally('type'));
      const total = (all.body.buckets as { count: number }[]).reduce((n, b) => n + b.count, 0);
      expect(total).toBe(events.length);
      expect(events.length).toBeGreaterThanOrEqual(visibleTo(reader).length);
      for (const e of events) {
        expect(matchesGrant(e.source, READERS[reader]!.sources)).toBe(true);
        expect(matchesGrant(e.type, READERS[reader]!.types)).toBe(true);
      }
    });

    it.each(readers)(
      'when %s gets events by id, then those outside its grant are 404, as missing ones',
      async (reader) => {
        for (const e of SEED.filter((x) => x.id !== 'twin')) {
          const res = await get(
            stack,
            reader,
            `/v1/events/${e.id}?source=${encodeURIComponent(e.source)}`,
          );
          const inside = visibleTo(reader).includes(`${e.source}#${e.id}`);
          expect([e.id, res.status]).toEqual([e.id, inside ? 200 : 404]);
          if (!inside) expect(res.body.code).toBe('not-found');
        }
        // An id two sources share: a reader of one of them gets it alone, not a 409.
        const twin = await get(stack, reader, '/v1/events/twin');
        const mine = visibleTo(reader).filter((k) => k.endsWith('#twin'));
        expect(twin.status).toBe(mine.length === 0 ? 404 : mine.length === 1 ? 200 : 409);
        if (mine.length === 1) expect(`${twin.body.source}#twin`).toBe(mine[0]);
      },
    );

    it('when a page is asked with filters outside the grant, then nothing outside comes back', async () => {
      const res = await get(stack, 'reader-a', '/v1/events?source=/shop');
      expect(res.status).toBe(200);
      expect(res.body.data).toEqual([]);
    });
  });

  describe('producer and cursors', () => {
    it("when events are listed by producer, then only that key's come back", async () => {
      const res = await get(stack, 'reader-all', '/v1/events?producer=writer-a&limit=1000');
      const ids = (res.body.data as { id: string; producer: string }[]).map((e) => e.producer);
      expect(new Set(ids)).toEqual(new Set(['writer-a']));
      expect(res.body.data.length).toBeGreaterThanOrEqual(
        SEED.filter((e) => e.writer === 'writer-a').length,
      );
    });

    it('when a cursor issued to one key is used with another, then 400 invalid-cursor; with its own key it pages on', async () => {
      const first = await get(stack, 'reader-all', '/v1/events?limit=2');
      const cursor = first.body.nextCursor as string;
      expect(cursor).toEqual(expect.any(String));
      const other = await get(stack, 'reader-a', `/v1/events?limit=2&cursor=${cursor}`);
      expect(other.status).toBe(400);
      expect(other.body.code).toBe('invalid-cursor');
      const same = await get(stack, 'reader-all', `/v1/events?limit=2&cursor=${cursor}`);
      expect(same.status).toBe(200);
    });
  });
});
