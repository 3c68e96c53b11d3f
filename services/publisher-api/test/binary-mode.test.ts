import request from 'supertest';
import { HTTP, type Message } from 'cloudevents';
import { LIMITS } from '@eventpipe/schema';
import { decodeHeaderValue } from '../src/binary-mode';
import { binaryEvent, bytes, jsonEvent, send, setup } from './sdk-client';

// Binary content mode (CloudEvents HTTP binding §3.1): what is refused and how header values are
// read. The messages start as the official SDK builds them and are then broken one way each.

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
      what: 'the JSON body holds an escaped prototype key, deep down',
      message: withHeaders({}, '{"a":[{"b":{"\\u005f_proto__":{"polluted":true}}}]}'),
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
