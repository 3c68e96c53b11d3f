import type { DuckDBConnection, DuckDBValue } from '@duckdb/node-api';
import { ApiError, bqField, cellValue, notFound, quote, unsupported, type Field } from './values';
import { translateView, type ViewSource } from './views';

export interface TableMeta {
  tableReference: { projectId: string; datasetId: string; tableId: string };
  schema: { fields: Field[] };
  timePartitioning?: { type?: string; field?: string; expirationMs?: string };
  clustering?: unknown;
  requirePartitionFilter?: boolean;
  description?: string;
  creationTime: string;
  /** Set on a view: its GoogleSQL, and the table it reads (whose partition filter it inherits). */
  view?: { query: string; useLegacySql: false };
  viewOf?: ViewSource;
}

/** A per-row refusal injected with `BigQueryFake.rejectRows`. */
export interface RowRejection {
  match: (json: Record<string, unknown>) => boolean;
  reason: string;
  message: string;
}

/** What the fake's failure-injection API feeds into one insertAll call. */
export interface InsertFaults {
  /** Throws the failure injected for this call, if any (once the request's options are checked). */
  injectFailure: () => void;
  rowRejections: readonly RowRejection[];
}

const DUCK_TYPES: Record<string, string> = {
  STRING: 'VARCHAR',
  INT64: 'BIGINT',
  INTEGER: 'BIGINT',
  FLOAT64: 'DOUBLE',
  FLOAT: 'DOUBLE',
  BOOL: 'BOOLEAN',
  BOOLEAN: 'BOOLEAN',
  TIMESTAMP: 'TIMESTAMP',
  JSON: 'JSON',
};
const TABLE_KEYS = new Set([
  'tableReference',
  'schema',
  'timePartitioning',
  'clustering',
  'requirePartitionFilter',
  'description',
  'labels',
  'friendlyName',
  'view',
]);
const VIEW_KEYS = new Set(['tableReference', 'view', 'description', 'labels', 'friendlyName']);

/** Datasets and tables: their metadata here, their rows in DuckDB (a schema per dataset). */
export class Tables {
  private readonly datasets = new Map<string, { location: string }>();
  private readonly tables = new Map<string, TableMeta>();
  private readonly insertIds = new Map<string, number>();
  /** Per table, the row ids insertAll wrote and when: rows in the streaming buffer. */
  private readonly streamed = new Map<string, { from: bigint; to: bigint; at: number }[]>();

  constructor(
    private readonly conn: DuckDBConnection,
    private readonly insertIdWindowMs: number,
    /** How long a row written by insertAll stays in the streaming buffer, where DML cannot
     * touch it (BigQuery: up to about 90 minutes). */
    private readonly streamingBufferMs = 0,
  ) {}

  /** The row ids of `p.d.t` still in the streaming buffer, as ranges. */
  bufferedRanges(p: string, d: string, t: string): { from: bigint; to: bigint }[] {
    const now = Date.now();
    const key = `${p}.${d}.${t}`;
    const live = (this.streamed.get(key) ?? []).filter((r) => now - r.at < this.streamingBufferMs);
    this.streamed.set(key, live);
    return live;
  }

  private datasetKey = (p: string, d: string) => `${p}.${d}`;

  getDataset(p: string, d: string) {
    const ds = this.datasets.get(this.datasetKey(p, d));
    if (!ds) throw notFound(`Dataset ${p}:${d}`);
    return {
      kind: 'bigquery#dataset',
      id: `${p}:${d}`,
      datasetReference: { projectId: p, datasetId: d },
      location: ds.location,
    };
  }

  async createDataset(p: string, body: Record<string, unknown>) {
    const ref = body.datasetReference as { datasetId?: string } | undefined;
    const d = ref?.datasetId;
    if (!d || !/^[A-Za-z0-9_]{1,1024}$/.test(d))
      throw new ApiError(400, 'invalid', 'Invalid dataset ID');
    const key = this.datasetKey(p, d);
    if (this.datasets.has(key))
      throw new ApiError(409, 'duplicate', `Already Exists: Dataset ${p}:${d}`);
    await this.conn.run(`CREATE SCHEMA ${quote(key)}`);
    this.datasets.set(key, { location: (body.location as string | undefined) ?? 'US' });
    return this.getDataset(p, d);
  }

  tableMeta(p: string, d: string, t: string): TableMeta {
    this.getDataset(p, d);
    const meta = this.tables.get(`${p}.${d}.${t}`);
    if (!meta) throw notFound(`Table ${p}:${d}.${t}`);
    return meta;
  }

  getTable(p: string, d: string, t: string) {
    const { viewOf, ...meta } = this.tableMeta(p, d, t);
    return {
      kind: 'bigquery#table',
      id: `${p}:${d}.${t}`,
      type: viewOf ? 'VIEW' : 'TABLE',
      ...meta,
    };
  }

  /** The table a query reads through `p.d.t`: the table itself, or the one a view reads. */
  baseTableMeta(p: string, d: string, t: string): TableMeta {
    const meta = this.tableMeta(p, d, t);
    if (!meta.viewOf) return meta;
    const { projectId, datasetId, tableId } = meta.viewOf;
    return this.tableMeta(projectId, datasetId, tableId);
  }

  /**
   * tables.insert / patch / update of a view: its GoogleSQL translated (views.ts) into a DuckDB
   * view of the same name, whose columns give the view's schema.
   */
  private async putView(p: string, d: string, t: string, body: Record<string, unknown>) {
    for (const k of Object.keys(body)) if (!VIEW_KEYS.has(k)) throw unsupported(`view option ${k}`);
    const view = body.view as { query?: unknown; useLegacySql?: unknown } | undefined;
    for (const k of Object.keys(view ?? {})) {
      if (k !== 'query' && k !== 'useLegacySql') throw unsupported(`view option view.${k}`);
    }
    if (typeof view?.query !== 'string')
      throw new ApiError(400, 'invalid', 'view.query is required');
    if (view.useLegacySql !== false)
      throw unsupported('legacy SQL views (set useLegacySql: false)');
    const { select, source } = translateView(view.query);
    const base = this.tableMeta(source.projectId, source.datasetId, source.tableId);
    if (base.viewOf) throw unsupported('views over views');
    try {
      await this.conn.run(`CREATE OR REPLACE VIEW ${quote(`${p}.${d}`)}.${quote(t)} AS ${select}`);
    } catch (e) {
      throw new ApiError(
        400,
        'invalidQuery',
        `fake could not create the view: ${(e as Error).message.split('\n')[0]}`,
      );
    }
    const reader = await this.conn.runAndReadAll(
      `SELECT * FROM ${quote(`${p}.${d}`)}.${quote(t)} LIMIT 0`,
    );
    const types = reader.columnTypes();
    const fields = reader.columnNames().map((name, i) => bqField(name, types[i]!));
    const old = this.tables.get(`${p}.${d}.${t}`);
    this.tables.set(`${p}.${d}.${t}`, {
      tableReference: { projectId: p, datasetId: d, tableId: t },
      schema: { fields },
      description: (body.description as string | undefined) ?? old?.description,
      creationTime: old?.creationTime ?? String(Date.now()),
      view: { query: view.query, useLegacySql: false },
      viewOf: source,
    });
    return this.getTable(p, d, t);
  }

  /** tables.update (PUT): only of a view, whose query it replaces. */
  async updateTable(p: string, d: string, t: string, body: Record<string, unknown>) {
    const meta = this.tableMeta(p, d, t);
    if (!meta.viewOf) throw unsupported('tables.update of a table (only of a view)');
    return this.putView(p, d, t, body);
  }

  private columnDdl(f: Field): string {
    const type = DUCK_TYPES[f.type?.toUpperCase()];
    if (!type) throw unsupported(`column type ${f.type} (field ${f.name})`);
    const mode = (f.mode ?? 'NULLABLE').toUpperCase();
    if (mode === 'REPEATED') throw unsupported(`REPEATED mode (field ${f.name})`);
    return `${quote(f.name)} ${type}${mode === 'REQUIRED' ? ' NOT NULL' : ''}`;
  }

  async createTable(p: string, d: string, body: Record<string, unknown>) {
    this.getDataset(p, d);
    for (const k of Object.keys(body))
      if (!TABLE_KEYS.has(k)) throw unsupported(`table option ${k}`);
    const t = (body.tableReference as { tableId?: string } | undefined)?.tableId;
    if (!t) throw new ApiError(400, 'invalid', 'tableReference.tableId is required');
    if (body.view !== undefined) {
      if (this.tables.has(`${p}.${d}.${t}`))
        throw new ApiError(409, 'duplicate', `Already Exists: Table ${p}:${d}.${t}`);
      return this.putView(p, d, t, body);
    }
    const fields = (body.schema as { fields?: Field[] } | undefined)?.fields ?? [];
    if (!fields.length) throw unsupported('tables without a schema');
    const key = `${p}.${d}.${t}`;
    if (this.tables.has(key))
      throw new ApiError(409, 'duplicate', `Already Exists: Table ${p}:${d}.${t}`);
    const tp = body.timePartitioning as { type?: string; field?: string } | undefined;
    if (tp && !fields.some((f) => f.name === tp.field && f.type === 'TIMESTAMP')) {
      throw new ApiError(
        400,
        'invalid',
        `The field specified for partitioning cannot be found in the schema`,
      );
    }
    await this.conn.run(
      `CREATE TABLE ${quote(`${p}.${d}`)}.${quote(t)} (${fields.map((f) => this.columnDdl(f)).join(', ')})`,
    );
    this.tables.set(key, {
      tableReference: { projectId: p, datasetId: d, tableId: t },
      schema: { fields: fields.map((f) => ({ ...f, mode: f.mode ?? 'NULLABLE' })) },
      timePartitioning: body.timePartitioning as TableMeta['timePartitioning'],
      clustering: body.clustering,
      requirePartitionFilter: body.requirePartitionFilter as boolean | undefined,
      description: body.description as string | undefined,
      creationTime: String(Date.now()),
    });
    return this.getTable(p, d, t);
  }

  async patchTable(p: string, d: string, t: string, body: Record<string, unknown>) {
    const meta = this.tableMeta(p, d, t);
    if (meta.viewOf) {
      if (body.view === undefined) throw unsupported('patching a view other than its view.query');
      return this.putView(p, d, t, { ...body });
    }
    if (body.view !== undefined) {
      throw new ApiError(
        400,
        'invalid',
        `Table ${p}:${d}.${t} is not a view: cannot set view.query`,
      );
    }
    for (const k of Object.keys(body)) {
      if (k !== 'schema' && k !== 'tableReference' && k !== 'timePartitioning')
        throw unsupported(`patching ${k}`);
    }
    const partitioning = body.timePartitioning as TableMeta['timePartitioning'] | undefined;
    if (partitioning !== undefined) {
      const old = meta.timePartitioning;
      if (!old || partitioning.type !== old.type || partitioning.field !== old.field)
        throw unsupported('patching timePartitioning other than its expirationMs');
      meta.timePartitioning = { ...old, expirationMs: partitioning.expirationMs };
    }
    const fields = (body.schema as { fields?: Field[] } | undefined)?.fields;
    if (!fields) return this.getTable(p, d, t);
    const old = meta.schema.fields;
    for (const f of old) {
      const now = fields.find((n) => n.name === f.name);
      if (!now || now.type !== f.type || (now.mode ?? 'NULLABLE') !== f.mode) {
        throw new ApiError(
          400,
          'invalid',
          `Provided Schema does not match Table ${p}:${d}.${t}. Field ${f.name} has changed or is missing`,
        );
      }
    }
    for (const f of fields.filter((n) => !old.some((o) => o.name === n.name))) {
      if ((f.mode ?? 'NULLABLE') !== 'NULLABLE') {
        throw new ApiError(
          400,
          'invalid',
          `Provided Schema does not match Table ${p}:${d}.${t}. Cannot add required field ${f.name}`,
        );
      }
      await this.conn.run(
        `ALTER TABLE ${quote(`${p}.${d}`)}.${quote(t)} ADD COLUMN ${this.columnDdl(f)}`,
      );
      old.push({ ...f, mode: 'NULLABLE' });
    }
    return this.getTable(p, d, t);
  }

  private async maxRowid(table: string): Promise<bigint> {
    const r = await this.conn.runAndReadAll(`SELECT coalesce(max(rowid), -1) FROM ${table}`);
    return BigInt(r.getRows()[0]![0] as bigint | number);
  }

  /** tabledata.insertAll: per-row errors, skipInvalidRows, and insertId dedup within the window. */
  async insertAll(
    p: string,
    d: string,
    t: string,
    body: Record<string, unknown>,
    faults: InsertFaults,
  ) {
    const meta = this.tableMeta(p, d, t);
    if (meta.viewOf) throw new ApiError(400, 'invalid', `Cannot insert into view ${p}:${d}.${t}`);
    for (const k of Object.keys(body)) {
      if (!['rows', 'skipInvalidRows', 'ignoreUnknownValues', 'kind'].includes(k))
        throw unsupported(`insertAll option ${k}`);
    }
    faults.injectFailure();
    const rows =
      (body.rows as { insertId?: string; json?: Record<string, unknown> }[] | undefined) ?? [];
    const fields = meta.schema.fields;
    const now = Date.now();
    for (const [id, at] of this.insertIds)
      if (now - at > this.insertIdWindowMs) this.insertIds.delete(id);

    const insertErrors: {
      index: number;
      errors: { reason: string; message: string; location?: string }[];
    }[] = [];
    const valid: { index: number; insertId?: string; values: DuckDBValue[] }[] = [];
    rows.forEach((row, index) => {
      const json = row.json ?? {};
      const errors: { reason: string; message: string; location?: string }[] = [];
      if (!body.ignoreUnknownValues) {
        for (const k of Object.keys(json)) {
          if (!fields.some((f) => f.name === k))
            errors.push({ reason: 'invalid', location: k, message: `no such field: ${k}.` });
        }
      }
      for (const r of faults.rowRejections)
        if (r.match(json)) errors.push({ reason: r.reason, message: r.message });
      const values: DuckDBValue[] = [];
      for (const f of fields) {
        const r = cellValue(f, json[f.name]);
        if (r.ok) values.push(r.value);
        else errors.push({ reason: 'invalid', location: f.name, message: r.message });
      }
      if (errors.length) insertErrors.push({ index, errors });
      else valid.push({ index, insertId: row.insertId, values });
    });
    if (insertErrors.length && !body.skipInvalidRows) {
      // BigQuery inserts nothing then, and marks the valid rows as stopped.
      for (const v of valid)
        insertErrors.push({ index: v.index, errors: [{ reason: 'stopped', message: '' }] });
      insertErrors.sort((a, b) => a.index - b.index);
      return { kind: 'bigquery#tableDataInsertAllResponse', insertErrors };
    }
    const toWrite = valid.filter((v) => {
      if (!v.insertId) return true;
      const key = `${p}.${d}.${t}\u0000${v.insertId}`; // insertIds are scoped to their table
      if (this.insertIds.has(key)) return false; // a retry inside the window: silently dropped
      this.insertIds.set(key, now);
      return true;
    });
    if (toWrite.length) {
      const table = `${quote(`${p}.${d}`)}.${quote(t)}`;
      // Only with a streaming buffer: an await here would let a racing insertAll answer first.
      const before = this.streamingBufferMs > 0 ? await this.maxRowid(table) : -1n;
      const params: DuckDBValue[] = [];
      const tuples = toWrite.map(
        (v) => `(${v.values.map((val) => (params.push(val), `$${params.length}`)).join(', ')})`,
      );
      await this.conn.run(
        `INSERT INTO ${table} (${fields.map((f) => quote(f.name)).join(', ')}) VALUES ${tuples.join(', ')}`,
        params,
      );
      if (this.streamingBufferMs > 0) {
        const key = `${p}.${d}.${t}`;
        const ranges = this.streamed.get(key) ?? [];
        ranges.push({ from: before + 1n, to: await this.maxRowid(table), at: Date.now() });
        this.streamed.set(key, ranges);
      }
    }
    return insertErrors.length
      ? { kind: 'bigquery#tableDataInsertAllResponse', insertErrors }
      : { kind: 'bigquery#tableDataInsertAllResponse' };
  }
}
