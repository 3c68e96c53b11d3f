import { EVENT_COLUMNS, EVENT_KEY, type ColumnKind } from '@eventpipe/schema';

/** DuckDB's type of each column kind. */
export const DUCKDB_TYPES: Record<ColumnKind, string> = {
  string: 'VARCHAR',
  // TIMESTAMP (not TIMESTAMPTZ): values are UTC by construction; microsecond precision.
  timestamp: 'TIMESTAMP',
  // DuckDB's JSON type keeps the text it is given byte for byte (it only checks it parses).
  json: 'JSON',
};

/** CREATE TABLE statement for DuckDB, derived from the one column list (EVENT_COLUMNS). */
export function duckdbCreateTable(table: string): string {
  const cols = EVENT_COLUMNS.map(
    (c) => `  ${c.name} ${DUCKDB_TYPES[c.kind]}${c.nullable ? '' : ' NOT NULL'}`,
  );
  return `CREATE TABLE IF NOT EXISTS ${table} (\n${cols.join(',\n')},\n  PRIMARY KEY (${EVENT_KEY.join(', ')})\n)`;
}
