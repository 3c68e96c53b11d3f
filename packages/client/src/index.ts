export { EventpipeClient, EventpipeError, sseMessages } from './client';
export type {
  ClientOptions,
  EventInput,
  EventFilter,
  ListOptions,
  StatsOptions,
  StreamOptions,
  ExportOptions,
  Problem,
  SchemaMode,
  SchemaCompatibility,
  SchemaVersionInfo,
  SchemaTypeInfo,
  ErasureRequest,
  ErasureInfo,
} from './client';
export type { StoredEvent, EventPage, StatsResponse, PublishAccepted } from '@eventpipe/schema';
// Exact JSON: numbers a JavaScript number would change stay JsonNumbers, written back as sent.
export { JsonNumber, parseJson, stringifyJson } from '@eventpipe/schema/json';
