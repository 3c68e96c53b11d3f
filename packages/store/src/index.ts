export type {
  EventStore,
  InsertItem,
  InsertResult,
  PageKey,
  EventFilter,
  ListQuery,
  StatsQuery,
  StatsBucket,
  StatsInterval,
  StatsGroup,
  RangePolicy,
} from './event-store.port';
export { STATS_INTERVALS, STATS_GROUPS, StoreConfigError, defaultFrom } from './event-store.port';
export { DuckDbStore } from './duckdb.adapter';
export type { DuckDbStoreOptions, DuckDbStatement } from './duckdb.adapter';
export {
  BigQueryStore,
  schemaDifference,
  insertIdOf,
  chunks,
  INSERT_MAX_ROWS,
  INSERT_MAX_BYTES,
} from './bigquery.adapter';
export type { BigQueryStoreOptions } from './bigquery.adapter';
export { storeEnvShape, openStore } from './config';
export type { StoreEnv } from './config';
