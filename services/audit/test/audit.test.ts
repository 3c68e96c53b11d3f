import { acceptedIds, compare, recordsIn, reportText } from '@eventpipe/audit';

const scope = {
  source: '/shop',
  from: '2026-11-28T00:00:00.000000Z',
  to: '2026-11-29T00:00:00.000000Z',
};
const record = (events: [string, string, string][]) => ({
  receivedAt: '2026-11-28T10:00:00.000000Z',
  requestId: 'r',
  events,
});

describe('the accepted record', () => {
  it('when it comes as the file, log lines or Cloud Logging entries, then every record is read', () => {
    const a = record([['/shop', 'a', '2026-11-28T01:00:00Z']]);
    const b = record([['/shop', 'b', '2026-11-28T02:00:00+01:00']]);
    const c = record([['/shop', 'c', '2026-11-28T03:00:00.000000Z']]);
    const file = [JSON.stringify(a), 'not json', JSON.stringify({ message: 'request' })].join('\n');
    const logLines = JSON.stringify({ severity: 'INFO', message: 'events accepted', accepted: b });
    const cloudLogging = JSON.stringify([
      { jsonPayload: { message: 'events accepted', accepted: c } },
    ]);
    expect(recordsIn(file)).toEqual([a]);
    expect(recordsIn(logLines)).toEqual([b]);
    expect(recordsIn(cloudLogging)).toEqual([c]);
  });

  it('when events fall outside the source or the time range, then they are left out', () => {
    const ids = acceptedIds(
      [
        record([
          ['/shop', 'in', '2026-11-28T23:59:59.999999Z'],
          ['/shop', 'in', '2026-11-28T12:00:00Z'], // sent twice: one id
          ['/shop', 'offset', '2026-11-29T00:30:00+01:00'], // 23:30 UTC on the 28th
          ['/other', 'elsewhere', '2026-11-28T12:00:00Z'],
          ['/shop', 'late', '2026-11-29T00:00:00Z'],
          ['/shop', 'early', '2026-11-27T23:59:59Z'],
        ]),
      ],
      scope,
    );
    expect([...ids].sort()).toEqual(['in', 'offset']);
  });
});

describe('compare', () => {
  it('when accepted and stored differ, then each side of the gap is named', () => {
    const report = compare(new Set(['a', 'b', 'c']), ['b', 'c', 'c', 'x']);
    expect(report).toEqual({
      accepted: 3,
      stored: 4,
      missing: ['a'],
      unexpected: ['x'],
      repeated: ['c'],
    });
    const text = reportText(scope, report);
    expect(text).toContain('missing     1  accepted, not stored  a');
    expect(text).toContain('repeated    1  stored more than once  c');
  });
});
