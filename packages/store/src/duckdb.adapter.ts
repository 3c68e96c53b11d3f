import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import {
  DuckDBInstance,
  listValue,
  timestampValue,
  type DuckDBConnection,
  type DuckDBValue,
} from '@duckdb/node-api';
import {
  EVENT_COLUMNS,
  formatMicros,
  type Grant,
  nowTime,
  parseRfc3339,
  toStoredRow,
  type StoredRow,
} from '@eventpipe/schema';
import {
  ROW_OVERHEAD_BYTES,
  StoreConfigError,
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
  type StatsGroup,
  type StatsInterval,
  type StatsBucket,
  type StatsQuery,
  type StoredQuery,
} from './event-store.port';
import { duckdbStoredStatement } from './duckdb-stored';
import { TIME_COLUMNS, rowFromRecord, selectEventColumns } from './columns';
import { DUCKDB_TYPES, duckdbCreateTable } from './duckdb-schema';
import { DUCKDB_SCHEMAS_TABLE, DuckDbSchemaStore } from './duckdb-schemas';
import { DUCKDB_ERASURES_TABLE, DuckDbErasureLog, duckdbEraseWhere } from './duckdb-lifecycle';
import {
  ErasureIndex,
  erasureMatch,
  foldErasures,
  type EraseResult,
  type ErasureLog,
  type ErasureMatch,
  type ErasureStep,
} from './erasures';
import type { SchemaStore } from '@eventpipe/registry';
import {
  ENCRYPTED_CATALOG,
  duckdbOpenError,
  openEncryptedDuckDb,
  type DuckDbCrypto,
} from './duckdb-open';

export interface DuckDbStoreOptions {
  /** Database file; ':memory:' for a throw-away database. */
  path: string;
  /** Open without writing (no table creation); fails if another process holds the write lock. */
  readOnly?: boolean;
  table?: string;
  /** Most concurrent read connections. */
  readers?: number;
  /** DuckDB's memory_limit, e.g. '256MB' (its default: 80% of the machine's memory). */
  memoryLimit?: string;
  /** DuckDB's threads (its default: one per core). */
  threads?: number;
  /** RETENTION_DAYS in ms: reads leave out events older than this (by event time), before
   * expire() has deleted them. Unset: kept for ever. */
  retentionMs?: number;
  /** Rows one expire() statement deletes at most, so that inserts wait for at most one batch
   * (default 5000). */
  deleteBatch?: number;
  /** Called once a batch is in the staging table, before the INSERT that commits it: where the
   * failure suite kills a worker mid-insert (test/failure/kill-point-worker.mjs). */
  onStaged?: () => void;
  /** Encrypts the file, its WAL and its temporary files with this key (DuckDB's database
   * encryption; see duckdb-open.ts). A file encrypted with another key, or not at all, is refused. */
  encryptionKey?: string;
  /** With encryptionKey: the crypto module (DuckDbCrypto; default auto). */
  crypto?: DuckDbCrypto;
  /** DuckDB's extension_directory, where httpfs (OpenSSL) is installed and loaded from. */
  extensionDirectory?: string;
  /** Receives what the operator must be told at start (the unsafe built-in crypto module). */
  onWarning?: (message: string) => void;
}

/** One SQL statement with its named parameters. */
export interface DuckDbStatement {
  sql: string;
  params: Record<string, DuckDBValue>;
}

const SELECT_LIST = selectEventColumns('epoch_us');
const COLUMN_NAMES = EVENT_COLUMNS.map((c) => c.name);

// Only these fixed identifiers are ever interpolated into SQL; every value is a bound parameter.
const BUCKET_US: Record<StatsInterval, bigint> = {
  minute: 60_000_000n,
  hour: 3_600_000_000n,
  day: 86_400_000_000n,
};
/** Microseconds from 0000-01-01 to 1970-01-01 (719 528 days): a whole number of days. */
const BUCKET_SHIFT_US = 719_528n * 86_400_000_000n;
const GROUP: Record<StatsGroup, string> = { type: 'type', source: 'source' };

/** A row's weight against ListQuery.maxBytes (strlen counts UTF-8 bytes). */
const ROW_BYTES_SQL =
  'coalesce(strlen(data::VARCHAR), 0) + coalesce(strlen(data_base64), 0) + strlen(extensions::VARCHAR)' +
  ' + strlen(id) + strlen(source) + strlen(type) + coalesce(strlen(subject), 0)' +
  ` + coalesce(strlen(datacontenttype), 0) + coalesce(strlen(dataschema), 0) + ${ROW_OVERHEAD_BYTES}`;

/** A grant as SQL: source (and type) among its exact values or starting with one of its
 * prefixes; values are bound parameters. */
function grantClauses(grant: Grant | undefined, params: Record<string, DuckDBValue>): string[] {
  return grantColumns(grant).map(({ column, exact, prefixes }) => {
    const alternatives: string[] = [];
    if (exact.length) {
      params[`grant_${column}`] = listValue(exact);
      alternatives.push(`list_contains($grant_${column}, ${column})`);
    }
    prefixes.forEach((prefix, i) => {
      params[`grant_${column}_${i}`] = prefix;
      alternatives.push(`starts_with(${column}, $grant_${column}_${i})`);
    });
    return `(${alternatives.join(' OR ')})`;
  });
}

const micros = (t: string): bigint => {
  const us = parseRfc3339(t);
  if (us === undefined) throw new Error(`not an RFC 3339 time: ${t}`);
  return us;
};

/**
 * The embedded store: one DuckDB file. DuckDB admits a single writing process, so in the
 * multi-process deployments the worker owns the file and the query API must run in the same
 * process (the one-process mode of `npm start`) or on BigQuery.
 */
export class DuckDbStore implements EventStore {
  readonly kind = 'duckdb' as const;
  private readonly table: string;
  /** Temporary table (writer connection only) that inserts are appended to first. */
  private readonly staging: string;
  private readonly idle: DuckDBConnection[] = [];
  private readonly waiting: ((c: DuckDBConnection) => void)[] = [];
  private opened = 0;
  private writeChain: Promise<unknown> = Promise.resolve();
  /** The schema registry's table and the typed views, in the same file. */
  readonly schemas: SchemaStore;
  readonly erasures: ErasureLog;
  /** The erasures log as this process knows it: the file's only writer, it sees every step. */
  private erasureSteps: ErasureStep[] = [];
  /** What erasures not done yet match: every read leaves it out (their delete follows at once,
   * and the worker drops later copies, so a done erasure needs no filter). */
  private tombstones: ErasureMatch[] = [];
  /** Every erasure: an insert drops the rows one covers (a copy that arrived late). */
  private erasureIndex = new ErasureIndex([]);

  private constructor(
    private readonly instance: DuckDBInstance,
    private readonly writer: DuckDBConnection,
    private readonly opts: DuckDbStoreOptions,
  ) {
    this.table = opts.table ?? 'events';
    this.staging = `${this.table}_staging`;
    if (!/^[a-z_][a-z0-9_]*$/.test(this.table))
      throw new StoreConfigError(`bad table name ${this.table}`);
    this.schemas = new DuckDbSchemaStore(
      this.table,
      (fn) => this.serially(() => fn(this.writer)),
      (fn) => this.withReader(fn),
      (params) => this.lifecycleClauses(params),
    );
    this.erasures = new DuckDbErasureLog(
      (fn) => this.serially(() => fn(this.writer)),
      (fn) => this.withReader(fn),
      (steps) => this.learnErasures(steps),
    );
  }

  /** Runs `fn` after every write before it, as inserts are. */
  private serially<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.writeChain.then(fn);
    this.writeChain = run.catch(() => undefined);
    return run;
  }

  static async open(opts: DuckDbStoreOptions): Promise<DuckDbStore> {
    if (opts.path !== ':memory:') mkdirSync(dirname(opts.path), { recursive: true });
    if (opts.encryptionKey !== undefined) {
      const { instance, writer } = await openEncryptedDuckDb({
        ...opts,
        encryptionKey: opts.encryptionKey,
      });
      return new DuckDbStore(instance, writer, opts);
    }
    let instance: DuckDBInstance;
    try {
      instance = await DuckDBInstance.create(opts.path, {
        access_mode: opts.readOnly ? 'READ_ONLY' : 'READ_WRITE',
        ...(opts.memoryLimit ? { memory_limit: opts.memoryLimit } : {}),
        ...(opts.threads ? { threads: String(opts.threads) } : {}),
      });
    } catch (e) {
      throw duckdbOpenError(e, opts.path);
    }
    const writer = await instance.connect();
    return new DuckDbStore(instance, writer, opts);
  }

  async init(): Promise<void> {
    if (!this.opts.readOnly) {
      await this.writer.run(duckdbCreateTable(this.table));
      await this.writer.run(DUCKDB_SCHEMAS_TABLE);
      await this.writer.run(DUCKDB_ERASURES_TABLE);
    }
    this.learnErasures(await this.erasures.readSteps());
    const columns = async () =>
      (
        await this.writer.runAndReadAll(
          `SELECT column_name, data_type FROM information_schema.columns WHERE table_name = $t ORDER BY ordinal_position`,
          { t: this.table },
        )
      )
        .getRowObjects()
        .map((r) => `${String(r.column_name)} ${String(r.data_type)}`);
    let found = await columns();
    const wanted = EVENT_COLUMNS.map((c) => `${c.name} ${DUCKDB_TYPES[c.kind]}`);
    // A file from an earlier release lacks the NULLABLE columns added since; they are added
    // (old rows read NULL in them).
    const additions = EVENT_COLUMNS.filter(
      (c) => c.nullable && !found.some((f) => f.startsWith(`${c.name} `)),
    );
    if (additions.length && !this.opts.readOnly && found.length) {
      for (const c of additions) {
        await this.writer.run(
          `ALTER TABLE ${this.table} ADD COLUMN ${c.name} ${DUCKDB_TYPES[c.kind]}`,
        );
      }
      found = await columns();
    }
    const missing = wanted.filter((w) => !found.includes(w));
    const extra = found.filter((f) => !wanted.includes(f));
    if (missing.length || extra.length) {
      const upgrade =
        this.opts.readOnly && additions.length && !extra.length
          ? ' (a file from an earlier release: open it once read-write, by the worker or npm start, and the columns are added)'
          : '';
      throw new StoreConfigError(
        `DuckDB table ${this.table} does not match the event schema: ` +
          `missing [${missing.join(', ')}], unexpected [${extra.join(', ')}]${upgrade}`,
      );
    }
    if (!this.opts.readOnly) {
      await this.writer.run(
        `CREATE TEMP TABLE IF NOT EXISTS ${this.staging} AS ` +
          `SELECT ${COLUMN_NAMES.join(', ')} FROM ${this.table} LIMIT 0`,
      );
    }
  }

  insert(items: InsertItem[]): Promise<InsertResult> {
    // One writer at a time: DuckDB serializes writes anyway, and a chain keeps batches in order.
    return this.serially(() => this.insertNow(items));
  }

  private async insertNow(items: InsertItem[]): Promise<InsertResult> {
    if (items.length === 0) {
      return { inserted: 0, duplicates: 0, redelivered: 0, conflicts: [], rejected: [] };
    }
    const storedAt = nowTime();
    const all = items.map((item) => toStoredRow(item.event, item.meta, storedAt));
    // Rows an erasure covers are not written. This runs in the write chain, where the erasures
    // are current: one requested before this insert is known here, one requested after deletes
    // what this insert wrote.
    const kept: number[] = [];
    const index = this.erasureIndex;
    all.forEach((r, i) => {
      if (index.erasures.length === 0 || !index.covers({ ...r, receivedAt: r.received_at }))
        kept.push(i);
    });
    const rows = kept.length === all.length ? all : kept.map((i) => all[i]!);
    const erased = all.length - rows.length;
    if (rows.length === 0)
      return { inserted: 0, duplicates: 0, redelivered: 0, conflicts: [], rejected: [], erased };
    // The first item of each key is offered to the table; the primary key keeps what is stored.
    const offered = sortByKey(rows, new Map()).write;
    const written = await this.append(offered.map((i) => rows[i]!));
    // Keys already stored before this batch: what holds them decides redelivery, duplicate or
    // conflict. Read
    // only when there are some (a redelivery), as it scans the id column. The writes are
    // chained, so nothing was written between the INSERT and this read.
    const taken = offered.map((i) => rows[i]!).filter((r) => !written.has(keyOf(r.source, r.id)));
    const stored = taken.length ? await this.holders(taken) : new Map<string, Holder>();
    const { duplicates, redelivered, conflicts } = sortByKey(rows, stored);
    // Indexes point into the items given (the erased rows were taken out of `rows`).
    const itemIndex = kept;
    return {
      inserted: written.size,
      duplicates,
      redelivered,
      conflicts: conflicts.map((c) => ({ ...c, index: itemIndex[c.index]! })),
      rejected: [],
      erased,
    };
  }

  /** Writes rows whose keys are not stored yet; returns the keys written. Rows go through
   * DuckDB's appender into a per-connection staging table, then one INSERT … SELECT applies the
   * primary key: about 4× faster than a multi-row INSERT … VALUES with bound parameters
   * (docs/PERFORMANCE.md, drain). */
  private async append(rows: readonly StoredRow[]): Promise<Set<string>> {
    try {
      const appender = await this.writer.createAppender(this.staging, 'main', 'temp');
      try {
        for (const row of rows) {
          for (const name of COLUMN_NAMES) {
            const v = row[name];
            if (v === null) appender.appendNull();
            else if (TIME_COLUMNS.has(name)) appender.appendTimestamp(timestampValue(micros(v)));
            else appender.appendVarchar(v);
          }
          appender.endRow();
        }
      } finally {
        appender.closeSync(); // flushes the rows into the staging table
      }
      this.opts.onStaged?.();
      const result = await this.writer.runAndReadAll(
        `INSERT INTO ${this.table} (${COLUMN_NAMES.join(', ')}) ` +
          `SELECT ${COLUMN_NAMES.join(', ')} FROM temp.main.${this.staging} ` +
          'ON CONFLICT DO NOTHING RETURNING source, id',
      );
      return new Set(result.getRowObjects().map((r) => keyOf(String(r.source), String(r.id))));
    } finally {
      await this.writer.run(`DELETE FROM temp.main.${this.staging}`);
    }
  }

  /** What holds the rows' keys in the table (`keyOf` → digest and message id). */
  private async holders(rows: readonly StoredRow[]): Promise<Map<string, Holder>> {
    const reader = await this.writer.runAndReadAll(
      `SELECT source, id, digest, message_id FROM ${this.table} WHERE id IN (SELECT unnest($ids))`,
      { ids: listValue([...new Set(rows.map((r) => r.id))]) },
    );
    const keys = new Set(rows.map((r) => keyOf(r.source, r.id)));
    const out = new Map<string, Holder>();
    for (const r of reader.getRowObjects()) {
      const key = keyOf(String(r.source), String(r.id));
      const digest = (r.digest as string | null) ?? null;
      if (keys.has(key)) out.set(key, { digest, messageId: String(r.message_id) });
    }
    return out;
  }

  private where(f: EventFilter, params: Record<string, DuckDBValue>): string[] {
    const clauses: string[] = [...grantClauses(f.grant, params), ...this.lifecycleClauses(params)];
    for (const key of ['type', 'source', 'subject', 'producer'] as const) {
      const v = f[key];
      if (v !== undefined) {
        clauses.push(`${key} = $${key}`);
        params[key] = v;
      }
    }
    if (f.from !== undefined) {
      clauses.push('time >= $from');
      params.from = timestampValue(micros(f.from));
    }
    if (f.to !== undefined) {
      clauses.push('time < $to');
      params.to = timestampValue(micros(f.to));
    }
    return clauses;
  }

  /** The SQL and parameters list() runs; public so the benchmarks can time the bare query. */
  listStatement(q: ListQuery): DuckDbStatement {
    const params: Record<string, DuckDBValue> = {};
    const clauses = this.where(q, params);
    if (q.after) {
      clauses.push(
        '(time < $at OR (time = $at AND (source < $as OR (source = $as AND id < $ai))))',
      );
      params.at = timestampValue(micros(q.after.time));
      params.as = q.after.source;
      params.ai = q.after.id;
    }
    params.lim = q.limit;
    // A byte budget ends the page early: a row comes only when the rows before it weigh less
    // (rowBytes), computed here so the rows past it never reach this process.
    let budget = '';
    if (q.maxBytes !== undefined) {
      params.max_bytes = q.maxBytes;
      // Both windows over the same order, so DuckDB sorts the candidates once: `count(*) OVER
      // ()` was a second window operator, about 0.7 ms of a 6 ms page (bench query-page).
      const ordered = 'ORDER BY time DESC, source DESC, id DESC ROWS BETWEEN UNBOUNDED PRECEDING';
      budget =
        `, sum(${ROW_BYTES_SQL}) OVER (${ordered} AND 1 PRECEDING) AS bytes_before` +
        `, count(*) OVER (${ordered} AND UNBOUNDED FOLLOWING) AS candidates`;
    }
    // Late materialization: the page is chosen reading only the filter and order columns, and
    // the full rows are fetched for those `limit` row ids alone (repeating the filters lets the
    // outer scan skip row groups by their time zone maps). Over 10M rows an unfiltered first
    // page went from ~600 ms to ~10 ms, a filtered one from ~11 ms to ~5 ms (docs/PERFORMANCE.md).
    const order = ' ORDER BY time DESC, source DESC, id DESC';
    const where = clauses.length ? ` WHERE ${clauses.join(' AND ')}` : '';
    const page = `rowid IN (SELECT rowid FROM ${this.table}${where}${order} LIMIT $lim)`;
    const rows = `SELECT ${SELECT_LIST}${budget} FROM ${this.table} WHERE ${[...clauses, page].join(' AND ')}`;
    const sql = budget
      ? `SELECT * EXCLUDE (bytes_before) FROM (${rows}) WHERE bytes_before IS NULL OR bytes_before < $max_bytes${order}`
      : `${rows}${order}`;
    return { sql, params };
  }

  async list(q: ListQuery): Promise<ListResult> {
    const { sql, params } = this.listStatement(q);
    const records = await this.withReader(async (c) =>
      (await c.runAndReadAll(sql, params)).getRowObjects(),
    );
    const rows: ListResult = records.map(rowFromRecord);
    // Every row carries how many the page had before the byte bound: more means it cut.
    if (q.maxBytes !== undefined && records.length)
      rows.truncated = Number(records[0]!.candidates) > records.length;
    return rows;
  }

  /** The SQL and parameters listStored() runs. */
  storedStatement(q: StoredQuery): DuckDbStatement {
    const params: Record<string, DuckDBValue> = {};
    return duckdbStoredStatement(this.table, this.where(q.filter, params), params, q);
  }

  listStored(q: StoredQuery): Promise<StoredRow[]> {
    const { sql, params } = this.storedStatement(q);
    return this.read(sql, params);
  }

  async get(id: string, source?: string, grant?: Grant): Promise<StoredRow[]> {
    const params: Record<string, DuckDBValue> = { id };
    const clauses = ['id = $id', ...grantClauses(grant, params), ...this.lifecycleClauses(params)];
    let sql = `SELECT ${SELECT_LIST} FROM ${this.table} WHERE ${clauses.join(' AND ')}`;
    if (source !== undefined) {
      sql += ' AND source = $source';
      params.source = source;
    }
    return this.read(`${sql} ORDER BY source LIMIT 100`, params);
  }

  /** The SQL and parameters stats() runs; public so the benchmarks can time the bare query. */
  statsStatement(q: StatsQuery): DuckDbStatement {
    const params: Record<string, DuckDBValue> = {};
    const clauses = this.where(q, params);
    const group = q.groupBy ? GROUP[q.groupBy] : undefined;
    // Buckets by integer division of epoch microseconds (UTC minute, hour and day boundaries
    // are multiples of their length): half the time of date_trunc over 10M rows. The shift by
    // BUCKET_SHIFT_US keeps times before 1970 non-negative, since // truncates toward zero.
    const unit = BUCKET_US[q.interval];
    const sql =
      `SELECT b * ${unit} - ${BUCKET_SHIFT_US} AS bucket${group ? ', key' : ''}, n FROM (` +
      `SELECT (epoch_us(time) + ${BUCKET_SHIFT_US}) // ${unit} AS b` +
      (group ? `, ${group} AS key` : '') +
      `, count(*) AS n FROM ${this.table} WHERE ${clauses.join(' AND ')} GROUP BY ALL)` +
      ` ORDER BY bucket${group ? ', key' : ''}`;
    return { sql, params };
  }

  async stats(q: StatsQuery): Promise<StatsBucket[]> {
    const { sql, params } = this.statsStatement(q);
    const grouped = q.groupBy !== undefined;
    const rows = await this.withReader(async (c) =>
      (await c.runAndReadAll(sql, params)).getRowObjects(),
    );
    return rows.map((r) => ({
      start: formatMicros(r.bucket as bigint),
      ...(grouped ? { key: String(r.key) } : {}),
      count: Number(r.n),
    }));
  }

  private async read(sql: string, params: Record<string, DuckDBValue>): Promise<StoredRow[]> {
    const rows = await this.withReader(async (c) =>
      (await c.runAndReadAll(sql, params)).getRowObjects(),
    );
    return rows.map(rowFromRecord);
  }

  /** A small pool: DuckDB runs queries of separate connections in parallel. */
  private async withReader<T>(fn: (c: DuckDBConnection) => Promise<T>): Promise<T> {
    let conn = this.idle.pop();
    if (!conn) {
      if (this.opened < (this.opts.readers ?? 4)) {
        this.opened += 1;
        conn = await this.instance.connect();
        // An encrypted file is attached beside an empty in-memory database: each connection
        // starts in the latter.
        if (this.opts.encryptionKey !== undefined) await conn.run(`USE ${ENCRYPTED_CATALOG}`);
      } else {
        conn = await new Promise<DuckDBConnection>((resolve) => this.waiting.push(resolve));
      }
    }
    try {
      return await fn(conn);
    } finally {
      const next = this.waiting.shift();
      if (next) next(conn);
      else this.idle.push(conn);
    }
  }

  /** What every read adds: events past retention and erased events are left out. */
  private lifecycleClauses(params: Record<string, DuckDBValue>): string[] {
    const clauses: string[] = [];
    if (this.opts.retentionMs !== undefined) {
      clauses.push('time >= $retained_from');
      params.retained_from = timestampValue(
        micros(nowTime()) - BigInt(this.opts.retentionMs) * 1000n,
      );
    }
    this.tombstones.forEach((m, i) =>
      clauses.push(`NOT ${duckdbEraseWhere(m, params, `tomb${i}_`)}`),
    );
    return clauses;
  }

  private learnErasures(steps: ErasureStep[]): void {
    this.erasureSteps = [...this.erasureSteps, ...steps];
    const all = foldErasures(this.erasureSteps);
    this.erasureIndex = new ErasureIndex(all);
    this.tombstones = all.filter((e) => e.state !== 'done').map(erasureMatch);
  }

  /** Deletes an erasure's events in one statement: all or nothing, so the count recorded is
   * exact even when the process dies in the middle (inserts wait for it; a subject's events are
   * few next to a retention sweep's). */
  async erase(match: ErasureMatch): Promise<EraseResult> {
    const params: Record<string, DuckDBValue> = {};
    const where = duckdbEraseWhere(match, params);
    return this.serially(async () => {
      const r = await this.writer.runAndReadAll(`DELETE FROM ${this.table} WHERE ${where}`, params);
      return { deleted: Number(r.getRows()[0]?.[0] ?? 0) };
    });
  }

  /** Deletes at most `limit` events older than `cutoff` (event time), in batches. */
  async expire(cutoff: string, limit: number): Promise<number> {
    const params: Record<string, DuckDBValue> = { cutoff: timestampValue(micros(cutoff)) };
    let deleted = 0;
    while (deleted < limit) {
      const batch = Math.min(this.opts.deleteBatch ?? 5000, limit - deleted);
      const n = await this.serially(async () => {
        const r = await this.writer.runAndReadAll(
          `DELETE FROM ${this.table} WHERE rowid IN (SELECT rowid FROM ${this.table} WHERE time < $cutoff LIMIT ${batch})`,
          params,
        );
        return Number(r.getRows()[0]?.[0] ?? 0);
      });
      deleted += n;
      if (n < batch) break; // nothing older is left
    }
    return deleted;
  }

  async check(): Promise<void> {
    await this.withReader((c) => c.run('SELECT 1'));
  }

  async close(): Promise<void> {
    await this.writeChain;
    for (const c of this.idle) c.closeSync();
    this.idle.length = 0;
    this.writer.closeSync();
    this.instance.closeSync();
  }
}
