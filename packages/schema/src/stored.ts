import type { Envelope, ExtensionValue, WireEvent } from './envelope';
import { toWire } from './envelope';

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
}

/** What the query API returns: the CloudEvent (JSON format) plus the pipeline metadata. The
 * metadata keys are camelCase, so they cannot collide with extension names (lower-case only). */
export type StoredEvent = WireEvent & PipelineMeta;

/** One row as both stores hold it. Times are canonical RFC 3339 strings; `data` and
 * `extensions` are JSON text. */
export interface StoredRow {
  id: string;
  source: string;
  type: string;
  specversion: string;
  time: string;
  subject: string | null;
  datacontenttype: string | null;
  dataschema: string | null;
  data: string | null;
  data_base64: string | null;
  extensions: string;
  received_at: string;
  published_at: string;
  stored_at: string;
  message_id: string;
}

export type ColumnKind = 'string' | 'timestamp' | 'json';
export interface ColumnSpec {
  name: keyof StoredRow;
  kind: ColumnKind;
  nullable: boolean;
  description: string;
}

// The mapped type makes the compiler reject a column list that misses or invents a StoredRow key.
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
};

/** The stored columns, in table order. Both stores derive their DDL from this list. */
export const EVENT_COLUMNS: readonly ColumnSpec[] = Object.entries(COLUMN_MAP).map(
  ([name, spec]) => ({ name: name as keyof StoredRow, ...spec }),
);

/** The dedup key, as CloudEvents defines event identity. */
export const EVENT_KEY = ['source', 'id'] as const;

const DUCKDB_TYPES: Record<ColumnKind, string> = {
  string: 'VARCHAR',
  // TIMESTAMP (not TIMESTAMPTZ): values are UTC by construction; microsecond precision.
  timestamp: 'TIMESTAMP',
  json: 'JSON',
};

/** CREATE TABLE statement for DuckDB, derived from EVENT_COLUMNS. */
export function duckdbCreateTable(table: string): string {
  const cols = EVENT_COLUMNS.map(
    (c) => `  ${c.name} ${DUCKDB_TYPES[c.kind]}${c.nullable ? '' : ' NOT NULL'}`,
  );
  return `CREATE TABLE IF NOT EXISTS ${table} (\n${cols.join(',\n')},\n  PRIMARY KEY (${EVENT_KEY.join(', ')})\n)`;
}

/** BigQuery table schema fields, derived from EVENT_COLUMNS. */
export function bigQuerySchemaFields(): {
  name: string;
  type: string;
  mode: string;
  description: string;
}[] {
  const types: Record<ColumnKind, string> = {
    string: 'STRING',
    timestamp: 'TIMESTAMP',
    json: 'JSON',
  };
  return EVENT_COLUMNS.map((c) => ({
    name: c.name,
    type: types[c.kind],
    mode: c.nullable ? 'NULLABLE' : 'REQUIRED',
    description: c.description,
  }));
}

/** The row a store writes for one event. */
export function toStoredRow(
  env: Envelope,
  meta: Omit<PipelineMeta, 'storedAt'>,
  storedAt: string,
): StoredRow {
  return {
    id: env.id,
    source: env.source,
    type: env.type,
    specversion: env.specversion,
    time: env.time,
    subject: env.subject ?? null,
    datacontenttype: env.datacontenttype ?? null,
    dataschema: env.dataschema ?? null,
    data: env.data === undefined ? null : JSON.stringify(env.data),
    data_base64: env.data_base64 ?? null,
    extensions: JSON.stringify(env.extensions),
    received_at: meta.receivedAt,
    published_at: meta.publishedAt,
    stored_at: storedAt,
    message_id: meta.messageId,
  };
}

/** The event a caller sees for a stored row. */
export function fromStoredRow(row: StoredRow): StoredEvent {
  const env: Envelope = {
    specversion: '1.0',
    id: row.id,
    source: row.source,
    type: row.type,
    time: row.time,
    extensions: JSON.parse(row.extensions) as Record<string, ExtensionValue>,
  };
  if (row.subject !== null) env.subject = row.subject;
  if (row.datacontenttype !== null) env.datacontenttype = row.datacontenttype;
  if (row.dataschema !== null) env.dataschema = row.dataschema;
  if (row.data !== null) env.data = JSON.parse(row.data);
  if (row.data_base64 !== null) env.data_base64 = row.data_base64;
  return {
    ...toWire(env),
    receivedAt: row.received_at,
    publishedAt: row.published_at,
    storedAt: row.stored_at,
    messageId: row.message_id,
  };
}
