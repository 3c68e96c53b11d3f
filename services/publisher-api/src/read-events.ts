import type { IncomingMessage } from 'node:http';
import { errors } from '@eventpipe/platform';
import {
  CLOUDEVENTS_JSON,
  LIMITS,
  eventDataTexts,
  isUtf8Charset,
  parseContentType,
  parseInputEvents,
  type Envelope,
  type JsonText,
} from '@eventpipe/schema';
import { binaryModeEvent, binaryModeOf, headerOfPointer, type BodyKind } from './binary-mode';
import { parseJsonBody } from './json-body';

type Shape = 'one' | 'many' | 'either';

/** How a request carries its events, decided from its headers before the body is read. */
export type RequestMode = { shape: Shape } | { binary: BodyKind };

type Headers = Pick<IncomingMessage, 'headers' | 'headersDistinct'>;

/** Accepted request content types and the body shape each allows (binary mode aside). */
const MEDIA_TYPES: Record<string, Shape> = {
  'application/json': 'either',
  [CLOUDEVENTS_JSON]: 'one',
  'application/cloudevents-batch+json': 'many',
};

const ACCEPTED = `use one of ${Object.keys(MEDIA_TYPES).join(', ')}, or binary mode (a ce-specversion header and ce-* attribute headers, any Content-Type)`;

/** The request's mode, or the 415 it gets: checked before the body is read, so a wrong type
 * never costs a 5 MiB upload. */
export function requestModeOf(req: Headers): RequestMode {
  const binary = binaryModeOf(req);
  if (binary) return { binary };
  const header = req.headers['content-type'];
  if (!header) throw errors.unsupportedMediaType(`Content-Type is required; ${ACCEPTED}`);
  const { type, params } = parseContentType(header);
  const shape = MEDIA_TYPES[type];
  if (!shape) {
    throw errors.unsupportedMediaType(
      `Content-Type ${type.slice(0, 100)} is not accepted; ${ACCEPTED}`,
    );
  }
  if (params.some(([k, v]) => k === 'charset' && !isUtf8Charset(v))) {
    throw errors.unsupportedMediaType('only charset=utf-8 is accepted');
  }
  return { shape };
}

/**
 * The events of a request body, validated all or nothing, defaults filled in, each event's data
 * kept as the text it was written as (never re-serialized from the parsed value). Every problem
 * is a 4xx naming the index and the JSON Pointer (in binary mode, the header).
 */
export function readEvents(
  req: Headers,
  mode: RequestMode,
  body: Buffer,
): { events: Envelope[]; batch: boolean; parsedData?: unknown[] } {
  let value: unknown;
  let dataTexts: (JsonText | undefined)[];
  if ('binary' in mode) {
    const binary = binaryModeEvent(req, mode.binary, body);
    value = binary.event;
    dataTexts = [binary.dataText];
  } else {
    const json = parseJsonBody(body);
    value = json.value;
    dataTexts = eventDataTexts(json.text);
  }
  const shape = 'shape' in mode ? mode.shape : 'one'; // binary mode: one event
  if (shape === 'one' && (typeof value !== 'object' || value === null || Array.isArray(value))) {
    throw errors.validation(`${CLOUDEVENTS_JSON} bodies hold exactly one event object`);
  }
  if (shape === 'many' && !Array.isArray(value)) {
    throw errors.validation('application/cloudevents-batch+json bodies hold an array of events');
  }
  if (Array.isArray(value) && value.length > LIMITS.maxEventsPerRequest) {
    throw errors.tooLarge(
      `a request holds at most ${LIMITS.maxEventsPerRequest} events; got ${value.length}`,
    );
  }
  const parsed = parseInputEvents(value, { dataTexts });
  if (!parsed.ok) {
    throw errors.validation(
      `${new Set(parsed.issues.map((i) => i.index)).size} event(s) failed validation; nothing was published`,
      parsed.issues.slice(0, 100).map((i) => ({
        index: i.index,
        // In binary mode the attributes came from headers: name the header.
        pointer: 'binary' in mode ? headerOfPointer(i.pointer) : i.pointer,
        detail: i.message,
      })),
    );
  }
  // Each event's data as JSON.parse read it from the body, beside the text cut from the same
  // body (the last `data` member, as JSON.parse keeps): the schema check needs the value, and
  // parsing the text again cost 2.5% of the publisher's CPU with schemas (bench ingest-schema).
  // Binary mode builds its event from headers: its data is parsed where it is checked.
  const parsedData =
    'binary' in mode
      ? undefined
      : (Array.isArray(value) ? value : [value]).map((e) => (e as { data?: unknown }).data);
  return { events: parsed.events, batch: Array.isArray(value), parsedData };
}
