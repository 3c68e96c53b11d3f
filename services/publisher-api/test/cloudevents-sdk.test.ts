import { once } from 'node:events';
import { connect, type AddressInfo } from 'node:net';
import request from 'supertest';
import { CloudEvent, emitterFor, HTTP, Mode } from 'cloudevents';
import {
  attributesOf,
  binaryEvent,
  bytes,
  emitter,
  jsonEvent,
  send,
  setup,
  storedEvents,
  textEvent,
  wireOf,
} from './sdk-client';

// The official CloudEvents SDK (npm `cloudevents`) is the client: it builds the events and their
// HTTP messages; what the bus received is read back into SDK events and compared.

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
