import request from 'supertest';
import { PubSubBus } from '@eventpipe/bus/adapters';
import {
  BigQueryFake,
  describeWithEmulator,
  sampleEvent,
  testBigQueryStore,
  testBusOptions,
  uniqueName,
  waitFor,
} from '@eventpipe/testing';
import { testStack } from '../stack-fixture';

describeWithEmulator('failure: the store is down for 20 s under load', (host) => {
  it('when BigQuery answers 503 for 20 s while events keep coming, then all land after recovery and nothing is dead-lettered', async () => {
    const fake = await BigQueryFake.start();
    const base = uniqueName('outage');
    const bus = new PubSubBus(testBusOptions(host, 'outage'));
    await bus.init();
    const store = testBigQueryStore(fake.endpoint, {
      retry: { maxAttempts: 2, initialDelayMs: 50, maxDelayMs: 200 },
    });
    await store.init();
    const stack = testStack({
      bus,
      store,
      batch: { maxRows: 500, maxBytes: 5 << 20, maxWaitMs: 200 },
      flowControl: { maxMessages: 2000, maxBytes: 64 << 20 },
      storeRetry: { initialDelayMs: 250, maxDelayMs: 2000, windowMs: 300_000 },
      shutdownTimeoutMs: 5000,
    });
    const retries: number[] = [];
    const nacks: number[] = [];
    stack.worker.on('store-retry', (n) => retries.push(n));
    stack.worker.on('nacked', (n) => nacks.push(n));
    stack.worker.start();
    try {
      const source = `/outage/${base}`;
      const accepted: string[] = [];
      const post = async (round: number) => {
        const events = Array.from({ length: 100 }, (_, i) =>
          sampleEvent({ id: `o-${round}-${i}`, source }),
        );
        const res = await request(stack.publisher)
          .post('/v1/events')
          .set('Content-Type', 'application/json')
          .send(JSON.stringify(events));
        expect(res.status).toBe(202);
        accepted.push(...(res.body.ids as string[]));
      };
      await post(0);
      await waitFor(
        async () => ((await store.list({ limit: 1, source })).length ? true : undefined),
        { what: 'first events stored' },
      );

      const outageStarted = Date.now();
      fake.startOutage(20_000, 503);
      // Load continues through the outage: intake does not depend on the store.
      for (let round = 1; Date.now() - outageStarted < 20_000; round++) {
        await post(round);
        await new Promise((r) => setTimeout(r, 500)); // pacing of the load, not a wait for a result
      }
      expect(retries.length).toBeGreaterThan(0);
      // While the store is down, reads say so with a 503.
      fake.startOutage(5_000, 503);
      const during = await request(stack.query).get('/v1/events').query({ source });
      expect(during.status).toBe(503);

      await waitFor(
        async () => {
          const res = await request(stack.query)
            .get('/v1/stats')
            .query({ source, interval: 'day' });
          const stored =
            res.status === 200
              ? (res.body.buckets as { count: number }[]).reduce((n, b) => n + b.count, 0)
              : -1;
          return stored === accepted.length ? true : undefined;
        },
        { what: 'every accepted event after recovery', timeoutMs: 60_000, intervalMs: 500 },
      );
      const ids: string[] = [];
      let cursor: string | undefined;
      do {
        const page = await request(stack.query)
          .get('/v1/events')
          .query({ source, limit: 1000, ...(cursor ? { cursor } : {}) });
        ids.push(...(page.body.data as { id: string }[]).map((e) => e.id));
        cursor = page.body.nextCursor ?? undefined;
      } while (cursor);
      expect(ids).toHaveLength(accepted.length);
      expect(new Set(ids)).toEqual(new Set(accepted));
      expect(nacks).toEqual([]); // held and retried in place: no delivery attempt burned
      expect(await bus.pullDeadLetters(100)).toEqual([]);
    } finally {
      await stack.worker.stop();
      await bus.close();
      await fake.stop();
    }
  });
});
