import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  DuckDBInstance,
  DuckDBTypeId,
  listValue,
  timestampValue,
  type DuckDBConnection,
  type DuckDBType,
  type DuckDBValue,
} from '@duckdb/node-api';

/**
 * A BigQuery REST v2 fake for machines without Docker. It implements only the subset the
 * BigQuery store adapter uses, and answers everything else with an error that names what it
 * does not support, so a test can never pass by the fake pretending:
 *
 * | call | supported |
 * |---|---|
 * | datasets.get / datasets.insert | yes |
 * | tables.get / tables.insert / tables.patch | schema (STRING, INT64, FLOAT64, BOOL, TIMESTAMP, JSON; NULLABLE or REQUIRED), timePartitioning and clustering kept; patch only adds NULLABLE columns |
 * | tabledata.insertAll | `insertId` dedup within a window (default 60 s), per-row errors, skipInvalidRows, ignoreUnknownValues |
 * | tabledata.insertAll into JSON | the value must parse, and every number in it must be one BigQuery's JSON type stores exactly (an INT64 or UINT64 integer, or a number a FLOAT64 prints back as written); any other is a row error, as BigQuery refuses it |
 * | jobs.query, jobs.getQueryResults | GoogleSQL SELECT through the translation below; named parameters (STRING, INT64, BOOL, TIMESTAMP, ARRAY<STRING>); rows as `f`/`v`, TIMESTAMP as int64 microseconds when `formatOptions.useInt64Timestamp` |
 *
 * GoogleSQL → DuckDB translation (nothing else is rewritten; any other function is refused):
 * `` `project.dataset.table` `` → the dataset's DuckDB table; `@name` → `$name`;
 * `UNIX_MICROS(x)` → `epoch_us(x)`; `TIMESTAMP_TRUNC(col, MINUTE|HOUR|DAY)` →
 * `date_trunc('minute'|'hour'|'day', col)`; `x IN UNNEST(@array)` → `x IN (SELECT unnest($array))`;
 * `ROW_NUMBER() OVER (...)`, `COUNT(*)`, `QUALIFY`,
 * subqueries and `ORDER BY` / `LIMIT` behave the same in both. `maximumBytesBilled` is recorded
 * (see `queries`), not enforced: the fake cannot estimate bytes.
 */

interface Field {
  name: string;
  type: string;
  mode?: string;
  description?: string;
}
interface TableMeta {
  tableReference: { projectId: string; datasetId: string; tableId: string };
  schema: { fields: Field[] };
  timePartitioning?: { type?: string; field?: string };
  clustering?: unknown;
  requirePartitionFilter?: boolean;
  description?: string;
  creationTime: string;
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
]);
const QUERY_KEYS = new Set([
  'query',
  'queryParameters',
  'parameterMode',
  'useLegacySql',
  'maximumBytesBilled',
  'location',
  'formatOptions',
  'requestId',
  'timeoutMs',
  'maxResults',
  'useQueryCache',
  'jobCreationMode',
  'labels',
]);
const ALLOWED_FUNCTIONS = new Set([
  'UNIX_MICROS',
  'TIMESTAMP_TRUNC',
  'ROW_NUMBER',
  'COUNT',
  'UNNEST',
]);
const NOT_FUNCTIONS = new Set([
  'AND',
  'OR',
  'NOT',
  'IN',
  'OVER',
  'FROM',
  'AS',
  'WHERE',
  'SELECT',
  'ON',
  'BY',
  'WITH',
  'QUALIFY',
]);

class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly reason: string,
    message: string,
  ) {
    super(message);
  }
}
const unsupported = (what: string) =>
  new ApiError(400, 'invalid', `eventpipe BigQuery fake does not support ${what}`);
const notFound = (what: string) => new ApiError(404, 'notFound', `Not found: ${what}`);

const BQ_TIMESTAMP =
  /^(\d{4})-(\d{1,2})-(\d{1,2})(?:[T ](\d{1,2}):(\d{2}):(\d{2})(?:\.(\d{1,12}))?)?\s*(Z|UTC|[+-]\d{2}(?::?\d{2})?)?$/i;

/** BigQuery's canonical timestamp literal → epoch microseconds. */
export function parseBigQueryTimestamp(value: string): bigint | undefined {
  const m = BQ_TIMESTAMP.exec(value.trim());
  if (!m) return undefined;
  const [, y, mo, d, h = '0', mi = '0', s = '0', frac = '', zone] = m;
  const ms = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s));
  if (Number.isNaN(ms)) return undefined;
  let offsetMin = 0;
  if (zone && !/^(Z|UTC)$/i.test(zone)) {
    const sign = zone.startsWith('-') ? -1 : 1;
    const digits = zone.slice(1).replace(':', '');
    offsetMin = sign * (Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2) || '0'));
  }
  return BigInt(ms - offsetMin * 60_000) * 1000n + BigInt(frac.padEnd(6, '0').slice(0, 6));
}

export interface BigQueryFakeOptions {
  /** How long an insertId suppresses a repeat (BigQuery: best effort, about a minute). */
  insertIdWindowMs?: number;
  /** Keep every request in `requests` (default true; a long benchmark turns it off). */
  recordRequests?: boolean;
}

export class BigQueryFake {
  /** Every request received: method, path (without query string), body. */
  readonly requests: { method: string; path: string; body: unknown }[] = [];
  /** Every jobs.query request body, for assertions on parameters and cost guards. */
  readonly queries: Record<string, unknown>[] = [];
  private readonly datasets = new Map<string, { location: string }>();
  private readonly tables = new Map<string, TableMeta>();
  private readonly insertIds = new Map<string, number>();
  private readonly results = new Map<string, unknown>();
  private failures: number[] = [];
  private readonly rowRejections: {
    match: (json: Record<string, unknown>) => boolean;
    reason: string;
    message: string;
  }[] = [];
  private outage: { status: number; until: number } | undefined;
  private jobCounter = 0;

  private constructor(
    private readonly server: Server,
    private readonly conn: DuckDBConnection,
    private readonly instance: DuckDBInstance,
    private readonly opts: Required<BigQueryFakeOptions>,
  ) {}

  static async start(opts: BigQueryFakeOptions = {}): Promise<BigQueryFake> {
    const instance = await DuckDBInstance.create(':memory:');
    const conn = await instance.connect();
    const server = createServer();
    const fake = new BigQueryFake(server, conn, instance, {
      insertIdWindowMs: opts.insertIdWindowMs ?? 60_000,
      recordRequests: opts.recordRequests ?? true,
    });
    server.on('request', (req, res) => void fake.handle(req, res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return fake;
  }

  /** Base URL for the client's `apiEndpoint` (or, as host:port, for BIGQUERY_EMULATOR_HOST). */
  get endpoint(): string {
    const { port } = this.server.address() as AddressInfo;
    return `http://127.0.0.1:${port}`;
  }

  /** The next `count` insertAll calls fail with `status` (429 → rateLimitExceeded, 5xx → backendError). */
  failInserts(count: number, status = 503): void {
    this.failures.push(...Array<number>(count).fill(status));
  }

  /** Rows matching `match` get a per-row error with this reason (as BigQuery reports a row it
   * refuses) instead of being stored. */
  rejectRows(
    match: (json: Record<string, unknown>) => boolean,
    reason = 'invalid',
    message = 'row refused (injected by the fake)',
  ): void {
    this.rowRejections.push({ match, reason, message });
  }

  /** Every insertAll and query fails with `status` for `ms` milliseconds (a store outage). */
  startOutage(ms: number, status = 503): void {
    this.outage = { status, until: Date.now() + ms };
  }

  endOutage(): void {
    this.outage = undefined;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.conn.closeSync();
    this.instance.closeSync();
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const url = new URL(req.url ?? '/', 'http://fake');
    const path = url.pathname.replace(/^\/bigquery\/v2/, '');
    let body: unknown;
    try {
      body = chunks.length ? JSON.parse(Buffer.concat(chunks).toString('utf8')) : undefined;
      if (this.opts.recordRequests) this.requests.push({ method: req.method ?? '', path, body });
      const out = await this.route(
        req.method ?? 'GET',
        path,
        url.searchParams,
        body as Record<string, unknown>,
      );
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(out));
    } catch (e) {
      const err =
        e instanceof ApiError
          ? e
          : new ApiError(500, 'internalError', `fake failed: ${(e as Error).message}`);
      res.writeHead(err.status, { 'content-type': 'application/json' }).end(
        JSON.stringify({
          error: {
            code: err.status,
            message: err.message,
            errors: [{ message: err.message, domain: 'global', reason: err.reason }],
            status:
              err.status === 404
                ? 'NOT_FOUND'
                : err.status === 409
                  ? 'ALREADY_EXISTS'
                  : 'INVALID_ARGUMENT',
          },
        }),
      );
    }
  }

  private async route(
    method: string,
    path: string,
    query: URLSearchParams,
    body: Record<string, unknown>,
  ): Promise<unknown> {
    let m: RegExpExecArray | null;
    if ((m = /^\/projects\/([^/]+)\/datasets$/.exec(path)) && method === 'POST') {
      return this.createDataset(m[1]!, body);
    }
    if ((m = /^\/projects\/([^/]+)\/datasets\/([^/]+)$/.exec(path)) && method === 'GET') {
      return this.getDataset(m[1]!, m[2]!);
    }
    if ((m = /^\/projects\/([^/]+)\/datasets\/([^/]+)\/tables$/.exec(path)) && method === 'POST') {
      return this.createTable(m[1]!, m[2]!, body);
    }
    if ((m = /^\/projects\/([^/]+)\/datasets\/([^/]+)\/tables\/([^/]+)$/.exec(path))) {
      if (method === 'GET') return this.getTable(m[1]!, m[2]!, m[3]!);
      if (method === 'PATCH') return this.patchTable(m[1]!, m[2]!, m[3]!, body);
    }
    if (
      (m = /^\/projects\/([^/]+)\/datasets\/([^/]+)\/tables\/([^/]+)\/insertAll$/.exec(path)) &&
      method === 'POST'
    ) {
      return this.insertAll(m[1]!, m[2]!, m[3]!, body);
    }
    if ((m = /^\/projects\/([^/]+)\/queries$/.exec(path)) && method === 'POST') {
      return this.query(m[1]!, body);
    }
    if ((m = /^\/projects\/([^/]+)\/queries\/([^/]+)$/.exec(path)) && method === 'GET') {
      if (query.get('pageToken')) throw unsupported('result pages (pageToken)');
      const result = this.results.get(m[2]!);
      if (!result) throw notFound(`Job ${m[1]}:${m[2]}`);
      return result;
    }
    throw unsupported(`${method} ${path}`);
  }

  private datasetKey = (p: string, d: string) => `${p}.${d}`;

  private getDataset(p: string, d: string) {
    const ds = this.datasets.get(this.datasetKey(p, d));
    if (!ds) throw notFound(`Dataset ${p}:${d}`);
    return {
      kind: 'bigquery#dataset',
      id: `${p}:${d}`,
      datasetReference: { projectId: p, datasetId: d },
      location: ds.location,
    };
  }

  private async createDataset(p: string, body: Record<string, unknown>) {
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

  private tableMeta(p: string, d: string, t: string): TableMeta {
    this.getDataset(p, d);
    const meta = this.tables.get(`${p}.${d}.${t}`);
    if (!meta) throw notFound(`Table ${p}:${d}.${t}`);
    return meta;
  }

  private getTable(p: string, d: string, t: string) {
    return {
      kind: 'bigquery#table',
      id: `${p}:${d}.${t}`,
      type: 'TABLE',
      ...this.tableMeta(p, d, t),
    };
  }

  private columnDdl(f: Field): string {
    const type = DUCK_TYPES[f.type?.toUpperCase()];
    if (!type) throw unsupported(`column type ${f.type} (field ${f.name})`);
    const mode = (f.mode ?? 'NULLABLE').toUpperCase();
    if (mode === 'REPEATED') throw unsupported(`REPEATED mode (field ${f.name})`);
    return `${quote(f.name)} ${type}${mode === 'REQUIRED' ? ' NOT NULL' : ''}`;
  }

  private async createTable(p: string, d: string, body: Record<string, unknown>) {
    this.getDataset(p, d);
    for (const k of Object.keys(body))
      if (!TABLE_KEYS.has(k)) throw unsupported(`table option ${k}`);
    const t = (body.tableReference as { tableId?: string } | undefined)?.tableId;
    if (!t) throw new ApiError(400, 'invalid', 'tableReference.tableId is required');
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

  private async patchTable(p: string, d: string, t: string, body: Record<string, unknown>) {
    const meta = this.tableMeta(p, d, t);
    for (const k of Object.keys(body)) {
      if (k !== 'schema' && k !== 'tableReference') throw unsupported(`patching ${k}`);
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

  /** Drops failures queued by failInserts() that have not happened yet. */
  clearFailures(): void {
    this.failures = [];
  }

  private injectedFailure(call: 'insert' | 'query'): void {
    if (this.outage && Date.now() >= this.outage.until) this.outage = undefined;
    const status = (call === 'insert' ? this.failures.shift() : undefined) ?? this.outage?.status;
    if (status !== undefined) {
      throw new ApiError(
        status,
        status === 429 ? 'rateLimitExceeded' : 'backendError',
        status === 429
          ? 'Exceeded rate limits (injected by the fake)'
          : 'Backend error (injected by the fake)',
      );
    }
  }

  private cellValue(
    f: Field,
    v: unknown,
  ): { ok: true; value: DuckDBValue } | { ok: false; message: string } {
    if (v === null || v === undefined) {
      return f.mode === 'REQUIRED'
        ? { ok: false, message: `Missing required field: ${f.name}.` }
        : { ok: true, value: null };
    }
    const bad = {
      ok: false as const,
      message: `Cannot convert value to ${f.type.toLowerCase()} (field ${f.name}).`,
    };
    switch (f.type.toUpperCase()) {
      case 'STRING':
        return typeof v === 'string' ? { ok: true, value: v } : bad;
      case 'JSON': {
        if (typeof v !== 'string') return bad;
        try {
          JSON.parse(v);
        } catch {
          return { ok: false, message: `Invalid JSON value for field ${f.name}.` };
        }
        const inexact = inexactJsonNumber(v);
        if (inexact !== undefined) {
          return {
            ok: false,
            message: `Invalid JSON value for field ${f.name}: the number ${inexact.slice(0, 40)} cannot be stored without loss of precision.`,
          };
        }
        return { ok: true, value: v };
      }
      case 'TIMESTAMP': {
        const us =
          typeof v === 'string'
            ? parseBigQueryTimestamp(v)
            : typeof v === 'number'
              ? BigInt(Math.round(v * 1e6))
              : undefined;
        return us === undefined
          ? { ok: false, message: `Invalid timestamp: '${String(v)}' (field ${f.name}).` }
          : { ok: true, value: timestampValue(us) };
      }
      case 'INT64':
      case 'INTEGER':
        return /^-?\d+$/.test(String(v)) ? { ok: true, value: BigInt(String(v)) } : bad;
      case 'FLOAT64':
      case 'FLOAT':
        return Number.isFinite(Number(v)) ? { ok: true, value: Number(v) } : bad;
      case 'BOOL':
      case 'BOOLEAN':
        return typeof v === 'boolean' || v === 'true' || v === 'false'
          ? { ok: true, value: v === true || v === 'true' }
          : bad;
      default:
        return { ok: false, message: `unsupported type ${f.type}` };
    }
  }

  private async insertAll(p: string, d: string, t: string, body: Record<string, unknown>) {
    const meta = this.tableMeta(p, d, t);
    for (const k of Object.keys(body)) {
      if (!['rows', 'skipInvalidRows', 'ignoreUnknownValues', 'kind'].includes(k))
        throw unsupported(`insertAll option ${k}`);
    }
    this.injectedFailure('insert');
    const rows =
      (body.rows as { insertId?: string; json?: Record<string, unknown> }[] | undefined) ?? [];
    const fields = meta.schema.fields;
    const now = Date.now();
    for (const [id, at] of this.insertIds)
      if (now - at > this.opts.insertIdWindowMs) this.insertIds.delete(id);

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
      for (const r of this.rowRejections)
        if (r.match(json)) errors.push({ reason: r.reason, message: r.message });
      const values: DuckDBValue[] = [];
      for (const f of fields) {
        const r = this.cellValue(f, json[f.name]);
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
      const params: DuckDBValue[] = [];
      const tuples = toWrite.map(
        (v) => `(${v.values.map((val) => (params.push(val), `$${params.length}`)).join(', ')})`,
      );
      await this.conn.run(
        `INSERT INTO ${quote(`${p}.${d}`)}.${quote(t)} (${fields.map((f) => quote(f.name)).join(', ')}) VALUES ${tuples.join(', ')}`,
        params,
      );
    }
    return insertErrors.length
      ? { kind: 'bigquery#tableDataInsertAllResponse', insertErrors }
      : { kind: 'bigquery#tableDataInsertAllResponse' };
  }

  /** GoogleSQL (the adapter's subset) → DuckDB SQL. */
  private translate(project: string, sql: string): string {
    if (!/^\s*(SELECT|WITH)\b/i.test(sql)) throw unsupported('statements other than SELECT');
    if (sql.includes(';')) throw unsupported('multiple statements');
    if (/'[^']*'|"[^"]*"/.test(sql.replace(/`[^`]*`/g, ''))) {
      throw unsupported('literals in SQL text (pass values as query parameters)');
    }
    for (const m of sql.matchAll(/\b([A-Za-z_][A-Za-z0-9_]*)\s*\(/g)) {
      const name = m[1]!.toUpperCase();
      if (!NOT_FUNCTIONS.has(name) && !ALLOWED_FUNCTIONS.has(name))
        throw unsupported(`function ${m[1]}`);
    }
    let out = sql.replace(
      /`([^`.]+)\.([^`.]+)\.([^`.]+)`/g,
      (_, p: string, d: string, t: string) => {
        const meta = this.tableMeta(p, d, t);
        const field = meta.timePartitioning?.field;
        // Like BigQuery: a table that requires a partition filter refuses a query without one.
        if (
          meta.requirePartitionFilter &&
          field &&
          !new RegExp(`\\b${field}\\s*(>=|<=|<|>|=)`).test(sql)
        ) {
          throw new ApiError(
            400,
            'invalidQuery',
            `Cannot query over table '${p}.${d}.${t}' without a filter over column(s) '${field}' that can be used for partition elimination`,
          );
        }
        return `${quote(`${p}.${d}`)}.${quote(t)}`;
      },
    );
    if (/`/.test(out)) throw unsupported('table references other than `project.dataset.table`');
    out = out.replace(
      /TIMESTAMP_TRUNC\s*\(\s*([A-Za-z_][A-Za-z0-9_]*)\s*,\s*(MINUTE|HOUR|DAY)\s*\)/gi,
      (_, col: string, unit: string) => `date_trunc('${unit.toLowerCase()}', ${col})`,
    );
    if (/TIMESTAMP_TRUNC/i.test(out))
      throw unsupported('TIMESTAMP_TRUNC other than (column, MINUTE|HOUR|DAY)');
    out = out.replace(/\bUNIX_MICROS\s*\(/gi, 'epoch_us(');
    out = out.replace(
      /\bIN\s+UNNEST\s*\(\s*@([A-Za-z_][A-Za-z0-9_]*)\s*\)/gi,
      (_, name: string) => `IN (SELECT unnest(@${name}))`,
    );
    if (/\bUNNEST\b/i.test(sql.replace(/\bIN\s+UNNEST\s*\(\s*@[A-Za-z_][A-Za-z0-9_]*\s*\)/gi, '')))
      throw unsupported('UNNEST other than x IN UNNEST(@array)');
    out = out.replace(/@([A-Za-z_][A-Za-z0-9_]*)/g, '$$$1');
    void project;
    return out;
  }

  private bindParams(body: Record<string, unknown>): Record<string, DuckDBValue> {
    const params =
      (body.queryParameters as
        | {
            name?: string;
            parameterType?: { type?: string; arrayType?: { type?: string } };
            parameterValue?: { value?: string; arrayValues?: { value?: string }[] };
          }[]
        | undefined) ?? [];
    if (params.length && String(body.parameterMode).toUpperCase() !== 'NAMED') {
      throw unsupported('positional query parameters');
    }
    const out: Record<string, DuckDBValue> = {};
    for (const q of params) {
      const type = q.parameterType?.type?.toUpperCase();
      const raw = q.parameterValue?.value;
      if (!q.name) throw unsupported('unnamed parameters');
      if (type === 'ARRAY') {
        if (q.parameterType?.arrayType?.type?.toUpperCase() !== 'STRING')
          throw unsupported('ARRAY parameters other than ARRAY<STRING>');
        out[q.name] = listValue((q.parameterValue?.arrayValues ?? []).map((a) => a.value ?? null));
        continue;
      }
      if (raw === undefined || raw === null) {
        out[q.name] = null;
        continue;
      }
      switch (type) {
        case 'STRING':
          out[q.name] = raw;
          break;
        case 'INT64':
          out[q.name] = BigInt(raw);
          break;
        case 'BOOL':
          out[q.name] = raw === 'true';
          break;
        case 'TIMESTAMP': {
          const us = parseBigQueryTimestamp(raw);
          if (us === undefined)
            throw new ApiError(
              400,
              'invalidQuery',
              `Invalid TIMESTAMP parameter ${q.name}: ${raw}`,
            );
          out[q.name] = timestampValue(us);
          break;
        }
        default:
          throw unsupported(`parameter type ${type ?? '?'}`);
      }
    }
    return out;
  }

  private async query(p: string, body: Record<string, unknown>) {
    for (const k of Object.keys(body))
      if (!QUERY_KEYS.has(k)) throw unsupported(`query option ${k}`);
    if (body.useLegacySql) throw unsupported('legacy SQL');
    this.queries.push(body);
    this.injectedFailure('query');
    const sql = this.translate(p, String(body.query ?? ''));
    const params = this.bindParams(body);
    let reader;
    try {
      reader = await this.conn.runAndReadAll(sql, params);
    } catch (e) {
      throw new ApiError(
        400,
        'invalidQuery',
        `fake could not run the query: ${(e as Error).message.split('\n')[0]}`,
      );
    }
    const int64Timestamps =
      (body.formatOptions as { useInt64Timestamp?: boolean } | undefined)?.useInt64Timestamp ===
      true;
    const types = reader.columnTypes();
    const fields = reader
      .columnNames()
      .map((name, i) => ({ name, type: bqType(types[i]!), mode: 'NULLABLE' }));
    const rows = reader.getRows().map((row) => ({
      f: row.map((v, i) => ({ v: encodeCell(v, fields[i]!.type, int64Timestamps) })),
    }));
    this.jobCounter += 1;
    const jobReference = {
      projectId: p,
      jobId: `fake_job_${this.jobCounter}`,
      location: (body.location as string | undefined) ?? 'US',
    };
    const result = {
      kind: 'bigquery#queryResponse',
      schema: { fields },
      jobReference,
      totalRows: String(rows.length),
      rows,
      totalBytesProcessed: '0',
      jobComplete: true,
      cacheHit: false,
    };
    this.results.set(jobReference.jobId, { ...result, kind: 'bigquery#getQueryResultsResponse' });
    return result;
  }
}

const JSON_NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;

/** The first number in JSON text that BigQuery's JSON type cannot store exactly, if any: an
 * integer outside INT64 and UINT64 that is not exact as FLOAT64 either, or a number whose nearest
 * FLOAT64 is another value (checked on exact decimal expansions with bigints). */
function inexactJsonNumber(text: string): string | undefined {
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') inString = false;
      continue;
    }
    if (c === '"') {
      inString = true;
      continue;
    }
    if (c !== '-' && (c < '0' || c > '9')) continue;
    JSON_NUMBER.lastIndex = i;
    const token = JSON_NUMBER.exec(text)![0];
    i += token.length - 1;
    if (/^-?\d+$/.test(token)) {
      const n = BigInt(token);
      if (n >= -(2n ** 63n) && n < 2n ** 64n) continue;
    }
    const double = Number(token);
    if (!Number.isFinite(double) || !sameRational(token, String(double))) return token;
  }
  return undefined;
}

/** Two decimal numerals as exact fractions (numerator, power of ten), compared. */
function sameRational(a: string, b: string): boolean {
  const frac = (t: string) => {
    const m = /^(-?)(\d+)(?:\.(\d*))?(?:e([+-]?\d+))?$/i.exec(t)!;
    const digits = BigInt(`${m[1]}${m[2]}${m[3] ?? ''}`);
    return { n: digits, exp: Number(m[4] ?? 0) - (m[3] ?? '').length };
  };
  const x = frac(a);
  const y = frac(b);
  const shift = Math.min(x.exp, y.exp);
  return x.n * 10n ** BigInt(x.exp - shift) === y.n * 10n ** BigInt(y.exp - shift);
}

function quote(identifier: string): string {
  return `"${identifier.replaceAll('"', '""')}"`;
}

function bqType(t: DuckDBType): string {
  if (t.alias === 'JSON') return 'JSON';
  switch (t.typeId) {
    case DuckDBTypeId.VARCHAR:
      return 'STRING';
    case DuckDBTypeId.BIGINT:
    case DuckDBTypeId.INTEGER:
    case DuckDBTypeId.HUGEINT:
    case DuckDBTypeId.SMALLINT:
    case DuckDBTypeId.TINYINT:
    case DuckDBTypeId.UBIGINT:
      return 'INT64';
    case DuckDBTypeId.DOUBLE:
    case DuckDBTypeId.FLOAT:
      return 'FLOAT64';
    case DuckDBTypeId.BOOLEAN:
      return 'BOOL';
    case DuckDBTypeId.TIMESTAMP:
      return 'TIMESTAMP';
    default:
      throw unsupported(`result column type ${String(t)}`);
  }
}

function encodeCell(v: unknown, type: string, int64Timestamps: boolean): string | null {
  if (v === null || v === undefined) return null;
  if (type === 'TIMESTAMP') {
    const micros = (v as { micros: bigint }).micros;
    if (int64Timestamps) return micros.toString();
    const sign = micros < 0n ? '-' : '';
    const abs = micros < 0n ? -micros : micros;
    return `${sign}${abs / 1_000_000n}.${(abs % 1_000_000n).toString().padStart(6, '0')}`;
  }
  return String(v);
}
