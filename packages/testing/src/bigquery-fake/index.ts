import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { checkQueryOptions, isDml, runDml, runQuery } from './sql';
import { Tables, type RowRejection } from './tables';
import { ApiError, notFound, unsupported } from './values';

export { parseBigQueryTimestamp } from './values';

/**
 * A BigQuery REST v2 fake for machines without Docker. It implements only the subset the
 * BigQuery store adapter uses, and answers everything else with an error that names what it
 * does not support, so a test can never pass by the fake pretending:
 *
 * | call | supported |
 * |---|---|
 * | datasets.get / datasets.insert | yes |
 * | tables.get / tables.insert / tables.patch | schema (STRING, INT64, FLOAT64, BOOL, TIMESTAMP, JSON; NULLABLE or REQUIRED), timePartitioning and clustering kept; patch only adds NULLABLE columns |
 * | tables.insert / tables.patch / tables.update of a view | `view.query` in GoogleSQL of the typed-view form below only (anything else is refused); a DuckDB view of the same name; tables.get says `type: 'VIEW'` with its columns; a query of the view needs the partition filter its table requires; insertAll into it is refused |
 * | tabledata.insertAll | `insertId` dedup within a window (default 60 s), per-row errors, skipInvalidRows, ignoreUnknownValues |
 * | tabledata.insertAll into JSON | the value must parse, and every number in it must be one BigQuery's JSON type stores exactly (an INT64 or UINT64 integer, or a number a FLOAT64 prints back as written); any other is a row error, as BigQuery refuses it |
 * | jobs.query: DML | `DELETE FROM \`project.dataset.table\` WHERE <condition>` only (the condition translated as below); `numDmlAffectedRows` and `dmlStats.deletedRowCount`; a DELETE that would touch a row still in the streaming buffer (written by insertAll less than `streamingBufferMs` ago) fails with BigQuery's message and deletes nothing; INSERT, UPDATE, MERGE and TRUNCATE are refused |
 * | tables.patch of timePartitioning | its expirationMs only (kept and returned; the fake expires nothing: reads apply retention) |
 * | jobs.query, jobs.getQueryResults | GoogleSQL SELECT through the translation below; named parameters (STRING, INT64, BOOL, TIMESTAMP, ARRAY<STRING>); rows as `f`/`v`, TIMESTAMP as int64 microseconds when `formatOptions.useInt64Timestamp` |
 *
 * GoogleSQL → DuckDB translation (nothing else is rewritten; any other function is refused):
 * `` `project.dataset.table` `` → the dataset's DuckDB table; `@name` → `$name`;
 * `UNIX_MICROS(x)` → `epoch_us(x)`; `TIMESTAMP_TRUNC(col, MINUTE|HOUR|DAY)` →
 * `date_trunc('minute'|'hour'|'day', col)`; `x IN UNNEST(@array)` → `x IN (SELECT unnest($array))`;
 * `BYTE_LENGTH(x)` → `strlen(x)`; `TO_JSON_STRING(column)` → `CAST(column AS VARCHAR)`;
 * `SELECT * EXCEPT (...)` → `SELECT * EXCLUDE (...)`; `STARTS_WITH`, `COALESCE`, `SUM(...) OVER`,
 * `ROW_NUMBER() OVER (...)`, `COUNT(*)`, `QUALIFY`,
 * subqueries and `ORDER BY` / `LIMIT` behave the same in both. `maximumBytesBilled` is recorded
 * (see `queries`), not enforced: the fake cannot estimate bytes. Results carry BigQuery types:
 * a DuckDB list is a REPEATED field (a NULL array is sent as the empty one, and an array holding a
 * NULL is an error, as in BigQuery).
 *
 * A view's query (views.ts) is `SELECT <items> FROM \`project.dataset.table\` WHERE type = '<literal>'`,
 * each item a column or one of, with `path` a `'$."property"'` literal (GoogleSQL literals:
 * backslash escapes `\\ \' \"` only; a doubled quote is BigQuery's syntax error):
 * `JSON_VALUE(data, path)` (STRING of a scalar; NULL for a JSON null, an object or an array),
 * `SAFE_CAST(JSON_VALUE(data, path) AS INT64|FLOAT64|BOOL)` (NULL where BigQuery's cast fails:
 * INT64 from decimal digits only, FLOAT64 from a decimal number, BOOL from true/false in any
 * case; the fake gives NULL for the strings 'inf', 'nan' and hexadecimal, which BigQuery reads),
 * `JSON_QUERY(data, path)` (JSON; a JSON null stays JSON null), `JSON_VALUE_ARRAY(data, path)`
 * (ARRAY<STRING> of an array of scalars, a JSON null element as NULL; NULL otherwise) and
 * `ARRAY(SELECT SAFE_CAST(x AS INT64|FLOAT64|BOOL) FROM UNNEST(JSON_VALUE_ARRAY(data, path)) AS x)`.
 * Literals are allowed in view definitions only; a query of a view still needs parameters.
 */

export interface BigQueryFakeOptions {
  /** How long an insertId suppresses a repeat (BigQuery: best effort, about a minute). */
  insertIdWindowMs?: number;
  /** Keep every request in `requests` (default true; a long benchmark turns it off). */
  recordRequests?: boolean;
  /** How long rows written by insertAll stay in the streaming buffer, where a DELETE that
   * would touch them fails (BigQuery: up to about 90 minutes). Default 0: never. */
  streamingBufferMs?: number;
}

export class BigQueryFake {
  /** Every request received: method, path (without query string), body. */
  readonly requests: { method: string; path: string; body: unknown }[] = [];
  /** Every jobs.query request body, for assertions on parameters and cost guards. */
  readonly queries: Record<string, unknown>[] = [];
  private readonly tables: Tables;
  private readonly results = new Map<string, unknown>();
  private failures: number[] = [];
  private readonly rowRejections: RowRejection[] = [];
  private outage: { status: number; until: number } | undefined;
  private jobCounter = 0;

  private constructor(
    private readonly server: Server,
    private readonly conn: DuckDBConnection,
    private readonly instance: DuckDBInstance,
    private readonly opts: Required<BigQueryFakeOptions>,
  ) {
    this.tables = new Tables(conn, opts.insertIdWindowMs, opts.streamingBufferMs);
  }

  static async start(opts: BigQueryFakeOptions = {}): Promise<BigQueryFake> {
    const instance = await DuckDBInstance.create(':memory:');
    const conn = await instance.connect();
    const server = createServer();
    const fake = new BigQueryFake(server, conn, instance, {
      insertIdWindowMs: opts.insertIdWindowMs ?? 60_000,
      recordRequests: opts.recordRequests ?? true,
      streamingBufferMs: opts.streamingBufferMs ?? 0,
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
      return this.tables.createDataset(m[1]!, body);
    }
    if ((m = /^\/projects\/([^/]+)\/datasets\/([^/]+)$/.exec(path)) && method === 'GET') {
      return this.tables.getDataset(m[1]!, m[2]!);
    }
    if ((m = /^\/projects\/([^/]+)\/datasets\/([^/]+)\/tables$/.exec(path)) && method === 'POST') {
      return this.tables.createTable(m[1]!, m[2]!, body);
    }
    if ((m = /^\/projects\/([^/]+)\/datasets\/([^/]+)\/tables\/([^/]+)$/.exec(path))) {
      if (method === 'GET') return this.tables.getTable(m[1]!, m[2]!, m[3]!);
      if (method === 'PATCH') return this.tables.patchTable(m[1]!, m[2]!, m[3]!, body);
      if (method === 'PUT') return this.tables.updateTable(m[1]!, m[2]!, m[3]!, body);
    }
    if (
      (m = /^\/projects\/([^/]+)\/datasets\/([^/]+)\/tables\/([^/]+)\/insertAll$/.exec(path)) &&
      method === 'POST'
    ) {
      return this.tables.insertAll(m[1]!, m[2]!, m[3]!, body, {
        injectFailure: () => this.injectedFailure('insert'),
        rowRejections: this.rowRejections,
      });
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

  private async query(p: string, body: Record<string, unknown>) {
    checkQueryOptions(body);
    this.queries.push(body);
    this.injectedFailure('query');
    this.jobCounter += 1;
    if (isDml(body)) {
      const deleted = await runDml(this.conn, this.tables, body);
      const result = {
        kind: 'bigquery#queryResponse',
        jobReference: {
          projectId: p,
          jobId: `fake_job_${this.jobCounter}`,
          location: (body.location as string | undefined) ?? 'US',
        },
        totalBytesProcessed: '0',
        numDmlAffectedRows: String(deleted),
        dmlStats: { deletedRowCount: String(deleted) },
        jobComplete: true,
        cacheHit: false,
      };
      this.results.set(result.jobReference.jobId, {
        ...result,
        kind: 'bigquery#getQueryResultsResponse',
      });
      return result;
    }
    const { fields, rows } = await runQuery(this.conn, this.tables, body);
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
