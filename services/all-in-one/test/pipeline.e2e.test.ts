import { PubSub, type Message } from '@google-cloud/pubsub';
import { PubSubBus } from '@eventpipe/bus/adapters';
import { createStack, type Stack } from '@eventpipe/all-in-one';
import { EventpipeClient, type EventInput, type StoredEvent } from '@eventpipe/client';
import { type EventStore, type InsertItem } from '@eventpipe/store';
import { DuckDbStore } from '@eventpipe/store/adapters';
import {
  BigQueryFake,
  describeWithEmulator,
  memoryLogger,
  sampleEvent,
  tempDuckDbPath,
  testBigQueryStore,
  testBusOptions,
  uniqueName,
  waitFor,
} from '@eventpipe/testing';

import { serve } from './stack-fixture';

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const TRACEPARENT = `00-${TRACE_ID}-00f067aa0ba902b7-01`;

const projectId = 'eventpipe-e2e';

describeWithEmulator(
  'pipeline end to end: publisher → Pub/Sub emulator → worker → store → query API',
  (host) => {
    let admin: PubSub;
    let bigquery: BigQueryFake;
    beforeAll(async () => {
      admin = new PubSub({ projectId, apiEndpoint: host, emulatorMode: true });
      bigquery = await BigQueryFake.start();
    });
    afterAll(async () => {
      await admin.close();
      await bigquery.stop();
    });

    async function openStore(kind: 'duckdb' | 'bigquery'): Promise<EventStore> {
      const store =
        kind === 'duckdb'
          ? await DuckDbStore.open({ path: tempDuckDbPath() })
          : testBigQueryStore(bigquery.endpoint, { projectId });
      await store.init();
      return store;
    }

    interface Running {
      stack: Stack;
      bus: PubSubBus;
      store: EventStore;
      names: { topic: string; dlqSubscription: string };
      /** The typed client on the two APIs, served on loopback. */
      client: (headers?: Record<string, string>) => EventpipeClient;
      workerLines: () => Record<string, unknown>[];
      inserts: {
        calls: number;
        results: { inserted: number; duplicates: number; redelivered: number }[];
      };
      stop(): Promise<void>;
    }

    /** Starts the three services on the emulator with fresh topic names and a fresh DuckDB file.
     * `afterInsert` runs after each committed insert at the store port, where a crash would strike. */
    async function start(
      hooks: { afterInsert?: (call: number) => void } = {},
      kind: 'duckdb' | 'bigquery' = 'duckdb',
    ): Promise<Running> {
      const options = testBusOptions(host, 'e2e', { projectId });
      const names = { topic: options.topic, dlqSubscription: options.deadLetterSubscription };
      const bus = new PubSubBus(options);
      await bus.init();
      const store = await openStore(kind);
      const inserts: Running['inserts'] = { calls: 0, results: [] };
      const storePort = Object.assign(Object.create(store) as EventStore, {
        insert: async (items: InsertItem[]) => {
          inserts.calls += 1;
          const result = await store.insert(items);
          inserts.results.push(result);
          hooks.afterInsert?.(inserts.calls);
          return result;
        },
      });
      const worker = memoryLogger('subscriber-worker');
      const stack = createStack({
        bus,
        store: storePort,
        loggers: {
          publisher: memoryLogger().logger,
          worker: worker.logger,
          query: memoryLogger().logger,
        },
        cursorSecret: Buffer.from('e2e-cursor-secret-0123456789'),
        batch: { maxRows: 500, maxBytes: 5 << 20, maxWaitMs: 200 },
        flowControl: { maxMessages: 1000, maxBytes: 64 << 20 },
        shutdownTimeoutMs: 3000,
      });
      const { publisher, query, close } = await serve(stack, bus, store);
      return {
        stack,
        bus,
        store,
        names,
        client: (headers) =>
          new EventpipeClient({ publisherUrl: publisher.url, queryUrl: query.url, headers }),
        workerLines: worker.lines,
        inserts,
        stop: close,
      };
    }

    const listAll = async (run: Running, filter: { source?: string; type?: string } = {}) => {
      const events: StoredEvent[] = [];
      for await (const e of run.client().list({ ...filter, pageSize: 1000 })) events.push(e);
      return events;
    };
    const event = (overrides: Record<string, unknown>) => sampleEvent(overrides) as EventInput;

    describe.each([['duckdb'], ['bigquery']] as const)('on %s', (kind) => {
      it('when a single event and a batch are POSTed, then GET returns exactly them with pipeline metadata', async () => {
        const run = await start({}, kind);
        try {
          const source = `/e2e/${uniqueName('src')}`;
          const single = event({ source, id: 'single-1', data: { n: 1, text: 'ü😀' } });
          const batch = Array.from({ length: 25 }, (_, i) =>
            event({ source, id: `batch-${i}`, type: 'com.example.batch' }),
          );
          const traced = run.client({ 'X-Request-Id': 'e2e-req-1', traceparent: TRACEPARENT });
          expect(await traced.publish(single)).toEqual({ accepted: 1, ids: ['single-1'] });
          expect((await run.client().publish(batch)).accepted).toBe(25);

          const stored = await waitFor(
            async () => {
              const rows = await listAll(run, { source });
              return rows.length >= 26 ? rows : undefined;
            },
            { what: '26 stored events', timeoutMs: 20_000 },
          );
          expect(stored.map((e) => e.id).sort()).toEqual(
            ['single-1', ...batch.map((e) => e.id!)].sort(),
          );

          const one = await run.client().get('single-1', { source });
          expect(one).toMatchObject({
            specversion: '1.0',
            source,
            type: single.type,
            data: { n: 1, text: 'ü😀' },
          });
          expect(one.messageId).toMatch(/^\d+$/);
          for (const k of ['receivedAt', 'publishedAt', 'storedAt'])
            expect(one[k]).toMatch(/^\d{4}-\d{2}-\d{2}T.*\d{6}Z$/);
          expect(Date.parse(one.storedAt)).toBeGreaterThanOrEqual(Date.parse(one.receivedAt));

          const typed = await listAll(run, { source, type: 'com.example.batch' });
          expect(typed).toHaveLength(25);
          const exported: string[] = [];
          for await (const e of run.client().export({ source })) exported.push(e.id);
          expect(exported).toEqual(stored.map((e) => e.id));
          const stats = await run.client().stats({ source, groupBy: 'type', interval: 'day' });
          expect(stats.buckets.map((b) => [b.key, b.count]).sort()).toEqual([
            ['com.example.batch', 25],
            [single.type, 1],
          ]);
          // The request id and the W3C trace context travelled as Pub/Sub attributes into the
          // worker's log lines, in Cloud Logging's trace fields.
          const line = await waitFor(
            () =>
              run
                .workerLines()
                .find((l) => l.requestId === 'e2e-req-1' && l.message === 'message received'),
            { what: 'worker log line with the request id' },
          );
          expect(line['logging.googleapis.com/trace']).toBe(TRACE_ID);
          expect(line['logging.googleapis.com/spanId']).toBe('00f067aa0ba902b7');
          expect(line['logging.googleapis.com/trace_sampled']).toBe(true);
        } finally {
          await run.stop();
        }
      });

      it('when the insert commits but the worker fails before acking, then Pub/Sub redelivers and nothing is stored twice', async () => {
        const run = await start(
          {
            afterInsert: (call) => {
              if (call === 1) throw new Error('worker died between insert and ack');
            },
          },
          kind,
        );
        try {
          const source = `/e2e/${uniqueName('crash')}`;
          const events = Array.from({ length: 40 }, (_, i) => event({ source, id: `c-${i}` }));
          expect((await run.client().publish(events)).accepted).toBe(40);
          const sum = () =>
            run.inserts.results.reduce(
              (a, r) => ({
                inserted: a.inserted + r.inserted,
                duplicates: a.duplicates + r.duplicates,
                redelivered: a.redelivered + r.redelivered,
              }),
              { inserted: 0, duplicates: 0, redelivered: 0 },
            );
          // Wait until all 40 were handled and the failed first batch came back once more: every
          // message then passed through insert(), the first batch twice.
          await waitFor(
            () => {
              const first = run.inserts.results[0]?.inserted ?? 0;
              const t = sum();
              return first > 0 && t.inserted + t.redelivered >= 40 + first ? true : undefined;
            },
            { what: 'all 40 handled and the first batch redelivered', timeoutMs: 30_000 },
          );
          const rows = await listAll(run, { source });
          expect(rows).toHaveLength(40);
          expect(new Set(rows.map((e) => e.id)).size).toBe(40);
          const firstBatch = run.inserts.results[0]!.inserted;
          expect(firstBatch).toBeGreaterThan(0);
          // Both stores recognise the rows of the batch that came back as stored from the same
          // messages: each row was written once.
          expect(sum()).toEqual({ inserted: 40, duplicates: 0, redelivered: firstBatch });
        } finally {
          await run.stop();
        }
      });
    });

    it('when poison is published straight to the topic, then it lands on the dead-letter topic with its reason and the valid messages around it are stored', async () => {
      const run = await start();
      try {
        const source = `/e2e/${uniqueName('poison')}`;
        const topic = admin.topic(run.names.topic);
        const valid = (id: string) =>
          Buffer.from(
            JSON.stringify({
              specversion: '1.0',
              time: '2026-11-28T05:00:00Z',
              ...sampleEvent({ source, id }),
            }),
          );
        // The CloudEvents Pub/Sub binding: structured mode says so in content-type.
        const structured = { 'content-type': 'application/cloudevents+json' };
        await topic.publishMessage({ data: valid('before'), attributes: structured });
        await topic.publishMessage({
          data: Buffer.from('{"type": "broken"'),
          attributes: { ...structured, case: 'non-json' },
        });
        await topic.publishMessage({
          data: Buffer.from(JSON.stringify({ source, type: 't' })),
          attributes: { ...structured, case: 'schema' },
        });
        await topic.publishMessage({
          data: Buffer.from([0xc3, 0x28, 0x7b]),
          attributes: { ...structured, case: 'encoding' },
        });
        await topic.publishMessage({
          data: Buffer.alloc(300 * 1024, 0x20), // over the 256 KiB event limit
          attributes: { ...structured, case: 'oversized' },
        });
        // An event's JSON without either mode's marks is not read as an event.
        await topic.publishMessage({ data: valid('lookalike'), attributes: { case: 'unmarked' } });
        await topic.publishMessage({ data: valid('after'), attributes: structured });

        const dead: Message[] = [];
        const dlq = admin.subscription(run.names.dlqSubscription);
        dlq.on('message', (m: Message) => {
          dead.push(m);
          m.ack();
        });
        try {
          await waitFor(() => (dead.length >= 5 ? true : undefined), {
            what: '5 dead-lettered messages',
            timeoutMs: 20_000,
          });
        } finally {
          await dlq.close();
        }
        const reasons = Object.fromEntries(
          dead.map((m) => [m.attributes.case, m.attributes['eventpipe-dlq-reason']]),
        );
        expect(reasons).toEqual({
          'non-json': 'invalid-json',
          schema: 'schema-invalid',
          encoding: 'invalid-encoding',
          oversized: 'too-large',
          unmarked: 'not-a-cloudevent',
        });
        const schemaDetail = dead.find((m) => m.attributes.case === 'schema')!.attributes[
          'eventpipe-dlq-detail'
        ];
        expect(schemaDetail).toMatch(/\/id/);
        const rows = await waitFor(
          async () => {
            const all = await listAll(run, { source });
            return all.length === 2 ? all : undefined;
          },
          { what: 'the two valid events' },
        );
        expect(rows.map((e) => e.id).sort()).toEqual(['after', 'before']);
      } finally {
        await run.stop();
      }
    });
  },
);
