import {
  DuckDBListType,
  DuckDBTypeId,
  timestampValue,
  type DuckDBType,
  type DuckDBValue,
} from '@duckdb/node-api';

/** A schema field as the REST API sends it. */
export interface Field {
  name: string;
  type: string;
  mode?: string;
  description?: string;
}

/** An error the fake answers with, in BigQuery's error shape (see `BigQueryFake`). */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly reason: string,
    message: string,
  ) {
    super(message);
  }
}
export const unsupported = (what: string) =>
  new ApiError(400, 'invalid', `eventpipe BigQuery fake does not support ${what}`);
export const notFound = (what: string) => new ApiError(404, 'notFound', `Not found: ${what}`);

const BQ_TIMESTAMP =
  /^(\d{4})-(\d{1,2})-(\d{1,2})(?:[T ](\d{1,2}):(\d{2}):(\d{2})(?:\.(\d{1,12}))?)?\s*(Z|UTC|[+-]\d{2}(?::?\d{2})?)?$/i;

/** BigQuery's canonical timestamp literal → epoch microseconds. */
export function parseBigQueryTimestamp(value: string): bigint | undefined {
  const m = BQ_TIMESTAMP.exec(value.trim());
  if (!m) return undefined;
  const [, y, mo, d, h = '0', mi = '0', s = '0', frac = '', zone] = m;
  const ms = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s));
  if (Number.isNaN(ms)) return undefined;
  let offsetMin = 0;
  if (zone && !/^(Z|UTC)$/i.test(zone)) {
    const sign = zone.startsWith('-') ? -1 : 1;
    const digits = zone.slice(1).replace(':', '');
    offsetMin = sign * (Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2) || '0'));
  }
  return BigInt(ms - offsetMin * 60_000) * 1000n + BigInt(frac.padEnd(6, '0').slice(0, 6));
}

/** An insertAll cell → the DuckDB value to store, or the row error BigQuery would report. */
export function cellValue(
  f: Field,
  v: unknown,
): { ok: true; value: DuckDBValue } | { ok: false; message: string } {
  if (v === null || v === undefined) {
    return f.mode === 'REQUIRED'
      ? { ok: false, message: `Missing required field: ${f.name}.` }
      : { ok: true, value: null };
  }
  const bad = {
    ok: false as const,
    message: `Cannot convert value to ${f.type.toLowerCase()} (field ${f.name}).`,
  };
  switch (f.type.toUpperCase()) {
    case 'STRING':
      return typeof v === 'string' ? { ok: true, value: v } : bad;
    case 'JSON': {
      if (typeof v !== 'string') return bad;
      try {
        JSON.parse(v);
      } catch {
        return { ok: false, message: `Invalid JSON value for field ${f.name}.` };
      }
      const inexact = inexactJsonNumber(v);
      if (inexact !== undefined) {
        return {
          ok: false,
          message: `Invalid JSON value for field ${f.name}: the number ${inexact.slice(0, 40)} cannot be stored without loss of precision.`,
        };
      }
      return { ok: true, value: v };
    }
    case 'TIMESTAMP': {
      const us =
        typeof v === 'string'
          ? parseBigQueryTimestamp(v)
          : typeof v === 'number'
            ? BigInt(Math.round(v * 1e6))
            : undefined;
      return us === undefined
        ? { ok: false, message: `Invalid timestamp: '${String(v)}' (field ${f.name}).` }
        : { ok: true, value: timestampValue(us) };
    }
    case 'INT64':
    case 'INTEGER':
      return /^-?\d+$/.test(String(v)) ? { ok: true, value: BigInt(String(v)) } : bad;
    case 'FLOAT64':
    case 'FLOAT':
      return Number.isFinite(Number(v)) ? { ok: true, value: Number(v) } : bad;
    case 'BOOL':
    case 'BOOLEAN':
      return typeof v === 'boolean' || v === 'true' || v === 'false'
        ? { ok: true, value: v === true || v === 'true' }
        : bad;
    default:
      return { ok: false, message: `unsupported type ${f.type}` };
  }
}

const JSON_NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;

/** The first number in JSON text that BigQuery's JSON type cannot store exactly, if any: an
 * integer outside INT64 and UINT64 that is not exact as FLOAT64 either, or a number whose nearest
 * FLOAT64 is another value (checked on exact decimal expansions with bigints). */
function inexactJsonNumber(text: string): string | undefined {
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') inString = false;
      continue;
    }
    if (c === '"') {
      inString = true;
      continue;
    }
    if (c !== '-' && (c < '0' || c > '9')) continue;
    JSON_NUMBER.lastIndex = i;
    const token = JSON_NUMBER.exec(text)![0];
    i += token.length - 1;
    if (/^-?\d+$/.test(token)) {
      const n = BigInt(token);
      if (n >= -(2n ** 63n) && n < 2n ** 64n) continue;
    }
    const double = Number(token);
    if (!Number.isFinite(double) || !sameRational(token, String(double))) return token;
  }
  return undefined;
}

/** Two decimal numerals as exact fractions (numerator, power of ten), compared. */
function sameRational(a: string, b: string): boolean {
  const frac = (t: string) => {
    const m = /^(-?)(\d+)(?:\.(\d*))?(?:e([+-]?\d+))?$/i.exec(t)!;
    const digits = BigInt(`${m[1]}${m[2]}${m[3] ?? ''}`);
    return { n: digits, exp: Number(m[4] ?? 0) - (m[3] ?? '').length };
  };
  const x = frac(a);
  const y = frac(b);
  const shift = Math.min(x.exp, y.exp);
  return x.n * 10n ** BigInt(x.exp - shift) === y.n * 10n ** BigInt(y.exp - shift);
}

/** A DuckDB identifier, quoted. */
export function quote(identifier: string): string {
  return `"${identifier.replaceAll('"', '""')}"`;
}

/** A result (or view) column as BigQuery describes it. */
export interface BqField {
  name: string;
  type: string;
  mode: 'NULLABLE' | 'REPEATED';
}

/** A DuckDB result column → its BigQuery field: a LIST of a scalar is that scalar REPEATED. */
export function bqField(name: string, t: DuckDBType): BqField {
  if (t.typeId === DuckDBTypeId.LIST) {
    const child = (t as DuckDBListType).valueType;
    if (child.typeId === DuckDBTypeId.LIST)
      throw unsupported(`result column ${name}: arrays of arrays`);
    return { name, type: bqScalarType(name, child), mode: 'REPEATED' };
  }
  return { name, type: bqScalarType(name, t), mode: 'NULLABLE' };
}

function bqScalarType(name: string, t: DuckDBType): string {
  if (t.alias === 'JSON') return 'JSON';
  switch (t.typeId) {
    case DuckDBTypeId.VARCHAR:
      return 'STRING';
    case DuckDBTypeId.BIGINT:
    case DuckDBTypeId.INTEGER:
    case DuckDBTypeId.HUGEINT:
    case DuckDBTypeId.SMALLINT:
    case DuckDBTypeId.TINYINT:
    case DuckDBTypeId.UBIGINT:
      return 'INT64';
    case DuckDBTypeId.DOUBLE:
    case DuckDBTypeId.FLOAT:
      return 'FLOAT64';
    case DuckDBTypeId.BOOLEAN:
      return 'BOOL';
    case DuckDBTypeId.TIMESTAMP:
      return 'TIMESTAMP';
    default:
      throw unsupported(`result column type ${String(t)} (column ${name})`);
  }
}
