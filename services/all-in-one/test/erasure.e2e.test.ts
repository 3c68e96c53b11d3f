import request from 'supertest';
import { EventpipeClient } from '@eventpipe/client';
import type { Stack } from '@eventpipe/all-in-one';
import { MemoryBus } from '@eventpipe/bus/adapters';
import { hashKey, type ApiKey } from '@eventpipe/platform';
import {
  busMessageOf,
  formatMicros,
  nowTime,
  parseInputEvents,
  parseRfc3339,
} from '@eventpipe/schema';
import { ErasureBook, type EventStore } from '@eventpipe/store';
import { DuckDbStore } from '@eventpipe/store/adapters';
import { BigQueryFake, tempDuckDbPath, testBigQueryStore, waitFor } from '@eventpipe/testing';
import { serve, testStack } from './stack-fixture';

// Erasure on request, end to end over HTTP: the erased events leave every read path at once,
// the worker deletes them, suppression drops later events at the publisher, and every step is
// kept as the audit trail. On DuckDB and on the BigQuery fake, whose streaming buffer refuses a
// DELETE of fresh rows, as BigQuery does.

const key = (name: string) => `ep_${name}-key-for-erasure-tests`;
const entry = (name: string, scopes: ApiKey['scopes'], sources?: string[]): ApiKey => ({
  name,
  scopes,
  sha256: hashKey(key(name)),
  ...(sources ? { sources } : {}),
});
const KEYS: ApiKey[] = [
  entry('writer', ['events:write']),
  entry('reader', ['events:read']),
  entry('dpo', ['events:erase']),
  entry('partner-dpo', ['events:erase'], ['/partner/*']),
  entry('ops', ['metrics:read']),
];

const BUFFER_MS = 2500;

describe.each(['duckdb', 'bigquery'] as const)('erasure on %s', (kind) => {
  let fake: BigQueryFake | undefined;
  let bus: MemoryBus;
  let store: EventStore;
  let stack: Stack;
  let book: ErasureBook;

  const as = (name: string) => ({ Authorization: `Bearer ${key(name)}` });
  const post = (events: unknown) =>
    request(stack.publisher)
      .post('/v1/events')
      .set(as('writer'))
      .set('Content-Type', 'application/json')
      .send(JSON.stringify(events));
  const read = (path: string, accept = 'application/json') =>
    request(stack.query).get(path).set(as('reader')).set('Accept', accept);
  const erase = (body: unknown, who = 'dpo') =>
    request(stack.query)
      .post('/v1/erasures')
      .set(as(who))
      .send(body as object);
  const state = (id: string, who = 'dpo') =>
    request(stack.query).get(`/v1/erasures/${id}`).set(as(who));

  /** Every id each read path returns, sorted. */
  const everyPath = async () => {
    const page = await read('/v1/events?limit=1000');
    const ndjson = await read('/v1/events', 'application/x-ndjson');
    const csv = await read('/v1/events', 'text/csv');
    const stats = await read('/v1/stats?interval=day');
    return {
      page: (page.body.data as { id: string }[]).map((e) => e.id).sort(),
      ndjson: ndjson.text
        .split('\n')
        .filter(Boolean)
        .map((l) => (JSON.parse(l) as { id: string }).id)
        .sort(),
      csvRows: csv.text.trim().split('\n').length - 1,
      count: (stats.body.buckets as { count: number }[]).reduce((n, b) => n + b.count, 0),
    };
  };
  const storedIds = async () => (await everyPath()).page;

  beforeEach(async () => {
    bus = new MemoryBus();
    if (kind === 'bigquery') {
      fake = await BigQueryFake.start({ streamingBufferMs: BUFFER_MS });
      store = testBigQueryStore(fake.endpoint);
    } else {
      store = await DuckDbStore.open({ path: tempDuckDbPath() });
    }
    await store.init();
    book = await new ErasureBook(store.erasures, { refreshMs: 60_000 }).start();
    stack = testStack({
      bus,
      store,
      apiKeys: KEYS,
      erasures: book,
      lifecycle: { sweepMs: 3_600_000, erasurePollMs: 200 },
    });
    stack.worker.start();
    stack.lifecycle!.start();
  });
  afterEach(async () => {
    await stack.lifecycle!.stop();
    await stack.worker.stop();
    book.stop();
    await bus.close();
    await store.close();
    await fake?.stop();
  });

  const seed = async (events: Record<string, unknown>[]) => {
    expect((await post(events)).status).toBe(202);
    const want = events.map((e) => String(e.id)).sort();
    await waitFor(
      async () => {
        const got = await storedIds();
        return want.every((id) => got.includes(id)) ? true : undefined;
      },
      { what: `${want.length} events stored` },
    );
  };

  it('when a subject is erased, then every read path leaves it out at once, and the erasure ends done with the row count', async () => {
    await seed([
      { type: 't', source: '/web', id: 'a-1', subject: 'alice', data: { email: 'a@x' } },
      { type: 't', source: '/app', id: 'a-2', subject: 'alice' },
      { type: 't', source: '/web', id: 'b-1', subject: 'bob' },
      { type: 't', source: '/web', id: 'n-1' },
    ]);
    const res = await erase({ subject: 'alice' });
    expect(res.status).toBe(202);
    expect(res.body).toMatchObject({ state: 'pending', subject: 'alice', requestedBy: 'dpo' });
    expect(res.headers.location).toBe(`/v1/erasures/${res.body.id}`);

    // At once: before the delete has run (on BigQuery the rows are still in the buffer).
    expect(await everyPath()).toEqual({
      page: ['b-1', 'n-1'],
      ndjson: ['b-1', 'n-1'],
      csvRows: 2,
      count: 2,
    });
    expect((await read('/v1/events/a-1')).status).toBe(404);

    if (kind === 'bigquery') {
      // The DELETE is refused while the rows are in the streaming buffer: the state says so.
      const waiting = await waitFor(async () => {
        const s = await state(res.body.id);
        return s.body.detail ? s : undefined;
      });
      expect(waiting.body.state).toBe('pending');
      expect(waiting.body.detail).toMatch(/streaming buffer/);
    }
    const done = await waitFor(
      async () => {
        const s = await state(res.body.id);
        return s.body.state === 'done' ? s : undefined;
      },
      { what: 'erasure done', timeoutMs: 20_000 },
    );
    expect(done.body.rows).toBe(2);
    expect(done.body.doneAt).toEqual(expect.any(String));
    expect(await everyPath()).toEqual({
      page: ['b-1', 'n-1'],
      ndjson: ['b-1', 'n-1'],
      csvRows: 2,
      count: 2,
    });
    // The audit trail: who, when, what, how many, listed.
    const list = await request(stack.query).get('/v1/erasures').set(as('dpo'));
    expect(list.status).toBe(200);
    expect(list.body.data).toHaveLength(1);
    expect(list.body.data[0]).toMatchObject({ id: res.body.id, state: 'done', rows: 2 });
    expect(list.body.data[0].steps.map((s: { action: string }) => s.action)).toContain('done');
  });

  it('when an event is erased by source and id, then only that event goes', async () => {
    await seed([
      { type: 't', source: '/one', id: 'same' },
      { type: 't', source: '/two', id: 'same' },
    ]);
    const res = await erase({ source: '/one', id: 'same' });
    expect(res.status).toBe(202);
    expect(res.body).toMatchObject({ source: '/one', eventId: 'same', state: 'pending' });
    const byId = await read('/v1/events/same');
    expect(byId.status).toBe(200);
    expect(byId.body.source).toBe('/two');
    await waitFor(
      async () => ((await state(res.body.id)).body.state === 'done' ? true : undefined),
      { timeoutMs: 20_000 },
    );
    expect((await state(res.body.id)).body.rows).toBe(1);
  });

  it('when an erasure suppresses, then later events for the subject get 202 and are not stored, until the suppression is lifted', async () => {
    await seed([{ type: 't', source: '/web', id: 'c-1', subject: 'carol' }]);
    const res = await erase({ subject: 'carol', suppress: true });
    expect(res.status).toBe(202);
    expect(res.body.suppressed).toBe(true);

    expect((await post([{ type: 't', source: '/web', id: 'c-2', subject: 'carol' }])).status).toBe(
      202,
    );
    await seed([{ type: 't', source: '/web', id: 'd-1', subject: 'dave' }]);
    expect(await storedIds()).toEqual(['d-1']);
    const metrics = await request(stack.publisher).get('/metrics').set(as('ops'));
    expect(metrics.text).toMatch(/eventpipe_publisher_events_total\{outcome="suppressed"[^}]*\} 1/);

    const lifted = await request(stack.query)
      .delete(`/v1/erasures/${res.body.id}/suppression`)
      .set(as('dpo'));
    expect(lifted.status).toBe(200);
    expect(lifted.body).toMatchObject({ suppressed: false, liftedBy: 'dpo' });
    await seed([{ type: 't', source: '/web', id: 'c-3', subject: 'carol' }]);
    expect(await storedIds()).toEqual(['c-3', 'd-1']);
  });

  it('when a key limited to sources erases, then the erasure stays inside them, and outside it is 403', async () => {
    await seed([
      { type: 't', source: '/partner/x', id: 'p-1', subject: 'erin' },
      { type: 't', source: '/own', id: 'o-1', subject: 'erin' },
    ]);
    const outside = await erase({ subject: 'erin', sources: ['/own'] }, 'partner-dpo');
    expect(outside.status).toBe(403);
    expect(outside.body.code).toBe('source-not-allowed');
    const res = await erase({ subject: 'erin' }, 'partner-dpo');
    expect(res.status).toBe(202);
    expect(res.body.sources).toEqual(['/partner/*']);
    expect(await storedIds()).toEqual(['o-1']);
    // Another tenant's erasures are not listed to it.
    await erase({ subject: 'zed' });
    const list = await request(stack.query).get('/v1/erasures').set(as('partner-dpo'));
    expect(list.body.data.map((e: { id: string }) => e.id)).toEqual([res.body.id]);
  });

  it.each([
    [{}, ''],
    [{ subject: '' }, '/subject'],
    [{ subject: 'x', id: 'y' }, ''],
    [{ source: '/a' }, '/id'],
    [{ subject: 'x', sources: ['/a*b'] }, '/sources/0'],
    [{ subject: 'x', suppress: 'yes' }, '/suppress'],
    [{ source: '/a', id: 'b', suppress: true }, '/suppress'],
    [{ subject: 'x', extra: 1 }, '/extra'],
  ])(
    'when the body is %j, then 400 validation-failed naming %s, and nothing is recorded',
    async (body, pointer) => {
      const res = await erase(body);
      expect(res.status).toBe(400);
      expect(res.body.code).toBe('validation-failed');
      expect(res.body.errors.map((e: { pointer: string }) => e.pointer)).toContain(pointer);
      expect(await store.erasures.readSteps()).toEqual([]);
    },
  );

  it('when an event is still in the worker batch as its subject is erased, then it is never stored, and the draft schema never sees erased data', async () => {
    // The event is accepted, and the erasure asked for before the batch (BATCH_MAX_WAIT_MS) is
    // written: it must not be stored behind the erasure's back.
    await stack.lifecycle!.stop();
    await stack.worker.stop();
    stack = testStack({
      bus,
      store,
      apiKeys: KEYS,
      erasures: book,
      batch: { maxRows: 100, maxBytes: 1 << 20, maxWaitMs: 400 },
      lifecycle: { sweepMs: 3_600_000, erasurePollMs: 50 },
    });
    stack.worker.start();
    stack.lifecycle!.start();
    expect(
      (
        await post([
          { type: 't', source: '/web', id: 'fly-1', subject: 'olga', data: { secret: 1 } },
        ])
      ).status,
    ).toBe(202);
    const res = await erase({ subject: 'olga' });
    expect(res.status).toBe(202);
    await waitFor(
      async () => ((await state(res.body.id)).body.state === 'done' ? true : undefined),
      {
        timeoutMs: 20_000,
      },
    );
    await seed([{ type: 't', source: '/web', id: 'after-1', subject: 'pat' }]);
    // Done: no filter is left on DuckDB, so what reads show is what is stored.
    expect(await storedIds()).toEqual(['after-1']);
    expect((await read('/v1/events/fly-1')).status).toBe(404);
    const inferred = await read('/v1/schemas/t/inferred');
    expect(inferred.status).toBe(200);
    expect(inferred.body.sampledEvents).toBe(0);
  });

  it('when the body is not JSON by its Content-Type, or a query parameter comes with it, then 415 or 400 and nothing is recorded', async () => {
    const form = await request(stack.query)
      .post('/v1/erasures')
      .set(as('dpo'))
      .set('Content-Type', 'text/plain')
      .send('{"subject":"x"}');
    expect(form.status).toBe(415);
    const query = await request(stack.query)
      .post('/v1/erasures?subject=zz')
      .set(as('dpo'))
      .send({ subject: 'yy' });
    expect(query.status).toBe(400);
    expect(await store.erasures.readSteps()).toEqual([]);
  });

  it('when 100 erasures are pending, then the next is 429 too-many-pending-erasures with Retry-After', async () => {
    await stack.lifecycle!.stop(); // nothing gets done
    for (let i = 0; i < 100; i++) expect((await erase({ subject: `s-${i}` })).status).toBe(202);
    const res = await erase({ subject: 's-100' });
    expect(res.status).toBe(429);
    expect(res.body.code).toBe('too-many-pending-erasures');
    expect(res.headers['retry-after']).toBe('10');
  });

  it('when a key lacks events:erase, then 403 insufficient-scope; an unknown erasure is 404', async () => {
    expect((await erase({ subject: 'x' }, 'reader')).status).toBe(403);
    expect((await state('no-such-erasure')).status).toBe(404);
  });
});

describe('the worker and erasures', () => {
  it('when an event an erasure covers reaches the worker after it (in flight, or replayed), then it is acked and not stored', async () => {
    const bus = new MemoryBus();
    const store = await DuckDbStore.open({ path: tempDuckDbPath() });
    await store.init();
    const book = await new ErasureBook(store.erasures, { refreshMs: 60_000 }).start();
    const stack = testStack({ bus, store, erasures: book });
    stack.worker.start();
    // Received (202) a minute before the erasure; reaches the worker after it.
    const receivedAt = formatMicros(parseRfc3339(nowTime())! - 60_000_000n);
    await book.request({ subject: 'frank' }, 'dpo');
    const parsed = parseInputEvents([
      { specversion: '1.0', type: 't', source: '/s', id: 'late', subject: 'frank' },
      { specversion: '1.0', type: 't', source: '/s', id: 'kept', subject: 'gina' },
    ]);
    if (!parsed.ok) throw new Error('fixture');
    await bus.publish(parsed.events.map((e) => busMessageOf(e, receivedAt)));
    const metrics = await waitFor(async () => {
      const m = await request(stack.worker.app).get('/metrics');
      return /eventpipe_worker_rows_total\{result="inserted"[^}]*\} 1/.test(m.text)
        ? m.text
        : undefined;
    });
    // Dropped, not stored (and not merely hidden): one row erased, the other inserted.
    expect(metrics).toMatch(/eventpipe_worker_rows_total\{result="erased"[^}]*\} 1/);
    expect((await store.get('kept')).map((r) => r.id)).toEqual(['kept']);
    await stack.worker.stop();
    book.stop();
    await bus.close();
    await store.close();
  });
});

describe('the typed client and erasures', () => {
  it('when a third party erases through the client over HTTP, then it follows the erasure to done and lifts its suppression', async () => {
    const bus = new MemoryBus();
    const store = await DuckDbStore.open({ path: tempDuckDbPath() });
    await store.init();
    const book = await new ErasureBook(store.erasures, { refreshMs: 60_000 }).start();
    const stack = testStack({
      bus,
      store,
      erasures: book,
      lifecycle: { sweepMs: 3_600_000, erasurePollMs: 200 },
    });
    stack.lifecycle!.start();
    const served = await serve(stack, bus, store);
    try {
      const client = new EventpipeClient({
        publisherUrl: served.publisher.url,
        queryUrl: served.query.url,
      });
      await client.publish([
        { type: 't', source: '/c', id: 'h-1', subject: 'hana' },
        { type: 't', source: '/c', id: 'i-1', subject: 'ivan' },
      ]);
      await waitFor(async () => ((await client.listPage()).data.length === 2 ? true : undefined));
      const asked = await client.requestErasure({ subject: 'hana', suppress: true });
      expect(asked).toMatchObject({ state: 'pending', subject: 'hana', suppressed: true });
      expect((await client.listPage()).data.map((e) => e.id)).toEqual(['i-1']);
      const done = await waitFor(async () => {
        const e = await client.erasure(asked.id);
        return e.state === 'done' ? e : undefined;
      });
      expect(done.rows).toBe(1);
      expect((await client.listErasures()).map((e) => e.id)).toEqual([asked.id]);
      expect((await client.liftSuppression(asked.id)).suppressed).toBe(false);
      await expect(client.erasure('missing')).rejects.toMatchObject({ status: 404 });
    } finally {
      await stack.lifecycle!.stop();
      book.stop();
      await served.close();
    }
  });
});
