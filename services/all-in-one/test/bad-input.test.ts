import request from 'supertest';
import fc from 'fast-check';
import { MemoryBus } from '@eventpipe/bus/adapters';
import type { Stack } from '@eventpipe/all-in-one';
import { DuckDbStore } from '@eventpipe/store/adapters';
import { parseInputEvents } from '@eventpipe/schema';
import { tempDuckDbPath } from '@eventpipe/testing';
import { testStack } from './stack-fixture';

// Bad input, table-driven over both APIs: each case must get a 4xx problem+json (never a 5xx),
// nothing may be published, and the service must still answer /healthz afterwards.
let stack: Stack;
let bus: MemoryBus;
let store: DuckDbStore;
let published = 0;
beforeAll(async () => {
  bus = new MemoryBus();
  const publish = bus.publish.bind(bus);
  bus.publish = async (m) => {
    published += m.length;
    return publish(m);
  };
  store = await DuckDbStore.open({ path: tempDuckDbPath() });
  await store.init();
  stack = testStack({ bus, store });
});
afterAll(async () => {
  await bus.close();
  await store.close();
});

const ok = { type: 'com.example.t', source: '/s' };
const deep = (n: number) => '['.repeat(n) + ']'.repeat(n);
const big = (bytes: number) => 'x'.repeat(bytes);

type PostCase = [
  name: string,
  body: string | Buffer,
  contentType: string | undefined,
  status: number,
];
const postCases: PostCase[] = [
  ['empty body', '', 'application/json', 400],
  ['truncated object', '{"type":"t","source":', 'application/json', 400],
  ['truncated array', '[{"type":"t","source":"/s"}', 'application/json', 400],
  ['trailing comma', '{"type":"t","source":"/s",}', 'application/json', 400],
  ['single quotes', "{'type':'t','source':'/s'}", 'application/json', 400],
  ['bare word', 'hello', 'application/json', 400],
  ['NaN literal', '{"type":"t","source":"/s","data":NaN}', 'application/json', 400],
  ['raw NUL inside a string', '{"type":"t\u0000","source":"/s"}', 'application/json', 400],
  ['raw NUL outside strings', '\u0000{"type":"t","source":"/s"}', 'application/json', 400],
  ['escaped NUL in type', JSON.stringify({ ...ok, type: 'a\u0000b' }), 'application/json', 400],
  [
    'control character in source',
    JSON.stringify({ ...ok, source: '/s\u0007' }),
    'application/json',
    400,
  ],
  ['invalid UTF-8', Buffer.from([0x7b, 0x22, 0xc3, 0x28, 0x22, 0x7d]), 'application/json', 400],
  ['UTF-16 body', Buffer.from(JSON.stringify(ok), 'utf16le'), 'application/json', 400],
  ['10 000-deep nesting', deep(10_000), 'application/json', 400],
  [
    '65-deep nesting in data',
    JSON.stringify({ ...ok, data: JSON.parse(deep(65)) }),
    'application/json',
    400,
  ],
  ['number instead of object', '42', 'application/json', 400],
  ['string instead of object', '"event"', 'application/json', 400],
  ['null', 'null', 'application/json', 400],
  ['true', 'true', 'application/json', 400],
  ['array of numbers', '[1,2,3]', 'application/json', 400],
  ['nested arrays', '[[{"type":"t","source":"/s"}]]', 'application/json', 400],
  ['type missing', JSON.stringify({ source: '/s' }), 'application/json', 400],
  ['source missing', JSON.stringify({ type: 't' }), 'application/json', 400],
  ['type a number', JSON.stringify({ ...ok, type: 7 }), 'application/json', 400],
  ['source an object', JSON.stringify({ ...ok, source: { a: 1 } }), 'application/json', 400],
  ['id an empty string', JSON.stringify({ ...ok, id: '' }), 'application/json', 400],
  ['id a number', JSON.stringify({ ...ok, id: 12 }), 'application/json', 400],
  ['id an array', JSON.stringify({ ...ok, id: ['a'] }), 'application/json', 400],
  ['specversion 0.3', JSON.stringify({ ...ok, specversion: '0.3' }), 'application/json', 400],
  ['specversion a number', JSON.stringify({ ...ok, specversion: 1 }), 'application/json', 400],
  ['time not RFC 3339', JSON.stringify({ ...ok, time: '28/11/2026' }), 'application/json', 400],
  [
    'time without offset',
    JSON.stringify({ ...ok, time: '2026-11-28T10:00:00' }),
    'application/json',
    400,
  ],
  [
    'time on Feb 30',
    JSON.stringify({ ...ok, time: '2026-02-30T10:00:00Z' }),
    'application/json',
    400,
  ],
  ['time a number', JSON.stringify({ ...ok, time: 1_700_000_000 }), 'application/json', 400],
  [
    'dataschema not a URI',
    JSON.stringify({ ...ok, dataschema: 'not a uri' }),
    'application/json',
    400,
  ],
  [
    'data and data_base64',
    JSON.stringify({ ...ok, data: 1, data_base64: 'AA==' }),
    'application/json',
    400,
  ],
  [
    'data_base64 not base64',
    JSON.stringify({ ...ok, data_base64: '!!!' }),
    'application/json',
    400,
  ],
  ['huge type string', JSON.stringify({ ...ok, type: big(2000) }), 'application/json', 400],
  ['huge source string', JSON.stringify({ ...ok, source: big(100_000) }), 'application/json', 400],
  ['upper-case extension', JSON.stringify({ ...ok, TraceParent: 'x' }), 'application/json', 400],
  [
    'extension name too long',
    JSON.stringify({ ...ok, ['x'.repeat(65)]: 'x' }),
    'application/json',
    400,
  ],
  [
    'time past year 9999 once in UTC',
    JSON.stringify({ ...ok, time: '9999-12-31T23:59:59-23:59' }),
    'application/json',
    400,
  ],
  [
    'data and data_base64, data null',
    JSON.stringify({ ...ok, data: null, data_base64: 'AA==' }),
    'application/json',
    400,
  ],
  [
    'an escaped __proto__ key',
    '{"type":"t","source":"/s","data":{"\\u005f_proto__":1}}',
    'application/json',
    400,
  ],
  ['extension with a dash', JSON.stringify({ ...ok, 'my-ext': 'x' }), 'application/json', 400],
  ['extension an object', JSON.stringify({ ...ok, ext: { a: 1 } }), 'application/json', 400],
  ['extension a float', JSON.stringify({ ...ok, ext: 1.5 }), 'application/json', 400],
  [
    '__proto__ key',
    '{"type":"t","source":"/s","__proto__":{"admin":true}}',
    'application/json',
    400,
  ],
  [
    'constructor key in data',
    '{"type":"t","source":"/s","data":{"constructor":{"prototype":{}}}}',
    'application/json',
    400,
  ],
  [
    'prototype key deep in data',
    '{"type":"t","source":"/s","data":[{"a":{"prototype":1}}]}',
    'application/json',
    400,
  ],
  [
    'one bad event among good ones',
    JSON.stringify([ok, ok, { type: 't' }]),
    'application/json',
    400,
  ],
  ['event over 256 KiB', JSON.stringify({ ...ok, data: big(300 * 1024) }), 'application/json', 413],
  [
    'body over 5 MiB',
    JSON.stringify([{ ...ok, data: big(6 * 1024 * 1024) }]),
    'application/json',
    413,
  ],
  ['1001 events', JSON.stringify(Array.from({ length: 1001 }, () => ok)), 'application/json', 413],
  ['no content type', JSON.stringify(ok), undefined, 415],
  ['text/plain', JSON.stringify(ok), 'text/plain', 415],
  ['form encoded', 'type=t&source=/s', 'application/x-www-form-urlencoded', 415],
  ['multipart', JSON.stringify(ok), 'multipart/form-data; boundary=x', 415],
  ['xml', '<event/>', 'application/xml', 415],
  ['charset latin1', JSON.stringify(ok), 'application/json; charset=iso-8859-1', 415],
  ['cloudevents+json holding an array', JSON.stringify([ok]), 'application/cloudevents+json', 400],
  ['batch type holding an object', JSON.stringify(ok), 'application/cloudevents-batch+json', 400],
];

type GetCase = [name: string, path: string, status: number];
const sql = "x' OR '1'='1'; DROP TABLE events; --";
const getCases: GetCase[] = [
  ['bad from', '/v1/events?from=yesterday', 400],
  ['bad to', '/v1/events?to=2026-13-01T00:00:00Z', 400],
  ['from without offset', '/v1/events?from=2026-11-28T00:00:00', 400],
  ['from after to', '/v1/events?from=2026-11-29T00:00:00Z&to=2026-11-28T00:00:00Z', 400],
  ['negative limit', '/v1/events?limit=-5', 400],
  ['zero limit', '/v1/events?limit=0', 400],
  ['huge limit', '/v1/events?limit=99999999999999999999', 400],
  ['limit over the cap', '/v1/events?limit=1001', 400],
  ['fractional limit', '/v1/events?limit=2.5', 400],
  ['hex limit', '/v1/events?limit=0x10', 400],
  ['limit repeated', '/v1/events?limit=1&limit=2', 400],
  ['unknown parameter', '/v1/events?sort=asc', 400],
  ['empty type', '/v1/events?type=', 400],
  ['forged cursor', '/v1/events?cursor=eyJ2IjoxfQ.AAAA', 400],
  ['truncated cursor', '/v1/events?cursor=eyJ2Ijox', 400],
  ['cursor of junk', `/v1/events?cursor=${encodeURIComponent('../../etc/passwd')}`, 400],
  ['cursor too long', `/v1/events?cursor=${'a'.repeat(5000)}`, 400],
  ['stats bad interval', '/v1/stats?interval=fortnight', 400],
  ['stats bad groupBy', '/v1/stats?groupBy=subject', 400],
  [
    'stats too many buckets',
    '/v1/stats?interval=minute&from=2000-01-01T00:00:00Z&to=2026-01-01T00:00:00Z',
    400,
  ],
  ['stats from after to', '/v1/stats?from=2026-11-29T00:00:00Z&to=2026-11-28T00:00:00Z', 400],
  ['stats unknown parameter', '/v1/stats?bucket=hour', 400],
  ['get with unknown parameter', '/v1/events/abc?x=1', 400],
  ['get an id over 1024 bytes', `/v1/events/${'i'.repeat(1100)}`, 400],
  ['unknown route', '/v1/nothing', 404],
];
const sqlCases: GetCase[] = ['type', 'source', 'subject'].map((k) => [
  `SQL in ${k}`,
  `/v1/events?${k}=${encodeURIComponent(sql)}`,
  200,
]);

describe('bad input never hurts the services', () => {
  it(`the corpus holds at least 60 cases (${postCases.length + getCases.length + sqlCases.length})`, () => {
    expect(postCases.length + getCases.length + sqlCases.length).toBeGreaterThanOrEqual(60);
  });

  it.each(postCases)(
    'POST /v1/events with %s → %i problem+json, nothing published',
    async (_name, body, type, status) => {
      const before = published;
      let req = request(stack.publisher).post('/v1/events');
      if (type) req = req.set('Content-Type', type);
      const res = await req.serialize((b: string | Buffer) => b as unknown as string).send(body);
      expect(res.status).toBe(status);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(res.body).toMatchObject({
        status,
        type: expect.stringMatching(/^urn:eventpipe:problem:/),
      });
      expect(published).toBe(before);
      expect((await request(stack.publisher).get('/healthz')).status).toBe(200);
    },
  );

  it.each(getCases)('GET %s → %i problem+json', async (_name, path, status) => {
    const res = await request(stack.query).get(path);
    expect(res.status).toBe(status);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(JSON.stringify(res.body)).not.toMatch(/SELECT|duckdb|at \w+ \(|\/work\//i);
    expect((await request(stack.query).get('/healthz')).status).toBe(200);
  });

  it.each(sqlCases)(
    'GET with %s → an empty page, the table intact',
    async (_name, path, status) => {
      const res = await request(stack.query).get(path);
      expect(res.status).toBe(status);
      expect(res.body).toEqual({ data: [], nextCursor: null });
      expect(await store.check()).toBeUndefined();
    },
  );
});

describe('properties', () => {
  it('when any JSON value is posted as events, then the parser answers ok or lists issues, never throws', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        const r = parseInputEvents(value);
        if (r.ok) expect(r.events.length).toBe(Array.isArray(value) ? value.length : 1);
        else expect(r.issues.length).toBeGreaterThan(0);
      }),
      { numRuns: 500 },
    );
  });

  it('when an event is valid, then it parses with its fields kept, time as written', () => {
    const name = fc
      .stringMatching(/^[a-z0-9]{1,20}$/)
      .filter(
        (n) =>
          ![
            'id',
            'source',
            'type',
            'time',
            'subject',
            'data',
            'specversion',
            'dataschema',
            'datacontenttype',
          ].includes(n),
      );
    const text = fc
      .string({ minLength: 1, maxLength: 50 })
      // eslint-disable-next-line no-control-regex -- CloudEvents strings exclude control characters
      .filter((s) => !/[\u0000-\u001f\u007f-\u009f]/.test(s));
    fc.assert(
      fc.property(
        text,
        text,
        fc.option(text, { nil: undefined }),
        fc.date({ min: new Date('1970-01-01'), max: new Date('2200-01-01'), noInvalidDate: true }),
        fc.dictionary(
          name,
          fc.oneof(text, fc.boolean(), fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 })),
          { maxKeys: 5 },
        ),
        fc.jsonValue(),
        (type, source, id, time, extensions, data) => {
          const r = parseInputEvents({
            type,
            source,
            id,
            time: time.toISOString(),
            data,
            ...extensions,
          });
          expect(r.ok).toBe(true);
          if (!r.ok) return;
          const [e] = r.events;
          expect(e!.type).toBe(type);
          expect(e!.source).toBe(source);
          if (id !== undefined) expect(e!.id).toBe(id);
          expect(e!.time).toBe(time.toISOString());
        },
      ),
      { numRuns: 300 },
    );
  });

  it('when any query string reaches the query API, then the answer is 200 or a 4xx, never a 5xx', async () => {
    const key = fc.constantFrom(
      'type',
      'source',
      'subject',
      'from',
      'to',
      'limit',
      'cursor',
      'interval',
      'groupBy',
      'x',
    );
    await fc.assert(
      fc.asyncProperty(
        fc.dictionary(key, fc.string({ maxLength: 40 }), { maxKeys: 4 }),
        fc.constantFrom('/v1/events', '/v1/stats'),
        async (params, path) => {
          const res = await request(stack.query).get(path).query(params);
          expect(res.status === 200 || (res.status >= 400 && res.status < 500)).toBe(true);
        },
      ),
      { numRuns: 150 },
    );
  });
});
