export { LIMITS } from './limits';
export { parseRfc3339, formatMicros, canonicalTime, nowTime } from './time';
export { uuidv7 } from './uuid';
export {
  CONTEXT_ATTRIBUTES,
  inputEventSchema,
  completeEventSchema,
  parseInputEvents,
  parseCompleteEvent,
  toWire,
  wireBytes,
} from './envelope';
export type {
  CoreAttributes,
  Envelope,
  ExtensionValue,
  WireEvent,
  ValidationIssue,
  ParseResult,
} from './envelope';
export {
  EVENT_COLUMNS,
  EVENT_KEY,
  duckdbCreateTable,
  bigQuerySchemaFields,
  toStoredRow,
  fromStoredRow,
} from './stored';
export type { StoredRow, StoredEvent, PipelineMeta, ColumnSpec, ColumnKind } from './stored';
export { ATTR, CLOUDEVENTS_JSON, DEAD_LETTER_REASONS, busMessageOf } from './bus-message';
export type { DeadLetterReason } from './bus-message';
export {
  STATS_INTERVALS,
  STATS_GROUPS,
  listParamsSchema,
  getParamsSchema,
  statsParamsSchema,
  storedEventSchema,
  eventPageSchema,
  statsBucketSchema,
  statsResponseSchema,
  publishAcceptedSchema,
  CSV_COLUMNS,
  EXPORT_MEDIA_TYPES,
} from './api';
export type {
  StatsInterval,
  StatsGroup,
  ListParams,
  StatsParams,
  EventPage,
  StatsResponse,
  PublishAccepted,
} from './api';
