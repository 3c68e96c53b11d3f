export { EventpipeClient, EventpipeError } from './client';
export type {
  ClientOptions,
  EventInput,
  EventFilter,
  ListOptions,
  StatsOptions,
  ExportOptions,
  Problem,
} from './client';
export type { StoredEvent, EventPage, StatsResponse, PublishAccepted } from '@eventpipe/schema';
