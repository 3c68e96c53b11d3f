import fc from 'fast-check';
import {
  EVENT_COLUMNS,
  envelopeOfRow,
  eventJson,
  metaOfRow,
  cloudEventJson,
  contentDigest,
  eventDataTexts,
  fromStoredRow,
  parseInputEvents,
  storedEventJson,
  toStoredRow,
  type Envelope,
} from '@eventpipe/schema';
import { bigQuerySchemaFields, duckdbCreateTable } from '@eventpipe/store/adapters';

const meta = {
  receivedAt: '2026-11-28T05:00:00.000000Z',
  publishedAt: '2026-11-28T05:00:00.001000Z',
  messageId: 'm1',
};

/** One event parsed from JSON text as the publisher parses it. */
function eventOf(text: string): Envelope {
  const parsed = parseInputEvents(JSON.parse(text), { dataTexts: eventDataTexts(text) });
  if (!parsed.ok) throw new Error(`fixture invalid: ${JSON.stringify(parsed.issues)}`);
  return parsed.events[0]!;
}

describe('stored rows', () => {
  it('when the table schemas are derived, then both stores get every column in the same order', () => {
    const names = EVENT_COLUMNS.map((c) => c.name);
    expect(names).toEqual([
      'id',
      'source',
      'type',
      'specversion',
      'time',
      'subject',
      'datacontenttype',
      'dataschema',
      'data',
      'data_base64',
      'extensions',
      'received_at',
      'published_at',
      'stored_at',
      'message_id',
      'time_text',
      'digest',
      'producer',
    ]);
    // Columns are only appended: data_text stays where it was added, after digest.
    expect(bigQuerySchemaFields().map((f) => f.name)).toEqual([
      ...names.slice(0, -1),
      'data_text',
      'producer',
    ]);
    const ddl = duckdbCreateTable('events');
    for (const n of names) expect(ddl).toContain(`  ${n} `);
    expect(ddl).toContain('PRIMARY KEY (source, id)');
    expect(bigQuerySchemaFields().find((f) => f.name === 'time')).toMatchObject({
      type: 'TIMESTAMP',
      mode: 'REQUIRED',
    });
    expect(bigQuerySchemaFields().find((f) => f.name === 'data')).toMatchObject({
      type: 'JSON',
      mode: 'NULLABLE',
    });
  });

  it('when an event is stored and read back, then the caller sees the CloudEvent plus metadata', () => {
    const event = eventOf(
      '{"id":"1","type":"t","source":"/s","subject":"x","data":{"big":"9007199254740993","u":"ü😀"},"ext":"v"}',
    );
    const row = toStoredRow(event, meta, '2026-11-28T05:00:01.000000Z');
    expect(row.extensions).toBe('{"ext":"v"}');
    expect(fromStoredRow(row)).toEqual({
      specversion: '1.0',
      id: '1',
      source: '/s',
      type: 't',
      subject: 'x',
      time: '2026-11-28T05:00:00.000000Z',
      data: { big: '9007199254740993', u: 'ü😀' },
      ext: 'v',
      ...meta,
      storedAt: '2026-11-28T05:00:01.000000Z',
      producer: null,
    });
    const byKey = toStoredRow(event, { ...meta, producer: 'partner-a' }, meta.receivedAt);
    expect(fromStoredRow(byKey)).toHaveProperty('producer', 'partner-a');
  });

  it('when time and data are stored, then both read back exactly as sent; the column is canonical', () => {
    const data = '{ "n": 12345678901234567890, "x": 1.0 }';
    const row = toStoredRow(
      eventOf(
        `{"id":"1","type":"t","source":"/s","time":"2026-11-28T06:13:09.123456789+01:00","data":${data}}`,
      ),
      meta,
      '2026-11-28T05:00:01.000000Z',
    );
    expect(row.time).toBe('2026-11-28T05:13:09.123456Z');
    expect(row.time_text).toBe('2026-11-28T06:13:09.123456789+01:00');
    expect(row.data).toBe(data);
    expect(cloudEventJson(row)).toBe(
      `{"specversion":"1.0","id":"1","source":"/s","type":"t","time":"2026-11-28T06:13:09.123456789+01:00","data":${data}}`,
    );
    expect(storedEventJson(row)).toContain(`"messageId":"m1","producer":null,"data":${data}}`);
  });

  it('when an event has no time, then the row takes the receive time and says none was sent', () => {
    const row = toStoredRow(eventOf('{"id":"1","type":"t","source":"/s"}'), meta, meta.receivedAt);
    expect(row.time).toBe(meta.receivedAt);
    expect(row.time_text).toBeNull();
    expect(JSON.parse(cloudEventJson(row))).toHaveProperty('time', meta.receivedAt);
  });
});

describe('content digest', () => {
  const base = '{"id":"1","type":"t","source":"/s","data":{"a":1,"b":[1,2]}}';

  it('when an event is sent again, laid out differently or without its time, then the digest is the same', () => {
    const d = contentDigest(eventOf(base));
    expect(d).toMatch(/^[0-9a-f]{64}$/);
    expect(
      contentDigest(
        eventOf('{ "source":"/s", "type":"t", "id":"1", "data": { "a": 1, "b": [ 1, 2 ] } }'),
      ),
    ).toBe(d);
    expect(contentDigest(eventOf(base.replace('"id":"1"', '"id":"1","specversion":"1.0"')))).toBe(
      d,
    );
  });

  it.each([
    ['a number written otherwise', base.replace('"a":1', '"a":1.0')],
    ['another number', base.replace('"a":1', '"a":2')],
    ['data null', '{"id":"1","type":"t","source":"/s","data":null}'],
    ['no data', '{"id":"1","type":"t","source":"/s"}'],
    ['a time', base.replace('"id":"1"', '"id":"1","time":"2026-11-28T05:00:00Z"')],
    ['a subject', base.replace('"id":"1"', '"id":"1","subject":"x"')],
    ['an extension', base.replace('"id":"1"', '"id":"1","ext":"v"')],
    ['another type', base.replace('"type":"t"', '"type":"u"')],
    ['keys in another order', base.replace('{"a":1,"b":[1,2]}', '{"b":[1,2],"a":1}')],
  ])('when it differs by %s, then the digest differs', (_, text) => {
    expect(contentDigest(eventOf(text))).not.toBe(contentDigest(eventOf(base)));
  });
});

describe('stored event JSON', () => {
  it("when rows are written as JSON, then the text is the envelope's eventJson, with the metadata after the attributes", () => {
    fc.assert(
      fc.property(
        fc.record({
          id: fc.string({ minLength: 1 }),
          subject: fc.option(fc.string({ minLength: 1 }), { nil: undefined }),
          time: fc.option(fc.constantFrom('2026-11-28T06:00:00+01:00', '2026-11-28T05:00:00Z'), {
            nil: undefined,
          }),
          data: fc.option(fc.jsonValue(), { nil: undefined }),
          ext: fc.dictionary(
            fc.stringMatching(/^[a-z0-9]{1,8}$/),
            fc.oneof(fc.string(), fc.boolean(), fc.integer({ min: -1000, max: 1000 })),
          ),
        }),
        ({ id, subject, time, data, ext }) => {
          // eslint-disable-next-line no-control-regex
          fc.pre(!/[\u0000-\u001f\u007f-\u009f]/.test(id + (subject ?? '')));
          const known = [
            'id',
            'source',
            'type',
            'time',
            'subject',
            'data',
            'specversion',
            'dataschema',
            'datacontenttype',
          ];
          fc.pre(Object.keys(ext).every((k) => !known.includes(k)));
          const text = JSON.stringify({ type: 't', source: '/s', id, subject, time, data, ...ext });
          const row = toStoredRow(eventOf(text), meta, meta.receivedAt);
          expect(cloudEventJson(row)).toBe(eventJson(envelopeOfRow(row)));
          expect(JSON.parse(storedEventJson(row))).toEqual({
            ...JSON.parse(cloudEventJson(row)),
            ...metaOfRow(row),
          });
          const metaText = `,"receivedAt":"${row.received_at}","publishedAt":"${row.published_at}","storedAt":"${row.stored_at}","messageId":"${row.message_id}","producer":null`;
          const cloud = cloudEventJson(row);
          const at = row.data === null ? cloud.length - 1 : cloud.lastIndexOf(',"data":');
          expect(storedEventJson(row)).toBe(cloud.slice(0, at) + metaText + cloud.slice(at));
        },
      ),
    );
  });
});
