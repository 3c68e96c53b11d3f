/**
 * What the fidelity suite sends: events written the many ways producers write them, each with
 * the exact bytes a consumer must read back. Three groups:
 *
 * - the CloudEvents conformance cases (cloudevents/conformance: features/http-protocol-binding
 *   .feature and yaml/v1*.yaml), re-stated here as data;
 * - a corpus of numbers a double cannot hold and of data shapes (null, scalars, layout, escapes);
 * - attribute edge cases (time with an offset and nanoseconds, long extension names).
 *
 * Each case is sent in every mode that can carry it (see `forms`), and `expected` says what each
 * read path must return for that mode: `data` as the JSON text the producer wrote (structured and
 * batch mode), the body trimmed of JSON whitespace (binary mode, JSON types), the body as a JSON
 * string (binary mode, UTF-8 text), or `data_base64` (binary mode, anything else).
 */

export interface Case {
  name: string;
  /** Context attributes, extensions included, as strings (all a binary mode can carry). */
  attributes: Record<string, string>;
  /** The data: its JSON text in a structured body, and its bytes in a binary body. */
  data?: { json: string; bytes?: Buffer };
}

/** The conformance fixtures' time (2018-04-05T03:56:24Z) moved to yesterday, same form: a
 * BigQuery read spans at most BIGQUERY_MAX_RANGE_DAYS, so 2018 and today cannot share a page. */
const FIXTURE_TIME = `${new Date(Date.now() - 86_400_000).toISOString().slice(0, 10)}T03:56:24Z`;

const conformance = (
  name: string,
  datacontenttype: string | undefined,
  data: Case['data'],
  extra: Record<string, string> = {},
): Case => ({
  name: `conformance: ${name}`,
  attributes: {
    type: 'com.example.someevent',
    time: FIXTURE_TIME,
    ...(datacontenttype ? { datacontenttype } : {}),
    ...extra,
  },
  data,
});

const json = (text: string): Case['data'] => ({ json: text, bytes: Buffer.from(text) });
const text = (value: string): Case['data'] => ({
  json: JSON.stringify(value),
  bytes: Buffer.from(value),
});

export const CASES: Case[] = [
  conformance('binary and structured, application/json', 'application/json', {
    json: '{\n    "message": "Hello World!"\n}',
    bytes: Buffer.from('{\n    "message": "Hello World!"\n}'),
  }),
  conformance(
    'binary and structured, application/json; charset=utf-8',
    'application/json; charset=utf-8',
    json('{"message": "Hello World!"}'),
  ),
  conformance('v1 with extensions', undefined, json('{"world":"hello"}\n'), {
    comexampleextension1: 'value',
    comexampleextension2: '{"othervalue": 5}',
  }),
  conformance(
    'minimum text/plain; charset=us-ascii',
    'text/plain; charset=us-ascii',
    text('Hello, World!\n'),
  ),
  conformance(
    'minimum text/plain; charset=utf-8',
    'text/plain; charset=utf-8',
    text('Hello, 🌎!\n'),
  ),
  conformance('minimum JSON string', 'application/json; charset=utf-8', json('"Hello, 🌎!"\n')),
  conformance(
    'minimum JSON object',
    'application/json; charset=utf-8',
    json('{"msg":"Hello, 🌎!"}\n'),
  ),
  conformance('minimum JSON array', 'application/json; charset=utf-8', json('["Hello","🌎!"]\n')),
  conformance('minimum XML', 'application/xml; charset=utf-8', text('<msg>Hello, 🌎!</msg>\n')),
  ...[
    ['an integer past 2^53', '{"id":9007199254740993}'],
    ['a 64-bit unsigned integer', '{"id":12345678901234567890}'],
    ['an integer past 64 bits', '{"n":123456789012345678901234567890}'],
    ['a long decimal', '{"pi":3.141592653589793238462643383279}'],
    ['an exponent past a double', '{"huge":1e400}'],
    ['an exponent under a double', '{"tiny":2.5e-400}'],
    ['numbers as written', '[1.0, -0, 1E5, 0.10, 1e-7, 100]'],
    ['a bare big number', '9007199254740993'],
    ['null', 'null'],
    ['false', 'false'],
    ['an empty object', '{}'],
    ['an empty array', '[]'],
    ['escapes', '{"s":"\\u00e9\\ud83c\\udf0e\\/\\"\\\\","\\u006bey":1}'],
    ['raw unicode', '{"s":"ünïcödé 🌎 \u2028"}'],
    ['layout', '{\n\t"a" :  [ 1 ,\r\n 2 ] ,\n "b" : { } \n}'],
    ['keys in their order, one repeated', '{"b":1,"a":2,"b":3}'],
    ['deep nesting', `${'['.repeat(30)}1${']'.repeat(30)}`],
  ].map(([name, data]): Case => ({
    name: `data: ${name}`,
    attributes: { type: 'com.example.fidelity', datacontenttype: 'application/json' },
    data: json(data!),
  })),
  {
    name: 'no datacontenttype, JSON data (structured only: binary would be bytes)',
    attributes: { type: 'com.example.fidelity' },
    data: { json: '{"n":12345678901234567890}' },
  },
  {
    name: 'bytes',
    attributes: { type: 'com.example.fidelity', datacontenttype: 'application/octet-stream' },
    data: {
      json: JSON.stringify(Buffer.from([0, 1, 255, 10]).toString('base64')),
      bytes: Buffer.from([0, 1, 255, 10]),
    },
  },
  {
    name: 'no data, no time',
    attributes: { type: 'com.example.fidelity' },
  },
  {
    name: 'time with an offset and nanoseconds, a long extension name, a subject with quotes and %',
    attributes: {
      type: 'com.example.fidelity',
      time: FIXTURE_TIME.replace('T03:56:24Z', 'T06:13:09.123456789+01:00'),
      subject: 'say "hi", 50% off',
      averyveryverylongextensionnamethatisfortycharacterslongxx: 'v',
      datacontenttype: 'application/json',
    },
    data: json('{"ok":true}'),
  },
];

/** The ways a case is sent. */
export const FORMS = [
  'http-structured',
  'http-batch',
  'http-binary',
  'pubsub-structured',
  'pubsub-binary',
] as const;
export type Form = (typeof FORMS)[number];

const isBinary = (form: Form) => form === 'http-binary' || form === 'pubsub-binary';

/** Whether a case can be sent in a form: binary mode needs the data as bytes. */
export const canSend = (c: Case, form: Form): boolean =>
  !isBinary(form) || !c.data || c.data.bytes !== undefined;

/** What a consumer must read: `data` as JSON text, or `data_base64`. */
export type Expected = { data: string } | { data_base64: string } | Record<string, never>;

export function expected(c: Case, form: Form): Expected {
  if (!c.data) return {};
  if (c.name === 'bytes') return { data_base64: c.data.bytes!.toString('base64') };
  // The value's text, without the JSON whitespace around it (which is not part of the value).
  if (!isBinary(form)) return { data: c.data.json.trim() };
  const type = (c.attributes.datacontenttype ?? '').toLowerCase();
  const charset = /charset=([^;]+)/.exec(type)?.[1]?.trim();
  const base = type.split(';')[0]!.trim();
  const utf8 = charset === undefined || charset === 'utf-8';
  if (base.endsWith('/json') || base.endsWith('+json')) return { data: c.data.json.trim() };
  if ((base.startsWith('text/') && utf8) || charset === 'utf-8') {
    return { data: JSON.stringify(c.data.bytes!.toString('utf8')) };
  }
  return { data_base64: c.data.bytes!.toString('base64') };
}

/** The structured-mode (JSON format) text of an event, data spliced in as written. */
export function structuredJson(c: Case, id: string, source: string): string {
  const head = JSON.stringify({ specversion: '1.0', id, source, ...c.attributes });
  if (!c.data) return head;
  const member = c.name === 'bytes' ? '"data_base64"' : '"data"';
  return `${head.slice(0, -1)},${member}:${c.data.json}}`;
}

/** A binary-mode HTTP header value: percent-encoded as the HTTP binding asks senders to. */
export const headerValue = (v: string): string =>
  Array.from(Buffer.from(v, 'utf8'))
    .map((b) =>
      b < 0x21 || b > 0x7e || b === 0x22 || b === 0x25
        ? `%${b.toString(16).toUpperCase().padStart(2, '0')}`
        : String.fromCharCode(b),
    )
    .join('');
