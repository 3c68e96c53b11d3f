import { eventJson, parseBusEvent, type Envelope } from './envelope';
import {
  FORBIDDEN_KEYS,
  asJsonText,
  eventDataTexts,
  forbiddenKeyIn,
  jsonTextOf,
  type JsonText,
} from './json-text';
import { LIMITS } from './limits';
import { dataKindOf, isUtf8Charset, parseContentType } from './media-type';
import { canonicalTime, nowTime } from './time';

/**
 * How events travel on Pub/Sub: Google's CloudEvents binding for Pub/Sub
 * (google-cloudevents, docs/spec/pubsub.md). The publisher sends structured mode (the message
 * data is the event in JSON format, `content-type: application/cloudevents+json`) with `ce-id`,
 * `ce-source` and `ce-type` beside it (§3.2.3 allows them), so subscribers can filter without
 * parsing, and its own attributes, so operators can trace a request end to end. The worker
 * reads both modes, whoever published the message.
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
  /** The name of the API key the publisher accepted the event with. */
  producer: 'eventpipe-producer',
  /** The URI of the schema version the publisher checked the event's data against, when the
   * event did not name one itself (docs/SCHEMAS.md): stored as its dataschema. */
  dataschema: 'eventpipe-dataschema',
  /** Set by a publisher that checked the event's data against the schema registry (whatever
   * the outcome it allowed): the worker does not check it again, so a schema or mode changed
   * since can never turn an accepted event into a dead letter. */
  schemasChecked: 'eventpipe-schemas-checked',
  /** Dead-letter attributes, added by the worker. */
  dlqReason: 'eventpipe-dlq-reason',
  dlqDetail: 'eventpipe-dlq-detail',
  dlqMessageId: 'eventpipe-dlq-message-id',
  dlqAt: 'eventpipe-dlq-at',
  /** On a conflicting duplicate: the digest of this event, and of the one stored under its
   * (source, id). */
  dlqDigest: 'eventpipe-dlq-digest',
  dlqStoredDigest: 'eventpipe-dlq-stored-digest',
} as const;

export const CLOUDEVENTS_JSON = 'application/cloudevents+json';
const CLOUDEVENTS_PREFIX = 'application/cloudevents';
const CE_PREFIX = 'ce-';

/** Bounded set of reasons a message is dead-lettered (also a metric label). */
export const DEAD_LETTER_REASONS = [
  'too-large',
  'invalid-encoding',
  'invalid-json',
  'schema-invalid',
  'data-schema-invalid',
  'not-a-cloudevent',
  'unsupported-format',
  'conflicting-duplicate',
  'store-rejected',
] as const;
export type DeadLetterReason = (typeof DEAD_LETTER_REASONS)[number];

/** The Pub/Sub message for one accepted event: structured mode, `data` as the producer sent it.
 * `time` travels only when the producer gave it; the worker fills in `receivedAt` otherwise. */
export function busMessageOf(
  event: Envelope,
  receivedAt: string,
  requestId?: string,
  traceparent?: string,
  producer?: string,
  dataschema?: string,
  schemasChecked = false,
): { data: Buffer; attributes: Record<string, string> } {
  const attributes: Record<string, string> = {
    [ATTR.contentType]: CLOUDEVENTS_JSON,
    [ATTR.ceId]: event.id,
    [ATTR.ceSource]: event.source,
    [ATTR.ceType]: event.type,
    [ATTR.receivedAt]: receivedAt,
  };
  if (requestId) attributes[ATTR.requestId] = requestId;
  if (traceparent) attributes[ATTR.traceparent] = traceparent;
  if (producer) attributes[ATTR.producer] = producer;
  if (dataschema) attributes[ATTR.dataschema] = dataschema;
  if (schemasChecked) attributes[ATTR.schemasChecked] = '1';
  return { data: Buffer.from(eventJson(event)), attributes };
}

/** A message as a subscriber (or the replay) sees it. */
export interface BusMessageIn {
  data: Buffer;
  attributes: Record<string, string>;
  publishTime: Date;
}

type Refusal = { ok: false; reason: DeadLetterReason; detail: string };
export type Decoded =
  | {
      ok: true;
      event: Envelope;
      receivedAt: string;
      producer: string | null;
      /** The schema version the publisher checked the data against (ATTR.dataschema). */
      dataschema: string | null;
    }
  | Refusal;
type Read = { ok: true; event: Envelope } | Refusal;

const refuse = (reason: DeadLetterReason, detail: string): Refusal => ({
  ok: false,
  reason,
  detail,
});

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * The worker's entry-point validation of one message, by the binding (§3): a `content-type`
 * attribute that starts with `application/cloudevents` is structured mode (only the JSON format
 * is read; another format is `unsupported-format`); otherwise a `ce-specversion` attribute is
 * binary mode (attributes from `ce-*`, data from the message data by its `content-type`);
 * anything else is `not-a-cloudevent`. A message is never read as something it does not say it
 * is. `time` absent: the receive time the publisher recorded, or the message's publish time.
 */
export function decodeBusMessage(message: BusMessageIn): Decoded {
  if (message.data.length > LIMITS.maxEventBytes) {
    return refuse(
      'too-large',
      `message is ${message.data.length} bytes; the limit is ${LIMITS.maxEventBytes}`,
    );
  }
  const contentType = message.attributes[ATTR.contentType];
  const { type, params } = parseContentType(contentType);
  let decoded: Read;
  if (type.startsWith(CLOUDEVENTS_PREFIX)) {
    if (type !== CLOUDEVENTS_JSON) {
      return refuse(
        'unsupported-format',
        `content-type ${type.slice(0, 100)} is not read; structured mode here is ${CLOUDEVENTS_JSON} (the Pub/Sub binding has no batch mode)`,
      );
    }
    const charset = params.find(([k]) => k === 'charset')?.[1];
    if (charset !== undefined && !isUtf8Charset(charset)) {
      return refuse('unsupported-format', 'the JSON event format is UTF-8 only');
    }
    decoded = structured(message.data);
  } else if (message.attributes[ATTR.ceSpecversion] !== undefined) {
    decoded = binary(message);
  } else {
    return refuse(
      'not-a-cloudevent',
      `neither structured mode (content-type ${CLOUDEVENTS_JSON}) nor binary mode (a ce-specversion attribute)`,
    );
  }
  if (!decoded.ok) return decoded;
  const size = Buffer.byteLength(eventJson(decoded.event));
  if (size > LIMITS.maxEventBytes) {
    return refuse('too-large', `event is ${size} bytes; the limit is ${LIMITS.maxEventBytes}`);
  }
  const received = canonicalTime(message.attributes[ATTR.receivedAt] ?? '');
  // A message published straight to the topic has no (or a bad) receive time: its publish time
  // stands in, so every stored row has one (and an event without `time` gets that).
  return {
    ...decoded,
    receivedAt: received ?? nowTime(message.publishTime),
    producer: producerOf(message.attributes[ATTR.producer]),
    dataschema: message.attributes[ATTR.dataschema] || null,
  };
}

/** The producer attribute, when it is a key name (what our publisher sets); anything else a
 * publisher with rights on the topic put there is not one, and is not kept. */
const producerOf = (value: string | undefined): string | null =>
  value !== undefined && /^[A-Za-z0-9._-]{1,64}$/.test(value) ? value : null;

function decodeText(bytes: Buffer): string | undefined {
  try {
    return utf8.decode(bytes);
  } catch {
    return undefined;
  }
}

/** Parsed JSON text, or the dead-letter reason it fails with. */
function parseJsonText(text: string): { ok: true; value: unknown } | Refusal {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    return { ok: false, reason: 'invalid-json', detail: (e as Error).message.slice(0, 200) };
  }
  const key = forbiddenKeyIn(value, text);
  if (key) return refuse('schema-invalid', `objects may not have the key "${key}"`);
  return { ok: true, value };
}

function validated(value: unknown, dataText: JsonText | undefined): Read {
  const parsed = parseBusEvent(value, dataText);
  if (!parsed.ok) {
    return refuse(
      'schema-invalid',
      parsed.issues.map((i) => `${i.pointer || '/'}: ${i.message}`).join('; '),
    );
  }
  return { ok: true, event: parsed.event };
}

/** Structured mode: the data is one event in the JSON format. */
function structured(data: Buffer): Read {
  const text = decodeText(data);
  if (text === undefined) return refuse('invalid-encoding', 'message data is not valid UTF-8');
  const json = parseJsonText(text);
  if (!json.ok) return json;
  if (typeof json.value !== 'object' || json.value === null || Array.isArray(json.value)) {
    return refuse('schema-invalid', '/: a structured-mode message holds one event object');
  }
  return validated(json.value, eventDataTexts(text)[0]);
}

/** Binary mode: `ce-<name>` attributes are the attributes, as they are (Pub/Sub attribute values
 * are strings: no percent-decoding here, unlike HTTP); `content-type` (or `ce-datacontenttype`)
 * is datacontenttype; the message data is the data. */
function binary(message: BusMessageIn): Read {
  const event: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(message.attributes)) {
    if (!key.startsWith(CE_PREFIX)) continue;
    const name = key.slice(CE_PREFIX.length);
    if (name === 'data' || name === 'data_base64') {
      return refuse('schema-invalid', `${key}: in binary mode the message data is the data`);
    }
    if (FORBIDDEN_KEYS.has(name)) {
      return refuse('schema-invalid', `${key}: attribute names may not be "${name}"`);
    }
    Object.defineProperty(event, name, { value, enumerable: true, writable: true });
  }
  const contentType = message.attributes[ATTR.contentType];
  const declared = event.datacontenttype as string | undefined;
  if (contentType !== undefined && declared !== undefined && declared !== contentType) {
    return refuse('schema-invalid', 'content-type and ce-datacontenttype differ');
  }
  if (contentType !== undefined) event.datacontenttype = contentType;
  const mediaType = event.datacontenttype as string | undefined;
  let dataText: JsonText | undefined;
  if (message.data.length > 0) {
    const kind = dataKindOf(mediaType);
    if (kind === 'bytes') event.data_base64 = message.data.toString('base64');
    else {
      const text = decodeText(message.data);
      if (text === undefined || kind === undefined) {
        return refuse('invalid-encoding', `data declared ${mediaType} is not UTF-8`);
      }
      if (kind === 'text') {
        event.data = text;
        dataText = jsonTextOf(text);
      } else {
        const json = parseJsonText(text);
        if (!json.ok) return json;
        event.data = json.value;
        dataText = asJsonText(text.trim()); // JSON.parse allowed only JSON whitespace around it
      }
    }
  }
  return validated(event, dataText);
}
