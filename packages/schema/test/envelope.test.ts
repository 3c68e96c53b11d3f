import {
  LIMITS,
  eventDataTexts,
  eventJson,
  parseBusEvent,
  parseInputEvents,
  uuidv7,
  type Envelope,
} from '@eventpipe/schema';

/** Parses as the publisher does: the data texts cut from the body's own text. */
const parseText = (text: string) =>
  parseInputEvents(JSON.parse(text), { dataTexts: eventDataTexts(text) });
const parse = (body: unknown) => parseText(JSON.stringify(body));
const wire = (e: Envelope) => JSON.parse(eventJson(e)) as Record<string, unknown>;
const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('producer input', () => {
  it('when only type and source are given, then id and specversion are filled in and time stays absent', () => {
    const r = parse({ type: 't', source: '/s' });
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    const [e] = r.events;
    expect(e!.id).toMatch(UUID_V7);
    expect(e!.specversion).toBe('1.0');
    expect(e!).not.toHaveProperty('time');
  });

  it('when every attribute is given, then each is kept, time as written', () => {
    const r = parse({
      specversion: '1.0',
      id: 'a-1',
      source: 'https://example.com/shop',
      type: 'com.example.order.created',
      subject: 'order/42',
      time: '2026-11-28T06:00:00.25+01:00',
      datacontenttype: 'application/json',
      dataschema: 'https://example.com/schemas/order.json',
      data: { n: 1, nested: { ok: true } },
      traceparent: '00-abc-def-01',
      priority: 3,
      urgent: false,
    });
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(wire(r.events[0]!)).toEqual({
      specversion: '1.0',
      id: 'a-1',
      source: 'https://example.com/shop',
      type: 'com.example.order.created',
      subject: 'order/42',
      time: '2026-11-28T06:00:00.25+01:00',
      datacontenttype: 'application/json',
      dataschema: 'https://example.com/schemas/order.json',
      data: { n: 1, nested: { ok: true } },
      traceparent: '00-abc-def-01',
      priority: 3,
      urgent: false,
    });
  });

  it('when optional attributes are null, then they count as absent, but data null stays null', () => {
    const r = parse({ type: 't', source: '/s', subject: null, data: null, myext: null });
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(wire(r.events[0]!)).not.toHaveProperty('subject');
    expect(wire(r.events[0]!)).not.toHaveProperty('myext');
    expect(r.events[0]!.data).toBe('null');
    expect(wire(r.events[0]!)).toHaveProperty('data', null);
  });

  it('when data holds numbers a double would change, then its text is kept as written', () => {
    const data =
      '{"big": 9007199254740993, "u64":12345678901234567890,"pi":3.141592653589793238462643383279,' +
      '"huge":1e400,"tiny":2.5e-400,"one":1.0,"neg":-0,"s":"\\u00e9\\/"}';
    const r = parseText(`[{"type":"t","source":"/s","data":${data}},{"type":"t","source":"/s"}]`);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.events[0]!.data).toBe(data);
    expect(eventJson(r.events[0]!)).toContain(`"data":${data}}`);
    expect(r.events[1]!).not.toHaveProperty('data');
  });

  it('when an extension name has 64 characters, then it is accepted; 65, refused', () => {
    expect(parse({ type: 't', source: '/s', ['a'.repeat(64)]: 'x' }).ok).toBe(true);
    const r = parse({ type: 't', source: '/s', ['a'.repeat(65)]: 'x' });
    expect(r.ok || r.issues[0]!.message).toContain('at most 64 characters');
  });

  it('when the batch is empty, then it parses to no events', () => {
    expect(parse([])).toEqual({ ok: true, events: [] });
  });

  it.each([
    [{ source: '/s' }, '/type', 'type must be a string'],
    [{ type: 't' }, '/source', 'source must be a string'],
    [{ type: '', source: '/s' }, '/type', 'type must not be empty'],
    [{ type: 't', source: '/s', specversion: '0.3' }, '/specversion', 'specversion must be "1.0"'],
    [{ type: 't', source: '/s', time: 'yesterday' }, '/time', 'time must be an RFC 3339'],
    [{ type: 't', source: '/s', time: '9999-12-31T23:59:59-23:59' }, '/time', 'RFC 3339'],
    [
      { type: 't', source: '/s', dataschema: 'not a uri' },
      '/dataschema',
      'dataschema must be an absolute URI',
    ],
    [{ type: 't', source: '/s', Upper: 1 }, '/Upper', 'extension names are lower-case'],
    [{ type: 't', source: '/s', ['x'.repeat(65)]: 1 }, `/${'x'.repeat(65)}`, 'extension names'],
    [{ type: 't', source: '/s', ext: 1.5 }, '/ext', '32-bit integer'],
    [{ type: 't', source: '/s', ext: 2 ** 31 }, '/ext', '32-bit integer'],
    [{ type: 't', source: '/s', ext: { a: 1 } }, '/ext', 'string, integer or boolean'],
    [
      { type: 't', source: '/s', data: 1, data_base64: 'AA==' },
      '/data_base64',
      'mutually exclusive',
    ],
    [
      { type: 't', source: '/s', data: null, data_base64: 'AA==' },
      '/data_base64',
      'mutually exclusive',
    ],
    [{ type: 't', source: '/s', data_base64: 'not base64!' }, '/data_base64', 'must be base64'],
    [{ type: 't\u0000x', source: '/s' }, '/type', 'control characters'],
    [
      { type: 't', source: 'x'.repeat(LIMITS.maxAttributeBytes + 1) },
      '/source',
      'longer than 1024 bytes',
    ],
    [{ type: 't', source: 'é'.repeat(513) }, '/source', 'longer than 1024 bytes'],
  ])('when an event is %j, then %s is reported', (event, pointer, message) => {
    const r = parse(event);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    const issue = r.issues.find((i) => i.pointer === pointer);
    expect(issue?.message).toContain(message);
  });

  it('when an event is not an object, then the issue says so', () => {
    const r = parseInputEvents(['nope']);
    expect(r).toEqual({
      ok: false,
      issues: [{ index: 0, pointer: '/0', message: 'event must be a JSON object' }],
    });
  });

  it('when one event of a batch is bad, then the whole batch fails and the issue names its index', () => {
    const r = parse([{ type: 't', source: '/s' }, { type: 't' }, { type: 't', source: '/s' }]);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.issues).toEqual([
      { index: 1, pointer: '/1/source', message: 'source must be a string' },
    ]);
  });

  it('when there are more extensions than allowed, then it is rejected', () => {
    const ext = Object.fromEntries(
      Array.from({ length: LIMITS.maxExtensions + 1 }, (_, i) => [`e${i}`, 'v']),
    );
    expect(parse({ type: 't', source: '/s', ...ext }).ok).toBe(false);
  });
});

describe('bus events (what the worker accepts)', () => {
  it('when id or specversion is missing, then it is not a bus event; time may be absent', () => {
    const r = parseBusEvent({ type: 't', source: '/s' }, undefined);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.issues.map((i) => i.pointer).sort()).toEqual(['/id', '/specversion']);
    expect(
      parseBusEvent({ type: 't', source: '/s', id: '1', specversion: '1.0' }, undefined).ok,
    ).toBe(true);
  });

  it('when it is valid, then it reads back to the same JSON format text', () => {
    const text =
      '{"specversion":"1.0","id":"1","source":"/s","type":"t","time":"2026-11-28T05:00:00Z","data":"x"}';
    const r = parseBusEvent(JSON.parse(text), eventDataTexts(text)[0]);
    expect(r.ok && eventJson(r.event)).toBe(text);
  });
});

describe('uuidv7', () => {
  it('when many ids are made in one millisecond, then they sort in creation order', () => {
    const ids = Array.from({ length: 5000 }, () => uuidv7(1_800_000_000_000));
    expect([...ids].sort()).toEqual(ids);
    expect(new Set(ids).size).toBe(ids.length);
    for (const id of ids.slice(0, 10)) expect(id).toMatch(UUID_V7);
  });
});
