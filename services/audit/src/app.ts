import { canonicalTime, parseRfc3339 } from '@eventpipe/schema';

/** Which events an audit looks at: one source, event times in [from, to). */
export interface AuditScope {
  source: string;
  from: string;
  to: string;
}

export interface AuditReport {
  /** Distinct ids the accepted record holds for the scope. */
  accepted: number;
  /** Ids stored for the scope (each once, if all is well). */
  stored: number;
  /** Accepted, not stored: lost (or, within the lag, not stored yet). */
  missing: string[];
  /** Stored, not in the accepted record: published around the publisher, or accepted while the
   * record was off. */
  unexpected: string[];
  /** Stored more than once: never expected. */
  repeated: string[];
}

type Record = { events?: unknown };

/** The accepted records in a text: the publisher's file (one record per line), its log lines
 * (`accepted` holds the record), or Cloud Logging entries (`jsonPayload.accepted`), as lines or
 * as a JSON array (`gcloud logging read --format=json`). Lines that are none of these are
 * skipped. */
export function recordsIn(text: string): Record[] {
  const values: unknown[] = [];
  const trimmed = text.trim();
  if (trimmed.startsWith('[')) values.push(...(JSON.parse(trimmed) as unknown[]));
  else {
    for (const line of trimmed.split('\n')) {
      if (!line.trim()) continue;
      try {
        values.push(JSON.parse(line));
      } catch {
        // not a record: another log line
      }
    }
  }
  const out: Record[] = [];
  for (const v of values) {
    const o = v as { events?: unknown; accepted?: Record; jsonPayload?: { accepted?: Record } };
    const record = Array.isArray(o?.events) ? o : (o?.accepted ?? o?.jsonPayload?.accepted);
    if (record && Array.isArray(record.events)) out.push(record);
  }
  return out;
}

/** The ids accepted for the scope, by the records' (source, id, time) triples. */
export function acceptedIds(records: Record[], scope: AuditScope): Set<string> {
  const from = parseRfc3339(scope.from)!;
  const to = parseRfc3339(scope.to)!;
  const ids = new Set<string>();
  for (const r of records) {
    for (const e of r.events as unknown[]) {
      if (!Array.isArray(e) || e.length < 3) continue;
      const [source, id, time] = e as [string, string, string];
      const at = parseRfc3339(canonicalTime(time) ?? '');
      if (source === scope.source && at !== undefined && at >= from && at < to) ids.add(id);
    }
  }
  return ids;
}

/** Accepted against stored, both ways. */
export function compare(accepted: Set<string>, stored: string[]): AuditReport {
  const seen = new Set<string>();
  const repeated = new Set<string>();
  for (const id of stored) {
    if (seen.has(id)) repeated.add(id);
    seen.add(id);
  }
  return {
    accepted: accepted.size,
    stored: stored.length,
    missing: [...accepted].filter((id) => !seen.has(id)).sort(),
    unexpected: [...seen].filter((id) => !accepted.has(id)).sort(),
    repeated: [...repeated].sort(),
  };
}

/** The report as an operator reads it; at most `show` ids per list. */
export function reportText(scope: AuditScope, r: AuditReport, show = 20): string {
  const ids = (list: string[]) =>
    list.length === 0
      ? ''
      : `  ${list.slice(0, show).join(' ')}${list.length > show ? ` … (${list.length - show} more)` : ''}`;
  return [
    `audit of ${scope.source}, event time ${scope.from} to ${scope.to}`,
    `  accepted    ${r.accepted}  (distinct ids in the accepted record)`,
    `  stored      ${r.stored}`,
    `  missing     ${r.missing.length}  accepted, not stored${ids(r.missing)}`,
    `  unexpected  ${r.unexpected.length}  stored, not in the accepted record${ids(r.unexpected)}`,
    `  repeated    ${r.repeated.length}  stored more than once${ids(r.repeated)}`,
    '',
  ].join('\n');
}
