import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { PubSub, type Message } from '@google-cloud/pubsub';
import { CloudEvent, CONSTANTS, HTTP, emitterFor, httpTransport, Mode } from 'cloudevents';
import { parse as parseCsv } from 'csv-parse/sync';
import request from 'supertest';
import { PubSubBus } from '@eventpipe/bus/adapters';
import { EventpipeClient, JsonNumber, parseJson, stringifyJson } from '@eventpipe/client';
import { eventDataTexts, jsonLine } from '@eventpipe/schema';
import { type EventStore } from '@eventpipe/store';
import { DuckDbStore } from '@eventpipe/store/adapters';
import {
  BigQueryFake,
  describeWithEmulator,
  metricValue,
  tempDuckDbPath,
  testBigQueryStore,
  testBusOptions,
  uniqueName,
  waitFor,
} from '@eventpipe/testing';
import {
  CASES,
  FORMS,
  canSend,
  expected,
  headerValue,
  structuredJson,
  type Case,
  type Expected,
  type Form,
} from './fidelity/cases';
import { serve, testStack, type Served } from './stack-fixture';

// What a producer sends is what a consumer reads. Every case of fidelity/cases.ts goes in by
// every mode that can carry it (HTTP structured, batch and binary; Pub/Sub structured and binary
// with the raw client; the official SDK; the gcloud CLI), through the Pub/Sub emulator and the
// worker into DuckDB and into BigQuery (the REST fake), and is read back by every path (GET by
// id in both representations, both page representations, the NDJSON and CSV exports, the typed
// client). `data` is compared as bytes, the text cut out of each response.

const projectId = 'eventpipe-fidelity';
const run = promisify(execFile);

interface Planned {
  label: string;
  case: Case;
  form: Form;
  id: string;
  expected: Expected;
}

/** Every case in every form it can be sent in, with an id of its own. */
const PLAN: Planned[] = CASES.flatMap((c, i) =>
  FORMS.filter((form) => canSend(c, form)).map((form) => ({
    label: `${form}: ${c.name}`,
    case: c,
    form,
    id: `c${i}-${form}`,
    expected: expected(c, form),
  })),
);

/** What a read path shows of one event's data: its exact text, or data_base64. */
type Seen = { data?: string; data_base64?: string };

/** The data of each event in a JSON array text of events, by id, cut out as bytes. */
function dataById(arrayText: string): Map<string, Seen> {
  const events = JSON.parse(arrayText) as { id: string; data_base64?: string }[];
  const texts = eventDataTexts(arrayText);
  return new Map(
    events.map((e, i) => [
      e.id,
      {
        ...(texts[i] !== undefined ? { data: texts[i] } : {}),
        ...(e.data_base64 !== undefined ? { data_base64: e.data_base64 } : {}),
      },
    ]),
  );
}

const headersOf = (res: Response): Record<string, string> => {
  const out: Record<string, string> = {};
  res.headers.forEach((v, k) => (out[k] = v));
  return out;
};

const seenOf = (text: string): Seen => dataById(`[${text}]`).values().next().value!;

describeWithEmulator('fidelity: what a producer sends is what a consumer reads', (host) => {
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
    const source = `/fidelity/${uniqueName(kind)}`;
    let served: Served;
    let names: ReturnType<typeof testBusOptions>;
    let client: EventpipeClient;
    /** Each read path's body, read once everything is stored. */
    const reads = { page: '', cloudEvents: '', ndjson: '', csv: '' };

    const query = (path: string, accept?: string) =>
      fetch(`${served.query.url}${path}`, accept ? { headers: { Accept: accept } } : {});

    async function sendAll(): Promise<void> {
      const url = `${served.publisher.url}/v1/events`;
      const topic = admin.topic(names.topic);
      const post = async (body: string | Buffer, headers: Record<string, string>) => {
        const res = await fetch(url, {
          method: 'POST',
          body: new Uint8Array(Buffer.from(body)),
          headers,
        });
        expect(res.status).toBe(202);
      };
      const batch: string[] = [];
      for (const p of PLAN) {
        const { attributes, data } = p.case;
        const structured = structuredJson(p.case, p.id, source);
        const { datacontenttype, ...rest } = attributes;
        const ce = { specversion: '1.0', id: p.id, source, ...rest };
        if (p.form === 'http-structured') {
          await post(structured, { 'Content-Type': 'application/cloudevents+json' });
        } else if (p.form === 'http-batch') {
          batch.push(structured);
        } else if (p.form === 'http-binary') {
          const headers = Object.fromEntries(
            Object.entries(ce).map(([k, v]) => [`ce-${k}`, headerValue(v)]),
          );
          if (datacontenttype) headers['Content-Type'] = datacontenttype;
          await post(data?.bytes ?? Buffer.alloc(0), headers);
        } else if (p.form === 'pubsub-structured') {
          await topic.publishMessage({
            data: Buffer.from(structured),
            attributes: { 'content-type': 'application/cloudevents+json' },
          });
        } else {
          // Pub/Sub attribute values are plain strings: no percent-encoding in this binding.
          const attrs = Object.fromEntries(Object.entries(ce).map(([k, v]) => [`ce-${k}`, v]));
          if (datacontenttype) attrs['content-type'] = datacontenttype;
          await topic.publishMessage({ data: data?.bytes ?? Buffer.alloc(0), attributes: attrs });
        }
      }
      await post(`[${batch.join(',')}]`, { 'Content-Type': 'application/cloudevents-batch+json' });
    }

    beforeAll(async () => {
      names = testBusOptions(host, 'fidelity', { projectId });
      const bus = new PubSubBus(names);
      await bus.init();
      let store: EventStore;
      if (kind === 'duckdb') store = await DuckDbStore.open({ path: tempDuckDbPath() });
      else store = testBigQueryStore(bigquery.endpoint, { projectId });
      await store.init();
      served = await serve(testStack({ bus, store }), bus, store);
      client = new EventpipeClient({
        queryUrl: served.query.url,
        publisherUrl: served.publisher.url,
      });
      await sendAll();
      const filter = `source=${encodeURIComponent(source)}`;
      await waitFor(
        async () => {
          const page = (await (await query(`/v1/events?${filter}&limit=1000`)).json()) as {
            data: unknown[];
          };
          return page.data.length === PLAN.length ? true : undefined;
        },
        { what: `${PLAN.length} events stored`, timeoutMs: 60_000 },
      );
      reads.page = await (await query(`/v1/events?${filter}&limit=1000`)).text();
      reads.cloudEvents = await (
        await query(`/v1/events?${filter}&limit=1000`, CONSTANTS.MIME_CE_BATCH)
      ).text();
      reads.ndjson = await (await query(`/v1/events?${filter}`, 'application/x-ndjson')).text();
      reads.csv = await (await query(`/v1/events?${filter}`, 'text/csv')).text();
    }, 180_000);
    afterAll(() => served?.close());

    it.each(PLAN)('when sent $label, then every read path returns it as sent', async (p) => {
      const want = p.expected;
      const q = `?source=${encodeURIComponent(source)}`;
      // GET by id, with the pipeline's metadata.
      const res = await query(`/v1/events/${p.id}${q}`);
      expect(res.status).toBe(200);
      const body = await res.text();
      const event = JSON.parse(body) as Record<string, string>;
      expect(seenOf(body)).toEqual(want);
      const { datacontenttype, time, ...attributes } = p.case.attributes;
      expect(event).toMatchObject({ specversion: '1.0', id: p.id, source, ...attributes });
      if (datacontenttype) expect(event.datacontenttype).toBe(datacontenttype);
      // The time as written; without one, when the event was received.
      expect(event.time).toBe(time ?? event.receivedAt);

      // GET by id as a pure CloudEvent: the SDK reads it; the metadata is in headers.
      const pure = await query(`/v1/events/${p.id}${q}`, CONSTANTS.MIME_CE_JSON);
      expect(pure.headers.get('content-type')).toBe(CONSTANTS.DEFAULT_CE_CONTENT_TYPE);
      expect(pure.headers.get('eventpipe-received-at')).toBe(event.receivedAt);
      const pureBody = await pure.text();
      expect(seenOf(pureBody)).toEqual(want);
      const sdkEvent = HTTP.toEvent({
        headers: headersOf(pure),
        body: pureBody,
      }) as CloudEvent<unknown>;
      // The SDK re-writes time through Date (milliseconds, Z): the same instant.
      expect(sdkEvent).toMatchObject({ id: p.id, source, type: attributes.type });
      expect(Date.parse(sdkEvent.time!)).toBe(Math.floor(Date.parse(event.time!)));
      expect(Object.keys(JSON.parse(pureBody) as object)).not.toContain('receivedAt');

      // Pages, in both representations, and the two exports.
      expect(dataById(eventDataTexts(reads.page)[0]!).get(p.id)).toEqual(want);
      expect(dataById(reads.cloudEvents).get(p.id)).toEqual(want);
      const line = reads.ndjson.split('\n').find((l) => l.includes(`"id":"${p.id}"`))!;
      expect(seenOf(line)).toEqual('data' in want ? { data: jsonLine(want.data) } : want);
      const rows = parseCsv(reads.csv, { columns: true }) as Record<string, string>[];
      const row = rows.find((r) => r.id === p.id)!;
      expect({
        ...(row.data ? { data: row.data } : {}),
        ...(row.data_base64 ? { data_base64: row.data_base64 } : {}),
      }).toEqual(want);
      expect(row.time).toBe(event.time);

      // The typed client: every number exact.
      const got = await client.get(p.id, { source });
      if ('data' in want) {
        expect(stringifyJson(got.data)).toBe(stringifyJson(parseJson(want.data)));
      } else expect(got).not.toHaveProperty('data');
    });

    it('when numbers no double holds are read with the typed client, then they are JsonNumbers with their digits', async () => {
      const id = PLAN.find(
        (p) => p.case.name === 'data: an integer past 2^53' && p.form === 'http-binary',
      )!.id;
      const got = await client.get(id, { source });
      const n = (got.data as { id: JsonNumber }).id;
      expect(n).toBeInstanceOf(JsonNumber);
      expect(n.toBigInt()).toBe(9007199254740993n);
      const exported: unknown[] = [];
      for await (const e of client.export({ source })) if (e.id === id) exported.push(e.data);
      expect(stringifyJson(exported)).toBe('[{"id":9007199254740993}]');
    });

    it('when a page of pure CloudEvents is read, then the SDK reads it as a batch', () => {
      const events = HTTP.toEvent({
        headers: { 'content-type': CONSTANTS.MIME_CE_BATCH },
        body: reads.cloudEvents,
      }) as CloudEvent<unknown>[];
      expect(events.map((e) => e.id).sort()).toEqual(PLAN.map((p) => p.id).sort());
    });

    it('when the SDK sends in binary and structured mode, then its bytes come back', async () => {
      const sdkSource = `${source}/sdk`;
      const sent = [Mode.BINARY, Mode.STRUCTURED].map((mode) => {
        const event = new CloudEvent({
          type: 'com.example.sdk',
          source: sdkSource,
          id: `sdk-${mode}`,
          subject: 'say "hi", 50% off, a%20b',
          datacontenttype: 'application/json',
          data: { n: 12345, s: 'é"\\', list: [1.5, null] },
          myextension: 'x',
        });
        return { mode, event };
      });
      for (const { mode, event } of sent) {
        await emitterFor(httpTransport(`${served.publisher.url}/v1/events`), { mode })(event);
      }
      for (const { mode, event } of sent) {
        const res = await waitFor(async () => {
          const r = await query(`/v1/events/sdk-${mode}?source=${encodeURIComponent(sdkSource)}`);
          return r.status === 200 ? r : undefined;
        });
        const body = await res.text();
        expect(seenOf(body)).toEqual({ data: JSON.stringify(event.data) });
        expect(JSON.parse(body)).toMatchObject({ time: event.time, myextension: 'x' });
      }
      // Binary mode: the SDK sends the subject as it is, unencoded; read liberally it stays whole
      // but for "%20", which is a percent-encoded space either way.
      const binary = (await client.get(`sdk-${Mode.BINARY}`, { source: sdkSource })) as {
        subject: string;
      };
      expect(binary.subject).toBe('say "hi", 50% off, a b');
    });

    it('when gcloud publishes in binary and structured mode, then both are stored as sent', async () => {
      const gcloud = await run('gcloud', ['--version']).then(
        () => true,
        () => false,
      );
      if (!gcloud) {
        // CI (.ci/run and the GitHub runners) has the Google Cloud CLI; never skip there.
        expect(process.env.EVENTPIPE_REQUIRE_EMULATOR).not.toBe('1');
        return;
      }
      const env = {
        ...process.env,
        CLOUDSDK_API_ENDPOINT_OVERRIDES_PUBSUB: `http://${host}/`,
        CLOUDSDK_AUTH_DISABLE_CREDENTIALS: 'true',
        CLOUDSDK_CORE_PROJECT: projectId,
      };
      const gSource = `${source}/gcloud`;
      const data = '{"n": 12345678901234567890, "pi": 3.141592653589793238}';
      await run(
        'gcloud',
        [
          'pubsub',
          'topics',
          'publish',
          names.topic,
          `--message=${data}`,
          `--attribute=ce-specversion=1.0,ce-id=g-bin,ce-source=${gSource},ce-type=com.example.gcloud,content-type=application/json`,
        ],
        { env },
      );
      await run(
        'gcloud',
        [
          'pubsub',
          'topics',
          'publish',
          names.topic,
          `--message={"specversion":"1.0","id":"g-str","source":"${gSource}","type":"com.example.gcloud","data":${data}}`,
          '--attribute=content-type=application/cloudevents+json',
        ],
        { env },
      );
      for (const id of ['g-bin', 'g-str']) {
        const res = await waitFor(async () => {
          const r = await query(`/v1/events/${id}?source=${encodeURIComponent(gSource)}`);
          return r.status === 200 ? r : undefined;
        });
        expect(seenOf(await res.text())).toEqual({ data });
      }
    });

    it('when another event comes under a stored (source, id), then it is dead-lettered as conflicting-duplicate and the first stays', async () => {
      const cSource = `${source}/conflict`;
      const send = (data: string) =>
        fetch(`${served.publisher.url}/v1/events`, {
          method: 'POST',
          headers: { 'Content-Type': 'application/cloudevents+json' },
          body: `{"specversion":"1.0","id":"dup","source":"${cSource}","type":"t","data":${data}}`,
        });
      expect((await send('{"v": 1}')).status).toBe(202);
      await waitFor(async () =>
        (await query(`/v1/events/dup?source=${encodeURIComponent(cSource)}`)).ok ? true : undefined,
      );
      expect((await send('{"v":1}')).status).toBe(202); // the same event, laid out otherwise
      expect((await send('{"v": 2}')).status).toBe(202);
      const dead: Message[] = [];
      const dlq = admin.subscription(names.deadLetterSubscription);
      dlq.on('message', (m: Message) => {
        dead.push(m);
        m.ack();
      });
      try {
        await waitFor(
          () => (dead.some((m) => m.attributes['ce-source'] === cSource) ? true : undefined),
          {
            what: 'the conflicting event on the dead-letter topic',
            timeoutMs: 30_000,
          },
        );
      } finally {
        await dlq.close();
      }
      const conflicts = dead.filter((m) => m.attributes['ce-source'] === cSource);
      expect(conflicts).toHaveLength(1);
      expect(conflicts[0]!.attributes['eventpipe-dlq-reason']).toBe('conflicting-duplicate');
      expect(conflicts[0]!.data.toString()).toContain('"data":{"v": 2}');
      const stored = await query(`/v1/events/dup?source=${encodeURIComponent(cSource)}`);
      expect(seenOf(await stored.text())).toEqual({ data: '{"v": 1}' });
      const text = (await request(served.stack.worker.app).get('/metrics')).text;
      expect(metricValue(text, 'eventpipe_worker_rows_total', { result: 'conflict' })).toBe(1);
      expect(conflicts[0]!.attributes['eventpipe-dlq-digest']).not.toBe(
        conflicts[0]!.attributes['eventpipe-dlq-stored-digest'],
      );
    });
  });
});
