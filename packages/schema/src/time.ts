/**
 * RFC 3339 timestamps with microsecond precision. JS Date holds milliseconds only, while both
 * stores (DuckDB TIMESTAMP, BigQuery TIMESTAMP) hold microseconds, so times travel as canonical
 * strings and are converted to epoch microseconds (bigint) only at a store boundary.
 */
const RFC3339 =
  /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(?:([Zz])|([+-])(\d{2}):(\d{2}))$/;

/** Parses an RFC 3339 date-time; returns epoch microseconds, or undefined when not valid.
 * Fractions beyond microseconds are truncated. Leap seconds (":60") are rejected. */
export function parseRfc3339(value: string): bigint | undefined {
  const m = RFC3339.exec(value);
  if (!m) return undefined;
  const [, y, mo, d, h, mi, s, frac, , sign, oh, om] = m;
  const year = Number(y);
  const month = Number(mo);
  const day = Number(d);
  const hour = Number(h);
  const minute = Number(mi);
  const second = Number(s);
  if (year < 1 || month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 || second > 59) {
    return undefined;
  }
  // Not Date.UTC: it reads years 0–99 as 1900–1999 (0001-01-01 became 1901-01-01).
  const check = new Date(0);
  check.setUTCFullYear(year, month - 1, day);
  check.setUTCHours(hour, minute, second, 0);
  const ms = check.getTime();
  // Date.UTC rolls 2026-02-30 over to March; a rolled date was not a real calendar date.
  if (check.getUTCDate() !== day || check.getUTCMonth() !== month - 1) return undefined;
  let offsetMinutes = 0;
  if (sign) {
    const offH = Number(oh);
    const offM = Number(om);
    if (offH > 23 || offM > 59) return undefined;
    offsetMinutes = (sign === '+' ? 1 : -1) * (offH * 60 + offM);
  }
  const micros =
    BigInt(ms - offsetMinutes * 60_000) * 1000n + BigInt((frac ?? '').padEnd(6, '0').slice(0, 6));
  // An offset can carry 9999-12-31T23:59:59-23:59 past year 9999 (or 0001-01-01T00:00:00+01:00
  // before year 1) in UTC, where neither store nor RFC 3339's four-digit year can hold it.
  return micros < MIN_MICROS || micros > MAX_MICROS ? undefined : micros;
}

/** 0001-01-01T00:00:00Z and 9999-12-31T23:59:59.999999Z in epoch microseconds. */
const MIN_MICROS = -62_135_596_800_000_000n;
const MAX_MICROS = 253_402_300_799_999_999n;

/** Formats epoch microseconds as the canonical form: UTC, 'Z', exactly six fraction digits. */
export function formatMicros(micros: bigint): string {
  let ms: number;
  let rest: number;
  if (micros > -SAFE_MICROS && micros < SAFE_MICROS) {
    // Within 2^53 µs of 1970 (years 1685–2255) a double holds the value exactly, and number
    // arithmetic is several times faster than bigint (stores format four times per row).
    const n = Number(micros);
    ms = Math.floor(n / 1000);
    rest = n - ms * 1000;
  } else {
    const big = micros / 1000n - (micros % 1000n < 0n ? 1n : 0n);
    ms = Number(big);
    rest = Number(micros - big * 1000n);
  }
  const iso = new Date(ms).toISOString(); // 2026-11-28T05:13:09.123Z
  return `${iso.slice(0, 23)}${String(rest).padStart(3, '0')}Z`;
}
const SAFE_MICROS = BigInt(Number.MAX_SAFE_INTEGER);

/** Canonical form of an RFC 3339 string; undefined when not valid. */
export function canonicalTime(value: string): string | undefined {
  const micros = parseRfc3339(value);
  return micros === undefined ? undefined : formatMicros(micros);
}

/** The current time in canonical form (millisecond resolution padded to microseconds). */
export function nowTime(now: Date = new Date()): string {
  return formatMicros(BigInt(now.getTime()) * 1000n);
}
