import { timestampValue, type DuckDBConnection, type DuckDBValue } from '@duckdb/node-api';
import { formatMicros, parseRfc3339 } from '@eventpipe/schema';
import {
  viewName,
  type Compatibility,
  type SchemaMode,
  type SchemaStore,
  type SchemaVersion,
  type ViewColumn,
} from '@eventpipe/registry';
import { VIEW_ENVELOPE, duckdbViewColumn, sqlString, typedColumns } from './typed-view';

export const DUCKDB_SCHEMAS_TABLE =
  'CREATE TABLE IF NOT EXISTS schemas (type VARCHAR NOT NULL, version INTEGER NOT NULL, ' +
  'schema JSON NOT NULL, mode VARCHAR NOT NULL, compatibility VARCHAR NOT NULL, ' +
  'created_at TIMESTAMP NOT NULL, PRIMARY KEY (type, version))';

/** The registry's table in the DuckDB file, and the typed views beside `events`. */
export class DuckDbSchemaStore implements SchemaStore {
  constructor(
    private readonly table: string,
    /** Runs on the writer connection, in turn with the event inserts. */
    private readonly write: <T>(fn: (c: DuckDBConnection) => Promise<T>) => Promise<T>,
    private readonly read: <T>(fn: (c: DuckDBConnection) => Promise<T>) => Promise<T>,
    /** What every read of events adds (retention, erasures), as for the event reads. */
    private readonly readFilter: (params: Record<string, DuckDBValue>) => string[] = () => [],
  ) {}

  async listSchemaVersions(): Promise<SchemaVersion[]> {
    return this.read(async (c) => {
      const exists = await c.runAndReadAll(
        "SELECT 1 FROM information_schema.tables WHERE table_name = 'schemas'",
      );
      if (exists.currentRowCount === 0) return []; // a read-only file from before the registry
      const rows = (
        await c.runAndReadAll(
          'SELECT type, version, schema::VARCHAR AS schema, mode, compatibility, epoch_us(created_at) AS created_us ' +
            'FROM schemas ORDER BY type, version',
        )
      ).getRowObjects();
      return rows.map((r) => ({
        type: String(r.type),
        version: Number(r.version),
        schema: JSON.parse(String(r.schema)) as Record<string, unknown>,
        mode: String(r.mode) as SchemaMode,
        compatibility: String(r.compatibility) as Compatibility,
        createdAt: formatMicros(BigInt(r.created_us as bigint)),
      }));
    });
  }

  async addSchemaVersion(v: SchemaVersion): Promise<'added' | 'exists'> {
    const params: Record<string, DuckDBValue> = {
      type: v.type,
      version: v.version,
      schema: JSON.stringify(v.schema),
      mode: v.mode,
      compatibility: v.compatibility,
      created: timestampValue(parseRfc3339(v.createdAt)!),
    };
    return this.write(async (c) => {
      const r = await c.runAndReadAll(
        'INSERT INTO schemas VALUES ($type, $version, $schema, $mode, $compatibility, $created) ' +
          'ON CONFLICT DO NOTHING RETURNING version',
        params,
      );
      return r.currentRowCount === 1 ? 'added' : 'exists';
    });
  }

  async replaceTypedView(type: string, columns: ViewColumn[]): Promise<void> {
    const select = [...VIEW_ENVELOPE, ...typedColumns(columns).map(duckdbViewColumn)].join(', ');
    await this.write((c) =>
      c.run(
        `CREATE OR REPLACE VIEW ${viewName(type)} AS SELECT ${select} FROM ${this.table} WHERE type = ${sqlString(type)}`,
      ),
    );
  }

  async sampleData(type: string, limit: number): Promise<string[]> {
    const params: Record<string, DuckDBValue> = { type, limit };
    const clauses = ['type = $type', 'data IS NOT NULL', ...this.readFilter(params)];
    return this.read(async (c) =>
      (
        await c.runAndReadAll(
          `SELECT data::VARCHAR AS data FROM ${this.table} WHERE ${clauses.join(' AND ')} ` +
            'ORDER BY time DESC LIMIT $limit',
          params,
        )
      )
        .getRowObjects()
        .map((r) => String(r.data)),
    );
  }
}
