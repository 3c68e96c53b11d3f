import { BigQuery } from '@google-cloud/bigquery';
import { viewName } from '@eventpipe/registry';
import { StoreConfigError } from '@eventpipe/store';
import {
  BigQueryStore,
  bigQuerySchemaFields,
  bigQuerySchemasFields,
  bigQueryString,
} from '@eventpipe/store/adapters';
import { BigQueryFake, testBigQueryStore, uniqueName } from '@eventpipe/testing';
import {
  ORDER_COLUMNS,
  ORDER_EVENTS,
  ORDER_TYPE,
  describeSchemaStoreContract,
  version,
} from './schema-store-contract';
import { at, items, itemsOfText } from './store-contract';

// The BigQuery side of the registry, through the official client against the REST fake.
const project = 'eventpipe-test';
let fake: BigQueryFake;
let client: BigQuery;
beforeAll(async () => {
  fake = await BigQueryFake.start();
  client = new BigQuery({ projectId: project, apiEndpoint: fake.endpoint, autoRetry: false });
});
afterAll(() => fake.stop());

/** A store in a fresh dataset, initialised (auto-create: the `schemas` table too). */
async function openStore(): Promise<{ store: BigQueryStore; dataset: string }> {
  const dataset = uniqueName('ds').replaceAll('-', '_');
  const store = testBigQueryStore(fake.endpoint, { dataset });
  await store.init();
  return { store, dataset };
}

async function readView(dataset: string, type: string, columns: string[], from: string) {
  const [rows] = await client.query({
    query: `SELECT ${columns.join(', ')} FROM \`${project}.${dataset}.${viewName(type)}\` WHERE time >= @from ORDER BY id`,
    params: { from: BigQuery.timestamp(from) },
  });
  return rows as Record<string, unknown>[];
}

describeSchemaStoreContract('BigQuery (REST fake)', async () => {
  const { store, dataset } = await openStore();
  return {
    schemas: store.schemas,
    insert: async (batch) => {
      const r = await store.insert(batch);
      if (r.rejected.length) throw new Error(JSON.stringify(r.rejected));
    },
    readView: (type, columns, from) => readView(dataset, type, columns, from),
    close: () => store.close(),
  };
});

describe('BigQuerySchemaStore', () => {
  it('when the store starts with auto-create, then the schemas table is made with the registry fields', async () => {
    const { dataset } = await openStore();
    const [meta] = await client.dataset(dataset).table('schemas').getMetadata();
    expect(
      meta.schema.fields.map((f: { name: string; type: string; mode: string }) => [
        f.name,
        f.type,
        f.mode,
      ]),
    ).toEqual([
      ['type', 'STRING', 'REQUIRED'],
      ['version', 'INT64', 'REQUIRED'],
      ['schema', 'STRING', 'REQUIRED'],
      ['mode', 'STRING', 'REQUIRED'],
      ['compatibility', 'STRING', 'REQUIRED'],
      ['created_at', 'TIMESTAMP', 'REQUIRED'],
    ]);
    expect(bigQuerySchemasFields().map((f) => f.name)).toEqual(
      meta.schema.fields.map((f: { name: string }) => f.name),
    );
  });

  it('when auto-create is off and the schemas table is missing, then reads see an empty registry and a write names the table and Terraform', async () => {
    const dataset = uniqueName('ds').replaceAll('-', '_');
    // What Terraform makes before the registry's table existed: the dataset and `events`.
    await client.dataset(dataset).create();
    await client
      .dataset(dataset)
      .table('events')
      .create({
        schema: { fields: bigQuerySchemaFields() },
        timePartitioning: { type: 'DAY', field: 'time' },
        requirePartitionFilter: true,
      });
    const store = testBigQueryStore(fake.endpoint, { dataset, autoCreate: false });
    await store.init();
    await expect(client.dataset(dataset).table('schemas').exists()).resolves.toEqual([false]);
    expect(await store.schemas.listSchemaVersions()).toEqual([]);
    const write = store.schemas.addSchemaVersion(version('t', 1, { type: 'object' }));
    await expect(write).rejects.toThrow(StoreConfigError);
    await expect(write).rejects.toThrow(
      new RegExp(`\`${project}\\.${dataset}\\.schemas\` does not exist.*Terraform creates it`),
    );
  });

  it('when the store is read-only, then init() creates no schemas table', async () => {
    const dataset = uniqueName('ds').replaceAll('-', '_');
    await client.dataset(dataset).create();
    await client
      .dataset(dataset)
      .table('events')
      .create({ schema: { fields: bigQuerySchemaFields() } });
    await testBigQueryStore(fake.endpoint, { dataset, readOnly: true }).init();
    await expect(client.dataset(dataset).table('schemas').exists()).resolves.toEqual([false]);
  });

  it('when a race stored two rows for one (type, version), then the earliest is the version, and a late registration of it says exists', async () => {
    const { store, dataset } = await openStore();
    const late = version('t', 1, { type: 'object', title: 'late' }, at(5));
    expect(await store.schemas.addSchemaVersion(late)).toBe('added');
    // the other writer's row, which insertId dedup (best effort) did not drop
    const early = version('t', 1, { type: 'object', title: 'early' }, at(4));
    await client
      .dataset(dataset)
      .table('schemas')
      .insert([
        {
          type: 't',
          version: 1,
          schema: JSON.stringify(early.schema),
          mode: early.mode,
          compatibility: early.compatibility,
          created_at: early.createdAt,
        },
      ]);
    expect(await store.schemas.listSchemaVersions()).toEqual([early]);
    expect(await store.schemas.addSchemaVersion(late)).toBe('exists');
  });

  it('when versions are listed, then one parameterised query runs under the cost guard', async () => {
    const { store } = await openStore();
    const before = fake.queries.length;
    await store.schemas.listSchemaVersions();
    expect(fake.queries.length - before).toBe(1);
    expect(fake.queries.at(-1)).toMatchObject({ maximumBytesBilled: String(1024 ** 3) });
    await store.schemas.sampleData(ORDER_TYPE, 3);
    expect(fake.queries.at(-1)).toMatchObject({
      query: expect.stringMatching(
        /WHERE type = @type AND data_text IS NOT NULL AND time >= @from/,
      ),
      parameterMode: 'named',
    });
  });

  it('when a typed view is made, then it is a BigQuery view over the events of its type, and reading it needs the time filter', async () => {
    const { store, dataset } = await openStore();
    await store.schemas.replaceTypedView(ORDER_TYPE, ORDER_COLUMNS);
    const [meta] = await client.dataset(dataset).table(viewName(ORDER_TYPE)).getMetadata();
    expect(meta.type).toBe('VIEW');
    expect(meta.view.useLegacySql).toBe(false);
    expect(meta.view.query).toContain(
      `FROM \`${project}.${dataset}.events\` WHERE type = '${ORDER_TYPE}'`,
    );
    expect(meta.view.query).toContain(`SAFE_CAST(JSON_VALUE(data, '$."qty"') AS INT64) AS qty`);
    const fields = meta.schema.fields as { name: string; type: string; mode: string }[];
    expect(fields.filter((f) => ORDER_COLUMNS.some((c) => c.name === f.name))).toEqual([
      { name: 'qty', type: 'INT64', mode: 'NULLABLE' },
      { name: 'price', type: 'FLOAT64', mode: 'NULLABLE' },
      { name: 'paid', type: 'BOOL', mode: 'NULLABLE' },
      { name: 'note', type: 'STRING', mode: 'NULLABLE' },
      { name: 'customer', type: 'JSON', mode: 'NULLABLE' },
      { name: 'tags', type: 'STRING', mode: 'REPEATED' },
      { name: 'counts', type: 'INT64', mode: 'REPEATED' },
      { name: 'ratios', type: 'FLOAT64', mode: 'REPEATED' },
      { name: 'flags', type: 'BOOL', mode: 'REPEATED' },
      { name: 'ship_to', type: 'STRING', mode: 'NULLABLE' },
    ]);
    await expect(
      client.query({
        query: `SELECT id FROM \`${project}.${dataset}.${viewName(ORDER_TYPE)}\``,
      }),
    ).rejects.toThrow(/without a filter over column\(s\) 'time'/);
  });

  it("when a value is not BigQuery's type, then SAFE_CAST makes it NULL (no rounding, no 1 for true), and JSON_VALUE of an object is NULL", async () => {
    const { store, dataset } = await openStore();
    const type = 'strict.casts';
    // as text: integers beyond a double's precision are kept exactly
    await store.insert(
      itemsOfText(
        JSON.stringify([
          { id: 's1', source: '/s', type, time: at(3), data: {} },
          { id: 's2', source: '/s', type, time: at(3, 1), data: {} },
        ])
          .replace(
            '"data":{}',
            '"data":{"qty":2.5,"paid":1,"note":{"a":1},"price":"NaN?","big":9223372036854775808,"over":9223372036854775808}',
          )
          .replace(
            '"data":{}',
            '"data":{"qty":"-0012","paid":"TRUE","note":[1],"price":"-.5","big":9223372036854775807,"over":-9223372036854775808}',
          ),
      ),
    );
    await store.schemas.replaceTypedView(type, [
      { name: 'qty', property: 'qty', kind: 'integer' },
      { name: 'paid', property: 'paid', kind: 'boolean' },
      { name: 'note', property: 'note', kind: 'string' },
      { name: 'price', property: 'price', kind: 'number' },
      { name: 'big', property: 'big', kind: 'string' },
      { name: 'over', property: 'over', kind: 'integer' },
    ]);
    const [rows] = await client.query({
      query: `SELECT id, qty, paid, note, price, big, over FROM \`${project}.${dataset}.${viewName(type)}\` WHERE time >= @from ORDER BY id`,
      params: { from: BigQuery.timestamp(at(0)) },
      wrapIntegers: { integerTypeCastFunction: (v: string) => BigInt(v) },
    });
    expect(rows).toEqual([
      {
        id: 's1',
        qty: null,
        paid: null,
        note: null,
        price: null,
        big: '9223372036854775808',
        over: null,
      },
      {
        id: 's2',
        qty: -12n,
        paid: true,
        note: null,
        price: -0.5,
        big: '9223372036854775807',
        over: -9223372036854775808n,
      },
    ]);
  });

  it('when an array holds an element of another type, then reading it fails as in BigQuery (an array in a result cannot hold NULL)', async () => {
    const { store, dataset } = await openStore();
    const type = 'mixed.arrays';
    await store.insert(
      items([{ id: 'm1', source: '/s', type, time: at(3), data: { counts: [1, 'x'] } }]),
    );
    await store.schemas.replaceTypedView(type, [
      { name: 'counts', property: 'counts', kind: 'integer[]' },
    ]);
    await expect(readView(dataset, type, ['id', 'counts'], at(0))).rejects.toThrow(
      /Array cannot have a null element; error in writing field counts/,
    );
  });

  it('when a view is replaced, then the view is patched in place (same creation time)', async () => {
    const { store, dataset } = await openStore();
    await store.schemas.replaceTypedView(ORDER_TYPE, ORDER_COLUMNS.slice(0, 1));
    const table = client.dataset(dataset).table(viewName(ORDER_TYPE));
    const [before] = await table.getMetadata();
    await store.insert(ORDER_EVENTS);
    await store.schemas.replaceTypedView(ORDER_TYPE, ORDER_COLUMNS.slice(1, 2));
    const [after] = await table.getMetadata();
    expect(after.creationTime).toBe(before.creationTime);
    expect(after.view.query).toContain('AS price');
    expect(after.view.query).not.toContain('AS qty');
    expect(
      fake.requests.some((r) => r.method === 'PATCH' && r.path.endsWith(viewName(ORDER_TYPE))),
    ).toBe(true);
  });

  it('writes GoogleSQL string literals with backslash escapes', () => {
    expect(bigQueryString("it's a \\ path")).toBe("'it\\'s a \\\\ path'");
  });
});

describe('BigQuery fake: views', () => {
  let dataset: string;
  beforeAll(async () => {
    ({ dataset } = await openStore());
  });
  const create = (name: string, query: string) =>
    client
      .dataset(dataset)
      .table(name)
      .create({ view: { query, useLegacySql: false } });
  const events = () => `\`${project}.${dataset}.events\``;

  it('when a view uses a function outside the typed-view forms, then it is refused by name', async () => {
    await expect(
      create(
        'v_upper',
        `SELECT id, UPPER(JSON_VALUE(data, '$."a"')) AS a FROM ${events()} WHERE type = 'a'`,
      ),
    ).rejects.toThrow(/eventpipe BigQuery fake does not support function UPPER in a view/);
    await expect(
      create(
        'v_cast',
        `SELECT id, SAFE_CAST(JSON_VALUE(data, '$."a"') AS NUMERIC) AS a FROM ${events()} WHERE type = 'a'`,
      ),
    ).rejects.toThrow(/does not support the view expression SAFE_CAST/);
    await expect(
      create(
        'v_path',
        `SELECT id, JSON_VALUE(data, '$.a.b') AS a FROM ${events()} WHERE type = 'a'`,
      ),
    ).rejects.toThrow(/does not support the JSONPath \$\.a\.b in a view/);
    await expect(
      create('v_where', `SELECT id FROM ${events()} WHERE source = 'a'`),
    ).rejects.toThrow(/does not support view queries other than SELECT/);
    await expect(create('v_legacy', 'SELECT id FROM [p:d.events]')).rejects.toThrow(
      /does not support view queries other than SELECT/,
    );
  });

  it("when a view's literal doubles a quote, then it is BigQuery's syntax error", async () => {
    await expect(
      create('v_quote', `SELECT id FROM ${events()} WHERE type = 'it''s'`),
    ).rejects.toThrow(/concatenated string literals must be separated/);
  });

  it('when a view is written into, or a table is given a view query, then it is refused', async () => {
    await create('v_ok', `SELECT id, time FROM ${events()} WHERE type = 'a'`);
    const [meta] = await client.dataset(dataset).table('v_ok').getMetadata();
    expect(meta.type).toBe('VIEW');
    await expect(
      client
        .dataset(dataset)
        .table('v_ok')
        .insert([{ id: 'x' }], { raw: false }),
    ).rejects.toThrow(/Cannot insert into view/);
    await expect(
      client
        .dataset(dataset)
        .table('events')
        .setMetadata({
          view: { query: `SELECT id FROM ${events()} WHERE type = 'a'`, useLegacySql: false },
        }),
    ).rejects.toThrow(/is not a view/);
    await expect(create('v_ok', `SELECT id FROM ${events()} WHERE type = 'a'`)).rejects.toThrow(
      /Already Exists/,
    );
  });

  it('when a query names a literal outside a view, then it is still refused', async () => {
    await expect(
      client.query({
        query: `SELECT id FROM \`${project}.${dataset}.v_ok\` WHERE time >= @from AND id = 'x'`,
        params: { from: BigQuery.timestamp(at(0)) },
      }),
    ).rejects.toThrow(/does not support literals in SQL text/);
  });
});
