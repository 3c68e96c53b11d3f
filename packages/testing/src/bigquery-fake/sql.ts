import {
  listValue,
  timestampValue,
  type DuckDBConnection,
  type DuckDBListValue,
  type DuckDBValue,
} from '@duckdb/node-api';
import type { Tables } from './tables';
import {
  ApiError,
  bqField,
  parseBigQueryTimestamp,
  quote,
  unsupported,
  type BqField,
} from './values';

const QUERY_KEYS = new Set([
  'query',
  'queryParameters',
  'parameterMode',
  'useLegacySql',
  'maximumBytesBilled',
  'location',
  'formatOptions',
  'requestId',
  'timeoutMs',
  'maxResults',
  'useQueryCache',
  'jobCreationMode',
  'labels',
]);
const ALLOWED_FUNCTIONS = new Set([
  'UNIX_MICROS',
  'TIMESTAMP_TRUNC',
  'ROW_NUMBER',
  'COUNT',
  'UNNEST',
  'STARTS_WITH',
  'BYTE_LENGTH',
  'COALESCE',
  'SUM',
  'TO_JSON_STRING',
]);
const NOT_FUNCTIONS = new Set([
  'AND',
  'OR',
  'NOT',
  'IN',
  'OVER',
  'FROM',
  'AS',
  'WHERE',
  'SELECT',
  'ON',
  'BY',
  'WITH',
  'QUALIFY',
  'EXCEPT',
  'EXISTS',
]);

/** Refuses a jobs.query request the fake cannot honour, before it is recorded or run. */
export function checkQueryOptions(body: Record<string, unknown>): void {
  for (const k of Object.keys(body)) if (!QUERY_KEYS.has(k)) throw unsupported(`query option ${k}`);
  if (body.useLegacySql) throw unsupported('legacy SQL');
}

const DELETE_FORM = /^\s*DELETE\s+FROM\s+(`([^`.]+)\.([^`.]+)\.([^`.]+)`)\s+WHERE\s+([\s\S]+)$/i;

/** Whether a jobs.query request is a DML statement (the fake runs DELETE … WHERE only). */
export const isDml = (body: Record<string, unknown>) =>
  /^\s*(DELETE|INSERT|UPDATE|MERGE|TRUNCATE)\b/i.test(String(body.query ?? ''));

/**
 * Runs `DELETE FROM \`p.d.t\` WHERE <condition>` (the condition as a SELECT's WHERE is
 * translated); any other DML is refused. Like BigQuery, a DELETE that would touch a row written by
 * insertAll still in the streaming buffer fails and deletes nothing. Returns the rows deleted.
 */
export async function runDml(
  conn: DuckDBConnection,
  tables: Tables,
  body: Record<string, unknown>,
): Promise<number> {
  const text = String(body.query ?? '');
  const m = DELETE_FORM.exec(text);
  if (!m) throw unsupported('DML other than DELETE FROM `project.dataset.table` WHERE …');
  const [, ref, p, d, t, condition] = m as unknown as [
    string,
    string,
    string,
    string,
    string,
    string,
  ];
  const params = bindParams(body);
  const table = `${quote(`${p}.${d}`)}.${quote(t)}`;
  const select = translate(tables, `SELECT 1 FROM ${ref} WHERE ${condition}`);
  const where = select.slice(`SELECT 1 FROM ${table} WHERE `.length);
  const buffered = tables.bufferedRanges(p, d, t);
  if (buffered.length) {
    const inBuffer = buffered.map((r) => `rowid BETWEEN ${r.from} AND ${r.to}`).join(' OR ');
    const touched = await conn.runAndReadAll(
      `SELECT count(*) FROM ${table} WHERE (${where}) AND (${inBuffer})`,
      params,
    );
    if (Number(touched.getRows()[0]![0]) > 0) {
      throw new ApiError(
        400,
        'invalidQuery',
        `UPDATE or DELETE statement over table ${p}.${d}.${t} would affect rows in the streaming buffer, which is not supported`,
      );
    }
  }
  const result = await conn
    .runAndReadAll(`DELETE FROM ${table} WHERE ${where}`, params)
    .catch((e: Error) => {
      throw new ApiError(
        400,
        'invalidQuery',
        `fake could not run the query: ${e.message.split('\n')[0]}`,
      );
    });
  return Number(result.getRows()[0]?.[0] ?? 0);
}

/** Runs a jobs.query request's SQL: its result schema and rows, as BigQuery encodes them. */
export async function runQuery(
  conn: DuckDBConnection,
  tables: Tables,
  body: Record<string, unknown>,
) {
  const sql = translate(tables, String(body.query ?? ''));
  const params = bindParams(body);
  let reader;
  try {
    reader = await conn.runAndReadAll(sql, params);
  } catch (e) {
    throw new ApiError(
      400,
      'invalidQuery',
      `fake could not run the query: ${(e as Error).message.split('\n')[0]}`,
    );
  }
  const int64Timestamps =
    (body.formatOptions as { useInt64Timestamp?: boolean } | undefined)?.useInt64Timestamp === true;
  const types = reader.columnTypes();
  const fields = reader.columnNames().map((name, i) => bqField(name, types[i]!));
  const rows = reader.getRows().map((row) => ({
    f: row.map((v, i) => ({ v: encodeCell(v, fields[i]!, int64Timestamps) })),
  }));
  return { fields, rows };
}

/** GoogleSQL (the adapter's subset) → DuckDB SQL. */
function translate(tables: Tables, sql: string): string {
  if (!/^\s*(SELECT|WITH)\b/i.test(sql)) throw unsupported('statements other than SELECT');
  if (sql.includes(';')) throw unsupported('multiple statements');
  if (/'[^']*'|"[^"]*"/.test(sql.replace(/`[^`]*`/g, ''))) {
    throw unsupported('literals in SQL text (pass values as query parameters)');
  }
  for (const m of sql.matchAll(/\b([A-Za-z_][A-Za-z0-9_]*)\s*\(/g)) {
    const name = m[1]!.toUpperCase();
    if (!NOT_FUNCTIONS.has(name) && !ALLOWED_FUNCTIONS.has(name))
      throw unsupported(`function ${m[1]}`);
  }
  let out = sql.replace(/`([^`.]+)\.([^`.]+)\.([^`.]+)`/g, (_, p: string, d: string, t: string) => {
    // A view reads its table: a partition filter that table requires is required of the query.
    const meta = tables.baseTableMeta(p, d, t);
    const field = meta.timePartitioning?.field;
    // Like BigQuery: a table that requires a partition filter refuses a query without one.
    if (
      meta.requirePartitionFilter &&
      field &&
      !new RegExp(`\\b${field}\\s*(>=|<=|<|>|=)`).test(sql)
    ) {
      throw new ApiError(
        400,
        'invalidQuery',
        `Cannot query over table '${p}.${d}.${t}' without a filter over column(s) '${field}' that can be used for partition elimination`,
      );
    }
    return `${quote(`${p}.${d}`)}.${quote(t)}`;
  });
  if (/`/.test(out)) throw unsupported('table references other than `project.dataset.table`');
  out = out.replace(
    /TIMESTAMP_TRUNC\s*\(\s*([A-Za-z_][A-Za-z0-9_]*)\s*,\s*(MINUTE|HOUR|DAY)\s*\)/gi,
    (_, col: string, unit: string) => `date_trunc('${unit.toLowerCase()}', ${col})`,
  );
  if (/TIMESTAMP_TRUNC/i.test(out))
    throw unsupported('TIMESTAMP_TRUNC other than (column, MINUTE|HOUR|DAY)');
  out = out.replace(/\bUNIX_MICROS\s*\(/gi, 'epoch_us(');
  // BYTE_LENGTH of a STRING is its UTF-8 bytes: DuckDB's strlen.
  out = out.replace(/\bBYTE_LENGTH\s*\(/gi, 'strlen(');
  // TO_JSON_STRING of a JSON column: its JSON text.
  out = out.replace(
    /\bTO_JSON_STRING\s*\(\s*([A-Za-z_][A-Za-z0-9_]*)\s*\)/gi,
    (_, col: string) => `CAST(${col} AS VARCHAR)`,
  );
  if (/\bTO_JSON_STRING\b/i.test(out)) throw unsupported('TO_JSON_STRING other than (column)');
  // SELECT * EXCEPT (a, b) is DuckDB's SELECT * EXCLUDE (a, b).
  out = out.replace(/\*\s+EXCEPT\s*\(/gi, '* EXCLUDE (');
  out = out.replace(
    /\bIN\s+UNNEST\s*\(\s*@([A-Za-z_][A-Za-z0-9_]*)\s*\)/gi,
    (_, name: string) => `IN (SELECT unnest(@${name}))`,
  );
  if (/\bUNNEST\b/i.test(sql.replace(/\bIN\s+UNNEST\s*\(\s*@[A-Za-z_][A-Za-z0-9_]*\s*\)/gi, '')))
    throw unsupported('UNNEST other than x IN UNNEST(@array)');
  out = out.replace(/@([A-Za-z_][A-Za-z0-9_]*)/g, '$$$1');
  return out;
}

function bindParams(body: Record<string, unknown>): Record<string, DuckDBValue> {
  const params =
    (body.queryParameters as
      | {
          name?: string;
          parameterType?: { type?: string; arrayType?: { type?: string } };
          parameterValue?: { value?: string; arrayValues?: { value?: string }[] };
        }[]
      | undefined) ?? [];
  if (params.length && String(body.parameterMode).toUpperCase() !== 'NAMED') {
    throw unsupported('positional query parameters');
  }
  const out: Record<string, DuckDBValue> = {};
  for (const q of params) {
    const type = q.parameterType?.type?.toUpperCase();
    const raw = q.parameterValue?.value;
    if (!q.name) throw unsupported('unnamed parameters');
    if (type === 'ARRAY') {
      if (q.parameterType?.arrayType?.type?.toUpperCase() !== 'STRING')
        throw unsupported('ARRAY parameters other than ARRAY<STRING>');
      out[q.name] = listValue((q.parameterValue?.arrayValues ?? []).map((a) => a.value ?? null));
      continue;
    }
    if (raw === undefined || raw === null) {
      out[q.name] = null;
      continue;
    }
    switch (type) {
      case 'STRING':
        out[q.name] = raw;
        break;
      case 'INT64':
        out[q.name] = BigInt(raw);
        break;
      case 'BOOL':
        out[q.name] = raw === 'true';
        break;
      case 'TIMESTAMP': {
        const us = parseBigQueryTimestamp(raw);
        if (us === undefined)
          throw new ApiError(400, 'invalidQuery', `Invalid TIMESTAMP parameter ${q.name}: ${raw}`);
        out[q.name] = timestampValue(us);
        break;
      }
      default:
        throw unsupported(`parameter type ${type ?? '?'}`);
    }
  }
  return out;
}

/** A cell as the REST API sends it: a string (or null), or for a REPEATED field the list of its
 * elements as `{ v }`. BigQuery sends a NULL array as the empty one and refuses to return an
 * array holding a NULL. */
function encodeCell(v: unknown, field: BqField, int64Timestamps: boolean): unknown {
  if (field.mode === 'REPEATED') {
    if (v === null || v === undefined) return [];
    return (v as DuckDBListValue).items.map((item) => {
      if (item === null || item === undefined) {
        throw new ApiError(
          400,
          'invalidQuery',
          `Array cannot have a null element; error in writing field ${field.name}`,
        );
      }
      return { v: encodeScalar(item, field.type, int64Timestamps) };
    });
  }
  return encodeScalar(v, field.type, int64Timestamps);
}

function encodeScalar(v: unknown, type: string, int64Timestamps: boolean): string | null {
  if (v === null || v === undefined) return null;
  if (type === 'TIMESTAMP') {
    const micros = (v as { micros: bigint }).micros;
    if (int64Timestamps) return micros.toString();
    const sign = micros < 0n ? '-' : '';
    const abs = micros < 0n ? -micros : micros;
    return `${sign}${abs / 1_000_000n}.${(abs % 1_000_000n).toString().padStart(6, '0')}`;
  }
  return String(v);
}
