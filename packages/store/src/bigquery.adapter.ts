import { BigQuery, type Dataset, type Query, type Table } from '@google-cloud/bigquery';
import { retry } from '@eventpipe/platform/core';
import {
  formatMicros,
  type Grant,
  nowTime,
  parseRfc3339,
  toStoredRow,
  type JsonText,
  type StoredRow,
} from '@eventpipe/schema';
import {
  ROW_OVERHEAD_BYTES,
  StoreConfigError,
  defaultFrom,
  grantColumns,
  keyOf,
  sortByKey,
  type Holder,
  type EventFilter,
  type EventStore,
  type InsertItem,
  type InsertResult,
  type ListQuery,
  type ListResult,
  type RangePolicy,
  type StatsBucket,
  type StatsGroup,
  type StatsInterval,
  type StatsQuery,
  type StoredQuery,
} from './event-store.port';
import { bigQueryStoredSql } from './bigquery-stored';
import { bigQueryJson } from './bigquery-json';
import {
  RETRYABLE_REASONS,
  type ApiErrorLike,
  chunks,
  insertIdOf,
  isRetryable,
} from './bigquery-insert';
import {
  BIGQUERY_DATA_TEXT_COLUMN,
  bigQuerySchemaFields,
  schemaDifference,
  type Field,
} from './bigquery-schema';
import { rowFromRecord, selectEventColumns } from './columns';
import { BigQuerySchemaStore } from './bigquery-schemas';
import {
  BigQueryErasureLog,
  bigQueryEraseStatement,
  bigQueryTombstoneClauses,
  inStreamingBuffer,
} from './bigquery-lifecycle';
import type { EraseResult, ErasureMatch } from './erasures';

export interface BigQueryStoreOptions {
  projectId: string;
  dataset: string;
  table: string;
  /** Dataset location (e.g. US, EU, europe-west1); the client's default when unset. */
  location?: string;
  /** Base URL of an emulator (or the test fake); unset for Google Cloud. No credentials are
   * used against a custom endpoint. */
  apiEndpoint?: string;
  /** Create the dataset and table when missing, and add new NULLABLE columns. */
  autoCreate: boolean;
  /** Only read: never create or alter anything (the query API running alone). */
  readOnly?: boolean;
  /** Cost guard: a query that would bill more bytes fails instead of running. */
  maximumBytesBilled: number;
  range: RangePolicy;
  /** RETENTION_DAYS in ms: the table's partition expiration (set with auto-create), and reads
   * leave out older events at once. Unset: kept for ever. */
  retentionMs?: number;
  /** A new row's (source, id) is looked up among rows whose event time is within this many
   * milliseconds of its own, to tell a duplicate from a conflict before the insert; 0: no
   * lookup (BigQuery's insertId dedup and the read-time dedup alone). */
  duplicateWindowMs: number;
  /** insertAll retries on 429 / 5xx / quota errors: capped exponential backoff, full jitter. */
  retry: { maxAttempts: number; initialDelayMs: number; maxDelayMs: number };
  /** Injected for tests of the backoff; defaults to setTimeout. */
  sleep?: (ms: number) => Promise<void>;
}

const TRUNC: Record<StatsInterval, string> = { minute: 'MINUTE', hour: 'HOUR', day: 'DAY' };
const GROUP: Record<StatsGroup, string> = { type: 'type', source: 'source' };
const SELECT_LIST = `${selectEventColumns('UNIX_MICROS')}, ${BIGQUERY_DATA_TEXT_COLUMN.name}`;
// insertId dedup is best effort (about a minute), so every read keeps one row per (source, id).
const DEDUP = 'QUALIFY ROW_NUMBER() OVER (PARTITION BY source, id ORDER BY stored_at) = 1';
const DAY_US = 86_400_000_000n;
/** A row's weight against ListQuery.maxBytes, in GoogleSQL (BYTE_LENGTH counts UTF-8 bytes). */
const ROW_BYTES_SQL =
  `COALESCE(BYTE_LENGTH(${BIGQUERY_DATA_TEXT_COLUMN.name}), 0) + COALESCE(BYTE_LENGTH(data_base64), 0)` +
  ' + BYTE_LENGTH(TO_JSON_STRING(extensions)) + BYTE_LENGTH(id) + BYTE_LENGTH(source)' +
  ' + BYTE_LENGTH(type) + COALESCE(BYTE_LENGTH(subject), 0) + COALESCE(BYTE_LENGTH(datacontenttype), 0)' +
  ` + COALESCE(BYTE_LENGTH(dataschema), 0) + ${ROW_OVERHEAD_BYTES}`;

/** A grant as GoogleSQL: source (and type) among its exact values or starting with one of its
 * prefixes; values are named parameters. */
/** A row read with SELECT_LIST → the stored row; data_text is the record of `data` (rows stored
 * before it was kept have only the JSON column). */
function eventRow(r: Record<string, unknown>): StoredRow {
  const row = rowFromRecord(r);
  const text = r[BIGQUERY_DATA_TEXT_COLUMN.name] as JsonText | null | undefined;
  if (text != null) row.data = text;
  return row;
}

function grantClauses(
  grant: Grant | undefined,
  params: Record<string, unknown>,
  types: Record<string, string | string[]>,
): string[] {
  return grantColumns(grant).map(({ column, exact, prefixes }) => {
    const alternatives: string[] = [];
    if (exact.length) {
      params[`grant_${column}`] = exact;
      types[`grant_${column}`] = ['STRING'];
      alternatives.push(`${column} IN UNNEST(@grant_${column})`);
    }
    prefixes.forEach((prefix, i) => {
      params[`grant_${column}_${i}`] = prefix;
      types[`grant_${column}_${i}`] = 'STRING';
      alternatives.push(`STARTS_WITH(${column}, @grant_${column}_${i})`);
    });
    return `(${alternatives.join(' OR ')})`;
  });
}

type Row = { insertId: string; json: StoredRow & { data_text: JsonText | null } };

/**
 * The production store: BigQuery, through the official client. Streaming inserts (insertAll)
 * with an insertId per (source, id); reads in GoogleSQL with named parameters only, bounded by
 * event time so day partitions prune, and deduplicated on (source, id).
 */
export class BigQueryStore implements EventStore {
  readonly kind = 'bigquery' as const;
  readonly rangePolicy: RangePolicy;
  private readonly client: BigQuery;
  private readonly dataset: Dataset;
  private readonly table: Table;
  private readonly fqTable: string;
  private readonly sleep: (ms: number) => Promise<void>;
  /** The schema registry's `schemas` table and the typed views, in the same dataset. */
  readonly schemas: BigQuerySchemaStore;
  readonly erasures: BigQueryErasureLog;
  /** Whether the erasures table exists (checked by init): reads filter erased events only then. */
  private erasuresTable = false;

  constructor(private readonly opts: BigQueryStoreOptions) {
    for (const [what, v] of [
      ['dataset', opts.dataset],
      ['table', opts.table],
    ] as const) {
      if (!/^[A-Za-z0-9_]{1,1024}$/.test(v))
        throw new StoreConfigError(`BigQuery ${what} name ${v} is not valid`);
    }
    if (!/^[a-z][a-z0-9-.:]{4,61}[a-z0-9]$/.test(opts.projectId)) {
      throw new StoreConfigError(
        `GOOGLE_CLOUD_PROJECT ${opts.projectId} is not a valid project id`,
      );
    }
    this.client = new BigQuery({
      projectId: opts.projectId,
      location: opts.location,
      ...(opts.apiEndpoint ? { apiEndpoint: opts.apiEndpoint } : {}),
      // The adapter owns retries (below), so the client's own are off: one policy, one budget.
      autoRetry: false,
      maxRetries: 0,
    });
    this.dataset = this.client.dataset(opts.dataset, { location: opts.location });
    this.table = this.dataset.table(opts.table);
    this.fqTable = `\`${opts.projectId}.${opts.dataset}.${opts.table}\``;
    this.rangePolicy = opts.range;
    this.sleep = opts.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms)));
    this.schemas = new BigQuerySchemaStore({
      projectId: opts.projectId,
      dataset: this.dataset,
      eventsTable: opts.table,
      range: opts.range,
      query: (sql, params, types) => this.query(sql, params, types),
      retry: opts.retry,
      sleep: this.sleep,
      readFilter: (params) => this.lifecycleClauses(params),
    });
    this.erasures = new BigQueryErasureLog({
      projectId: opts.projectId,
      dataset: this.dataset,
      query: (sql, params, types) => this.query(sql, params, types),
      retry: opts.retry,
      sleep: this.sleep,
    });
  }

  /**
   * Checks the table (and with auto-create, makes what is missing). Each call needs only what the
   * service is granted (docs/DEPLOY.md): with auto-create off, one tables.get on the table
   * (`bigquery.tables.get`); the dataset is looked at only when it may have to be created.
   */
  async init(): Promise<void> {
    const create = this.opts.autoCreate && !this.opts.readOnly;
    if (create) {
      const [datasetExists] = await this.dataset.exists();
      if (!datasetExists)
        await this.dataset.create({ location: this.opts.location }).catch(ignoreAlreadyExists);
      await this.schemas.createTable();
      await this.erasures.createTable();
    }
    this.erasuresTable = await this.erasures.exists();
    const wanted = bigQuerySchemaFields();
    const meta = await this.tableMetadata();
    if (meta === undefined) {
      if (!create)
        throw new StoreConfigError(
          `BigQuery table ${this.fqTable} does not exist (BIGQUERY_AUTO_CREATE is off)`,
        );
      await this.table
        .create({
          schema: { fields: wanted },
          // Day partitions on the event time, so every time-bounded read prunes to its days;
          // clustering on the two common filters orders blocks inside each partition.
          timePartitioning: {
            type: 'DAY',
            field: 'time',
            ...(this.opts.retentionMs !== undefined
              ? { expirationMs: String(this.opts.retentionMs) }
              : {}),
          },
          clustering: { fields: ['type', 'source'] },
          // A query without a time filter fails instead of scanning (and billing) every day.
          requirePartitionFilter: true,
          description: 'eventpipe events: CloudEvents plus pipeline metadata',
        })
        .catch(ignoreAlreadyExists);
      return;
    }
    const existing = ((meta as { schema?: { fields?: Field[] } }).schema?.fields ?? []) as Field[];
    const diff = schemaDifference(existing, wanted);
    if (diff.incompatible.length) {
      throw new StoreConfigError(
        `BigQuery table ${this.fqTable} does not match the event schema: ${diff.incompatible.join('; ')}`,
      );
    }
    if (diff.additions.length) {
      if (!create) {
        throw new StoreConfigError(
          `BigQuery table ${this.fqTable} lacks columns ${diff.additions.map((f) => f.name).join(', ')} (BIGQUERY_AUTO_CREATE is off)`,
        );
      }
      await this.table.setMetadata({ schema: { fields: [...existing, ...diff.additions] } });
    }
    // RETENTION_DAYS changed: the partition expiration follows (with auto-create; otherwise the
    // Terraform's retention_days sets it).
    const partitioning = (meta as { timePartitioning?: Record<string, string> }).timePartitioning;
    if (
      create &&
      this.opts.retentionMs !== undefined &&
      partitioning &&
      partitioning.expirationMs !== String(this.opts.retentionMs)
    ) {
      await this.table.setMetadata({
        timePartitioning: { ...partitioning, expirationMs: String(this.opts.retentionMs) },
      });
    }
  }

  /** The table's metadata, or undefined when it (or its dataset) does not exist; a refusal
   * (403) says which permission the service account lacks. */
  private async tableMetadata(): Promise<Record<string, unknown> | undefined> {
    try {
      const [meta] = await this.table.getMetadata();
      return meta as Record<string, unknown>;
    } catch (e) {
      const err = e as ApiErrorLike;
      if (err.code === 404) return undefined;
      if (err.code === 403) {
        throw new StoreConfigError(
          `BigQuery refused to describe table ${this.fqTable} (403): the service account needs bigquery.tables.get on it (${err.message ?? ''})`,
          { cause: e },
        );
      }
      throw e;
    }
  }

  async insert(items: InsertItem[]): Promise<InsertResult> {
    const storedAt = nowTime();
    const rows = items.map((item) => toStoredRow(item.event, item.meta, storedAt));
    const { write, duplicates, redelivered, conflicts } = sortByKey(rows, await this.holders(rows));
    const byInsertId = new Map<string, number>(); // insertId → index in items
    const toInsert: Row[] = write.map((index) => {
      const row = rows[index]!;
      const insertId = insertIdOf(row.source, row.id);
      byInsertId.set(insertId, index);
      return {
        insertId,
        json: {
          ...row,
          data: row.data === null ? null : bigQueryJson(row.data),
          data_text: row.data,
        },
      };
    });
    const rejected: InsertResult['rejected'] = [];
    let inserted = 0;
    for (const chunk of chunks(toInsert)) {
      const result = await this.insertChunk(chunk);
      inserted += result.accepted;
      for (const r of result.rejected)
        rejected.push({ index: byInsertId.get(r.insertId)!, reason: r.reason });
    }
    return { inserted, duplicates, redelivered, conflicts, rejected };
  }

  /**
   * What holds the rows' keys (digest, message id), read from the partitions within
   * `duplicateWindowMs` of the rows' event times (a BigQuery table has no key to look up by,
   * and a read must name its partitions). Its cost is in docs/BIGQUERY.md. Rows streamed a
   * moment ago are visible to it; two workers inserting one key in the same instant are not,
   * and then insertId and the read-time dedup keep the first.
   */
  private async holders(rows: readonly StoredRow[]): Promise<Map<string, Holder>> {
    const out = new Map<string, Holder>();
    if (this.opts.duplicateWindowMs <= 0 || rows.length === 0) return out;
    const times = rows.map((r) => parseRfc3339(r.time)!);
    const window = BigInt(this.opts.duplicateWindowMs) * 1000n;
    const min = times.reduce((a, b) => (b < a ? b : a));
    const max = times.reduce((a, b) => (b > a ? b : a));
    const found = await this.query(
      `SELECT source, id, digest, message_id FROM ${this.fqTable} WHERE time >= @from AND time < @to ` +
        'AND source IN UNNEST(@sources) AND id IN UNNEST(@ids)',
      {
        from: BigQuery.timestamp(formatMicros(min - window)),
        to: BigQuery.timestamp(formatMicros(max + window + 1n)),
        sources: [...new Set(rows.map((r) => r.source))],
        ids: [...new Set(rows.map((r) => r.id))],
      },
      { sources: ['STRING'], ids: ['STRING'] },
    );
    const keys = new Set(rows.map((r) => keyOf(r.source, r.id)));
    for (const r of found) {
      const key = keyOf(String(r.source), String(r.id));
      if (!keys.has(key)) continue;
      const holder = {
        digest: (r.digest as string | null) ?? null,
        messageId: String(r.message_id),
      };
      // Two rows under one key (an insert race, or rows from before digests): one with a
      // digest holds it.
      if (!out.has(key) || out.get(key)!.digest === null) out.set(key, holder);
    }
    return out;
  }

  /** One insertAll request with retries; rows BigQuery refuses for their content come back. */
  private async insertChunk(
    chunk: Row[],
  ): Promise<{ accepted: number; rejected: { insertId: string; reason: string }[] }> {
    const rejected: { insertId: string; reason: string }[] = [];
    let pending = chunk;
    let accepted = 0;
    await retry(
      async () => {
        try {
          await this.table.insert(pending, { raw: true, skipInvalidRows: true, partialRetries: 0 });
          accepted += pending.length;
        } catch (e) {
          const err = e as ApiErrorLike & {
            errors?: { row?: Row; errors?: { reason?: string; message?: string }[] }[];
          };
          if (err.name !== 'PartialFailureError') throw e;
          // Some rows failed: the others are in. Rows refused for their content come back to
          // the worker; rows that failed for a transient reason are tried again.
          const failed = new Set<string>();
          const again: Row[] = [];
          for (const f of err.errors ?? []) {
            const row = f.row;
            if (!row) continue;
            failed.add(row.insertId);
            const reasons = (f.errors ?? []).map((x) => x.reason ?? 'unknown');
            if (reasons.every((r) => RETRYABLE_REASONS.has(r))) again.push(row);
            else {
              const message = (f.errors ?? []).map((x) => `${x.reason}: ${x.message}`).join('; ');
              rejected.push({ insertId: row.insertId, reason: message.slice(0, 900) });
            }
          }
          accepted += pending.filter((r) => !failed.has(r.insertId)).length;
          pending = again;
          if (again.length) throw e;
        }
      },
      {
        maxAttempts: this.opts.retry.maxAttempts,
        initialDelayMs: this.opts.retry.initialDelayMs,
        maxDelayMs: this.opts.retry.maxDelayMs,
        // Full jitter: retries from many workers spread out.
        jitter: 'full',
        retryable: (e) =>
          (e as ApiErrorLike).name === 'PartialFailureError' || isRetryable(e as ApiErrorLike),
        clock: { now: () => Date.now(), sleep: (ms) => this.sleep(ms) },
      },
    );
    return { accepted, rejected };
  }

  private bounds(f: EventFilter): { from: string; to: string } {
    const maxUs = BigInt(this.rangePolicy.maxRangeMs) * 1000n;
    const toUs = f.to !== undefined ? parseRfc3339(f.to)! : undefined;
    const fromUs = parseRfc3339(f.from ?? defaultFrom(this.rangePolicy, f.to))!;
    const upper = toUs ?? fromUs + maxUs;
    if (upper - fromUs > maxUs) {
      throw new RangeError(`time range spans more than ${this.rangePolicy.maxRangeMs} ms`);
    }
    return { from: formatMicros(fromUs), to: formatMicros(upper) };
  }

  private where(
    f: EventFilter,
    params: Record<string, unknown>,
    types: Record<string, string | string[]>,
  ): string[] {
    const { from, to } = this.bounds(f);
    params.from = BigQuery.timestamp(from);
    params.to = BigQuery.timestamp(to);
    const clauses = [
      'time >= @from',
      'time < @to',
      ...grantClauses(f.grant, params, types),
      ...this.lifecycleClauses(params),
    ];
    for (const key of ['type', 'source', 'subject', 'producer'] as const) {
      const v = f[key];
      if (v !== undefined) {
        clauses.push(`${key} = @${key}`);
        params[key] = v;
        types[key] = 'STRING';
      }
    }
    return clauses;
  }

  async list(q: ListQuery): Promise<ListResult> {
    const params: Record<string, unknown> = {};
    const types: Record<string, string | string[]> = {};
    const clauses = this.where(q, params, types);
    if (q.after) {
      // `time <= @at` on its own lets BigQuery prune the partitions after the key; the OR
      // alone would not (each page of an export would scan the whole window again).
      clauses.push(
        'time <= @at',
        '(time < @at OR (time = @at AND (source < @as OR (source = @as AND id < @ai))))',
      );
      Object.assign(params, {
        at: BigQuery.timestamp(q.after.time),
        as: q.after.source,
        ai: q.after.id,
      });
      Object.assign(types, { as: 'STRING', ai: 'STRING' });
    }
    params.lim = q.limit;
    types.lim = 'INT64';
    const order = 'ORDER BY time DESC, source DESC, id DESC';
    const page =
      `SELECT ${SELECT_LIST} FROM ${this.fqTable} WHERE ${clauses.join(' AND ')} ${DEDUP} ` +
      `${order} LIMIT @lim`;
    if (q.maxBytes === undefined) return this.readEvents(page, params, types);
    // A byte budget ends the page early: a row comes only when the rows before it weigh less
    // (rowBytes), so the rows past it are never sent here.
    params.max_bytes = q.maxBytes;
    types.max_bytes = 'INT64';
    const records = await this.query(
      `SELECT * EXCEPT (bytes_before) FROM (SELECT *, SUM(${ROW_BYTES_SQL}) OVER (${order} ` +
        `ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS bytes_before, ` +
        `COUNT(*) OVER () AS candidates FROM (${page})) ` +
        `WHERE bytes_before IS NULL OR bytes_before < @max_bytes ${order}`,
      params,
      types,
    );
    const rows: ListResult = records.map(eventRow);
    // Every row carries how many the page had before the byte bound: more means it cut.
    if (records.length) rows.truncated = Number(records[0]!.candidates) > records.length;
    return rows;
  }

  listStored(q: StoredQuery): Promise<StoredRow[]> {
    const params: Record<string, unknown> = {};
    const types: Record<string, string | string[]> = {};
    const clauses = this.where(q.filter, params, types);
    const parts = { table: this.fqTable, clauses, select: SELECT_LIST, dedup: DEDUP };
    return this.readEvents(bigQueryStoredSql(parts, q, params, types), params, types);
  }

  async get(id: string, source?: string, grant?: Grant): Promise<StoredRow[]> {
    // No time filter is given here, so the widest allowed window ending a day from now bounds it.
    const to = parseRfc3339(nowTime())! + DAY_US;
    const params: Record<string, unknown> = {
      id,
      // Timestamps travel as BigQueryTimestamp: a plain string typed TIMESTAMP loses its value.
      from: BigQuery.timestamp(formatMicros(to - BigInt(this.rangePolicy.maxRangeMs) * 1000n)),
      to: BigQuery.timestamp(formatMicros(to)),
    };
    const types: Record<string, string | string[]> = { id: 'STRING' };
    const clauses = [
      'time >= @from',
      'time < @to',
      'id = @id',
      ...grantClauses(grant, params, types),
      ...this.lifecycleClauses(params),
    ];
    let sql = `SELECT ${SELECT_LIST} FROM ${this.fqTable} WHERE ${clauses.join(' AND ')}`;
    if (source !== undefined) {
      sql += ' AND source = @source';
      params.source = source;
      types.source = 'STRING';
    }
    return this.readEvents(`${sql} ${DEDUP} ORDER BY source LIMIT 100`, params, types);
  }

  async stats(q: StatsQuery): Promise<StatsBucket[]> {
    const params: Record<string, unknown> = {};
    const types: Record<string, string | string[]> = {};
    const clauses = this.where(q, params, types);
    const group = q.groupBy ? GROUP[q.groupBy] : undefined;
    const inner =
      `SELECT TIMESTAMP_TRUNC(time, ${TRUNC[q.interval]}) AS b${group ? `, ${group} AS grp` : ''} ` +
      `FROM ${this.fqTable} WHERE ${clauses.join(' AND ')} ${DEDUP}`;
    const keys = group ? 'b, grp' : 'b';
    const sql =
      `SELECT UNIX_MICROS(b) AS bucket${group ? ', grp' : ''}, COUNT(*) AS n FROM (${inner}) ` +
      `GROUP BY ${keys} ORDER BY ${keys}`;
    const rows = await this.query(sql, params, types);
    return rows.map((r) => ({
      start: formatMicros(BigInt(r.bucket as bigint)),
      ...(group ? { key: String(r.grp) } : {}),
      count: Number(r.n),
    }));
  }

  /** What every read adds: events past retention and erased events are left out. */
  private lifecycleClauses(params: Record<string, unknown>): string[] {
    const clauses: string[] = [];
    if (this.opts.retentionMs !== undefined) {
      clauses.push('time >= @retained_from');
      params.retained_from = BigQuery.timestamp(
        formatMicros(parseRfc3339(nowTime())! - BigInt(this.opts.retentionMs) * 1000n),
      );
    }
    if (this.erasuresTable)
      clauses.push(...bigQueryTombstoneClauses(this.erasures.reference, this.opts.table));
    return clauses;
  }

  /** One DML DELETE; rows still in the streaming buffer make BigQuery refuse it whole, and the
   * erasure waits. */
  async erase(match: ErasureMatch): Promise<EraseResult> {
    if (!this.erasuresTable)
      throw new StoreConfigError(
        `BigQuery table ${this.erasures.reference} does not exist (BIGQUERY_AUTO_CREATE is off): apply the Terraform`,
      );
    const { sql, params, types } = bigQueryEraseStatement(this.fqTable, match);
    try {
      // The client's third element is the jobs.query response, which counts the rows. No
      // BIGQUERY_MAX_BYTES_BILLED here: an erasure reads its columns of every partition once,
      // and a guard sized for reads would stop it for ever on a large table (docs/BIGQUERY.md).
      const [, , response] = (await this.client.query({
        query: sql,
        params,
        types,
        location: this.opts.location,
      })) as unknown as [unknown, unknown, { numDmlAffectedRows?: string } | undefined];
      const affected = response?.numDmlAffectedRows;
      return { deleted: Number(affected ?? 0) };
    } catch (e) {
      if (inStreamingBuffer(e))
        return {
          deleted: 0,
          waiting:
            "some of its events are still in BigQuery's streaming buffer (up to about 90 minutes after they were written), where they cannot be deleted; the delete is tried again",
        };
      throw e;
    }
  }

  private async readEvents(
    sql: string,
    params: Record<string, unknown>,
    types: Record<string, string | string[]>,
  ): Promise<StoredRow[]> {
    return (await this.query(sql, params, types)).map(eventRow);
  }

  private async query(
    sql: string,
    params: Record<string, unknown>,
    types: Record<string, string | string[]>,
  ): Promise<Record<string, unknown>[]> {
    const query: Query = {
      query: sql,
      params,
      types,
      location: this.opts.location,
      maximumBytesBilled: String(this.opts.maximumBytesBilled),
      // INT64 as bigint: exact microseconds and counts, never a lossy double.
      wrapIntegers: { integerTypeCastFunction: (v: string) => BigInt(v) },
    };
    const [rows] = await this.client.query(query);
    return rows as Record<string, unknown>[];
  }

  async check(): Promise<void> {
    const [exists] = await this.table.exists();
    if (!exists) throw new Error(`table ${this.fqTable} does not exist`);
  }

  async close(): Promise<void> {}
}

function ignoreAlreadyExists(e: unknown): void {
  if ((e as ApiErrorLike).code !== 409) throw e;
}
