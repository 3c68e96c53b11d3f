import request from 'supertest';
import { MemoryBus } from '@eventpipe/bus/adapters';
import { createRegistry } from '@eventpipe/platform';
import { type EventStore, type InsertItem, type InsertResult } from '@eventpipe/store';
import { DuckDbStore } from '@eventpipe/store/adapters';
import { Worker } from '@eventpipe/subscriber-worker';
import {
  memoryLogger,
  metricValue,
  sampleEvent,
  tempDuckDbPath,
  waitFor,
  waitForCount,
} from '@eventpipe/testing';

/** The CloudEvents Pub/Sub binding's structured mode, as the publisher sends it. */
const STRUCTURED = { 'content-type': 'application/cloudevents+json' };

const wire = (overrides: Record<string, unknown> = {}) =>
  Buffer.from(
    JSON.stringify({ specversion: '1.0', time: '2026-11-28T05:00:00Z', ...sampleEvent(overrides) }),
  );

/** Wraps the real store; fails the first `failures` inserts (a store outage at the port). */
class FlakyStore {
  failures = 0;
  inserts = 0;
  constructor(readonly inner: EventStore) {}
  get kind() {
    return this.inner.kind;
  }
  async insert(items: InsertItem[]): Promise<InsertResult> {
    this.inserts += 1;
    if (this.failures > 0) {
      this.failures -= 1;
      throw new Error('store unavailable');
    }
    return this.inner.insert(items);
  }
}

describe('subscriber worker (memory bus, DuckDB file)', () => {
  let store: DuckDbStore;
  let bus: MemoryBus;
  let worker: Worker;
  let flaky: FlakyStore;

  beforeEach(async () => {
    store = await DuckDbStore.open({ path: tempDuckDbPath() });
    await store.init();
    bus = new MemoryBus({ nackDelayMs: 5 });
    flaky = new FlakyStore(store);
    const proxy = new Proxy(store, {
      get: (target, prop, receiver) =>
        prop === 'insert' ? flaky.insert.bind(flaky) : Reflect.get(target, prop, receiver),
    });
    worker = new Worker({
      bus,
      store: proxy,
      logger: memoryLogger('subscriber-worker').logger,
      registry: createRegistry('subscriber-worker'),
      batch: { maxRows: 50, maxBytes: 1 << 20, maxWaitMs: 20 },
      flowControl: { maxMessages: 1000, maxBytes: 1 << 26 },
      storeRetry: { initialDelayMs: 5, maxDelayMs: 20, windowMs: 200 },
      shutdownTimeoutMs: 2000,
    });
    worker.start();
  });

  afterEach(async () => {
    await worker.stop();
    await bus.close();
    await store.close();
  });

  it('when valid events arrive, then they are stored in batches and acked', async () => {
    const acked = waitForCount(worker, 'acked', 120);
    await bus.publish(
      Array.from({ length: 120 }, (_, i) => ({
        data: wire({ id: `v${i}` }),
        attributes: STRUCTURED,
      })),
    );
    await acked;
    expect(await store.list({ limit: 1000 })).toHaveLength(120);
    expect(bus.backlog).toBe(0);
    expect(flaky.inserts).toBeGreaterThanOrEqual(3); // 120 rows in batches of at most 50
  });

  const binary = { 'ce-specversion': '1.0', 'ce-id': 'b', 'ce-source': '/s', 'ce-type': 't' };
  it.each([
    ['invalid-json', Buffer.from('{not json'), STRUCTURED],
    ['invalid-encoding', Buffer.from([0xff, 0xfe]), STRUCTURED],
    ['schema-invalid', Buffer.from(JSON.stringify({ type: 't', source: '/s' })), STRUCTURED],
    ['schema-invalid', Buffer.from('{"\\u005f_proto__":1}'), STRUCTURED],
    [
      'schema-invalid',
      Buffer.from(
        '{"specversion":"1.0","id":"p","source":"/s","type":"t","data":{"a":[{"\\u0063onstructor":{}}]}}',
      ),
      STRUCTURED,
    ],
    [
      'schema-invalid',
      Buffer.from('{"deep":[{"\\u005f_proto__":{"polluted":true}}]}'),
      { ...binary, 'content-type': 'application/json' },
    ],
    ['too-large', Buffer.alloc(300 * 1024, 'a'), STRUCTURED],
    // Data that looks like an event is still not one without the binding's marks.
    ['not-a-cloudevent', wire({ id: 'lookalike' }), {}],
    ['not-a-cloudevent', wire({ id: 'lookalike' }), { 'content-type': 'application/json' }],
    ['unsupported-format', wire(), { 'content-type': 'application/cloudevents-batch+json' }],
    ['unsupported-format', wire(), { 'content-type': 'application/cloudevents+avro' }],
    ['invalid-json', Buffer.from('{'), { ...binary, 'content-type': 'application/json' }],
    ['invalid-encoding', Buffer.from([0xff]), { ...binary, 'content-type': 'text/plain' }],
    ['schema-invalid', Buffer.from('x'), { ...binary, 'ce-specversion': '0.3' }],
  ])(
    'when a message is %s (%#), then it is dead-lettered with that reason and acked',
    async (reason, data, attributes) => {
      const dead = new Promise<string>((resolve) =>
        worker.once('dead-lettered', (r) => resolve(r)),
      );
      const stored = waitForCount(worker, 'acked', 1);
      await bus.publish([
        { data, attributes: { origin: 'test', ...attributes } },
        { data: wire({ id: 'behind' }), attributes: STRUCTURED },
      ]);
      expect(await dead).toBe(reason);
      await stored;
      expect(bus.deadLettered).toHaveLength(1);
      expect(bus.deadLettered[0]!.attributes).toMatchObject({
        origin: 'test',
        'eventpipe-dlq-reason': reason,
        'eventpipe-dlq-message-id': '1',
      });
      expect(bus.deadLettered[0]!.attributes['eventpipe-dlq-detail']!.length).toBeGreaterThan(0);
      expect((await store.get('behind')).length).toBe(1);
      expect(await store.get('lookalike')).toEqual([]);
      await waitFor(() => (bus.backlog === 0 ? true : undefined));
    },
  );

  it('when a binary-mode message arrives, then its ce-* attributes and data are the event, data as sent', async () => {
    const acked = waitForCount(worker, 'acked', 3);
    const publishTime = Date.now();
    await bus.publish([
      {
        data: Buffer.from('{"n": 12345678901234567890}'),
        attributes: {
          ...binary,
          'ce-id': 'bin-json',
          'content-type': 'application/json',
          'ce-myext': 'v',
        },
      },
      {
        data: Buffer.from('héllo'),
        attributes: { ...binary, 'ce-id': 'bin-text', 'ce-datacontenttype': 'text/plain' },
      },
      {
        data: Buffer.from([0, 1, 255]),
        attributes: { ...binary, 'ce-id': 'bin-bytes', 'ce-time': '2026-11-28T05:00:00+01:00' },
      },
    ]);
    await acked;
    const [json] = await store.get('bin-json');
    expect(json).toMatchObject({
      data: '{"n": 12345678901234567890}',
      datacontenttype: 'application/json',
      extensions: '{"myext":"v"}',
      time_text: null,
    });
    // No time: the publish time stands in (this message never passed the publisher).
    expect(Date.parse(json!.time)).toBeGreaterThanOrEqual(publishTime - 1000);
    expect((await store.get('bin-text'))[0]).toMatchObject({
      data: '"héllo"',
      datacontenttype: 'text/plain',
    });
    expect((await store.get('bin-bytes'))[0]).toMatchObject({
      data: null,
      data_base64: 'AAH/',
      time_text: '2026-11-28T05:00:00+01:00',
      time: '2026-11-28T04:00:00.000000Z',
    });
  });

  it('when another event arrives under a stored (source, id), then it is dead-lettered as a conflicting duplicate with both digests', async () => {
    const acked = waitForCount(worker, 'acked', 2);
    await bus.publish([{ data: wire({ id: 'k', data: { v: 1 } }), attributes: STRUCTURED }]);
    await waitForCount(worker, 'acked', 1);
    const dead = new Promise<string>((resolve) => worker.once('dead-lettered', (r) => resolve(r)));
    await bus.publish([
      { data: wire({ id: 'k', data: { v: 2 } }), attributes: STRUCTURED }, // conflict
      { data: wire({ id: 'k', data: { v: 1 } }), attributes: STRUCTURED }, // the same again
    ]);
    expect(await dead).toBe('conflicting-duplicate');
    await acked;
    const [stored] = await store.get('k');
    expect(stored!.data).toBe('{"v":1}');
    expect(bus.deadLettered).toHaveLength(1);
    const attrs = bus.deadLettered[0]!.attributes;
    expect(attrs['eventpipe-dlq-reason']).toBe('conflicting-duplicate');
    expect(attrs['eventpipe-dlq-stored-digest']).toBe(stored!.digest);
    expect(attrs['eventpipe-dlq-digest']).toMatch(/^[0-9a-f]{64}$/);
    expect(attrs['eventpipe-dlq-digest']).not.toBe(stored!.digest);
    const text = (await request(worker.app).get('/metrics')).text;
    expect(text).toContain(
      'eventpipe_worker_rows_total{result="conflict",service="subscriber-worker"} 1',
    );
    expect(text).toContain(
      'eventpipe_worker_rows_total{result="duplicate",service="subscriber-worker"} 1',
    );
    expect(text).toContain(
      'eventpipe_worker_dead_lettered_total{reason="conflicting-duplicate",service="subscriber-worker"} 1',
    );
  });

  it('when the store fails briefly, then the batch is held and retried in place, not redelivered', async () => {
    flaky.failures = 2;
    const retries: number[] = [];
    worker.on('store-retry', (n) => retries.push(n));
    const nacks: number[] = [];
    worker.on('nacked', (n) => nacks.push(n));
    const acked = waitForCount(worker, 'acked', 10);
    await bus.publish(
      Array.from({ length: 10 }, (_, i) => ({
        data: wire({ id: `r${i}` }),
        attributes: STRUCTURED,
      })),
    );
    await acked;
    expect(retries).toEqual([1, 2]);
    expect(nacks).toEqual([]);
    expect(await store.list({ limit: 100 })).toHaveLength(10);
    expect(bus.deadLettered).toHaveLength(0);
  });

  it('when the store stays down past the retry window, then the batch is nacked, redelivered and stored after recovery', async () => {
    flaky.failures = 25; // waits of 5, 10, then 20 ms: about 10 fit in the 200 ms window, so 2 nacks
    const nacked = waitForCount(worker, 'nacked', 3);
    const acked = waitForCount(worker, 'acked', 3);
    await bus.publish(
      Array.from({ length: 3 }, (_, i) => ({
        data: wire({ id: `w${i}` }),
        attributes: STRUCTURED,
      })),
    );
    await nacked;
    await acked;
    expect(await store.list({ limit: 100 })).toHaveLength(3);
    expect(bus.deadLettered).toHaveLength(0);
  });

  it('when the insert commits but the ack never happens, then the redelivery stores nothing twice', async () => {
    // The worker fails between insert and ack: the store wrapper commits, then reports failure.
    let committed = 0;
    flaky.insert = async (items) => {
      flaky.inserts += 1;
      const r = await store.insert(items);
      committed += r.inserted;
      if (flaky.inserts === 1) throw new Error('worker died before ack');
      return r;
    };
    const acked = waitForCount(worker, 'acked', 5);
    await bus.publish(
      Array.from({ length: 5 }, (_, i) => ({
        data: wire({ id: `d${i}` }),
        attributes: STRUCTURED,
      })),
    );
    await acked;
    expect(flaky.inserts).toBeGreaterThanOrEqual(2);
    expect(committed).toBe(5);
    expect(await store.list({ limit: 100 })).toHaveLength(5);
  });

  it('when the store refuses one row of a batch, then that message is dead-lettered with the store reason and the rest acked', async () => {
    flaky.insert = async (items) => {
      const bad = items.findIndex((i) => i.event.id === 'refused');
      const r = await store.insert(items.filter((_, i) => i !== bad));
      return {
        ...r,
        rejected: bad >= 0 ? [{ index: bad, reason: 'invalid: JSON value is too deep' }] : [],
      };
    };
    const dead = new Promise<string>((resolve) => worker.once('dead-lettered', (r) => resolve(r)));
    const acked = waitForCount(worker, 'acked', 2);
    await bus.publish(
      ['ok-1', 'refused', 'ok-2'].map((id) => ({ data: wire({ id }), attributes: STRUCTURED })),
    );
    expect(await dead).toBe('store-rejected');
    await acked;
    expect(bus.deadLettered).toHaveLength(1);
    expect(bus.deadLettered[0]!.attributes).toMatchObject({
      'eventpipe-dlq-reason': 'store-rejected',
      'eventpipe-dlq-detail': 'invalid: JSON value is too deep',
    });
    expect(JSON.parse(bus.deadLettered[0]!.data.toString()).id).toBe('refused');
    expect((await store.list({ limit: 10 })).map((e) => e.id).sort()).toEqual(['ok-1', 'ok-2']);
    await waitFor(() => (bus.backlog === 0 ? true : undefined));
  });

  it('when stopped with a batch open, then the batch is flushed and acked before stop resolves', async () => {
    await worker.stop();
    worker = new Worker({
      bus,
      store,
      logger: memoryLogger().logger,
      registry: createRegistry('subscriber-worker'),
      batch: { maxRows: 500, maxBytes: 1 << 20, maxWaitMs: 60_000 },
      flowControl: { maxMessages: 1000, maxBytes: 1 << 26 },
      shutdownTimeoutMs: 2000,
    });
    worker.start();
    await bus.publish(
      Array.from({ length: 7 }, (_, i) => ({
        data: wire({ id: `s${i}` }),
        attributes: STRUCTURED,
      })),
    );
    await waitFor(() => (bus.backlog === 7 ? true : undefined)); // delivered, held in the open batch
    await worker.stop();
    expect(await store.list({ limit: 100 })).toHaveLength(7);
    expect(bus.backlog).toBe(0);
  });

  it('when probed, then readiness covers bus, store and subscription and metrics count outcomes', async () => {
    const acked = waitForCount(worker, 'acked', 1);
    await bus.publish([{ data: wire(), attributes: STRUCTURED }]);
    await acked;
    expect((await request(worker.app).get('/readyz')).body).toEqual({
      status: 'ready',
      checks: { bus: 'ok', store: 'ok', subscription: 'ok' },
    });
    const text = (await request(worker.app).get('/metrics')).text;
    expect(text).toContain(
      'eventpipe_worker_messages_total{outcome="acked",attempt="1",service="subscriber-worker"} 1',
    );
    expect(text).toContain(
      'eventpipe_worker_rows_total{result="inserted",service="subscriber-worker"} 1',
    );
    expect(text).toMatch(
      /eventpipe_worker_end_to_end_lag_seconds_count\{service="subscriber-worker"\} 1/,
    );
    expect(text).toMatch(
      /eventpipe_worker_publish_to_store_seconds_count\{service="subscriber-worker"\} 1/,
    );
    expect(text).toContain(
      'eventpipe_worker_messages_received_total{attempt="1",service="subscriber-worker"} 1',
    );
  });

  it('when a message is stored again after its row was committed, then it counts as redelivered', async () => {
    // The insert commits, then the worker fails before the ack: the message comes back.
    flaky.insert = async (items) => {
      flaky.inserts += 1;
      const r = await store.insert(items);
      if (flaky.inserts === 1) throw new Error('worker died before ack');
      return r;
    };
    worker.removeAllListeners();
    const acked = waitForCount(worker, 'acked', 1);
    await bus.publish([{ data: wire({ id: 'again' }), attributes: STRUCTURED }]);
    await acked;
    const text = (await request(worker.app).get('/metrics')).text;
    expect(metricValue(text, 'eventpipe_worker_rows_total', { result: 'redelivered' })).toBe(1);
    expect(metricValue(text, 'eventpipe_worker_rows_total', { result: 'duplicate' })).toBe(0);
    // Held and retried in place, so still its first delivery.
    expect(metricValue(text, 'eventpipe_worker_messages_received_total', { attempt: '1' })).toBe(1);
    expect(
      metricValue(text, 'eventpipe_worker_messages_total', { outcome: 'acked', attempt: '1' }),
    ).toBe(1);
  });
});
