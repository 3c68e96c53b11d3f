import { EVENT_COLUMNS, formatMicros, type StoredRow } from '@eventpipe/schema';

/** The timestamp columns of the event table. */
export const TIME_COLUMNS = new Set(
  EVENT_COLUMNS.filter((c) => c.kind === 'timestamp').map((c) => c.name),
);

/**
 * The SELECT list of a full event row, with every time column read as epoch microseconds
 * through the engine's function (`epoch_us`, `UNIX_MICROS`): exact, and no session time zone
 * or float rounding can shift it.
 */
export const selectEventColumns = (toMicros: string): string =>
  EVENT_COLUMNS.map((c) =>
    TIME_COLUMNS.has(c.name) ? `${toMicros}(${c.name}) AS ${c.name}` : c.name,
  ).join(', ');

/** A row read with `selectEventColumns` (times as integer microseconds) → the stored row. */
export function rowFromRecord(r: Record<string, unknown>): StoredRow {
  const row: Record<string, unknown> = {};
  for (const c of EVENT_COLUMNS) {
    const v = r[c.name];
    row[c.name] = TIME_COLUMNS.has(c.name) ? formatMicros(BigInt(v as bigint)) : (v ?? null);
  }
  return row as unknown as StoredRow;
}
