import fc from 'fast-check';
import { canonicalTime, formatMicros, parseRfc3339 } from '@eventpipe/schema';

describe('RFC 3339 times', () => {
  it('when a time has microseconds, then they survive parse and format', () => {
    const us = parseRfc3339('2026-11-28T05:13:09.123456Z');
    expect(us).toBe(1795842789123456n);
    expect(formatMicros(us!)).toBe('2026-11-28T05:13:09.123456Z');
  });

  it('when a time has an offset, then it is converted to UTC', () => {
    expect(canonicalTime('2026-11-28T06:13:09+01:00')).toBe('2026-11-28T05:13:09.000000Z');
    expect(canonicalTime('2026-11-27T23:43:09.5-05:30')).toBe('2026-11-28T05:13:09.500000Z');
  });

  it('when a time has nanoseconds, then they are truncated to microseconds', () => {
    expect(canonicalTime('2026-11-28T05:13:09.123456789Z')).toBe('2026-11-28T05:13:09.123456Z');
  });

  it('when a time is before 1970, then it still round-trips', () => {
    expect(canonicalTime('1969-12-31T23:59:59.999999Z')).toBe('1969-12-31T23:59:59.999999Z');
    expect(formatMicros(-1n)).toBe('1969-12-31T23:59:59.999999Z');
  });

  it('when the year is below 100, then it is that year, not 19xx', () => {
    expect(canonicalTime('0001-01-01T00:30:00Z')).toBe('0001-01-01T00:30:00.000000Z');
    expect(canonicalTime('0099-12-31T23:59:59.5+01:00')).toBe('0099-12-31T22:59:59.500000Z');
    expect(canonicalTime('0004-02-29T00:00:00Z')).toBe('0004-02-29T00:00:00.000000Z');
    expect(parseRfc3339('0001-01-01T00:00:00Z')).toBe(-62135596800000000n);
  });

  it.each([
    ['0003-02-29T00:00:00Z', 'not a leap year'],
    ['2026-02-30T00:00:00Z', 'not a calendar date'],
    ['2026-11-28T24:00:00Z', 'hour 24'],
    ['2026-11-28T05:13:60Z', 'leap second'],
    ['2026-11-28 05:13:09Z', 'space separator'],
    ['2026-11-28T05:13:09', 'no offset'],
    ['2026-11-28', 'date only'],
    ['1700000000', 'epoch number'],
    ['2026-13-01T00:00:00Z', 'month 13'],
    ['2026-11-28T05:13:09+24:00', 'offset hour 24'],
    ['', 'empty'],
  ])('when the time is %s (%s), then it is rejected', (value) => {
    expect(parseRfc3339(value)).toBeUndefined();
  });
});

describe('formatMicros over the whole range of years 0001–9999', () => {
  it('when any instant is formatted, then parsing it gives the same microsecond back', () => {
    const first = parseRfc3339('0001-01-01T00:00:00Z')!;
    const last = parseRfc3339('9999-12-31T23:59:59.999999Z')!;
    fc.assert(
      fc.property(fc.bigInt({ min: first, max: last }), (us) => {
        expect(parseRfc3339(formatMicros(us))).toBe(us);
      }),
      { numRuns: 5000 },
    );
    // Both sides of the 2^53 µs edge, where formatting leaves number for bigint arithmetic.
    for (const edge of [BigInt(Number.MAX_SAFE_INTEGER), -BigInt(Number.MAX_SAFE_INTEGER)]) {
      for (const us of [edge - 1n, edge, edge + 1n]) {
        expect(parseRfc3339(formatMicros(us))).toBe(us);
      }
    }
  });
});
