import {
  listValue,
  timestampValue,
  type DuckDBConnection,
  type DuckDBValue,
} from '@duckdb/node-api';
import { parseRfc3339 } from '@eventpipe/schema';
import { stepOfRecord, type ErasureLog, type ErasureMatch, type ErasureStep } from './erasures';

/** The erasures table (docs/SECURITY.md, "Erasure"): an append-only log, never deleted from. */
export const DUCKDB_ERASURES_TABLE =
  'CREATE TABLE IF NOT EXISTS erasures (erasure_id VARCHAR NOT NULL, step_at TIMESTAMP NOT NULL, ' +
  'action VARCHAR NOT NULL, key_name VARCHAR, subject VARCHAR, event_id VARCHAR, source VARCHAR, ' +
  'source_prefix BOOLEAN, suppress BOOLEAN, row_count BIGINT, detail VARCHAR)';

const ts = (t: string) => {
  const us = parseRfc3339(t);
  if (us === undefined) throw new Error(`not an RFC 3339 time: ${t}`);
  return timestampValue(us);
};

/** An erasure's match as a WHERE clause over the events table, its values bound in `params`
 * under names starting with `p` (one statement may hold several). Never NULL: a row without a
 * subject is simply not matched. */
export function duckdbEraseWhere(
  m: ErasureMatch,
  params: Record<string, DuckDBValue>,
  p = 'e_',
): string {
  const clauses = [`received_at <= $${p}cut`];
  params[`${p}cut`] = ts(m.receivedUpTo);
  if (m.subject !== undefined) {
    clauses.push(`coalesce(subject = $${p}subject, false)`);
    params[`${p}subject`] = m.subject;
  }
  if (m.eventId !== undefined) {
    clauses.push(`id = $${p}event_id`);
    params[`${p}event_id`] = m.eventId;
  }
  const sources: string[] = [];
  if (m.exact.length) {
    params[`${p}sources`] = listValue(m.exact);
    sources.push(`list_contains($${p}sources, source)`);
  }
  m.prefixes.forEach((prefix, i) => {
    params[`${p}prefix_${i}`] = prefix;
    sources.push(`starts_with(source, $${p}prefix_${i})`);
  });
  if (sources.length) clauses.push(`(${sources.join(' OR ')})`);
  return `(${clauses.join(' AND ')})`;
}

/** The erasures table in the DuckDB file. */
export class DuckDbErasureLog implements ErasureLog {
  constructor(
    /** Runs on the writer connection, in turn with the event inserts. */
    private readonly write: <T>(fn: (c: DuckDBConnection) => Promise<T>) => Promise<T>,
    private readonly read: <T>(fn: (c: DuckDBConnection) => Promise<T>) => Promise<T>,
    /** Told the rows appended (the store keeps the log to filter reads by). */
    private readonly appended: (steps: ErasureStep[]) => void,
  ) {}

  async readSteps(): Promise<ErasureStep[]> {
    return this.read(async (c) => {
      const exists = await c.runAndReadAll(
        "SELECT 1 FROM information_schema.tables WHERE table_name = 'erasures'",
      );
      if (exists.currentRowCount === 0) return []; // a read-only file from an earlier release
      const rows = (
        await c.runAndReadAll(
          'SELECT erasure_id, epoch_us(step_at) AS at_us, action, key_name, subject, event_id, source, ' +
            'source_prefix, suppress, row_count, detail FROM erasures',
        )
      ).getRowObjects();
      return rows.map(stepOfRecord);
    });
  }

  async appendSteps(steps: ErasureStep[]): Promise<void> {
    if (steps.length === 0) return;
    // Learnt inside the write, before the next one: an insert after it drops what it covers.
    await this.write(async (c) => {
      await c.run('BEGIN TRANSACTION');
      try {
        for (const s of steps) {
          await c.run(
            'INSERT INTO erasures VALUES ($id, $at, $action, $key, $subject, $event_id, $source, $prefix, $suppress, $rows, $detail)',
            {
              id: s.erasureId,
              at: ts(s.at),
              action: s.action,
              key: s.keyName,
              subject: s.subject,
              event_id: s.eventId,
              source: s.source,
              prefix: s.sourcePrefix,
              suppress: s.suppress,
              rows: s.rows === null ? null : BigInt(s.rows),
              detail: s.detail,
            },
          );
        }
        await c.run('COMMIT');
      } catch (e) {
        await c.run('ROLLBACK').catch(() => undefined);
        throw e;
      }
      this.appended(steps);
    });
  }
}
