import {
  EVENT_COLUMNS,
  bigQuerySchemaFields,
  duckdbCreateTable,
  fromStoredRow,
  parseInputEvents,
  toStoredRow,
} from '@eventpipe/schema';

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
    ]);
    expect(bigQuerySchemaFields().map((f) => f.name)).toEqual(names);
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
    const parsed = parseInputEvents(
      {
        id: '1',
        type: 't',
        source: '/s',
        subject: 'x',
        data: { big: '9007199254740993', u: 'ü😀' },
        ext: 'v',
      },
      { receivedAt: '2026-11-28T05:00:00.000000Z' },
    );
    if (!parsed.ok) throw new Error('fixture invalid');
    const meta = {
      receivedAt: '2026-11-28T05:00:00.000000Z',
      publishedAt: '2026-11-28T05:00:00.001000Z',
      messageId: 'm1',
    };
    const row = toStoredRow(parsed.events[0]!, meta, '2026-11-28T05:00:01.000000Z');
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
    });
  });
});
