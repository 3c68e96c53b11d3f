import { contentDigest } from './digest';
import type { Envelope, ExtensionValue, WireEvent } from './envelope';
import { parseJson, type JsonText } from './json-text';
import { canonicalTime } from './time';

/** Pipeline metadata attached to every stored event. */
export interface PipelineMeta {
  /** When the publisher API received the request. */
  receivedAt: string;
  /** When Pub/Sub (or the in-process bus) accepted the message. */
  publishedAt: string;
  /** When the store committed the row. */
  storedAt: string;
  /** The bus message id of the delivery that was stored. */
  messageId: string;
  /** The name of the API key that published the event; null when the publisher ran without
   * keys, or the message was published to the topic by something else. */
  producer: string | null;
}

/** The metadata a delivery brings to the store (the store adds storedAt; producer may be left
 * out: no key). */
export type DeliveryMeta = Omit<PipelineMeta, 'storedAt' | 'producer'> & {
  producer?: string | null;
  /** The schema version the data was checked against, stored as dataschema when the event names
   * none. Not part of the content digest: what the producer sent is. */
  dataschema?: string | null;
};

/** What the query API returns: the CloudEvent (JSON format) plus the pipeline metadata. The
 * metadata keys are camelCase, so they cannot collide with extension names (lower-case only). */
export type StoredEvent = WireEvent & { time: string } & PipelineMeta;

/** One row as both stores hold it. Times are canonical RFC 3339 strings; `data` and
 * `extensions` are JSON text. */
export interface StoredRow {
  id: string;
  source: string;
  type: string;
  specversion: string;
  /** The event time, canonical: what filters, pages and partitions use. */
  time: string;
  subject: string | null;
  datacontenttype: string | null;
  dataschema: string | null;
  /** The data's JSON text exactly as the producer sent it. */
  data: JsonText | null;
  data_base64: string | null;
  extensions: string;
  received_at: string;
  published_at: string;
  stored_at: string;
  message_id: string;
  /** `time` exactly as the producer wrote it; null when it left time out. */
  time_text: string | null;
  /** The content digest (see contentDigest); null on rows stored before digests were kept. */
  digest: string | null;
  /** The name of the API key that published the event (PipelineMeta.producer). */
  producer: string | null;
}

export type ColumnKind = 'string' | 'timestamp' | 'json';
export interface ColumnSpec {
  name: keyof StoredRow;
  kind: ColumnKind;
  nullable: boolean;
  description: string;
}

// The mapped type makes the compiler reject a column list that misses or invents a StoredRow key.
// Columns added after the first release come last, where ALTER TABLE ADD COLUMN puts them.
const COLUMN_MAP: { [K in keyof StoredRow]-?: Omit<ColumnSpec, 'name'> } = {
  id: { kind: 'string', nullable: false, description: 'CloudEvents id; unique per source' },
  source: { kind: 'string', nullable: false, description: 'CloudEvents source (URI-reference)' },
  type: { kind: 'string', nullable: false, description: 'CloudEvents type' },
  specversion: { kind: 'string', nullable: false, description: 'CloudEvents spec version ("1.0")' },
  time: { kind: 'timestamp', nullable: false, description: 'Event time (partitioning column)' },
  subject: { kind: 'string', nullable: true, description: 'CloudEvents subject' },
  datacontenttype: { kind: 'string', nullable: true, description: 'Media type of data' },
  dataschema: { kind: 'string', nullable: true, description: 'URI of the schema data adheres to' },
  data: { kind: 'json', nullable: true, description: 'Event payload (JSON)' },
  data_base64: { kind: 'string', nullable: true, description: 'Binary payload, base64' },
  extensions: { kind: 'json', nullable: false, description: 'Extension attributes (JSON object)' },
  received_at: { kind: 'timestamp', nullable: false, description: 'Publisher receive time' },
  published_at: { kind: 'timestamp', nullable: false, description: 'Bus publish time' },
  stored_at: { kind: 'timestamp', nullable: false, description: 'Store commit time' },
  message_id: { kind: 'string', nullable: false, description: 'Bus message id' },
  time_text: {
    kind: 'string',
    nullable: true,
    description: 'Event time exactly as the producer wrote it; NULL when it left time out',
  },
  digest: {
    kind: 'string',
    nullable: true,
    description: 'SHA-256 content digest: tells a resent event from a different one with its id',
  },
  producer: {
    kind: 'string',
    nullable: true,
    description: 'Name of the API key that published the event; NULL without keys',
  },
};

/** The stored columns, in table order. Both stores derive their DDL from this list. */
export const EVENT_COLUMNS: readonly ColumnSpec[] = Object.entries(COLUMN_MAP).map(
  ([name, spec]) => ({ name: name as keyof StoredRow, ...spec }),
);

/** The dedup key, as CloudEvents defines event identity. */
export const EVENT_KEY = ['source', 'id'] as const;

/** The row a store writes for one event. An event sent without `time` gets the receive time. */
export function toStoredRow(env: Envelope, meta: DeliveryMeta, storedAt: string): StoredRow {
  return {
    id: env.id,
    source: env.source,
    type: env.type,
    specversion: env.specversion,
    time: env.time !== undefined ? canonicalTime(env.time)! : meta.receivedAt,
    subject: env.subject ?? null,
    datacontenttype: env.datacontenttype ?? null,
    dataschema: env.dataschema ?? meta.dataschema ?? null,
    data: env.data ?? null,
    data_base64: env.data_base64 ?? null,
    extensions: JSON.stringify(env.extensions),
    received_at: meta.receivedAt,
    published_at: meta.publishedAt,
    stored_at: storedAt,
    message_id: meta.messageId,
    time_text: env.time ?? null,
    digest: contentDigest(env),
    producer: meta.producer ?? null,
  };
}

/** The event a stored row holds, `time` as it was sent (or the receive time it was given). */
export function envelopeOfRow(row: StoredRow): Envelope {
  const env: Envelope = {
    specversion: '1.0',
    id: row.id,
    source: row.source,
    type: row.type,
    time: row.time_text ?? row.time,
    extensions: JSON.parse(row.extensions) as Record<string, ExtensionValue>,
  };
  if (row.subject !== null) env.subject = row.subject;
  if (row.datacontenttype !== null) env.datacontenttype = row.datacontenttype;
  if (row.dataschema !== null) env.dataschema = row.dataschema;
  if (row.data !== null) env.data = row.data;
  if (row.data_base64 !== null) env.data_base64 = row.data_base64;
  return env;
}

/** The pipeline metadata of a stored row. */
export const metaOfRow = (row: StoredRow): PipelineMeta => ({
  receivedAt: row.received_at,
  publishedAt: row.published_at,
  storedAt: row.stored_at,
  messageId: row.message_id,
  producer: row.producer,
});

/**
 * The JSON text of a stored row: its attributes, extensions beside them, the pipeline metadata
 * when `meta`, and `data` last, as the text it was sent as. Written straight from the row's
 * columns (the extensions column is JSON text eventpipe wrote), with no object built on the
 * way: an export serializes every row it sends. Without `meta`, the text
 * `eventJson(envelopeOfRow(row))` gives.
 */
function rowJson(row: StoredRow, meta: boolean): string {
  let out = `{"specversion":${JSON.stringify(row.specversion)},"id":${JSON.stringify(row.id)},"source":${JSON.stringify(row.source)},"type":${JSON.stringify(row.type)},"time":${JSON.stringify(row.time_text ?? row.time)}`;
  if (row.subject !== null) out += `,"subject":${JSON.stringify(row.subject)}`;
  if (row.datacontenttype !== null) {
    out += `,"datacontenttype":${JSON.stringify(row.datacontenttype)}`;
  }
  if (row.dataschema !== null) out += `,"dataschema":${JSON.stringify(row.dataschema)}`;
  if (row.data_base64 !== null) out += `,"data_base64":${JSON.stringify(row.data_base64)}`;
  if (row.extensions.length > 2) out += `,${row.extensions.slice(1, -1)}`;
  if (meta) {
    out += `,"receivedAt":"${row.received_at}","publishedAt":"${row.published_at}","storedAt":"${row.stored_at}","messageId":${JSON.stringify(row.message_id)},"producer":${JSON.stringify(row.producer ?? null)}`;
  }
  return row.data === null ? `${out}}` : `${out},"data":${row.data}}`;
}

/** A stored event as the query API's JSON shape: the CloudEvent (data as sent) with the
 * pipeline metadata beside its attributes. */
export const storedEventJson = (row: StoredRow): string => rowJson(row, true);

/** A stored event as a pure CloudEvent (JSON format): attributes and data, nothing else. */
export const cloudEventJson = (row: StoredRow): string => rowJson(row, false);

/** The event a caller sees for a stored row, parsed; numbers in `data` that a double would
 * change are JsonNumbers (see parseJson). */
export function fromStoredRow(row: StoredRow): StoredEvent {
  return parseJson(storedEventJson(row)) as StoredEvent;
}
