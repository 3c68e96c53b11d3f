import { BigQuery, type Dataset, type Table } from '@google-cloud/bigquery';
import { retry } from '@eventpipe/platform/core';
import {
  viewName,
  type Compatibility,
  type SchemaMode,
  type SchemaStore,
  type SchemaVersion,
  type ViewColumn,
} from '@eventpipe/registry';
import { formatMicros, parseRfc3339 } from '@eventpipe/schema';
import { StoreConfigError, defaultFrom, type RangePolicy } from './event-store.port';
import { type ApiErrorLike, insertIdOf, isRetryable } from './bigquery-insert';
import { schemaDifference } from './bigquery-schema';
import { VIEW_ENVELOPE, bigQueryString, bigQueryViewColumn, typedColumns } from './typed-view';

/** The registry's table, beside `events` in the same dataset. */
export const BIGQUERY_SCHEMAS_TABLE = 'schemas';

/** The `schemas` table's fields. infra/terraform's JSON for it is this, written out. */
export function bigQuerySchemasFields(): {
  name: string;
  type: string;
  mode: string;
  description: string;
}[] {
  return [
    { name: 'type', type: 'STRING', mode: 'REQUIRED', description: 'Event type' },
    { name: 'version', type: 'INT64', mode: 'REQUIRED', description: 'Version: 1, 2, 3… per type' },
    {
      name: 'schema',
      type: 'STRING',
      mode: 'REQUIRED',
      description: 'The JSON Schema of the data, as JSON text',
    },
    { name: 'mode', type: 'STRING', mode: 'REQUIRED', description: 'enforce, warn or off' },
    {
      name: 'compatibility',
      type: 'STRING',
      mode: 'REQUIRED',
      description: 'BACKWARD, FORWARD, FULL or NONE',
    },
    {
      name: 'created_at',
      type: 'TIMESTAMP',
      mode: 'REQUIRED',
      description: 'When the version was registered',
    },
  ];
}

const viewColumn = bigQueryViewColumn;

type Query = (
  sql: string,
  params: Record<string, unknown>,
  types: Record<string, string | string[]>,
) => Promise<Record<string, unknown>[]>;

export interface BigQuerySchemaStoreOptions {
  projectId: string;
  dataset: Dataset;
  /** The events table the typed views and samples read. */
  eventsTable: string;
  range: RangePolicy;
  /** The adapter's query runner (location, cost guard, INT64 as bigint). */
  query: Query;
  retry: { maxAttempts: number; initialDelayMs: number; maxDelayMs: number };
  sleep: (ms: number) => Promise<void>;
  /** What every read of events adds (retention, erasures), as for the event reads. */
  readFilter?: (params: Record<string, unknown>) => string[];
}

// One version per (type, version): two registrations racing may both land (insertId dedup is best
// effort), and every read keeps the earliest, then the smallest schema text.
const WINNER =
  'QUALIFY ROW_NUMBER() OVER (PARTITION BY type, version ORDER BY created_at, schema) = 1';
const COLUMNS = 'type, version, schema, mode, compatibility, UNIX_MICROS(created_at) AS created_us';

/** The registry's `schemas` table and the typed views `events_<type>` in the events' dataset. */
export class BigQuerySchemaStore implements SchemaStore {
  private readonly table: Table;
  private readonly fqSchemas: string;
  private readonly fqEvents: string;

  constructor(private readonly opts: BigQuerySchemaStoreOptions) {
    this.table = opts.dataset.table(BIGQUERY_SCHEMAS_TABLE);
    const prefix = `${opts.projectId}.${opts.dataset.id}`;
    this.fqSchemas = `\`${prefix}.${BIGQUERY_SCHEMAS_TABLE}\``;
    this.fqEvents = `\`${prefix}.${opts.eventsTable}\``;
  }

  /** Creates the table when missing (auto-create); refuses one whose columns differ. */
  async createTable(): Promise<void> {
    const wanted = bigQuerySchemasFields();
    try {
      const [meta] = await this.table.getMetadata();
      const existing = (meta as { schema?: { fields?: { name: string; type: string }[] } }).schema
        ?.fields;
      const diff = schemaDifference(existing ?? [], wanted);
      const problems = [
        ...diff.incompatible,
        ...diff.additions.map((f) => `column ${f.name} is missing`),
      ];
      if (problems.length) {
        throw new StoreConfigError(
          `BigQuery table ${this.fqSchemas} does not match the registry's schema: ${problems.join('; ')}`,
        );
      }
    } catch (e) {
      if ((e as ApiErrorLike).code !== 404) throw e;
      await this.table
        .create({
          schema: { fields: wanted },
          description: 'eventpipe schema registry: one row per version of each event type',
        })
        .catch((err: unknown) => {
          if ((err as ApiErrorLike).code !== 409) throw err;
        });
    }
  }

  async listSchemaVersions(): Promise<SchemaVersion[]> {
    try {
      const rows = await this.opts.query(
        `SELECT ${COLUMNS} FROM ${this.fqSchemas} WHERE TRUE ${WINNER} ORDER BY type, version`,
        {},
        {},
      );
      return rows.map(versionOf);
    } catch (e) {
      // No table (BIGQUERY_AUTO_CREATE off, before Terraform made it): an empty registry.
      if ((e as ApiErrorLike).code === 404) return [];
      throw e;
    }
  }

  async addSchemaVersion(v: SchemaVersion): Promise<'added' | 'exists'> {
    const createdUs = parseRfc3339(v.createdAt);
    if (createdUs === undefined) throw new RangeError(`createdAt ${v.createdAt} is not RFC 3339`);
    const schema = JSON.stringify(v.schema);
    const row = {
      // Stable for the (type, version): a retry of this insert, or a racing one, is deduplicated.
      insertId: insertIdOf(v.type, String(v.version)),
      json: {
        type: v.type,
        version: v.version,
        schema,
        mode: v.mode,
        compatibility: v.compatibility,
        created_at: formatMicros(createdUs),
      },
    };
    await this.insert(row);
    const [winner] = await this.opts.query(
      `SELECT ${COLUMNS} FROM ${this.fqSchemas} WHERE type = @type AND version = @version ${WINNER}`,
      { type: v.type, version: v.version },
      { type: 'STRING', version: 'INT64' },
    );
    if (!winner) throw new Error(`schema ${v.type} version ${v.version} was not read back`);
    return BigInt(winner.created_us as bigint) === createdUs && winner.schema === schema
      ? 'added'
      : 'exists';
  }

  private async insert(row: { insertId: string; json: Record<string, unknown> }): Promise<void> {
    await retry(
      async () => {
        try {
          await this.table.insert([row], { raw: true, partialRetries: 0 });
        } catch (e) {
          const err = e as ApiErrorLike;
          if (err.code === 404) {
            throw new StoreConfigError(
              `BigQuery table ${this.fqSchemas} does not exist: with BIGQUERY_AUTO_CREATE off, Terraform creates it (infra/terraform)`,
              { cause: e },
            );
          }
          if (err.name === 'PartialFailureError') {
            // PartialFailureError: one entry per failed row, each with that row's errors.
            const failures = (err.errors ?? []) as { errors?: ApiErrorLike['errors'] }[];
            const reasons = failures.flatMap((f) => f.errors ?? []);
            const message = reasons.map((r) => `${r.reason}: ${r.message}`).join('; ');
            const error = new Error(`BigQuery refused the schema row: ${message}`, { cause: e });
            if (reasons.every((r) => isRetryable({ errors: [r] })))
              throw Object.assign(error, { retryable: true });
            throw error;
          }
          throw e;
        }
      },
      {
        ...this.opts.retry,
        jitter: 'full',
        retryable: (e) =>
          (e as { retryable?: boolean }).retryable === true || isRetryable(e as ApiErrorLike),
        clock: { now: () => Date.now(), sleep: (ms) => this.opts.sleep(ms) },
      },
    );
  }

  async replaceTypedView(type: string, columns: ViewColumn[]): Promise<void> {
    const select = [...VIEW_ENVELOPE, ...typedColumns(columns).map(viewColumn)].join(', ');
    // A view takes no query parameters: the type is a literal.
    const view = {
      query: `SELECT ${select} FROM ${this.fqEvents} WHERE type = ${bigQueryString(type)}`,
      useLegacySql: false,
    };
    const table = this.opts.dataset.table(viewName(type));
    try {
      await table.create({ view, description: `eventpipe typed view of the events of ${type}` });
    } catch (e) {
      if ((e as ApiErrorLike).code !== 409) throw e;
      await table.setMetadata({ view });
    }
  }

  async sampleData(type: string, limit: number): Promise<string[]> {
    // The events table requires a time filter: the samples come from the default read range.
    const params: Record<string, unknown> = {
      type,
      from: BigQuery.timestamp(defaultFrom(this.opts.range, undefined)),
      limit,
    };
    const clauses = [
      'type = @type',
      'data_text IS NOT NULL',
      'time >= @from',
      ...(this.opts.readFilter?.(params) ?? []),
    ];
    const rows = await this.opts.query(
      `SELECT data_text FROM ${this.fqEvents} WHERE ${clauses.join(' AND ')} ` +
        'ORDER BY time DESC LIMIT @limit',
      params,
      { type: 'STRING', limit: 'INT64' },
    );
    return rows.map((r) => String(r.data_text));
  }
}

function versionOf(r: Record<string, unknown>): SchemaVersion {
  return {
    type: String(r.type),
    version: Number(r.version),
    schema: JSON.parse(String(r.schema)) as Record<string, unknown>,
    mode: String(r.mode) as SchemaMode,
    compatibility: String(r.compatibility) as Compatibility,
    createdAt: formatMicros(BigInt(r.created_us as bigint)),
  };
}
