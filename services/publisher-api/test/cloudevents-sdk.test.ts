import { once } from 'node:events';
import { connect, type AddressInfo } from 'node:net';
import request from 'supertest';
import { CloudEvent, emitterFor, HTTP, Mode, type Message } from 'cloudevents';
import { type EventBus, type OutgoingMessage } from '@eventpipe/bus';
import { MemoryBus } from '@eventpipe/bus/adapters';
import { createRegistry } from '@eventpipe/platform';
import { createPublisherApp } from '@eventpipe/publisher-api';
import { LIMITS } from '@eventpipe/schema';
import { memoryLogger } from '@eventpipe/testing';
import { decodeHeaderValue } from '../src/binary-mode';

// The official CloudEvents SDK (npm `cloudevents`) is the client: it builds the events and their
// HTTP messages; what the bus received is read back into SDK events and compared.

class RecordingBus extends MemoryBus {
  readonly published: OutgoingMessage[] = [];
  override async publish(messages: OutgoingMessage[]): Promise<string[]> {
    this.published.push(...messages);
    return super.publish(messages);
  }
}

function setup() {
  const bus = new RecordingBus();
  const app = createPublisherApp({
    bus: bus as EventBus,
    logger: memoryLogger('publisher-api').logger,
    registry: createRegistry('publisher-api'),
  });
  return { bus, app };
}

type App = ReturnType<typeof setup>['app'];

/** Sends an SDK message (headers and body) as an HTTP client would, the body's bytes as they are. */
function send(app: App, message: Message) {
  const req = request(app).post('/v1/events');
  for (const [name, value] of Object.entries(message.headers)) {
    if (value !== undefined) req.set(name, String(value));
  }
  const body = message.body as string | Uint8Array | undefined;
  return req
    .serialize((b: Buffer) => b as unknown as string)
    .send(body === undefined ? Buffer.alloc(0) : Buffer.from(body));
}

/** An SDK emitter whose transport posts to the app; it resolves to the HTTP response. */
const emitter = (app: App, mode: Mode) =>
  emitterFor((message) => send(app, message), { binding: HTTP, mode });

const wireOf = (m: OutgoingMessage) => JSON.parse(m.data.toString()) as Record<string, unknown>;

/** Each published message, read back into an SDK event (strict: it must pass the SDK's checks). */
const storedEvents = (bus: RecordingBus) =>
  bus.published.map((m) => new CloudEvent<unknown>(wireOf(m)));

/** Every attribute and extension of an SDK event, its time as an instant, and its data (bytes as
 * a Uint8Array), so a sent and a stored event compare with one toEqual. */
function attributesOf(event: CloudEvent<unknown>) {
  const { time: _time, data: _data, ...rest } = event.toJSON();
  return { ...rest, time: new Date(event.time!).toISOString(), data: event.data };
}

const jsonEvent = new CloudEvent<unknown>({
  id: 'sdk-json',
  source: '/tests/sdk',
  type: 'com.example.order.created',
  subject: 'order/42',
  time: '2026-03-04T05:06:07.890Z',
  datacontenttype: 'application/json',
  dataschema: 'https://example.com/schemas/order.json',
  data: { orderId: 42, items: ['a', 'b'], nested: { ok: true, none: null } },
  tenant: 'acme',
  region: 'eu1',
});
const textEvent = new CloudEvent<unknown>({
  id: 'sdk-text',
  source: '/tests/sdk',
  type: 'com.example.note.added',
  time: '2026-03-04T05:06:08.000Z',
  datacontenttype: 'text/plain; charset=utf-8',
  data: 'héllo wörld ✓ "quoted", 100% {not json}',
  tenant: 'acme',
});
const bytes = Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0xff, 0xfe]);
const binaryEvent = new CloudEvent<unknown>({
  id: 'sdk-bytes',
  source: '/tests/sdk',
  type: 'com.example.image.uploaded',
  time: '2026-03-04T05:06:09.123Z',
  datacontenttype: 'image/png',
  data: bytes,
  tenant: 'acme',
});

/** How each event's data must look in the published JSON format. */
const WIRE_DATA: [CloudEvent<unknown>, Record<string, unknown>][] = [
  [jsonEvent, { data: jsonEvent.data }],
  [textEvent, { data: textEvent.data }],
  [binaryEvent, { data_base64: Buffer.from(bytes).toString('base64') }],
];

describe('the CloudEvents SDK as a client of POST /v1/events', () => {
  describe.each([
    ['binary', Mode.BINARY],
    ['structured', Mode.STRUCTURED],
  ])('%s mode', (_name, mode) => {
    it.each(WIRE_DATA.map(([e, wire]) => [e.datacontenttype, e, wire] as const))(
      'when an event with %s data is emitted, then the stored event equals it',
      async (_type, sent, wire) => {
        const { app, bus } = setup();

        const res = (await emitter(app, mode)(sent)) as request.Response;

        expect(res.status).toBe(202);
        expect(res.body).toEqual({ accepted: 1, ids: [sent.id] });
        expect(bus.published).toHaveLength(1);
        const stored = wireOf(bus.published[0]!);
        expect(stored).toMatchObject(wire);
        expect(stored).not.toHaveProperty(wire.data === undefined ? 'data' : 'data_base64');
        expect(attributesOf(storedEvents(bus)[0]!)).toEqual(attributesOf(sent));
      },
    );
  });

  it('when a batch of SDK events is posted, then each stored event equals the one sent', async () => {
    // The SDK (v10) reads batches but cannot emit one: its HTTP binding has binary and
    // structured serializers only, and emitterFor refuses Mode.BATCH. So the batch body is the
    // JSON array of the SDK events' own JSON format (toJSON, via JSON.stringify).
    expect(() => emitterFor(async () => undefined, { mode: Mode.BATCH })(jsonEvent)).toThrow(
      'Unexpected transport mode',
    );
    const sent = [jsonEvent, textEvent, binaryEvent];
    const { app, bus } = setup();

    const res = await send(app, {
      headers: { 'content-type': 'application/cloudevents-batch+json; charset=utf-8' },
      body: JSON.stringify(sent),
    });

    expect(res.status).toBe(202);
    expect(res.body).toEqual({ accepted: 3, ids: sent.map((e) => e.id) });
    expect(bus.published.map(wireOf)).toEqual(
      WIRE_DATA.map(([, wire]) => expect.objectContaining(wire)),
    );
    expect(storedEvents(bus).map(attributesOf)).toEqual(sent.map(attributesOf));
  });

  it('when extensions are an integer and a boolean, then structured mode keeps their types and binary mode delivers their string form', async () => {
    // Binary-mode headers carry no type; a receiver cannot tell 7 from "7".
    const sent = jsonEvent.cloneWith({ priority: 7, urgent: true });
    const { app, bus } = setup();

    expect(((await emitter(app, Mode.STRUCTURED)(sent)) as request.Response).status).toBe(202);
    expect(((await emitter(app, Mode.BINARY)(sent)) as request.Response).status).toBe(202);

    const [structured, binary] = bus.published.map(wireOf);
    expect(structured).toMatchObject({ priority: 7, urgent: true, tenant: 'acme' });
    expect(binary).toMatchObject({ priority: '7', urgent: 'true', tenant: 'acme' });
  });

  it('when the event has no data, then binary mode stores none and keeps the Content-Type the SDK sent', async () => {
    const sent = new CloudEvent({ id: 'no-data', source: '/tests/sdk', type: 't' });
    const message = HTTP.binary(sent);
    expect(message.body).toBeUndefined();
    const { app, bus } = setup();

    const res = await send(app, message);

    expect(res.status).toBe(202);
    const stored = wireOf(bus.published[0]!);
    // The SDK puts its default Content-Type on a binary message; it becomes datacontenttype.
    expect(stored.datacontenttype).toBe(message.headers['content-type']);
    expect(stored).not.toHaveProperty('data');
    expect(stored).not.toHaveProperty('data_base64');
  });

  it('when attribute values hold spaces, quotes, percent signs and non-ASCII, and the headers are percent-encoded as the binding says, then they arrive decoded', async () => {
    // The SDK (v10) sends header values as they are; §3.1.3.2 asks for this encoding.
    const encode = (v: string) =>
      Array.from(new TextEncoder().encode(v), (b) =>
        b > 0x20 && b < 0x7f && b !== 0x22 && b !== 0x25
          ? String.fromCharCode(b)
          : '%' + b.toString(16).toUpperCase().padStart(2, '0'),
      ).join('');
    const sent = textEvent.cloneWith({
      id: 'unicode',
      subject: 'Euro € 😀 "q" 100%',
      note: 'ünïcødé value',
    });
    const message = HTTP.binary(sent);
    const headers = Object.fromEntries(
      Object.entries(message.headers).map(([k, v]) => [
        k,
        k.startsWith('ce-') ? encode(String(v)) : v,
      ]),
    );
    expect(headers['ce-subject']).toBe('Euro%20%E2%82%AC%20%F0%9F%98%80%20%22q%22%20100%25');
    const { app, bus } = setup();

    const res = await send(app, { headers, body: message.body });

    expect(res.status).toBe(202);
    expect(attributesOf(storedEvents(bus)[0]!)).toEqual(attributesOf(sent));
  });

  it('when ce-id and ce-time are left out, then they get the defaults structured input gets (time: when the worker stores it)', async () => {
    const { app, bus } = setup();

    const res = await request(app)
      .post('/v1/events')
      .set('ce-specversion', '1.0')
      .set('ce-type', 'com.example.ping')
      .set('ce-source', '/tests/curl')
      .set('Content-Type', 'application/octet-stream')
      .send(Buffer.from([1, 2, 3]));

    expect(res.status).toBe(202);
    expect(res.body.ids[0]).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-/); // UUIDv7
    const m = bus.published[0]!;
    expect(wireOf(m)).toEqual({
      specversion: '1.0',
      id: res.body.ids[0],
      source: '/tests/curl',
      type: 'com.example.ping',
      datacontenttype: 'application/octet-stream',
      data_base64: 'AQID',
    });
  });

  it('when a binary-mode request has no body and no Content-Length (curl -X POST without data), then it is accepted without data', async () => {
    const { app, bus } = setup();
    const server = app.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const { port } = server.address() as AddressInfo;
    try {
      // Raw HTTP/1.1, since HTTP clients add Content-Length: 0 to a POST without a body.
      const socket = connect(port, '127.0.0.1');
      socket.end(
        'POST /v1/events HTTP/1.1\r\nHost: x\r\nConnection: close\r\n' +
          'ce-specversion: 1.0\r\nce-type: t\r\nce-source: /s\r\nce-id: no-body\r\n\r\n',
      );
      const response = (await socket.toArray()).join('');

      expect(response).toMatch(/^HTTP\/1\.1 202 /);
      expect(wireOf(bus.published[0]!)).toEqual({
        specversion: '1.0',
        id: 'no-body',
        source: '/s',
        type: 't',
      });
    } finally {
      server.close();
    }
  });

  it('when text comes in a charset other than UTF-8, then its bytes are kept as data_base64', async () => {
    const { app, bus } = setup();
    const latin1 = Buffer.from([0x63, 0x61, 0x66, 0xe9]); // "café" in ISO-8859-1

    const res = await send(app, {
      headers: {
        'ce-specversion': '1.0',
        'ce-type': 't',
        'ce-source': '/s',
        'content-type': 'text/plain; charset=iso-8859-1',
      },
      body: latin1,
    });

    expect(res.status).toBe(202);
    expect(wireOf(bus.published[0]!)).toMatchObject({
      datacontenttype: 'text/plain; charset=iso-8859-1',
      data_base64: latin1.toString('base64'),
    });
  });

  it('when a structured event comes with ce-* headers, then the headers are ignored and the body is the event', async () => {
    const { app, bus } = setup();
    const message = HTTP.structured(jsonEvent);

    const res = await send(app, {
      headers: { ...message.headers, 'ce-specversion': '0.3', 'ce-type': 'other', 'ce-data': 'x' },
      body: message.body,
    });

    expect(res.status).toBe(202);
    expect(attributesOf(storedEvents(bus)[0]!)).toEqual(attributesOf(jsonEvent));
  });

  it('when a binary request is accepted and another refused, then the metrics count both', async () => {
    const { app } = setup();
    await emitter(app, Mode.BINARY)(jsonEvent);
    await send(app, {
      ...HTTP.binary(jsonEvent),
      headers: { ...HTTP.binary(jsonEvent).headers, 'ce-time': 'soon' },
    });

    const text = (await request(app).get('/metrics')).text;

    expect(text).toContain(
      'eventpipe_publisher_events_total{outcome="accepted",service="publisher-api"} 1',
    );
    expect(text).toContain(
      'eventpipe_publisher_rejected_requests_total{reason="validation-failed",service="publisher-api"} 1',
    );
  });
});

describe('binary mode refusals', () => {
  const base = HTTP.binary(jsonEvent);
  const withHeaders = (headers: Record<string, string | undefined>, body = base.body): Message => ({
    headers: { ...base.headers, ...headers },
    body,
  });

  interface Refusal {
    what: string;
    message: Message;
    status: number;
    code: string;
    /** The one problem item expected, when the refusal lists them. */
    item?: { pointer: string; detail: RegExp };
  }
  const invalid = (what: string, message: Message, pointer: string, detail: RegExp): Refusal => ({
    what,
    message,
    status: 400,
    code: 'validation-failed',
    item: { pointer, detail },
  });

  it.each<Refusal>([
    invalid(
      'ce-specversion is not 1.0',
      withHeaders({ 'ce-specversion': '0.3' }),
      'ce-specversion',
      /^specversion must be "1\.0"$/,
    ),
    invalid(
      'percent-encoded bytes are not UTF-8 (overlong %C0%A0)',
      withHeaders({ 'ce-subject': 'a%C0%A0b' }),
      'ce-subject',
      /not valid UTF-8/,
    ),
    invalid(
      'a ce-data header is sent',
      withHeaders({ 'ce-data': '{"a":1}' }),
      'ce-data',
      /not allowed in binary mode/,
    ),
    invalid(
      'a ce-datacontenttype header is sent',
      withHeaders({ 'ce-datacontenttype': 'text/plain' }),
      'ce-datacontenttype',
      /not allowed in binary mode/,
    ),
    invalid(
      'ce-time is not RFC 3339',
      withHeaders({ 'ce-time': 'yesterday' }),
      'ce-time',
      /RFC 3339/,
    ),
    invalid(
      'an extension name is not a-z0-9',
      withHeaders({ 'ce-bad_name': 'x' }),
      'ce-bad_name',
      /unknown attribute "bad_name"/,
    ),
    invalid(
      'ce-source is missing',
      withHeaders({ 'ce-source': undefined }),
      'ce-source',
      /source must be a string/,
    ),
    invalid(
      'an extension value is longer than an attribute may be',
      withHeaders({ 'ce-tenant': 'x'.repeat(LIMITS.maxAttributeBytes + 1) }),
      'ce-tenant',
      /at most 1024 bytes/,
    ),
    {
      what: 'a header names a prototype key',
      message: withHeaders({ 'ce-constructor': 'x' }),
      status: 400,
      code: 'forbidden-key',
    },
    {
      what: 'the JSON body is malformed',
      message: withHeaders({}, '{"orderId": '),
      status: 400,
      code: 'malformed-json',
    },
    {
      what: 'a text body is not UTF-8',
      message: withHeaders({ 'content-type': 'text/plain' }, Buffer.from([0x68, 0xff, 0x69])),
      status: 400,
      code: 'invalid-encoding',
    },
    {
      what: 'a JSON body declares a charset other than UTF-8',
      message: withHeaders({ 'content-type': 'application/json; charset=latin1' }),
      status: 415,
      code: 'unsupported-media-type',
    },
    {
      what: 'the body is larger than the request limit',
      message: withHeaders(
        { 'content-type': 'application/octet-stream' },
        Buffer.alloc(LIMITS.maxRequestBytes + 1),
      ),
      status: 413,
      code: 'payload-too-large',
    },
    {
      what: 'the body fits the request limit but the event is over the event limit',
      message: withHeaders(
        { 'content-type': 'application/octet-stream' },
        Buffer.alloc(LIMITS.maxEventBytes),
      ),
      status: 413,
      code: 'payload-too-large',
      item: { pointer: '', detail: /^event is \d+ bytes$/ },
    },
  ])(
    'when $what, then $status $code and nothing is published',
    async ({ message, status, code, item }) => {
      const { app, bus } = setup();

      const res = await send(app, message);

      expect(res.status).toBe(status);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(res.body.code).toBe(code);
      expect(res.body.errors).toEqual(
        item && [{ index: 0, pointer: item.pointer, detail: expect.stringMatching(item.detail) }],
      );
      expect(bus.published).toHaveLength(0);
    },
  );

  it('when an attribute header appears twice, then 400 names it and nothing is published', async () => {
    const { app, bus } = setup();

    const res = await request(app)
      .post('/v1/events')
      .set({ ...(base.headers as Record<string, string>) })
      .set('ce-subject', ['a', 'b'] as unknown as string) // node sends one header line per value
      .send(base.body as string);

    expect(res.status).toBe(400);
    expect(res.body.errors).toEqual([
      { index: 0, pointer: 'ce-subject', detail: 'ce-subject appears more than once' },
    ]);
    expect(bus.published).toHaveLength(0);
  });

  it('when there is no ce-specversion and the type is unknown, then 415 mentions binary mode', async () => {
    const { app } = setup();
    const { 'ce-specversion': _omitted, ...headers } = HTTP.binary(binaryEvent).headers;

    const res = await send(app, { headers, body: bytes });

    expect(res.status).toBe(415);
    expect(res.body.detail).toMatch(/binary mode \(a ce-specversion header/);
  });
});

describe('decodeHeaderValue (HTTP binding 1.0.2 §3.1.3.2)', () => {
  it.each([
    ['plain', 'plain'],
    ['Euro%20%E2%82%AC%20%F0%9F%98%80', 'Euro € 😀'],
    ['lower%2fcase%c3%a9', 'lower/caseé'],
    ['%41%42C', 'ABC'], // needlessly encoded: accepted
    // Read liberally, as the JS SDK 10 sends values unencoded: quotes are kept, a % that is not
    // followed by two hex digits is itself.
    ['say "hi"', 'say "hi"'],
    ['"quoted value"', '"quoted value"'],
    ['"%25"', '"%"'],
    ['50% off', '50% off'],
    ['100%', '100%'],
    ['%zz', '%zz'],
    ['%4', '%4'],
    ['a%20b', 'a b'], // encoded: decoded (a sender meaning "a%20b" literally must send a%2520b)
    [Buffer.from('café', 'utf8').toString('latin1'), 'café'], // raw UTF-8 bytes, as Node hands them over
  ])('when the header value is %j, then the attribute is %j', (raw, value) => {
    expect(decodeHeaderValue(raw)).toBe(value);
  });

  it.each([
    ['%C0%A0', /UTF-8/], // overlong space
    ['%FF', /UTF-8/],
    ['%ED%A0%80', /UTF-8/], // a lone surrogate
    [Buffer.from([0xe9]).toString('latin1'), /UTF-8/], // a raw latin1 byte
  ])('when the header value is %j, then it is refused', (raw, message) => {
    expect(() => decodeHeaderValue(raw)).toThrow(message);
  });
});
