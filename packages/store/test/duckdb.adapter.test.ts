import { spawn } from 'node:child_process';
import { DuckDBInstance } from '@duckdb/node-api';
import { z } from 'zod';
import { StoreConfigError, requestedSteps, storeEnvShape } from '@eventpipe/store';
import { formatMicros, parseRfc3339 } from '@eventpipe/schema';
import { DuckDbStore } from '@eventpipe/store/adapters';
import { tempDuckDbPath, waitFor } from '@eventpipe/testing';
import { at, items, itemsOfText } from './store-contract';

// What only DuckDB does; the shared behaviour is in store-contract.ts.
describe('DuckDbStore insert counts', () => {
  it('when a batch is delivered again, then insert() reports redeliveries; sent again, duplicates', async () => {
    const store = await DuckDbStore.open({ path: tempDuckDbPath() });
    await store.init();
    const batch = items([
      { id: '1', source: '/s', type: 'a', time: at(1) },
      { id: '2', source: '/s', type: 'a', time: at(2) },
    ]);
    expect(await store.insert(batch)).toEqual({
      inserted: 2,
      duplicates: 0,
      redelivered: 0,
      conflicts: [],
      rejected: [],
      erased: 0,
    });
    expect(await store.insert([...batch, ...batch])).toEqual({
      inserted: 0,
      duplicates: 0,
      redelivered: 4,
      conflicts: [],
      rejected: [],
      erased: 0,
    });
    const resent = batch.map((item) => ({ ...item, meta: { ...item.meta, messageId: 'other' } }));
    expect(await store.insert(resent)).toMatchObject({
      inserted: 0,
      duplicates: 2,
      redelivered: 0,
    });
    await store.close();
  });
});

describe('DuckDbStore and erasures at insert', () => {
  it('when an insert comes after an erasure that covers some of its rows, then those are not written and are counted, and indexes still point into the items', async () => {
    const store = await DuckDbStore.open({ path: ':memory:' });
    await store.init();
    await store.erasures.appendSteps(
      requestedSteps('e', { subject: 'gone' }, formatMicros(parseRfc3339(at(0))! + 1n), null),
    );
    await store.insert(items([{ id: 'c', source: '/s', type: 'a', time: at(1), data: 1 }]));
    const result = await store.insert(
      itemsOfText(
        JSON.stringify([
          { id: 'x', source: '/s', type: 'a', time: at(1), subject: 'gone' },
          { id: 'c', source: '/s', type: 'a', time: at(1), data: 2 },
          { id: 'y', source: '/s', type: 'a', time: at(1), subject: 'kept' },
        ]),
        'n',
      ),
    );
    expect(result).toMatchObject({ inserted: 1, erased: 1 });
    expect(result.conflicts.map((c) => c.index)).toEqual([1]);
    expect((await store.get('x')).length).toBe(0);
    expect((await store.get('y')).length).toBe(1);
    await store.close();
  });
});

describe('DuckDbStore stats buckets', () => {
  it('when events lie before 1970 and in year 1, then minute, hour and day buckets still floor', async () => {
    const store = await DuckDbStore.open({ path: ':memory:' });
    await store.init();
    await store.insert(
      items([
        { id: '1', source: '/s', type: 'a', time: '1969-12-31T23:59:30.5Z' },
        { id: '2', source: '/s', type: 'a', time: '1969-12-31T22:10:00Z' },
        { id: '3', source: '/s', type: 'a', time: '1970-01-01T00:00:00Z' },
        { id: '4', source: '/s', type: 'a', time: '0001-01-01T00:30:00Z' },
      ]),
    );
    const span = { from: '0001-01-01T00:00:00Z', to: '1970-01-02T00:00:00Z' };
    const starts = async (interval: 'minute' | 'hour' | 'day') =>
      (await store.stats({ ...span, interval })).map((b) => `${b.start} ${b.count}`);
    expect(await starts('minute')).toEqual([
      '0001-01-01T00:30:00.000000Z 1',
      '1969-12-31T22:10:00.000000Z 1',
      '1969-12-31T23:59:00.000000Z 1',
      '1970-01-01T00:00:00.000000Z 1',
    ]);
    expect(await starts('hour')).toEqual([
      '0001-01-01T00:00:00.000000Z 1',
      '1969-12-31T22:00:00.000000Z 1',
      '1969-12-31T23:00:00.000000Z 1',
      '1970-01-01T00:00:00.000000Z 1',
    ]);
    expect(await starts('day')).toEqual([
      '0001-01-01T00:00:00.000000Z 1',
      '1969-12-31T00:00:00.000000Z 2',
      '1970-01-01T00:00:00.000000Z 1',
    ]);
    await store.close();
  });
});

describe('DuckDbStore opening', () => {
  it('when DUCKDB_MEMORY_LIMIT and DUCKDB_THREADS are set, then sizes are accepted and nonsense is refused', async () => {
    const schema = z.object(storeEnvShape);
    const ok = schema.parse({ DUCKDB_MEMORY_LIMIT: '128MB', DUCKDB_THREADS: '1' });
    expect(ok.DUCKDB_MEMORY_LIMIT).toBe('128MB');
    expect(ok.DUCKDB_THREADS).toBe(1);
    expect(schema.safeParse({ DUCKDB_MEMORY_LIMIT: '128' }).success).toBe(false);
    expect(schema.safeParse({ DUCKDB_MEMORY_LIMIT: 'lots' }).success).toBe(false);
    expect(schema.safeParse({ DUCKDB_THREADS: '0' }).success).toBe(false);
    const store = await DuckDbStore.open({ path: ':memory:', memoryLimit: '64MB', threads: 1 });
    await store.init();
    expect(
      (await store.insert(items([{ id: '1', source: '/s', type: 'a', time: at(1) }]))).inserted,
    ).toBe(1);
    await store.close();
  });

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
