// @eventpipe/store: the port. Interfaces, pure helpers and the variables' shape; no SDK. The
// adapters (DuckDB, BigQuery) are behind '@eventpipe/store/adapters', for composition roots only.
export type {
  EventStore,
  InsertItem,
  InsertResult,
  Conflict,
  Holder,
  PageKey,
  ListResult,
  EventFilter,
  ListQuery,
  StatsQuery,
  StatsBucket,
  StatsInterval,
  StatsGroup,
  RangePolicy,
  StoredKey,
  StoredQuery,
} from './event-store.port';
export {
  STATS_INTERVALS,
  STATS_GROUPS,
  StoreConfigError,
  defaultFrom,
  ROW_OVERHEAD_BYTES,
  rowWeight,
  storedKeyOf,
  compareStoredKeys,
} from './event-store.port';
export { storeEnvShape } from './config';
export type { StoreEnv } from './config';
export { duckdbEncryptionKeyOf, ENCRYPTION_KEY_MIN_LENGTH } from './encryption-key';
export {
  ERASURE_ACTIONS,
  ERASURE_MAX_SOURCES,
  ERASURE_MAX_PENDING,
  ErasureIndex,
  parseErasureRequest,
  requestedSteps,
  foldErasures,
  erasureMatch,
  erases,
  suppresses,
} from './erasures';
export type {
  Erasure,
  ErasureAction,
  ErasureLog,
  ErasureMatch,
  ErasureRequest,
  ErasureState,
  ErasureStep,
  EraseResult,
} from './erasures';
export { ErasureBook } from './erasure-book';
