import { spawn } from 'node:child_process';
import { DuckDBInstance } from '@duckdb/node-api';
import { DuckDbStore, StoreConfigError, type InsertItem } from '@eventpipe/store';
import { parseInputEvents } from '@eventpipe/schema';
import { tempDuckDbPath, waitFor } from '@eventpipe/testing';

const meta = {
  receivedAt: '2026-11-28T05:00:00.000000Z',
  publishedAt: '2026-11-28T05:00:00.001000Z',
  messageId: 'm',
};

function items(events: Record<string, unknown>[]): InsertItem[] {
  const r = parseInputEvents(events, { receivedAt: meta.receivedAt });
  if (!r.ok) throw new Error(JSON.stringify(r.issues));
  return r.events.map((event, i) => ({ event, meta: { ...meta, messageId: `m${i}` } }));
}

const ev = (id: string, time: string, extra: Record<string, unknown> = {}) => ({
  id,
  source: '/s',
  type: 'a',
  time,
  ...extra,
});

describe('DuckDbStore', () => {
  let store: DuckDbStore;
  beforeEach(async () => {
    store = await DuckDbStore.open({ path: tempDuckDbPath() });
    await store.init();
  });
  afterEach(async () => {
    await store.close();
  });

  it('when the same batch is inserted twice, then it is stored once', async () => {
    const batch = items([ev('1', '2026-11-28T01:00:00Z'), ev('2', '2026-11-28T02:00:00Z')]);
    expect(await store.insert(batch)).toEqual({ inserted: 2, duplicates: 0 });
    expect(await store.insert(batch)).toEqual({ inserted: 0, duplicates: 2 });
    expect(await store.list({ limit: 10 })).toHaveLength(2);
  });

  it('when batches overlap or repeat a key inside, then each (source, id) is stored once', async () => {
    await store.insert(items([ev('1', '2026-11-28T01:00:00Z'), ev('2', '2026-11-28T02:00:00Z')]));
    const r = await store.insert(
      items([
        ev('2', '2026-11-28T02:00:00Z'),
        ev('3', '2026-11-28T03:00:00Z'),
        ev('3', '2026-11-28T03:00:00Z'),
      ]),
    );
    expect(r).toEqual({ inserted: 1, duplicates: 2 });
    expect((await store.list({ limit: 10 })).map((e) => e.id)).toEqual(['3', '2', '1']);
  });

  it('when two sources use the same id, then both are stored and get() returns both', async () => {
    await store.insert(
      items([
        ev('same', '2026-11-28T01:00:00Z'),
        { ...ev('same', '2026-11-28T01:00:00Z'), source: '/other' },
      ]),
    );
    expect((await store.get('same')).map((e) => e.source)).toEqual(['/other', '/s']);
    expect((await store.get('same', '/s')).map((e) => e.source)).toEqual(['/s']);
    expect(await store.get('missing')).toEqual([]);
  });

  it('when listing with filters and a time range, then only matching rows come back newest first', async () => {
    await store.insert(
      items([
        ev('1', '2026-11-28T01:00:00Z', { type: 'a', subject: 'x' }),
        ev('2', '2026-11-28T02:00:00Z', { type: 'b', subject: 'x' }),
        ev('3', '2026-11-28T03:00:00Z', { type: 'a', subject: 'y' }),
        ev('4', '2026-11-28T04:00:00Z', { type: 'a', subject: 'x', source: '/t' }),
      ]),
    );
    const ids = async (q: Parameters<DuckDbStore['list']>[0]) =>
      (await store.list(q)).map((e) => e.id);
    expect(await ids({ limit: 10, type: 'a' })).toEqual(['4', '3', '1']);
    expect(await ids({ limit: 10, type: 'a', subject: 'x', source: '/s' })).toEqual(['1']);
    expect(
      await ids({
        limit: 10,
        from: '2026-11-28T02:00:00.000000Z',
        to: '2026-11-28T04:00:00.000000Z',
      }),
    ).toEqual(['3', '2']);
    expect(await ids({ limit: 2 })).toEqual(['4', '3']);
  });

  it('when paging with a key, then rows with equal times are neither skipped nor repeated', async () => {
    const same = '2026-11-28T01:00:00Z';
    await store.insert(items(['a', 'b', 'c', 'd', 'e'].map((id) => ev(id, same))));
    const seen: string[] = [];
    let after;
    for (;;) {
      const page = await store.list({ limit: 2, after });
      if (page.length === 0) break;
      seen.push(...page.map((e) => e.id));
      const last = page[page.length - 1]!;
      after = { time: last.time, source: last.source, id: last.id };
    }
    expect(seen).toEqual(['e', 'd', 'c', 'b', 'a']);
  });

  it('when timestamps have microseconds and offsets, then they come back exact in UTC', async () => {
    await store.insert(items([ev('1', '2026-11-28T06:13:09.123456+01:00')]));
    const [e] = await store.get('1');
    expect(e!.time).toBe('2026-11-28T05:13:09.123456Z');
    expect(e!.receivedAt).toBe(meta.receivedAt);
    expect(e!.publishedAt).toBe(meta.publishedAt);
    expect(e!.storedAt).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/);
  });

  it('when data is unicode, nested, an empty object or a big number as string, then it round-trips', async () => {
    const payloads = [
      { u: 'ü😀\u2028' },
      { a: { b: { c: [1, null, true] } } },
      {},
      { n: '9007199254740993' },
      'text',
      0,
    ];
    await store.insert(
      items(payloads.map((data, i) => ev(`p${i}`, '2026-11-28T01:00:00Z', { data }))),
    );
    for (const [i, data] of payloads.entries()) {
      const [e] = await store.get(`p${i}`);
      expect(e!.data).toEqual(data);
    }
  });

  it('when stats are asked per hour and type, then counts per bucket come back in order', async () => {
    await store.insert(
      items([
        ev('1', '2026-11-28T01:10:00Z', { type: 'a' }),
        ev('2', '2026-11-28T01:20:00Z', { type: 'a' }),
        ev('3', '2026-11-28T01:30:00Z', { type: 'b' }),
        ev('4', '2026-11-28T03:00:00Z', { type: 'a' }),
        ev('5', '2026-11-29T03:00:00Z', { type: 'a' }),
      ]),
    );
    const range = { from: '2026-11-28T00:00:00.000000Z', to: '2026-11-29T00:00:00.000000Z' };
    expect(await store.stats({ ...range, interval: 'hour', groupBy: 'type' })).toEqual([
      { start: '2026-11-28T01:00:00.000000Z', key: 'a', count: 2 },
      { start: '2026-11-28T01:00:00.000000Z', key: 'b', count: 1 },
      { start: '2026-11-28T03:00:00.000000Z', key: 'a', count: 1 },
    ]);
    expect(await store.stats({ ...range, interval: 'day' })).toEqual([
      { start: '2026-11-28T00:00:00.000000Z', count: 4 },
    ]);
  });

  it('when a filter holds SQL metacharacters, then it is matched as a plain value', async () => {
    await store.insert(items([ev('1', '2026-11-28T01:00:00Z', { type: "a' OR '1'='1" })]));
    expect(await store.list({ limit: 10, type: "x' OR '1'='1" })).toEqual([]);
    expect(await store.list({ limit: 10, type: "a' OR '1'='1" })).toHaveLength(1);
  });
});

describe('DuckDbStore opening', () => {
  it('when an existing table has other columns, then init() names the difference', async () => {
    const path = tempDuckDbPath();
    const inst = await DuckDBInstance.create(path);
    const conn = await inst.connect();
    await conn.run('CREATE TABLE events (id VARCHAR, source VARCHAR, extra INTEGER)');
    conn.closeSync();
    inst.closeSync();
    const store = await DuckDbStore.open({ path });
    await expect(store.init()).rejects.toThrow(
      /missing \[type VARCHAR.*unexpected \[extra INTEGER\]/,
    );
    await store.close();
  });

  it('when another process holds the file, then opening fails with a message that says what to do', async () => {
    const path = tempDuckDbPath();
    const holder = spawn(
      process.execPath,
      [
        '-e',
        `require('@duckdb/node-api').DuckDBInstance.create(${JSON.stringify(path)}).then(() => { console.log('held'); setInterval(() => {}, 1000); })`,
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    try {
      let out = '';
      holder.stdout.on('data', (d: Buffer) => (out += d.toString()));
      await waitFor(() => (out.includes('held') ? true : undefined), {
        what: 'holder process',
        timeoutMs: 20_000,
      });
      const err = await DuckDbStore.open({ path, readOnly: true }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(StoreConfigError);
      expect((err as Error).message).toMatch(/held by another process.*npm start.*STORE=bigquery/);
    } finally {
      holder.kill('SIGKILL');
    }
  });
});
