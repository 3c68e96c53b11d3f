import { timestampValue, type DuckDBValue } from '@duckdb/node-api';
import { parseRfc3339 } from '@eventpipe/schema';
import { selectEventColumns } from './columns';
import type { StoredQuery } from './event-store.port';
import type { DuckDbStatement } from './duckdb.adapter';

const SELECT_LIST = selectEventColumns('epoch_us');
const ORDER = ' ORDER BY stored_at, source, id';

const timestamp = (t: string) => {
  const us = parseRfc3339(t);
  if (us === undefined) throw new Error(`not an RFC 3339 time: ${t}`);
  return timestampValue(us);
};

/**
 * The SQL listStored() runs on `table`: the filter's `clauses` (their values already in
 * `params`), then stored_at at or before `until` and (stored_at, source, id) after `after`, in
 * store order. The page is chosen reading only the filter and order columns, then fetched by
 * row id, as list() does.
 */
export function duckdbStoredStatement(
  table: string,
  clauses: string[],
  params: Record<string, DuckDBValue>,
  q: StoredQuery,
): DuckDbStatement {
  const all = [...clauses, 'stored_at <= $until'];
  params.until = timestamp(q.until);
  if (q.after) {
    all.push(
      '(stored_at > $s OR (stored_at = $s AND (source > $src OR (source = $src AND id > $id))))',
    );
    params.s = timestamp(q.after.storedAt);
    params.src = q.after.source;
    params.id = q.after.id;
  }
  params.lim = q.limit;
  const where = all.join(' AND ');
  const page = `rowid IN (SELECT rowid FROM ${table} WHERE ${where}${ORDER} LIMIT $lim)`;
  return {
    sql: `SELECT ${SELECT_LIST} FROM ${table} WHERE ${where} AND ${page}${ORDER}`,
    params,
  };
}
