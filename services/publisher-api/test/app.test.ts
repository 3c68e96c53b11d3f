import request from 'supertest';
import { type EventBus, type OutgoingMessage } from '@eventpipe/bus';
import { MemoryBus } from '@eventpipe/bus/adapters';
import { createRegistry } from '@eventpipe/platform';
import { createPublisherApp } from '@eventpipe/publisher-api';
import { LIMITS } from '@eventpipe/schema';
import { memoryLogger, sampleEvent, waitFor } from '@eventpipe/testing';

/** A bus that records what it was given, on top of the real in-process bus. */
class RecordingBus extends MemoryBus {
  readonly published: OutgoingMessage[] = [];
  failWith: Error | undefined;
  override async publish(messages: OutgoingMessage[]): Promise<string[]> {
    if (this.failWith) throw this.failWith;
    this.published.push(...messages);
    return super.publish(messages);
  }
}

function setup() {
  const bus = new RecordingBus();
  const { logger, lines } = memoryLogger('publisher-api');
  const app = createPublisherApp({
    bus: bus as EventBus,
    logger,
    registry: createRegistry('publisher-api'),
  });
  return { bus, app, lines };
}

const post = (app: Parameters<typeof request>[0], body: unknown, type = 'application/json') =>
  request(app)
    .post('/v1/events')
    .set('Content-Type', type)
    .send(typeof body === 'string' ? body : JSON.stringify(body));

describe('POST /v1/events', () => {
  it('when one valid event is posted, then 202 lists its id and the bus got it with ce-* attributes', async () => {
    const { app, bus } = setup();
    const res = await post(
      app,
      sampleEvent({ id: 'e-1', source: '/shop', type: 'order.created' }),
    ).set('X-Request-Id', 'req-123');
    expect(res.status).toBe(202);
    expect(res.body).toEqual({ accepted: 1, ids: ['e-1'] });
    expect(res.headers['x-request-id']).toBe('req-123');
    expect(bus.published).toHaveLength(1);
    const m = bus.published[0]!;
    expect(m.attributes).toMatchObject({
      'ce-id': 'e-1',
      'ce-source': '/shop',
      'ce-type': 'order.created',
      'content-type': 'application/cloudevents+json',
      'eventpipe-request-id': 'req-123',
    });
    // Structured mode by the Pub/Sub binding: no ce-specversion, which would mean binary mode
    // to a reader that checks it first.
    expect(m.attributes).not.toHaveProperty('ce-specversion');
    expect(m.attributes['eventpipe-received-at']).toMatch(/Z$/);
    expect(JSON.parse(m.data.toString())).toMatchObject({
      id: 'e-1',
      specversion: '1.0',
      source: '/shop',
    });
  });

  it('when a batch is posted, then every event is published in order and ids are defaulted', async () => {
    const { app, bus } = setup();
    const res = await post(
      app,
      [sampleEvent({ id: 'a' }), { type: 't', source: '/s' }],
      'application/cloudevents-batch+json',
    );
    expect(res.status).toBe(202);
    expect(res.body.accepted).toBe(2);
    expect(res.body.ids[0]).toBe('a');
    expect(res.body.ids[1]).toMatch(/^[0-9a-f-]{36}$/);
    expect(bus.published.map((m) => m.attributes['ce-id'])).toEqual(res.body.ids);
  });

  it('when application/cloudevents+json carries one event, then it is accepted', async () => {
    const { app } = setup();
    expect(
      (await post(app, sampleEvent(), 'application/cloudevents+json; charset=utf-8')).status,
    ).toBe(202);
  });

  it('when one event of a batch is invalid, then 400 lists index and path and nothing is published', async () => {
    const { app, bus } = setup();
    const res = await post(app, [sampleEvent(), { type: 't' }, sampleEvent({ time: 'soon' })]);
    expect(res.status).toBe(400);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.body).toMatchObject({
      type: 'urn:eventpipe:problem:validation-failed',
      status: 400,
      code: 'validation-failed',
      instance: '/v1/events',
    });
    expect(res.body.errors).toEqual([
      { index: 1, pointer: '/1/source', detail: 'source must be a string' },
      { index: 2, pointer: '/2/time', detail: expect.stringContaining('RFC 3339') },
    ]);
    expect(bus.published).toHaveLength(0);
  });

  it.each([
    ['text/plain', 415],
    ['application/xml', 415],
    ['application/json; charset=latin1', 415],
  ])('when the content type is %s, then %i', async (type, status) => {
    const { app, bus } = setup();
    const res = await post(app, sampleEvent(), type);
    expect(res.status).toBe(status);
    expect(res.body.code).toBe('unsupported-media-type');
    expect(bus.published).toHaveLength(0);
  });

  it('when there is no content type, then 415', async () => {
    const { app } = setup();
    const server = app.listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    const { port } = server.address() as { port: number };
    try {
      // fetch would add text/plain for a string body; a Uint8Array body goes without a type.
      const res = await fetch(`http://127.0.0.1:${port}/v1/events`, {
        method: 'POST',
        body: new TextEncoder().encode(JSON.stringify(sampleEvent())),
      });
      expect(res.status).toBe(415);
      expect(((await res.json()) as { detail: string }).detail).toMatch(
        /^Content-Type is required/,
      );
    } finally {
      server.close();
    }
  });

  it('when the batch is empty, then 202 with nothing accepted and nothing published', async () => {
    const { app, bus } = setup();
    const res = await post(app, '[]');
    expect(res.status).toBe(202);
    expect(res.body).toEqual({ accepted: 0, ids: [] });
    expect(bus.published).toHaveLength(0);
  });

  it('when data holds numbers a double would change, then the message carries them as written', async () => {
    const { app, bus } = setup();
    const data =
      '{"big":9007199254740993,"u64":12345678901234567890,"pi":3.141592653589793238462643383279,"huge":1e400,"tiny":2.5e-400}';
    const res = await post(
      app,
      `[{"type":"t","source":"/s","id":"n","data":${data}},{"type":"t","source":"/s","id":"z","data":null}]`,
    );
    expect(res.status).toBe(202);
    expect(bus.published[0]!.data.toString()).toBe(
      `{"specversion":"1.0","id":"n","source":"/s","type":"t","data":${data}}`,
    );
    expect(bus.published[1]!.data.toString()).toBe(
      '{"specversion":"1.0","id":"z","source":"/s","type":"t","data":null}',
    );
  });

  it('when a key is an escaped __proto__, then 400 forbidden-key', async () => {
    const { app, bus } = setup();
    const res = await post(app, '{"type":"t","source":"/s","data":{"\\u005f_proto__":{"x":1}}}');
    expect(res.status).toBe(400);
    expect(res.body.code).toBe('forbidden-key');
    expect(bus.published).toHaveLength(0);
  });

  it.each([
    ['{"type": "t", ', 'malformed-json'],
    ['', 'validation-failed'],
    ['42', 'validation-failed'],
    ['"a string"', 'validation-failed'],
    ['null', 'validation-failed'],
    ['['.repeat(LIMITS.maxJsonDepth + 1) + ']'.repeat(LIMITS.maxJsonDepth + 1), 'json-too-deep'],
  ])('when the body is %j, then 400 %s', async (body, code) => {
    const { app, bus } = setup();
    const res = await post(app, body);
    expect(res.status).toBe(400);
    expect(res.body.code).toBe(code);
    expect(bus.published).toHaveLength(0);
  });

  it('when the body is not UTF-8, then 400 invalid-encoding', async () => {
    const { app } = setup();
    const res = await request(app)
      .post('/v1/events')
      .set('Content-Type', 'application/json')
      .serialize((b: Buffer) => b as unknown as string) // send the bytes as they are
      .send(Buffer.from([0x7b, 0xff, 0xfe, 0x7d]));
    expect(res.status).toBe(400);
    expect(res.body.code).toBe('invalid-encoding');
  });

  it('when the media type and body shape disagree, then 400', async () => {
    const { app } = setup();
    expect((await post(app, [sampleEvent()], 'application/cloudevents+json')).status).toBe(400);
    expect((await post(app, sampleEvent(), 'application/cloudevents-batch+json')).status).toBe(400);
  });

  it('when a batch holds more events than allowed, then 413', async () => {
    const { app, bus } = setup();
    const res = await post(
      app,
      Array.from({ length: LIMITS.maxEventsPerRequest + 1 }, () => ({ type: 't', source: '/s' })),
    );
    expect(res.status).toBe(413);
    expect(res.body.code).toBe('payload-too-large');
    expect(bus.published).toHaveLength(0);
  });

  it('when one event is larger than the event limit, then 413 names its index', async () => {
    const { app, bus } = setup();
    const big = sampleEvent({ data: 'x'.repeat(LIMITS.maxEventBytes) });
    const res = await post(app, [sampleEvent(), big]);
    expect(res.status).toBe(413);
    expect(res.body.errors).toEqual([
      { index: 1, pointer: '/1', detail: expect.stringMatching(/^event is \d+ bytes$/) },
    ]);
    expect(bus.published).toHaveLength(0);
  });

  it('when the body is larger than the request limit, then 413', async () => {
    const { app } = setup();
    const res = await post(
      app,
      JSON.stringify([{ type: 't', source: '/s', data: 'x'.repeat(LIMITS.maxRequestBytes) }]),
    );
    expect(res.status).toBe(413);
    expect(res.body.code).toBe('payload-too-large');
  });

  it('when the bus fails, then 503 with Retry-After and no internals in the body', async () => {
    const { app, bus, lines } = setup();
    bus.failWith = new Error('UNAVAILABLE: connect ECONNREFUSED 10.0.0.1:8085');
    const res = await post(app, sampleEvent());
    expect(res.status).toBe(503);
    expect(res.headers['retry-after']).toBe('5');
    expect(res.body.code).toBe('unavailable');
    expect(JSON.stringify(res.body)).not.toContain('ECONNREFUSED');
    expect(
      lines().some((l) => l.severity === 'ERROR' && l.requestId === res.headers['x-request-id']),
    ).toBe(true);
  });
});

describe('operational routes', () => {
  it('when probed, then /healthz, /readyz and /metrics answer', async () => {
    const { app } = setup();
    await post(app, sampleEvent());
    expect((await request(app).get('/healthz')).body).toEqual({ status: 'ok' });
    expect((await request(app).get('/readyz')).body).toEqual({
      status: 'ready',
      checks: { bus: 'ok' },
    });
    const metrics = await request(app).get('/metrics');
    expect(metrics.text).toContain(
      'eventpipe_publisher_events_total{outcome="accepted",service="publisher-api"} 1',
    );
    expect(metrics.text).toMatch(
      /eventpipe_http_request_duration_seconds_count\{service="publisher-api",method="POST",route="\/v1\/events",status="202"\} 1/,
    );
    expect(metrics.text).toContain('eventpipe_process_cpu_user_seconds_total');
  });

  it('when requests are refused, then each is counted by its problem code', async () => {
    const { app, bus } = setup();
    await post(app, { type: 'x' }); // no source
    await post(app, '{"type":', 'application/json');
    await post(app, sampleEvent(), 'text/plain');
    bus.failWith = new Error('down');
    await post(app, sampleEvent());
    const text = (await request(app).get('/metrics')).text;
    const count = (reason: string) =>
      Number(
        new RegExp(
          `eventpipe_publisher_rejected_requests_total\\{reason="${reason}",service="publisher-api"\\} (\\d+)`,
        ).exec(text)?.[1] ?? 0,
      );
    expect(count('validation-failed')).toBe(1);
    expect(count('malformed-json')).toBe(1);
    expect(count('unsupported-media-type')).toBe(1);
    expect(count('unavailable')).toBe(1);
  });

  it('when a traceparent comes with an event, then the bus message carries it', async () => {
    const { app, bus } = setup();
    const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    await post(app, sampleEvent()).set('traceparent', traceparent);
    await post(app, sampleEvent()).set('traceparent', 'not-a-trace');
    expect(bus.published.map((m) => m.attributes['eventpipe-traceparent'])).toEqual([
      traceparent,
      undefined,
    ]);
  });

  it('when the bus is down, then /readyz is 503 and /healthz still 200', async () => {
    const { app, bus } = setup();
    await bus.close();
    expect((await request(app).get('/readyz')).status).toBe(503);
    expect((await request(app).get('/healthz')).status).toBe(200);
  });

  it('when a route does not exist, then 404 problem+json', async () => {
    const { app } = setup();
    const res = await request(app).get('/v1/nope');
    expect(res.status).toBe(404);
    expect(res.body.code).toBe('route-not-found');
  });
});

describe('POST /v1/events under backpressure and with hostile keys', () => {
  it('when more events are in flight than allowed, then 429 with Retry-After and nothing published', async () => {
    let release: () => void = () => {};
    const gate = new Promise<void>((r) => (release = r));
    let entered = false;
    class SlowBus extends MemoryBus {
      override async publish(messages: OutgoingMessage[]): Promise<string[]> {
        entered = true;
        await gate;
        return super.publish(messages);
      }
    }
    const bus = new SlowBus();
    const app = createPublisherApp({
      bus,
      logger: memoryLogger().logger,
      registry: createRegistry('p'),
      maxInFlightEvents: 1000,
    });
    const first = post(
      app,
      Array.from({ length: 800 }, () => ({ type: 't', source: '/s' })),
    );
    const firstDone = first.then((r) => r); // start it
    await waitFor(() => (entered ? true : undefined), { what: 'the first publish to start' });
    const second = await post(
      app,
      Array.from({ length: 300 }, () => ({ type: 't', source: '/s' })),
    );
    expect(second.status).toBe(429);
    expect(second.headers['retry-after']).toBe('1');
    expect(second.body.code).toBe('too-many-in-flight');
    release();
    expect((await firstDone).status).toBe(202);
    expect((await post(app, [{ type: 't', source: '/s' }])).status).toBe(202);
  });

  it.each([
    '{"type":"t","source":"/s","__proto__":{"polluted":true}}',
    '{"type":"t","source":"/s","data":{"a":[{"constructor":{"prototype":1}}]}}',
    '{"type":"t","source":"/s","data":{"prototype":"x"}}',
  ])('when the body holds a prototype key (%s), then 400 forbidden-key', async (body) => {
    const { app, bus } = setup();
    const res = await post(app, body);
    expect(res.status).toBe(400);
    expect(res.body.code).toBe('forbidden-key');
    expect(bus.published).toHaveLength(0);
  });

  it('when such a name is only a value, then the event is accepted', async () => {
    const { app } = setup();
    expect(
      (await post(app, { type: 'constructor', source: '/__proto__', data: 'prototype' })).status,
    ).toBe(202);
  });
});
