import { formatMicros, nowTime, parseRfc3339 } from '@eventpipe/schema';
import type {
  Envelope,
  PipelineMeta,
  StatsGroup,
  StatsInterval,
  StoredEvent,
} from '@eventpipe/schema';

/** One event to store, with the metadata the bus delivery carried. */
export interface InsertItem {
  event: Envelope;
  meta: Omit<PipelineMeta, 'storedAt'>;
}

export interface InsertResult {
  /** Rows newly written (BigQuery: rows it accepted; its insertId dedup is silent). */
  inserted: number;
  /** Rows skipped because `(source, id)` was already stored (or repeated in the batch). */
  duplicates: number;
  /** Rows the store refused for their content; the worker dead-letters these. `index` points
   * into the items given to insert(). Transient failures are thrown instead. */
  rejected: { index: number; reason: string }[];
}

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
  /** Inclusive lower bound on event time (canonical RFC 3339). */
  from?: string;
  /** Exclusive upper bound on event time (canonical RFC 3339). */
  to?: string;
}

export interface ListQuery extends EventFilter {
  limit: number;
  after?: PageKey;
}

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
  /** Idempotent on `(source, id)`: storing the same event twice stores it once. */
  insert(items: InsertItem[]): Promise<InsertResult>;
  /** Newest first by (time, source, id); at most `limit` rows after `after`. */
  list(query: ListQuery): Promise<StoredEvent[]>;
  /** Every stored event with this id (one per source), or only the one from `source`. */
  get(id: string, source?: string): Promise<StoredEvent[]>;
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
