// @eventpipe/store/adapters: the store adapters, their table definitions and the factory that
// picks one. Only main.ts files, the one-process launcher, tests and benchmarks import this entry
// (a lint rule keeps it so).
export { DuckDbStore } from './duckdb.adapter';
export type { DuckDbStoreOptions, DuckDbStatement } from './duckdb.adapter';
export type { DuckDbCrypto } from './duckdb-open';
export { duckdbCreateTable } from './duckdb-schema';
export { BigQueryStore } from './bigquery.adapter';
export { insertIdOf, chunks, INSERT_MAX_ROWS, INSERT_MAX_BYTES } from './bigquery-insert';
export type { BigQueryStoreOptions } from './bigquery.adapter';
export {
  BigQuerySchemaStore,
  BIGQUERY_SCHEMAS_TABLE,
  bigQuerySchemasFields,
} from './bigquery-schemas';
export { bigQueryString } from './typed-view';
export { DuckDbSchemaStore, DUCKDB_SCHEMAS_TABLE } from './duckdb-schemas';
export { bigQuerySchemaFields, schemaDifference } from './bigquery-schema';
export { bigQueryJson } from './bigquery-json';
export { openStore, openSchemaStore, openErasureLog } from './factory';
export { BIGQUERY_ERASURES_TABLE, bigQueryErasuresFields } from './bigquery-lifecycle';
export { DUCKDB_ERASURES_TABLE } from './duckdb-lifecycle';
