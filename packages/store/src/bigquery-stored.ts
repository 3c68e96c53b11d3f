import { BigQuery } from '@google-cloud/bigquery';
import type { StoredQuery } from './event-store.port';

/**
 * The GoogleSQL listStored() runs: `rows` (the table's rows matching the filter, their values
 * already in `params`, deduplicated by `dedup`) stored at or before `until`, then the rows after
 * `after` in store order, each read with `select`. The dedup keeps a (source, id)'s first stored
 * row before `after` applies, so a copy stored later (insertId dedup is best effort) is never
 * streamed a second time once the first was.
 */
export function bigQueryStoredSql(
  parts: { table: string; clauses: string[]; select: string; dedup: string },
  q: StoredQuery,
  params: Record<string, unknown>,
  types: Record<string, string | string[]>,
): string {
  params.until = BigQuery.timestamp(q.until);
  const rows =
    `SELECT * FROM ${parts.table} WHERE ${[...parts.clauses, 'stored_at <= @until'].join(' AND ')} ` +
    parts.dedup;
  let after = '';
  if (q.after) {
    after =
      ' WHERE (stored_at > @s OR (stored_at = @s AND (source > @src OR (source = @src AND id > @id))))';
    Object.assign(params, {
      s: BigQuery.timestamp(q.after.storedAt),
      src: q.after.source,
      id: q.after.id,
    });
    Object.assign(types, { src: 'STRING', id: 'STRING' });
  }
  params.lim = q.limit;
  types.lim = 'INT64';
  return `SELECT ${parts.select} FROM (${rows})${after} ORDER BY stored_at, source, id LIMIT @lim`;
}
