import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance, timestampValue } from '@duckdb/node-api';
import { BigQuery } from '@google-cloud/bigquery';
import { PubSub, type Message, type Subscription } from '@google-cloud/pubsub';
import request from 'supertest';
import ts from 'typescript';
import { PubSubBus } from '@eventpipe/bus/adapters';
import { SchemaRegistry, startRegistry, viewName } from '@eventpipe/registry';
import { parseRfc3339 } from '@eventpipe/schema';
import type { EventStore } from '@eventpipe/store';
import { DuckDbStore } from '@eventpipe/store/adapters';
import {
  BigQueryFake,
  describeWithEmulator,
  memoryLogger,
  metricValue,
  tempDuckDbPath,
  testBigQueryStore,
  testBusOptions,
  uniqueName,
  waitFor,
} from '@eventpipe/testing';
import { serve, testStack, type Served } from './stack-fixture';

/**
 * Typed events end to end, on DuckDB and on BigQuery (the REST fake), with Pub/Sub on the
 * emulator: a schema from a folder (SCHEMAS_DIR), enforcement at the publisher and in the worker
 * (a message published straight to the topic), evolution through HTTP and the CLI, warn mode,
 * pinning, the typed view, and the registry seen by another instance.
 */
const root = join(__dirname, '..', '..', '..');
const TYPE = 'com.example.order.created';
const projectId = 'eventpipe-schemas';

const V1 = {
  type: 'object',
  required: ['orderId', 'amount'],
  properties: {
    orderId: { type: 'integer' },
    amount: { type: 'number', minimum: 0 },
    paid: { type: 'boolean' },
    items: { type: 'array', items: { type: 'string' } },
    customer: { type: 'object', properties: { email: { type: 'string', format: 'email' } } },
  },
};
const V2 = { ...V1, properties: { ...V1.properties, note: { type: 'string' } } };
const BREAKING = { ...V2, required: [...V1.required, 'currency'] };

describeWithEmulator('typed events: the schema registry end to end', (host) => {
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

  describe.each(['duckdb', 'bigquery'] as const)('on %s', (kind) => {
    const source = `/schemas/${uniqueName(kind)}`;
    let served: Served;
    let store: EventStore;
    let registry: SchemaRegistry;
    let names: ReturnType<typeof testBusOptions>;
    /** What reaches the dead-letter topic. */
    const deadLetters: { data: string; attributes: Record<string, string> }[] = [];
    let dlq: Subscription | undefined;
    let duckdbPath = '';
    let dataset = '';
    const dir = mkdtempSync(join(tmpdir(), 'ep-schemas-'));

    const post = (body: unknown, headers: Record<string, string> = {}) =>
      fetch(`${served.publisher.url}/v1/events`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', ...headers },
        body: JSON.stringify(body),
      });
    const put = (body: unknown) =>
      fetch(`${served.query.url}/v1/schemas/${encodeURIComponent(TYPE)}`, {
        method: 'PUT',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify(body),
      });
    const stored = async (id: string) => {
      const res = await fetch(
        `${served.query.url}/v1/events/${id}?source=${encodeURIComponent(source)}`,
      );
      return res.status === 200 ? ((await res.json()) as Record<string, unknown>) : undefined;
    };
    const event = (id: string, data: unknown, extra: Record<string, unknown> = {}) => ({
      specversion: '1.0',
      id,
      source,
      type: TYPE,
      data,
      ...extra,
    });
    /** npm run schemas, as a process (asynchronously: this process serves the API it calls). */
    const cli = (...args: string[]) =>
      new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => {
        const child = spawn(
          process.execPath,
          [join(root, 'services', 'schemas', 'dist', 'main.js'), ...args],
          { env: { PATH: process.env.PATH, QUERY_URL: served.query.url } },
        );
        let stdout = '';
        let stderr = '';
        child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
        child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
        const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
        child.on('close', (status) => {
          clearTimeout(timer);
          resolve({ status, stdout, stderr });
        });
      });
    /** The typed view's rows of this run's events, as SQL users read them. */
    async function viewRows(columns: string[]): Promise<Record<string, unknown>[]> {
      const from = new Date(Date.now() - 86_400_000).toISOString();
      if (kind === 'bigquery') {
        const client = new BigQuery({
          projectId,
          apiEndpoint: bigquery.endpoint,
          autoRetry: false,
        });
        const [rows] = await client.query({
          query: `SELECT ${columns.join(', ')} FROM \`${projectId}.${dataset}.${viewName(TYPE)}\` WHERE time >= @from AND source = @source ORDER BY id`,
          params: { from: BigQuery.timestamp(from), source },
        });
        return rows as Record<string, unknown>[];
      }
      const instance = await DuckDBInstance.create(duckdbPath, { access_mode: 'READ_ONLY' });
      try {
        const c = await instance.connect();
        const reader = await c.runAndReadAll(
          `SELECT ${columns.join(', ')} FROM ${viewName(TYPE)} WHERE time >= $from AND source = $source ORDER BY id`,
          { from: timestampValue(parseRfc3339(from)!), source },
        );
        const rows = reader.getRowObjectsJS() as Record<string, unknown>[];
        c.closeSync();
        return rows.map((r) =>
          Object.fromEntries(
            Object.entries(r).map(([k, v]) => [k, typeof v === 'bigint' ? Number(v) : v]),
          ),
        );
      } finally {
        instance.closeSync();
      }
    }

    beforeAll(async () => {
      names = testBusOptions(host, 'schemas', { projectId });
      const bus = new PubSubBus(names);
      await bus.init();
      if (kind === 'duckdb') {
        duckdbPath = tempDuckDbPath();
        store = await DuckDbStore.open({ path: duckdbPath });
      } else {
        dataset = uniqueName('schemas').replaceAll('-', '_');
        store = testBigQueryStore(bigquery.endpoint, { projectId, dataset });
      }
      await store.init();
      // The folder kept in git, applied at start as SCHEMAS_DIR is.
      writeFileSync(join(dir, `${TYPE}.json`), JSON.stringify(V1));
      const { logger } = memoryLogger();
      registry = await startRegistry(
        store.schemas,
        {
          SCHEMA_REFRESH_SECONDS: 1,
          SCHEMA_URI_BASE: 'https://events.example.com',
          SCHEMAS_DIR: dir,
        },
        logger,
      );
      served = await serve(testStack({ bus, store, schemas: registry }), bus, store);
      dlq = admin.subscription(names.deadLetterSubscription!);
      dlq.on('message', (m: Message) => {
        deadLetters.push({ data: m.data.toString(), attributes: { ...m.attributes } });
        m.ack();
      });
    }, 60_000);
    afterAll(async () => {
      await dlq?.close();
      registry?.stop();
      await served?.close();
    });

    it('when the folder is applied at start, then version 1 is registered and listed, with its URI and view', async () => {
      const list = (await (await fetch(`${served.query.url}/v1/schemas`)).json()) as {
        data: Record<string, unknown>[];
      };
      expect(list.data).toEqual([
        {
          type: TYPE,
          mode: 'enforce',
          compatibility: 'BACKWARD',
          latestVersion: 1,
          uri: `https://events.example.com/v1/schemas/${TYPE}/versions/1`,
          view: 'events_com_example_order_created',
        },
      ]);
      const v1 = await fetch(`${served.query.url}/v1/schemas/${TYPE}/versions/1`);
      expect(((await v1.json()) as { schema: unknown }).schema).toEqual(V1);
      // Applying the same folder again registers nothing.
      const again = await startRegistry(
        store.schemas,
        { SCHEMA_REFRESH_SECONDS: 1, SCHEMA_URI_BASE: 'https://x', SCHEMAS_DIR: dir },
        memoryLogger().logger,
      );
      again.stop();
      expect(registry.versions(TYPE)).toHaveLength(1);
    });

    it('when data matches, then the event is accepted and stored with dataschema naming version 1, and reads the same in the typed view', async () => {
      const res = await post(
        event('ok-1', {
          orderId: 7,
          amount: 12.5,
          paid: true,
          items: ['a', 'b'],
          customer: { email: 'a@b.co' },
        }),
      );
      expect(res.status).toBe(202);
      const e = await waitFor(() => stored('ok-1'), { what: 'ok-1 stored', timeoutMs: 30_000 });
      expect(e.dataschema).toBe(`https://events.example.com/v1/schemas/${TYPE}/versions/1`);
      const rows = await viewRows(['id', 'orderid', 'amount', 'paid', 'items']);
      expect(rows).toEqual([
        { id: 'ok-1', orderid: 7, amount: 12.5, paid: true, items: ['a', 'b'] },
      ]);
    });

    it('when data does not match in enforce mode, then the request is a 400 naming each event index and /data pointer, and nothing is published', async () => {
      const res = await post([
        event('bad-ok', { orderId: 1, amount: 1 }),
        event('bad-1', { orderId: 'x', amount: -1 }),
        event('bad-2', { amount: 1 }),
      ]);
      expect(res.status).toBe(400);
      const problem = (await res.json()) as {
        code: string;
        errors: { pointer: string; index: number }[];
      };
      expect(problem.code).toBe('data-schema-invalid');
      expect(problem.errors.map((e) => [e.index, e.pointer]).sort()).toEqual([
        [1, '/1/data/amount'],
        [1, '/1/data/orderId'],
        [2, '/2/data/orderId'],
      ]);
      // Nothing of the request, not even its valid event, was published.
      await post(event('after-bad', { orderId: 2, amount: 2 }));
      await waitFor(() => stored('after-bad'), { what: 'after-bad stored' });
      expect(await stored('bad-ok')).toBeUndefined();
    });

    it('when a message reaches the topic without the publisher, then the worker checks it: invalid ones are dead-lettered data-schema-invalid, valid ones stored with dataschema', async () => {
      const topic = admin.topic(names.topic);
      const structured = (e: unknown) => ({
        data: Buffer.from(JSON.stringify(e)),
        attributes: { 'content-type': 'application/cloudevents+json' },
      });
      await topic.publishMessage(structured(event('topic-bad', { orderId: 1.5, amount: 3 })));
      await topic.publishMessage(structured(event('topic-ok', { orderId: 3, amount: 3 })));
      const ok = await waitFor(() => stored('topic-ok'), {
        what: 'topic-ok stored',
        timeoutMs: 30_000,
      });
      expect(ok.dataschema).toBe(`https://events.example.com/v1/schemas/${TYPE}/versions/1`);
      const dead = await waitFor(
        () =>
          deadLetters.find(
            (m) => m.attributes['ce-id'] === 'topic-bad' || m.data.includes('topic-bad'),
          ),
        { what: 'topic-bad dead-lettered', timeoutMs: 30_000 },
      );
      expect(dead.attributes['eventpipe-dlq-reason']).toBe('data-schema-invalid');
      expect(dead.attributes['eventpipe-dlq-detail']).toContain('/data/orderId');
      expect(await stored('topic-bad')).toBeUndefined();
      const metrics = (await request(served.stack.worker.app).get('/metrics')).text;
      expect(
        metricValue(metrics, 'eventpipe_worker_dead_lettered_total', {
          reason: 'data-schema-invalid',
        }),
      ).toBe(1);
    }, 60_000);

    it('when a message the publisher accepted arrives after its type became stricter, then it is stored, not dead-lettered', async () => {
      const topic = admin.topic(names.topic);
      const accepted = (id: string, attributes: Record<string, string>) =>
        topic.publishMessage({
          data: Buffer.from(JSON.stringify(event(id, { orderId: 'not a number', amount: -1 }))),
          attributes: {
            'content-type': 'application/cloudevents+json',
            'eventpipe-received-at': new Date().toISOString(),
            ...attributes,
          },
        });
      // Checked by a publisher with the registry (accepted under warn, or before the schema) ...
      await accepted('late-checked', { 'eventpipe-schemas-checked': '1' });
      // ... or by a publisher without one: accepted all the same.
      await accepted('late-unchecked', {});
      await waitFor(() => stored('late-checked'), { what: 'late-checked stored' });
      await waitFor(() => stored('late-unchecked'), { what: 'late-unchecked stored' });
      expect(deadLetters.filter((m) => m.data.includes('late-'))).toEqual([]);
    });

    it('when a compatible version is PUT, then it is 201 version 2; an incompatible one is 409 naming the rule, and nothing is registered', async () => {
      const ok = await put({ schema: V2 });
      expect(ok.status).toBe(201);
      const body = (await ok.json()) as { version: number; uri: string; view: string };
      expect(body).toMatchObject({ version: 2, view: 'events_com_example_order_created' });
      expect(ok.headers.get('location')).toBe(body.uri);
      // The same again: nothing new.
      const same = await put({ schema: V2 });
      expect(same.status).toBe(200);
      expect(((await same.json()) as { version: number }).version).toBe(2);
      const breaking = await put({ schema: BREAKING });
      expect(breaking.status).toBe(409);
      const problem = (await breaking.json()) as {
        code: string;
        errors: { pointer: string; detail: string }[];
      };
      expect(problem.code).toBe('schema-incompatible');
      expect(problem.errors).toEqual([
        expect.objectContaining({
          pointer: '/schema/currency',
          detail: expect.stringMatching(/^required-added: /),
        }),
      ]);
      const invalid = await put({
        schema: { type: 'object', properties: { a: { type: 'integr' } } },
      });
      expect(invalid.status).toBe(400);
      expect(((await invalid.json()) as { code: string }).code).toBe('invalid-schema');
      expect(registry.versions(TYPE).map((v) => v.version)).toEqual([1, 2]);
    });

    it('when another instance of a service holds the registry, then it uses a new version within SCHEMA_REFRESH_SECONDS', async () => {
      const other = new SchemaRegistry(store.schemas, { refreshMs: 1000, uriBase: 'https://x' });
      await other.start();
      try {
        expect(other.latest(TYPE)?.version).toBe(2);
        const res = await put({ schema: V2, mode: 'enforce', compatibility: 'FULL' });
        expect(res.status).toBe(201);
        const started = Date.now();
        await waitFor(() => (other.latest(TYPE)?.version === 3 ? true : undefined), {
          what: 'version 3 seen by the other instance',
          timeoutMs: 5000,
        });
        expect(Date.now() - started).toBeLessThan(3000);
      } finally {
        other.stop();
      }
    });

    it('when the CLI puts files, then it registers a compatible one and refuses an incompatible one with exit 1 and the rule', async () => {
      const compatible = join(dir, 'v4.json');
      writeFileSync(
        compatible,
        JSON.stringify({
          schema: { ...V2, properties: { ...V2.properties, tag: { type: 'string' } } },
          compatibility: 'BACKWARD',
        }),
      );
      const next = registry.latest(TYPE)!.version + 1;
      const ok = await cli('put', TYPE, compatible);
      expect(ok.stderr).toBe('');
      expect(ok.status).toBe(0);
      expect(ok.stdout).toContain(`${TYPE}: version ${next} registered (enforce, BACKWARD)`);
      const breaking = join(dir, 'breaking.json');
      writeFileSync(breaking, JSON.stringify(BREAKING));
      const refused = await cli('put', TYPE, breaking);
      expect(refused.status).toBe(1);
      expect(refused.stderr).toContain('409 schema-incompatible');
      expect(refused.stderr).toContain('required-added');
      const list = await cli('list');
      expect(list.stdout).toContain(
        `${TYPE}\tversion ${next}\tenforce\tBACKWARD\tevents_com_example_order_created`,
      );
    });

    it('when the CLI generates types, then they compile and type the data of each registered type', async () => {
      const out = join(dir, 'event-types.ts');
      const r = await cli('types', '--out', out);
      expect(r.status).toBe(0);
      const source = readFileSync(out, 'utf8');
      expect(source).toContain('export interface ComExampleOrderCreatedData');
      const use = join(dir, 'use.ts');
      writeFileSync(
        use,
        [
          "import type { ComExampleOrderCreatedData, EventDataByType } from './event-types';",
          'const ok: ComExampleOrderCreatedData = { orderId: 1, amount: 2, items: ["a"] };',
          `const byType: EventDataByType[${JSON.stringify(TYPE)}] = ok;`,
          '// @ts-expect-error amount is required',
          'const missing: ComExampleOrderCreatedData = { orderId: 1 };',
          '// @ts-expect-error orderId is a number',
          'const wrong: ComExampleOrderCreatedData = { orderId: "1", amount: 2 };',
          'export { ok, byType, missing, wrong };',
        ].join('\n'),
      );
      const program = ts.createProgram([use], { strict: true, noEmit: true, skipLibCheck: true });
      const diagnostics = ts
        .getPreEmitDiagnostics(program)
        .map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'));
      expect(diagnostics).toEqual([]);
    });

    it('when the type is in warn mode, then data that does not match is accepted, stored and counted', async () => {
      const res = await put({ schema: registry.latest(TYPE)!.schema, mode: 'warn' });
      expect(res.status).toBe(201);
      const accepted = await post(event('warned', { orderId: 'nope', amount: -5 }));
      expect(accepted.status).toBe(202);
      const e = await waitFor(() => stored('warned'), { what: 'warned stored' });
      expect(e.dataschema).toBeUndefined();
      const metrics = (await request(served.stack.publisher).get('/metrics')).text;
      expect(metricValue(metrics, 'eventpipe_schema_violations_total', { type: TYPE })).toBe(1);
      const back = await put({ schema: registry.latest(TYPE)!.schema, mode: 'enforce' });
      expect(back.status).toBe(201);
    });

    it('when a producer pins a version with dataschema, then it is checked against that version; a dataschema naming none is refused', async () => {
      const v1 = `https://elsewhere.example/v1/schemas/${TYPE}/versions/1`;
      const pinned = await post(event('pinned', { orderId: 5, amount: 1 }, { dataschema: v1 }));
      expect(pinned.status).toBe(202);
      const e = await waitFor(() => stored('pinned'), { what: 'pinned stored' });
      expect(e.dataschema).toBe(v1);
      const unknown = await post(
        event(
          'pinned-bad',
          { orderId: 5, amount: 1 },
          { dataschema: `https://x/v1/schemas/${TYPE}/versions/99` },
        ),
      );
      expect(unknown.status).toBe(400);
      const problem = (await unknown.json()) as { errors: { pointer: string }[] };
      expect(problem.errors.map((x) => x.pointer)).toEqual(['/dataschema']);
    });

    it('when an event of a type with a schema carries binary data, then it is refused: the schema needs JSON data', async () => {
      const res = await fetch(`${served.publisher.url}/v1/events`, {
        method: 'POST',
        headers: {
          'ce-specversion': '1.0',
          'ce-id': 'binary-1',
          'ce-source': source,
          'ce-type': TYPE,
          'Content-Type': 'application/octet-stream',
        },
        body: new Uint8Array([1, 2, 3]),
      });
      expect(res.status).toBe(400);
      const problem = (await res.json()) as { code: string; errors: { pointer: string }[] };
      expect(problem.code).toBe('data-schema-invalid');
      expect(problem.errors.map((e) => e.pointer)).toEqual(['/data_base64']);
    });

    it('when the OpenAPI documents are read, then they list the registered type and hold its schema', async () => {
      for (const url of [served.publisher.url, served.query.url]) {
        const doc = (await (await fetch(`${url}/openapi.json`)).json()) as {
          'x-eventpipe-event-types': { type: string; version: number; schema: { $ref: string } }[];
          components: { schemas: Record<string, { properties: Record<string, unknown> }> };
        };
        const [entry] = doc['x-eventpipe-event-types'];
        expect(entry).toMatchObject({ type: TYPE, version: registry.latest(TYPE)!.version });
        const name = entry!.schema.$ref.split('/').at(-1)!;
        expect(Object.keys(doc.components.schemas[name]!.properties)).toContain('orderId');
      }
    });

    it('when a schema is drafted from stored events, then every stored data of the type matches it', async () => {
      const res = await fetch(`${served.query.url}/v1/schemas/${TYPE}/inferred`);
      expect(res.status).toBe(200);
      const draft = (await res.json()) as {
        sampledEvents: number;
        schema: Record<string, unknown>;
      };
      expect(draft.sampledEvents).toBeGreaterThanOrEqual(4);
      expect((draft.schema.properties as Record<string, unknown>).orderId).toBeDefined();
    });
  });
});
