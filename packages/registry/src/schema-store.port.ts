import type { SchemaVersion, ViewColumn } from './model';

/**
 * Where the registry keeps its versions: a `schemas` table beside `events` in the same store
 * (DuckDB file or BigQuery dataset), so every instance of every service sees one registry.
 */
export interface SchemaStore {
  /** Every version of every type, ordered by type then version. */
  listSchemaVersions(): Promise<SchemaVersion[]>;
  /** Adds a version. 'exists' when that (type, version) is already there (a concurrent
   * registration won): the caller reloads and tries again. */
  addSchemaVersion(version: SchemaVersion): Promise<'added' | 'exists'>;
  /** Creates or replaces the typed view `viewName(type)` over the events of `type`. */
  replaceTypedView(type: string, columns: ViewColumn[]): Promise<void>;
  /** The `data` of up to `limit` recent stored events of `type`, as JSON text (for inference). */
  sampleData(type: string, limit: number): Promise<string[]>;
}
