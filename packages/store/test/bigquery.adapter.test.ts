import { BigQuery } from '@google-cloud/bigquery';
import { StoreConfigError } from '@eventpipe/store';
import {
  BigQueryStore,
  INSERT_MAX_BYTES,
  INSERT_MAX_ROWS,
  chunks,
  insertIdOf,
  schemaDifference,
  type BigQueryStoreOptions,
} from '@eventpipe/store/adapters';
import { bigQuerySchemaFields } from '@eventpipe/store/adapters';
import { BigQueryFake, uniqueName } from '@eventpipe/testing';
import { at, items, itemsOfText } from './store-contract';

// What only the BigQuery adapter does; the shared behaviour is in store-contract.ts.
const DAY_MS = 86_400_000;
const project = 'eventpipe-test';
let fake: BigQueryFake;
let client: BigQuery;
beforeAll(async () => {
  fake = await BigQueryFake.start();
  client = new BigQuery({ projectId: project, apiEndpoint: fake.endpoint, autoRetry: false });
});
afterAll(() => fake.stop());

function options(overrides: Partial<BigQueryStoreOptions> = {}): BigQueryStoreOptions {
  return {
    projectId: project,
    dataset: uniqueName('ds').replaceAll('-', '_'),
    table: 'events',
    apiEndpoint: fake.endpoint,
    autoCreate: true,
    maximumBytesBilled: 123_456_789,
    duplicateWindowMs: DAY_MS,
    range: { defaultRangeMs: 30 * DAY_MS, maxRangeMs: 400 * DAY_MS },
    retry: { maxAttempts: 4, initialDelayMs: 100, maxDelayMs: 300 },
    sleep: async () => {},
    ...overrides,
  };
}
const ev = (id: string, extra: Record<string, unknown> = {}) => ({
  id,
  source: '/s',
  type: 'a',
  time: at(1),
  ...extra,
});

describe('BigQueryStore table', () => {
  it('when the table is missing, then it is created from the schema, day-partitioned on time and clustered by type, source', async () => {
    const opts = options();
    await new BigQueryStore(opts).init();
    const [meta] = await client.dataset(opts.dataset).table('events').getMetadata();
    expect(
      meta.schema.fields.map((f: { name: string; type: string; mode: string }) => [
        f.name,
        f.type,
        f.mode,
      ]),
    ).toEqual(bigQuerySchemaFields().map((f) => [f.name, f.type, f.mode]));
    expect(meta.timePartitioning).toEqual({ type: 'DAY', field: 'time' });
    expect(meta.clustering).toEqual({ fields: ['type', 'source'] });
    expect(meta.requirePartitionFilter).toBe(true);
    await expect(
      client.query({ query: `SELECT COUNT(*) AS n FROM \`${project}.${opts.dataset}.events\`` }),
    ).rejects.toThrow(/without a filter over column\(s\) 'time'/);
  });

  it('when auto-creation is off and the dataset is missing, then init() refuses to start', async () => {
    await expect(new BigQueryStore(options({ autoCreate: false })).init()).rejects.toThrow(
      /does not exist \(BIGQUERY_AUTO_CREATE is off\)/,
    );
  });

  it('when auto-creation is off, then init() asks only for the table and the erasures table (the worker is granted tables, not the dataset)', async () => {
    const opts = options();
    await new BigQueryStore(opts).init(); // an operator's Terraform made it
    const before = fake.requests.length;
    await new BigQueryStore({ ...opts, autoCreate: false }).init();
    const calls = fake.requests.slice(before).map((r) => `${r.method} ${r.path}`);
    expect(calls).toEqual([
      `GET /projects/${project}/datasets/${opts.dataset}/tables/erasures`,
      `GET /projects/${project}/datasets/${opts.dataset}/tables/events`,
    ]);
  });

  it('when the existing table lacks a NULLABLE column, then init() adds it', async () => {
    const opts = options();
    const wanted = bigQuerySchemaFields();
    await client.createDataset(opts.dataset);
    await client
      .dataset(opts.dataset)
      .createTable('events', { schema: { fields: wanted.filter((f) => f.name !== 'dataschema') } });
    await new BigQueryStore(opts).init();
    const [meta] = await client.dataset(opts.dataset).table('events').getMetadata();
    expect(meta.schema.fields.map((f: { name: string }) => f.name)).toContain('dataschema');
  });

  it('when the existing table has a column of another type, then init() refuses with the exact difference', async () => {
    const opts = options();
    const fields = bigQuerySchemaFields().map((f) =>
      f.name === 'time' ? { ...f, type: 'STRING' } : f,
    );
    await client.createDataset(opts.dataset);
    await client.dataset(opts.dataset).createTable('events', { schema: { fields } });
    const err = await new BigQueryStore(opts).init().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StoreConfigError);
    expect((err as Error).message).toMatch(/column time is STRING, expected TIMESTAMP/);
  });

  it('when schemas are compared, then only NULLABLE additions are compatible', () => {
    const wanted = [
      { name: 'a', type: 'STRING', mode: 'REQUIRED' },
      { name: 'b', type: 'JSON', mode: 'NULLABLE' },
      { name: 'c', type: 'STRING', mode: 'REQUIRED' },
    ];
    expect(
      schemaDifference(
        [
          { name: 'a', type: 'STRING', mode: 'NULLABLE' },
          { name: 'x', type: 'INT64', mode: 'REQUIRED' },
        ],
        wanted,
      ),
    ).toEqual({
      additions: [{ name: 'b', type: 'JSON', mode: 'NULLABLE' }],
      incompatible: [
        'column c STRING REQUIRED is missing (only NULLABLE columns can be added)',
        'column x is REQUIRED but unknown to eventpipe (inserts would fail)',
      ],
    });
  });
});

describe('BigQueryStore inserts', () => {
  it('when rows are inserted, then each carries an insertId derived from (source, id)', async () => {
    const store = new BigQueryStore(options());
    await store.init();
    const before = fake.requests.length;
    await store.insert(items([ev('1'), ev('2', { source: '/t' })]));
    const call = fake.requests.slice(before).find((r) => r.path.endsWith('/insertAll'))!;
    const rows = (call.body as { rows: { insertId: string }[]; skipInvalidRows: boolean }).rows;
    expect(rows.map((r) => r.insertId)).toEqual([insertIdOf('/s', '1'), insertIdOf('/t', '2')]);
    expect(insertIdOf('/s', '1')).not.toBe(insertIdOf('/s1', ''));
  });

  it('when insertId dedup has lapsed and the lookup is off, then a row stored twice still reads once', async () => {
    const lapsed = await BigQueryFake.start({ insertIdWindowMs: 0 });
    try {
      const opts = options({ apiEndpoint: lapsed.endpoint, duplicateWindowMs: 0 });
      const store = new BigQueryStore(opts);
      await store.init();
      await store.insert(items([ev('dup')]));
      await new Promise((r) => setTimeout(r, 5));
      await store.insert(items([ev('dup')]));
      const raw = new BigQuery({ projectId: project, apiEndpoint: lapsed.endpoint });
      const [rows] = await raw.query({
        query: `SELECT COUNT(*) AS n FROM \`${project}.${opts.dataset}.events\` WHERE time >= @from AND id = @id`,
        params: { id: 'dup', from: BigQuery.timestamp(at(-24)) },
      });
      expect(rows).toEqual([{ n: 2 }]); // two physical rows...
      expect(await store.get('dup')).toHaveLength(1); // ...one event
      expect(await store.list({ limit: 10 })).toHaveLength(1);
    } finally {
      await lapsed.stop();
    }
  });

  it('when insertId dedup has lapsed, then the lookup still keeps a resent event out, bounded by partitions', async () => {
    const lapsed = await BigQueryFake.start({ insertIdWindowMs: 0 });
    try {
      const opts = options({ apiEndpoint: lapsed.endpoint });
      const store = new BigQueryStore(opts);
      await store.init();
      await store.insert(items([ev('dup')]));
      const before = lapsed.queries.length;
      expect(await store.insert(items([ev('dup')]))).toMatchObject({
        inserted: 0,
        redelivered: 1,
      });
      const lookup = lapsed.queries.slice(before)[0]!;
      expect(String(lookup.query)).toMatch(/WHERE time >= @from AND time < @to AND/);
      const raw = new BigQuery({ projectId: project, apiEndpoint: lapsed.endpoint });
      const [rows] = await raw.query({
        query: `SELECT COUNT(*) AS n FROM \`${project}.${opts.dataset}.events\` WHERE time >= @from AND id = @id`,
        params: { id: 'dup', from: BigQuery.timestamp(at(-24)) },
      });
      expect(rows).toEqual([{ n: 1 }]);
    } finally {
      await lapsed.stop();
    }
  });

  it('when data holds numbers BigQuery JSON cannot hold, then data_text keeps them and the JSON column is accepted', async () => {
    const opts = options();
    const store = new BigQueryStore(opts);
    await store.init();
    const data =
      '{"big":9007199254740993,"pi":3.141592653589793238462643383279,"huge":1e400,"one":1.0}';
    await store.insert(
      itemsOfText(`{"id":"n","source":"/s","type":"a","time":"${at(1)}","data":${data}}`),
    );
    const raw = new BigQuery({ projectId: project, apiEndpoint: fake.endpoint });
    const [rows] = await raw.query({
      query: `SELECT data, data_text FROM \`${project}.${opts.dataset}.events\` WHERE time >= @from`,
      params: { from: BigQuery.timestamp(at(-24)) },
    });
    expect(rows).toEqual([
      {
        data: '{"big":9007199254740993,"pi":3.141592653589793,"huge":null,"one":1.0}',
        data_text: data,
      },
    ]);
    expect((await store.get('n'))[0]!.data).toBe(data);
  });

  it('when BigQuery refuses a row, then it comes back as rejected with the reason and the rest are stored', async () => {
    const store = new BigQueryStore(options());
    await store.init();
    fake.rejectRows((json) => json.id === 'bad-row', 'invalid', 'JSON value is too deep');
    const result = await store.insert(items([ev('ok-1'), ev('bad-row'), ev('ok-2')]));
    expect(result.inserted).toBe(2);
    expect(result.rejected).toEqual([{ index: 1, reason: 'invalid: JSON value is too deep' }]);
    expect((await store.list({ limit: 10 })).map((e) => e.id).sort()).toEqual(['ok-1', 'ok-2']);
  });

  it.each([503, 429, 500])(
    'when insertAll answers %i twice, then it retries with capped, jittered backoff and stores',
    async (status) => {
      const delays: number[] = [];
      const store = new BigQueryStore(options({ sleep: async (ms) => void delays.push(ms) }));
      await store.init();
      fake.failInserts(2, status);
      const result = await store.insert(items([ev('r1'), ev('r2')]));
      expect(result.inserted).toBe(2);
      expect(delays).toHaveLength(2);
      expect(delays[0]).toBeLessThanOrEqual(100);
      expect(delays[1]).toBeLessThanOrEqual(200);
      expect(await store.list({ limit: 10 })).toHaveLength(2);
    },
  );

  it('when insertAll keeps failing, then insert() gives up after the attempt limit and throws', async () => {
    const delays: number[] = [];
    const store = new BigQueryStore(options({ sleep: async (ms) => void delays.push(ms) }));
    await store.init();
    fake.failInserts(10, 503);
    await expect(store.insert(items([ev('x')]))).rejects.toMatchObject({ code: 503 });
    expect(delays).toHaveLength(3); // 4 attempts, 3 waits
    expect(delays.every((d) => d <= 300)).toBe(true);
    fake.clearFailures();
  });

  it('when many or large rows are inserted, then requests hold at most 500 rows and 9 MB', () => {
    const small = Array.from({ length: 1200 }, (_, i) => ({ json: { i } }));
    expect(chunks(small).map((c) => c.length)).toEqual([INSERT_MAX_ROWS, INSERT_MAX_ROWS, 200]);
    const big = Array.from({ length: 5 }, () => ({ json: { d: 'x'.repeat(3 * 1024 * 1024) } }));
    const sizes = chunks(big).map((c) => c.reduce((n, r) => n + JSON.stringify(r).length, 0));
    expect(sizes.length).toBe(3);
    expect(sizes.every((s) => s <= INSERT_MAX_BYTES)).toBe(true);
  });
});

describe('BigQueryStore reads', () => {
  it('when reading, then every query uses named parameters, the byte cap and a time range, and no value in its text', async () => {
    const store = new BigQueryStore(options());
    await store.init();
    await store.insert(items([ev('1', { type: 'needle-type' })]));
    const before = fake.queries.length;
    await store.list({ limit: 5, type: 'needle-type', subject: 'needle-subject' });
    await store.get('needle-id', 'needle-source');
    await store.stats({
      from: at(0),
      to: at(24),
      interval: 'hour',
      groupBy: 'type',
      source: 'needle-source',
    });
    const sent = fake.queries.slice(before);
    expect(sent).toHaveLength(3);
    for (const q of sent) {
      expect(q.parameterMode).toMatch(/^named$/i);
      expect(q.maximumBytesBilled).toBe('123456789');
      expect(q.query).toMatch(/time >= @from AND time < @to/);
      expect(q.query).toMatch(
        /QUALIFY ROW_NUMBER\(\) OVER \(PARTITION BY source, id ORDER BY stored_at\) = 1/,
      );
      expect(q.query).not.toMatch(/needle/);
    }
  });

  it('when a list gives no from, then it reaches back the default range only', async () => {
    const store = new BigQueryStore(
      options({ range: { defaultRangeMs: 2 * DAY_MS, maxRangeMs: 400 * DAY_MS } }),
    );
    await store.init();
    const old = new Date(Date.now() - 10 * DAY_MS).toISOString();
    await store.insert(items([ev('recent'), ev('old', { time: old })]));
    expect((await store.list({ limit: 10 })).map((e) => e.id)).toEqual(['recent']);
    expect(
      (await store.list({ limit: 10, from: new Date(Date.now() - 20 * DAY_MS).toISOString() })).map(
        (e) => e.id,
      ),
    ).toEqual(['recent', 'old']);
  });

  it('when a range wider than the maximum reaches the store, then it refuses before querying', async () => {
    const store = new BigQueryStore(
      options({ range: { defaultRangeMs: DAY_MS, maxRangeMs: 2 * DAY_MS } }),
    );
    await store.init();
    const before = fake.queries.length;
    await expect(store.list({ limit: 1, from: at(-72), to: at(0) })).rejects.toThrow(RangeError);
    expect(fake.queries.length).toBe(before);
  });
});

describe('BigQuery REST fake', () => {
  it('when asked for something outside its subset, then it says what it does not support', async () => {
    const res = await fetch(`${fake.endpoint}/bigquery/v2/projects/${project}/jobs`, {
      method: 'POST',
      body: '{}',
    });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { message: string } }).error.message).toBe(
      `eventpipe BigQuery fake does not support POST /projects/${project}/jobs`,
    );
    const opts = options();
    await new BigQueryStore(opts).init();
    await expect(
      client.query({ query: `SELECT ARRAY_AGG(id) FROM \`${project}.${opts.dataset}.events\`` }),
    ).rejects.toThrow(/does not support function ARRAY_AGG/);
    await expect(
      client.query({ query: `CREATE TABLE \`${project}.${opts.dataset}.copy\` AS SELECT 1` }),
    ).rejects.toThrow(/does not support statements other than SELECT/);
  });

  it('when given DML other than DELETE … WHERE, then it refuses; a DELETE without a partition filter is refused as BigQuery refuses it', async () => {
    const opts = options();
    await new BigQueryStore(opts).init();
    const table = `\`${project}.${opts.dataset}.events\``;
    for (const query of [
      `UPDATE ${table} SET type = @t WHERE time >= @t`,
      `INSERT INTO ${table} (id) VALUES (@t)`,
      `TRUNCATE TABLE ${table}`,
      `DELETE ${table} WHERE time >= @t`,
    ]) {
      await expect(client.query({ query, params: { t: 'x' } })).rejects.toThrow(
        /does not support DML other than DELETE FROM/,
      );
    }
    await expect(client.query({ query: `DELETE FROM ${table} WHERE true` })).rejects.toThrow(
      /without a filter over column\(s\) 'time'/,
    );
  });

  it('when a DELETE would touch rows still in the streaming buffer, then it fails whole and deletes nothing; later it deletes', async () => {
    const buffered = await BigQueryFake.start({ streamingBufferMs: 1500 });
    try {
      const opts = { ...options(), apiEndpoint: buffered.endpoint };
      const store = new BigQueryStore(opts);
      await store.init();
      await store.insert(items([{ id: 'x', source: '/s', type: 't', time: at(1) }]));
      const bq = new BigQuery({ projectId: project, apiEndpoint: buffered.endpoint });
      const del = {
        query: `DELETE FROM \`${project}.${opts.dataset}.events\` WHERE time >= @from AND id = @id`,
        params: { from: BigQuery.timestamp('2000-01-01T00:00:00Z'), id: 'x' },
      };
      await expect(bq.query(del)).rejects.toThrow(
        /would affect rows in the streaming buffer, which is not supported/,
      );
      expect((await store.get('x')).length).toBe(1);
      await new Promise((r) => setTimeout(r, 1600));
      const [, , response] = (await bq.query(del)) as unknown as [
        unknown,
        unknown,
        { numDmlAffectedRows?: string },
      ];
      expect(response.numDmlAffectedRows).toBe('1');
      expect((await store.get('x')).length).toBe(0);
    } finally {
      await buffered.stop();
    }
  });

  it('when RETENTION_DAYS is set, then auto-create sets the partition expiration, and a change updates the table', async () => {
    const opts = options({ retentionMs: 2 * DAY_MS });
    await new BigQueryStore(opts).init();
    const table = client.dataset(opts.dataset).table(opts.table);
    expect((await table.getMetadata())[0].timePartitioning).toMatchObject({
      type: 'DAY',
      field: 'time',
      expirationMs: String(2 * DAY_MS),
    });
    await new BigQueryStore({ ...opts, retentionMs: 5 * DAY_MS }).init();
    expect((await table.getMetadata())[0].timePartitioning.expirationMs).toBe(String(5 * DAY_MS));
  });
});
