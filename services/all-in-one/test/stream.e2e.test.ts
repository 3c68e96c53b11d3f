import { request as httpRequest } from 'node:http';
import { PubSub } from '@google-cloud/pubsub';
import type { Stack } from '@eventpipe/all-in-one';
import type { EventBus } from '@eventpipe/bus';
import { MemoryBus, PubSubBus } from '@eventpipe/bus/adapters';
import { EventpipeClient, sseMessages } from '@eventpipe/client';
import { createRegistry, hashKey, type ApiKey } from '@eventpipe/platform';
import { storedKeyOf, type EventStore, type StoredKey } from '@eventpipe/store';
import { DuckDbStore } from '@eventpipe/store/adapters';
import { Worker } from '@eventpipe/subscriber-worker';
import {
  BigQueryFake,
  describeWithEmulator,
  memoryLogger,
  tempDuckDbPath,
  testBigQueryStore,
  testBusOptions,
  uniqueName,
  waitFor,
} from '@eventpipe/testing';
import { serve, testStack, type Served } from './stack-fixture';

/**
 * GET /v1/events/stream end to end, with the default stream settings: on DuckDB with the
 * in-process bus (npm start's wiring) and on the BigQuery fake with Pub/Sub on the emulator.
 * Resumption is checked by exact id sets over 10 000 events, through dropped connections and a
 * worker restart.
 */
const key = (name: string) => `ep_${name}-key-for-stream-tests-0123`;
const KEYS: ApiKey[] = [
  { name: 'writer', scopes: ['events:write'], sha256: hashKey(key('writer')) },
  { name: 'reader', scopes: ['events:read'], sha256: hashKey(key('reader')) },
  {
    name: 'reader-a',
    scopes: ['events:read'],
    sources: ['/stream-a/*'],
    sha256: hashKey(key('reader-a')),
  },
];
const auth = (who: string) => ({ Authorization: `Bearer ${key(who)}` });
const projectId = 'eventpipe-stream';

describeWithEmulator('GET /v1/events/stream', (host) => {
  let bigquery: BigQueryFake;
  let admin: PubSub;
  beforeAll(async () => {
    bigquery = await BigQueryFake.start({ recordRequests: false });
    admin = new PubSub({ projectId, apiEndpoint: host, emulatorMode: true });
  });
  afterAll(async () => {
    await admin.close();
    await bigquery.stop();
  });

  describe.each(['duckdb', 'bigquery'] as const)('on %s', (kind) => {
    let served: Served;
    let bus: EventBus;
    let store: EventStore;
    let stack: Stack;
    const source = `/stream/${uniqueName(kind)}`;

    const post = async (events: unknown[], who = 'writer') => {
      const res = await fetch(`${served.publisher.url}/v1/events`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', ...auth(who) },
        body: JSON.stringify(events),
      });
      expect(res.status).toBe(202);
      return ((await res.json()) as { ids: string[] }).ids;
    };
    const open = (query: string, headers: Record<string, string> = {}, signal?: AbortSignal) =>
      fetch(`${served.query.url}/v1/events/stream?${query}`, {
        headers: { Accept: 'text/event-stream', ...auth('reader'), ...headers },
        signal,
      });

    beforeAll(async () => {
      if (kind === 'duckdb') {
        bus = new MemoryBus();
        store = await DuckDbStore.open({ path: tempDuckDbPath() });
      } else {
        const pubsub = new PubSubBus(testBusOptions(host, 'stream', { projectId }));
        await pubsub.init();
        bus = pubsub;
        store = testBigQueryStore(bigquery.endpoint, { projectId });
      }
      await store.init();
      stack = testStack({ bus, store, apiKeys: KEYS });
      served = await serve(stack, bus, store);
    }, 60_000);
    afterAll(() => served?.close());

    it('when an event is POSTed, then an open stream delivers it: id, event type and the stored event', async () => {
      const client = new EventpipeClient({ queryUrl: served.query.url, apiKey: key('reader') });
      const abort = new AbortController();
      const seen = (async () => {
        for await (const item of client.stream({ source, signal: abort.signal })) return item;
        return undefined;
      })();
      // The stream is live once its first comment arrived; give it a moment to subscribe.
      await new Promise((r) => setTimeout(r, 300));
      const [id] = await post([
        { type: 'com.example.stream', source, id: 'first', data: { n: 1.5 } },
      ]);
      const item = await Promise.race([
        seen,
        new Promise<undefined>((r) => setTimeout(() => r(undefined), 15_000)),
      ]);
      abort.abort();
      expect(item?.event).toMatchObject({ id, source, type: 'com.example.stream' });
      expect(item?.id).toMatch(/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/);
    }, 30_000);

    it('when 10 000 events arrive through dropped connections and a worker restart, then resuming with Last-Event-ID gives each exactly once, in store order', async () => {
      const src = `${source}/bulk`;
      const received: string[] = [];
      let last: string | undefined;
      let connections = 0;
      let stop = false;
      let current: AbortController | undefined;
      // The consumer: reads, drops its connection every 2500 events, resumes with Last-Event-ID.
      const consumer = (async () => {
        while (!stop) {
          const abort = new AbortController();
          current = abort;
          connections += 1;
          const res = await open(
            `source=${encodeURIComponent(src)}`,
            last ? { 'Last-Event-ID': last } : {},
            abort.signal,
          ).catch(() => undefined);
          if (!res) continue;
          if (res.status !== 200) throw new Error(`stream answered ${res.status}`);
          let sinceConnect = 0;
          try {
            for await (const m of sseMessages(res)) {
              if (m.data === undefined) continue;
              received.push((JSON.parse(m.data) as { id: string }).id);
              last = m.id;
              sinceConnect += 1;
              if (sinceConnect >= 2500 || stop) {
                abort.abort();
                break;
              }
            }
          } catch {
            // aborted: reconnect
          }
        }
      })();
      await new Promise((r) => setTimeout(r, 300));
      const sent: string[] = [];
      for (let b = 0; b < 20; b++) {
        const events = Array.from({ length: 500 }, (_, i) => ({
          type: `com.example.bulk.${i % 3}`,
          source: src,
          id: `bulk-${b}-${i}`,
          data: { b, i },
        }));
        sent.push(...(await post(events)));
        if (b === 9) {
          // The worker restarts in the middle: a new one takes over the subscription.
          await stack.worker.stop();
          stack.worker = new Worker({
            bus,
            store,
            logger: memoryLogger().logger,
            registry: createRegistry('subscriber-worker'),
            batch: { maxRows: 100, maxBytes: 1 << 20, maxWaitMs: 20 },
            flowControl: { maxMessages: 100, maxBytes: 1 << 24 },
            shutdownTimeoutMs: 1000,
          });
          stack.worker.start();
        }
      }
      await waitFor(() => (received.length >= sent.length ? true : undefined), {
        what: `${sent.length} events streamed (have ${received.length})`,
        timeoutMs: 180_000,
        intervalMs: 200,
      });
      // Nothing more arrives: no duplicate after the last.
      await new Promise((r) => setTimeout(r, 2500));
      stop = true;
      current?.abort();
      await consumer.catch(() => undefined);
      expect(received.length).toBe(sent.length);
      expect(new Set(received).size).toBe(sent.length);
      expect([...received].sort()).toEqual([...sent].sort());
      // In store order: as the store lists them by (stored time, source, id).
      const inStore: string[] = [];
      let after: StoredKey | undefined;
      for (;;) {
        const rows = await store.listStored({
          after,
          until: new Date().toISOString(),
          filter: { source: src, from: new Date(Date.now() - 3_600_000).toISOString() },
          limit: 1000,
        });
        inStore.push(...rows.map((r) => r.id));
        if (rows.length < 1000) break;
        after = storedKeyOf(rows.at(-1)!);
      }
      expect(received).toEqual(inStore);
      expect(connections).toBeGreaterThanOrEqual(4);
    }, 240_000);

    it("when a key is limited to some sources, then its stream carries only those, and a token from another key's stream is refused", async () => {
      const abort = new AbortController();
      const res = await fetch(`${served.query.url}/v1/events/stream`, {
        headers: { Accept: 'text/event-stream', ...auth('reader-a') },
        signal: abort.signal,
      });
      expect(res.status).toBe(200);
      const got: { source: string; id?: string }[] = [];
      const reading = (async () => {
        try {
          for await (const m of sseMessages(res)) {
            if (m.data) got.push({ ...(JSON.parse(m.data) as { source: string }), id: m.id });
          }
        } catch {
          // aborted
        }
      })();
      await new Promise((r) => setTimeout(r, 300));
      await post([
        { type: 't', source: '/stream-b/x', id: `b-${kind}` },
        { type: 't', source: '/stream-a/x', id: `a-${kind}` },
      ]);
      await waitFor(() => (got.length >= 1 ? true : undefined), { what: 'the /stream-a event' });
      await new Promise((r) => setTimeout(r, 2500));
      abort.abort();
      await reading;
      expect(got.map((g) => g.source)).toEqual(['/stream-a/x']);
      // That token belongs to reader-a's stream: another key may not resume with it.
      const other = await open('', { 'Last-Event-ID': got[0]!.id! });
      expect(other.status).toBe(400);
      const problem = (await other.json()) as { code: string; errors: { pointer: string }[] };
      expect(problem.code).toBe('invalid-cursor');
      expect(problem.errors[0]!.pointer).toBe('Last-Event-ID');
    }, 30_000);

    it('when a reader keeps reading large events, then it is never cut: the server waits for the socket, it does not count its own burst', async () => {
      const src = `${source}/large`;
      const abort = new AbortController();
      const res = await open(`source=${encodeURIComponent(src)}`, {}, abort.signal);
      let count = 0;
      let text = '';
      const reading = (async () => {
        const decoder = new TextDecoder();
        // Line by line as the chunks come (rescanning all 10 MB per chunk would make this
        // reader, in the server's own process, the slow one).
        let partial = '';
        try {
          for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
            const lines = (partial + decoder.decode(chunk, { stream: true })).split('\n');
            partial = lines.pop()!;
            for (const line of lines) {
              if (line.startsWith('event: ')) count += 1;
              if (line.startsWith(': disconnected')) {
                text += `${line}\n`;
                return;
              }
            }
          }
        } catch {
          // aborted at the end
        }
      })();
      await new Promise((r) => setTimeout(r, 300));
      const big = 'y'.repeat(100_000);
      for (let b = 0; b < 5; b++) {
        await post(
          Array.from({ length: 20 }, (_, i) => ({
            type: 't',
            source: src,
            id: `large-${b}-${i}`,
            data: { big },
          })),
        );
      }
      await waitFor(() => (count >= 100 || text.includes(': disconnected') ? true : undefined), {
        what: '100 large events streamed',
        timeoutMs: 30_000,
      });
      abort.abort();
      await reading;
      expect(text).not.toContain(': disconnected');
      expect(count).toBe(100);
    }, 60_000);

    it('when a connection drops before any event, then its start id resumes it with nothing lost', async () => {
      const src = `${source}/early`;
      const abort = new AbortController();
      const res = await open(`source=${encodeURIComponent(src)}`, {}, abort.signal);
      let startId: string | undefined;
      for await (const m of sseMessages(res)) {
        if (m.id !== undefined) {
          startId = m.id;
          break;
        }
      }
      abort.abort();
      expect(startId).toBeDefined();
      const ids = await post(
        Array.from({ length: 5 }, (_, i) => ({ type: 't', source: src, id: `early-${i}` })),
      );
      const resumed = new AbortController();
      const again = await open(
        `source=${encodeURIComponent(src)}`,
        { 'Last-Event-ID': startId! },
        resumed.signal,
      );
      const got: string[] = [];
      try {
        for await (const m of sseMessages(again)) {
          if (m.data) got.push((JSON.parse(m.data) as { id: string }).id);
          if (got.length === 5) break;
        }
      } finally {
        resumed.abort();
      }
      expect(got.sort()).toEqual([...ids].sort());
    }, 30_000);

    it('when an event has the id "stream", then GET /v1/events/stream without asking for a stream returns that event', async () => {
      await post([{ type: 't', source: `${source}/sid`, id: 'stream' }]);
      const url = `${served.query.url}/v1/events/stream?source=${encodeURIComponent(`${source}/sid`)}`;
      const event = await waitFor(
        async () => {
          const r = await fetch(url, { headers: { ...auth('reader') } });
          return r.status === 200 ? ((await r.json()) as { id: string }) : undefined;
        },
        { what: 'the event "stream" by id' },
      );
      expect(event.id).toBe('stream');
    });

    it('when a reader stops reading, then it is cut once its unread bytes pass the bound, with a comment saying why', async () => {
      const src = `${source}/slow`;
      // A raw socket that takes nothing until the events are sent.
      const chunks: Buffer[] = [];
      const url = new URL(`${served.query.url}/v1/events/stream?source=${encodeURIComponent(src)}`);
      const ended = new Promise<void>((resolve) => {
        const req = httpRequest(
          url,
          { headers: { Accept: 'text/event-stream', ...auth('reader') } },
          (res) => {
            res.pause();
            res.on('data', (c: Buffer) => chunks.push(c));
            res.on('end', () => resolve());
            setTimeout(() => res.resume(), 8000);
          },
        );
        req.end();
      });
      await new Promise((r) => setTimeout(r, 300));
      // More than the sockets' own buffers hold (several MiB on loopback): 20 MB.
      const big = 'x'.repeat(20_000);
      for (let b = 0; b < 4; b++) {
        await post(
          Array.from({ length: 250 }, (_, i) => ({
            type: 't',
            source: src,
            id: `slow-${b}-${i}`,
            data: { big },
          })),
        );
      }
      await ended;
      const text = Buffer.concat(chunks).toString();
      expect(text).toMatch(
        /: disconnected: more than \d+ bytes unread; reconnect with Last-Event-ID/,
      );
    }, 60_000);
  });
});

describe('GET /v1/events/stream limits', () => {
  it('when STREAM_MAX_CONCURRENT streams are open, then one more is 429 too-many-streams with Retry-After', async () => {
    const store = await DuckDbStore.open({ path: tempDuckDbPath() });
    await store.init();
    const bus = new MemoryBus();
    const served = await serve(testStack({ bus, store, stream: { maxConcurrent: 2 } }), bus, store);
    const aborts = [new AbortController(), new AbortController()];
    try {
      const opened = await Promise.all(
        aborts.map((a) =>
          fetch(`${served.query.url}/v1/events/stream`, {
            headers: { Accept: 'text/event-stream' },
            signal: a.signal,
          }),
        ),
      );
      expect(opened.map((r) => r.status)).toEqual([200, 200]);
      const third = await fetch(`${served.query.url}/v1/events/stream`, {
        headers: { Accept: 'text/event-stream' },
      });
      expect(third.status).toBe(429);
      expect(third.headers.get('retry-after')).toBe('5');
      expect(((await third.json()) as { code: string }).code).toBe('too-many-streams');
      // A closed stream frees its place.
      aborts[0]!.abort();
      await waitFor(
        async () => {
          const r = await fetch(`${served.query.url}/v1/events/stream`, {
            headers: { Accept: 'text/event-stream' },
            signal: AbortSignal.timeout(500),
          }).catch(() => undefined);
          if (r?.status === 200) {
            await r.body?.cancel().catch(() => undefined);
            return true;
          }
          await r?.body?.cancel().catch(() => undefined);
          return undefined;
        },
        { what: 'a place freed' },
      );
    } finally {
      for (const a of aborts) a.abort();
      await served.close();
    }
  });
});
