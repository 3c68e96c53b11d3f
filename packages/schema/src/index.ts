export { LIMITS } from './limits';
export { parseRfc3339, formatMicros, canonicalTime, nowTime } from './time';
export { uuidv7 } from './uuid';
export { inputEventSchema, parseInputEvents, parseBusEvent, eventJson } from './envelope';
export type {
  CoreAttributes,
  Envelope,
  ExtensionValue,
  WireEvent,
  ValidationIssue,
  ParseResult,
} from './envelope';
export {
  asJsonText,
  jsonTextOf,
  eventDataTexts,
  minifyJson,
  jsonLine,
  replaceNumbers,
  parseJson,
  stringifyJson,
  sameDecimal,
  JsonNumber,
  FORBIDDEN_KEYS,
  forbiddenKeyIn,
} from './json-text';
export type { JsonText } from './json-text';
export { contentDigest } from './digest';
export { isGrantPattern, matchesGrant, grantTerms, grantText } from './grant';
export type { Grant } from './grant';
export { parseContentType, isUtf8Charset, dataKindOf } from './media-type';
export type { DataKind } from './media-type';
export {
  EVENT_COLUMNS,
  EVENT_KEY,
  toStoredRow,
  envelopeOfRow,
  metaOfRow,
  storedEventJson,
  cloudEventJson,
  fromStoredRow,
} from './stored';
export type {
  StoredRow,
  StoredEvent,
  PipelineMeta,
  DeliveryMeta,
  ColumnSpec,
  ColumnKind,
} from './stored';
export { ATTR, CLOUDEVENTS_JSON, busMessageOf, decodeBusMessage } from './bus-message';
export type { DeadLetterReason, BusMessageIn, Decoded } from './bus-message';
export {
  STATS_INTERVALS,
  STATS_GROUPS,
  listParamsSchema,
  streamParamsSchema,
  getParamsSchema,
  statsParamsSchema,
  storedEventSchema,
  cloudEventSchema,
  eventPageSchema,
  statsResponseSchema,
  publishAcceptedSchema,
  CSV_COLUMNS,
  EXPORT_MEDIA_TYPES,
  CLOUDEVENTS_MEDIA_TYPES,
} from './api';
export type {
  StatsInterval,
  StatsGroup,
  ListParams,
  StreamParams,
  StatsParams,
  EventPage,
  StatsResponse,
  PublishAccepted,
} from './api';
