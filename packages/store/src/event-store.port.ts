import type { SchemaStore } from '@eventpipe/registry';
import type { EraseResult, ErasureLog, ErasureMatch } from './erasures';
import { formatMicros, grantTerms, nowTime, parseRfc3339 } from '@eventpipe/schema';
import type {
  DeliveryMeta,
  Envelope,
  Grant,
  StatsGroup,
  StatsInterval,
  StoredRow,
} from '@eventpipe/schema';

/** One event to store, with the metadata the bus delivery carried. */
export interface InsertItem {
  event: Envelope;
  meta: DeliveryMeta;
}

export interface InsertResult {
  /** Rows newly written (BigQuery: rows it accepted; its insertId dedup is silent). */
  inserted: number;
  /** Items skipped because their `(source, id)` was already stored (or came earlier in the
   * batch) with the same content digest from another bus message: the same event sent again. */
  duplicates: number;
  /** Items skipped because their row was stored from this very bus message: a delivery that came
   * back (a crash before the ack, a lost ack, an expired lease). */
  redelivered: number;
  /** Items whose `(source, id)` is stored (or came earlier in the batch) with another digest:
   * a different event under a taken id. Not stored; the worker dead-letters them. */
  conflicts: Conflict[];
  /** Rows the store refused for their content; the worker dead-letters these. `index` points
   * into the items given to insert(). Transient failures are thrown instead. */
  rejected: { index: number; reason: string }[];
  /** Items not written because an erasure covers them (received up to its cut-off): a copy that
   * arrived after the erasure. Stores that know every erasure at insert time (DuckDB) count
   * them; 0 or absent otherwise. */
  erased?: number;
}

/** An item refused as a conflicting duplicate: its digest and the stored one. */
export interface Conflict {
  index: number;
  digest: string;
  storedDigest: string;
}

/** What holds a `(source, id)`: the stored row's digest (null on rows older than digests) and
 * the bus message it came from. */
export interface Holder {
  digest: string | null;
  messageId: string;
}

/**
 * Sorts a batch's rows by their `(source, id)`: the first of each key not stored yet is
 * written; every other item is a redelivery when the row that holds the key (stored, or written
 * by this batch) came from the same bus message, a duplicate when it has the same digest (or
 * none: rows older than digests), else a conflict. `stored` maps `keyOf(source, id)` to what
 * holds it.
 */
export function sortByKey(
  rows: readonly StoredRow[],
  stored: ReadonlyMap<string, Holder>,
): { write: number[]; duplicates: number; redelivered: number; conflicts: Conflict[] } {
  const holders = new Map<string, Holder>(stored);
  const write: number[] = [];
  const conflicts: Conflict[] = [];
  let duplicates = 0;
  let redelivered = 0;
  rows.forEach((row, index) => {
    const key = keyOf(row.source, row.id);
    const held = holders.get(key);
    if (!held) {
      holders.set(key, { digest: row.digest, messageId: row.message_id });
      write.push(index);
    } else if (held.messageId === row.message_id) redelivered += 1;
    else if (held.digest === null || row.digest === null || held.digest === row.digest) {
      duplicates += 1;
    } else conflicts.push({ index, digest: row.digest, storedDigest: held.digest });
  });
  return { write, duplicates, redelivered, conflicts };
}

/** The map key of an event's `(source, id)`. */
export const keyOf = (source: string, id: string): string => `${source}\u0000${id}`;

/** A store that bills by bytes scanned bounds every read by event time (partition pruning). */
export interface RangePolicy {
  /** How far back `from` defaults when a list request gives none. */
  defaultRangeMs: number;
  /** Widest `to − from` one request may span. */
  maxRangeMs: number;
}

/** The `from` a read that gives none gets under `policy`: `defaultRangeMs` before `to`, or
 * before now. */
export function defaultFrom(policy: RangePolicy, to: string | undefined): string {
  return formatMicros(parseRfc3339(to ?? nowTime())! - BigInt(policy.defaultRangeMs) * 1000n);
}

/** Position after the last row of a page, in the list order (time, source, id) descending. */
export interface PageKey {
  time: string;
  source: string;
  id: string;
}

export interface EventFilter {
  type?: string;
  source?: string;
  subject?: string;
  /** The name of the API key that published the events. */
  producer?: string;
  /** What the reader's key may see: only rows whose source (and type) match it, on every read.
   * Applied in the query itself, never by filtering rows afterwards. */
  grant?: Grant;
  /** Inclusive lower bound on event time (canonical RFC 3339). */
  from?: string;
  /** Exclusive upper bound on event time (canonical RFC 3339). */
  to?: string;
}

export interface ListQuery extends EventFilter {
  limit: number;
  after?: PageKey;
  /** Ends the read early once its rows weigh this many bytes (ROW_OVERHEAD_BYTES says how a row
   * is weighed): a row is returned only when the rows before it weigh less, the first always;
   * the result is then marked `truncated`. Unset: `limit` alone. */
  maxBytes?: number;
}

/** A grant as the columns it limits: for each, the exact values and the prefixes a row's value
 * must be among or start with. Each store writes these as SQL predicates. */
export function grantColumns(
  grant: Grant | undefined,
): { column: 'source' | 'type'; exact: string[]; prefixes: string[] }[] {
  const out: { column: 'source' | 'type'; exact: string[]; prefixes: string[] }[] = [];
  if (grant?.sources) out.push({ column: 'source', ...grantTerms(grant.sources) });
  if (grant?.types) out.push({ column: 'type', ...grantTerms(grant.types) });
  return out;
}

/** What a row weighs against ListQuery.maxBytes: the UTF-8 bytes of its data (JSON text or
 * base64), its extensions' JSON text and its string attributes, plus ROW_OVERHEAD_BYTES for the
 * metadata and the JSON around them. Each store computes it in SQL. */
export const ROW_OVERHEAD_BYTES = 1024;

/** What a row weighs, as the stores compute it in SQL for ListQuery.maxBytes, in JavaScript:
 * for bounds kept outside the store (a stream's unread events). */
export function rowWeight(row: StoredRow): number {
  const bytes = (v: string | null) => (v === null ? 0 : Buffer.byteLength(v));
  return (
    bytes(row.data) +
    bytes(row.data_base64) +
    bytes(row.extensions) +
    bytes(row.id) +
    bytes(row.source) +
    bytes(row.type) +
    bytes(row.subject) +
    bytes(row.datacontenttype) +
    bytes(row.dataschema) +
    ROW_OVERHEAD_BYTES
  );
}

/** A row's position in store order: when it was stored (canonical RFC 3339, microseconds), then source, then id. */
export interface StoredKey {
  storedAt: string;
  source: string;
  id: string;
}

export interface StoredQuery {
  /** Rows strictly after this position (store order); unset: from the start of `filter`'s range. */
  after?: StoredKey;
  /** Rows stored at or before this instant (canonical RFC 3339): what has settled. */
  until: string;
  /** The same filters as list (type, source, subject, producer, grant, from, to on event time). On BigQuery `from` bounds the partitions read. */
  filter: EventFilter;
  limit: number;
}

/** A stored row's position in store order. */
export const storedKeyOf = (row: StoredRow): StoredKey => ({
  storedAt: row.stored_at,
  source: row.source,
  id: row.id,
});

/** Store order of two positions: negative when `a` comes first, 0 when equal. Canonical times
 * (formatMicros: four-digit year, six fraction digits, 'Z') compare as strings; any other form
 * by its microseconds. Strings compare by code point, as both stores order them. */
export function compareStoredKeys(a: StoredKey, b: StoredKey): number {
  return (
    compareTimes(a.storedAt, b.storedAt) ||
    compareCodePoints(a.source, b.source) ||
    compareCodePoints(a.id, b.id)
  );
}

const CANONICAL = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;

function compareTimes(a: string, b: string): number {
  if (a === b) return 0;
  if (CANONICAL.test(a) && CANONICAL.test(b)) return a < b ? -1 : 1;
  const x = parseRfc3339(a);
  const y = parseRfc3339(b);
  if (x === undefined || y === undefined)
    throw new RangeError(`not an RFC 3339 time: ${x === undefined ? a : b}`);
  return x < y ? -1 : x > y ? 1 : 0;
}

/** UTF-16 strings in code point order (UTF-8 byte order): a surrogate sorts above U+E000–U+FFFF. */
function compareCodePoints(a: string, b: string): number {
  if (a === b) return 0;
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i += 1) {
    let x = a.charCodeAt(i);
    let y = b.charCodeAt(i);
    if (x === y) continue;
    if (x >= 0xd800 && y >= 0xd800) {
      x += x >= 0xe000 ? -0x800 : 0x2000;
      y += y >= 0xe000 ? -0x800 : 0x2000;
    }
    return x - y;
  }
  return a.length - b.length;
}

/** What list() returns: the rows, and whether the store ended them at `maxBytes` (more rows
 * match; continue after the last). */
export type ListResult = StoredRow[] & { truncated?: boolean };

// The API contract names the intervals and groupings; the stores implement them.
export { STATS_INTERVALS, STATS_GROUPS } from '@eventpipe/schema';
export type { StatsInterval, StatsGroup } from '@eventpipe/schema';

export interface StatsQuery extends EventFilter {
  from: string;
  to: string;
  interval: StatsInterval;
  groupBy?: StatsGroup;
}

export interface StatsBucket {
  /** Bucket start (canonical RFC 3339, UTC). */
  start: string;
  /** The group value, when grouped. */
  key?: string;
  count: number;
}

export interface EventStore {
  readonly kind: 'duckdb' | 'bigquery';
  /** Set when every read must be bounded in time; the query API applies it to requests. */
  readonly rangePolicy?: RangePolicy;
  /** Creates the table when missing; refuses a table whose columns differ. */
  init(): Promise<void>;
  /** The schema registry's versions and typed views, kept beside the events. */
  readonly schemas: SchemaStore;
  /** The erasures table beside the events: every erasure's steps, never deleted. Every read
   * (pages, exports, stats, by id, the stream, schema samples) leaves out the events an erasure
   * matches from the moment it is requested, before its delete has run (BigQuery for good;
   * DuckDB until the delete, as its inserts drop any later copy). */
  readonly erasures: ErasureLog;
  /** Deletes the events an erasure matches (received up to its cut-off). */
  erase(match: ErasureMatch): Promise<EraseResult>;
  /** Deletes at most `limit` events whose time is before `cutoff`; returns how many. Only where
   * the store keeps no expiry of its own (DuckDB; BigQuery expires whole partitions). */
  expire?(cutoff: string, limit: number): Promise<number>;
  /** Idempotent on `(source, id)`: storing the same event twice stores it once, and another
   * event under a stored `(source, id)` is a conflict, never stored (see InsertResult). */
  insert(items: InsertItem[]): Promise<InsertResult>;
  /** Newest first by (time, source, id); at most `limit` rows after `after` (fewer, marked
   * `truncated`, when `maxBytes` ended them). */
  list(query: ListQuery): Promise<ListResult>;
  /** Rows matching `filter` (grant included, as list applies it) stored after `after` and at or
   * before `until`, in store order: (stored_at, source, id) ascending; at most `limit`. What the
   * query API tails: resuming after the last row read repeats and skips none. */
  listStored(query: StoredQuery): Promise<StoredRow[]>;
  /** Every stored event with this id (one per source), or only the one from `source`; only
   * those inside `grant` when given. */
  get(id: string, source?: string, grant?: Grant): Promise<StoredRow[]>;
  /** Non-empty buckets in time order (then key order). */
  stats(query: StatsQuery): Promise<StatsBucket[]>;
  check(): Promise<void>;
  close(): Promise<void>;
}

/** The store cannot be opened as configured; main.ts prints `message` and exits. */
export class StoreConfigError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StoreConfigError';
  }
}
