import { toWire, type Envelope } from './envelope';

/**
 * How an event travels on the bus: the message data is the CloudEvent in JSON format
 * (CloudEvents Pub/Sub binding, structured mode) and these attributes ride along, so
 * subscribers can filter without parsing and operators can trace a request end to end.
 */
export const ATTR = {
  contentType: 'content-type',
  ceId: 'ce-id',
  ceSource: 'ce-source',
  ceType: 'ce-type',
  ceSpecversion: 'ce-specversion',
  requestId: 'eventpipe-request-id',
  /** The W3C traceparent of the producer's request, when it sent one. */
  traceparent: 'eventpipe-traceparent',
  receivedAt: 'eventpipe-received-at',
  /** Dead-letter attributes, added by the worker. */
  dlqReason: 'eventpipe-dlq-reason',
  dlqDetail: 'eventpipe-dlq-detail',
  dlqMessageId: 'eventpipe-dlq-message-id',
  dlqAt: 'eventpipe-dlq-at',
} as const;

export const CLOUDEVENTS_JSON = 'application/cloudevents+json';

/** Bounded set of reasons a message is dead-lettered (also a metric label). */
export const DEAD_LETTER_REASONS = [
  'too-large',
  'invalid-encoding',
  'invalid-json',
  'schema-invalid',
  'store-rejected',
] as const;
export type DeadLetterReason = (typeof DEAD_LETTER_REASONS)[number];

/** The Pub/Sub message for one accepted event: its JSON format as data, the attributes above. */
export function busMessageOf(
  event: Envelope,
  receivedAt: string,
  requestId?: string,
  traceparent?: string,
): { data: Buffer; attributes: Record<string, string> } {
  const attributes: Record<string, string> = {
    [ATTR.contentType]: CLOUDEVENTS_JSON,
    [ATTR.ceId]: event.id,
    [ATTR.ceSource]: event.source,
    [ATTR.ceType]: event.type,
    [ATTR.ceSpecversion]: event.specversion,
    [ATTR.receivedAt]: receivedAt,
  };
  if (requestId) attributes[ATTR.requestId] = requestId;
  if (traceparent) attributes[ATTR.traceparent] = traceparent;
  return { data: Buffer.from(JSON.stringify(toWire(event))), attributes };
}
