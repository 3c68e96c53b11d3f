import { EVENT_COLUMNS } from '@eventpipe/schema';
import type { ViewColumn } from '@eventpipe/registry';

/** DuckDB string literal: single quotes doubled (views cannot take parameters). */
export const sqlString = (s: string): string => `'${s.replaceAll("'", "''")}'`;

/** GoogleSQL string literal: backslash escapes (a doubled quote is a syntax error there). */
export const bigQueryString = (s: string): string =>
  `'${s.replace(/[\\'\n\r]/g, (c) => (c === '\n' ? '\\n' : c === '\r' ? '\\r' : `\\${c}`))}'`;

/** The envelope columns every typed view starts with (`data` included, as the record). */
export const VIEW_ENVELOPE = EVENT_COLUMNS.map((c) => c.name);

/** A JSON pointer to one top-level property (RFC 6901: ~ and / escaped). */
export const pointerTo = (property: string): string =>
  `/${property.replaceAll('~', '~0').replaceAll('/', '~1')}`;

const DUCKDB_SCALAR: Record<string, string> = {
  integer: 'BIGINT',
  number: 'DOUBLE',
  boolean: 'BOOLEAN',
};

/** One typed column of a DuckDB view over the `data` JSON column. */
export function duckdbViewColumn(c: ViewColumn): string {
  const path = sqlString(pointerTo(c.property));
  const text = `json_extract_string(data, ${path})`;
  switch (c.kind) {
    case 'string':
      return `${text} AS ${c.name}`;
    // As BigQuery's SAFE_CAST(JSON_VALUE(…)): an integer only from integer text (2.5 is NULL,
    // not 3), a boolean only from true or false (1 is NULL).
    case 'integer':
      return `CASE WHEN regexp_full_match(${text}, '[+-]?[0-9]+') THEN TRY_CAST(${text} AS BIGINT) END AS ${c.name}`;
    case 'number':
      return `TRY_CAST(${text} AS DOUBLE) AS ${c.name}`;
    case 'boolean':
      return `CASE lower(${text}) WHEN 'true' THEN true WHEN 'false' THEN false END AS ${c.name}`;
    case 'json':
      return `json_extract(data, ${path}) AS ${c.name}`;
    default: {
      const item = c.kind.slice(0, -2);
      const type = item === 'string' ? 'VARCHAR' : DUCKDB_SCALAR[item]!;
      return `TRY_CAST(json_extract(data, ${path}) AS ${type}[]) AS ${c.name}`;
    }
  }
}

const BIGQUERY_SCALAR: Record<string, string> = {
  integer: 'INT64',
  number: 'FLOAT64',
  boolean: 'BOOL',
};

/** A BigQuery JSONPath to one top-level property: `$."name"`. A name holding `"` cannot be
 * written so; typedColumns leaves such properties out of the view. */
export const bigQueryPath = (property: string): string => bigQueryString(`$."${property}"`);

/** One typed column of a BigQuery view over the `data` JSON column. */
export function bigQueryViewColumn(c: ViewColumn): string {
  const path = bigQueryPath(c.property);
  switch (c.kind) {
    case 'string':
      return `JSON_VALUE(data, ${path}) AS ${c.name}`;
    case 'integer':
    case 'number':
    case 'boolean':
      return `SAFE_CAST(JSON_VALUE(data, ${path}) AS ${BIGQUERY_SCALAR[c.kind]}) AS ${c.name}`;
    case 'json':
      return `JSON_QUERY(data, ${path}) AS ${c.name}`;
    case 'string[]':
      return `JSON_VALUE_ARRAY(data, ${path}) AS ${c.name}`;
    default: {
      const item = BIGQUERY_SCALAR[c.kind.slice(0, -2)]!;
      return `ARRAY(SELECT SAFE_CAST(x AS ${item}) FROM UNNEST(JSON_VALUE_ARRAY(data, ${path})) AS x) AS ${c.name}`;
    }
  }
}

/** The columns a view can hold: properties whose names a JSONPath can quote. */
export const typedColumns = (columns: ViewColumn[]): ViewColumn[] =>
  columns.filter((c) => !c.property.includes('"') && !c.property.includes('\\'));
