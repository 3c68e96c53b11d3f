import { z } from 'zod';
import { jsonTextOf, type JsonText } from './json-text';
import { LIMITS } from './limits';
import { parseRfc3339 } from './time';
import { uuidv7 } from './uuid';

/** Attribute names CloudEvents 1.0 (JSON format) defines; every other top-level key is an extension. */
export const CONTEXT_ATTRIBUTES = [
  'specversion',
  'id',
  'source',
  'type',
  'subject',
  'time',
  'datacontenttype',
  'dataschema',
  'data',
  'data_base64',
] as const;
const KNOWN = new Set<string>(CONTEXT_ATTRIBUTES);

export type ExtensionValue = string | number | boolean;

/** The CloudEvents context attributes and data of an event, as its producer sent them. */
export interface CoreAttributes {
  specversion: '1.0';
  id: string;
  source: string;
  type: string;
  /** RFC 3339, exactly as the producer wrote it; absent when it left `time` out (the store then
   * records when the event was received). */
  time?: string;
  subject?: string;
  datacontenttype?: string;
  dataschema?: string;
  /** The data as JSON text, exactly as the producer wrote it (`null` is an explicit null). */
  data?: JsonText;
  data_base64?: string;
}

/** An event with its id and specversion. Extensions are kept apart from the core attributes
 * here; in the JSON format they stand beside them, see `eventJson`. */
export interface Envelope extends CoreAttributes {
  extensions: Record<string, ExtensionValue>;
}

/** The CloudEvents JSON format object: core attributes and extensions side by side, data parsed. */
export interface WireEvent extends Omit<CoreAttributes, 'data'> {
  data?: unknown;
  /** Extension attributes. */
  [extension: string]: unknown;
}

// CloudEvents' String type excludes the C0 and C1 control characters.
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;
// Base64 (RFC 4648 §4, padded) checked without a regular expression: a pattern with a repeated
// group backtracks once per group, and a 5 MB value overflowed the stack (a 500 for bad input).
const BASE64_ALPHABET = /^[A-Za-z0-9+/]*$/;
export function isBase64(value: string): boolean {
  if (value.length % 4 !== 0) return false;
  const pad = value.endsWith('==') ? 2 : value.endsWith('=') ? 1 : 0;
  return BASE64_ALPHABET.test(value.slice(0, value.length - pad));
}
const INT32_MIN = -(2 ** 31);
const INT32_MAX = 2 ** 31 - 1;

const attr = (name: string) =>
  z
    .string({ error: `${name} must be a string` })
    .min(1, { error: `${name} must not be empty` })
    .refine((v) => Buffer.byteLength(v) <= LIMITS.maxAttributeBytes, {
      error: `${name} is longer than ${LIMITS.maxAttributeBytes} bytes (UTF-8)`,
    })
    .refine((v) => !CONTROL.test(v), { error: `${name} must not contain control characters` });

const time = z
  .string({ error: 'time must be a string' })
  .refine((v) => parseRfc3339(v) !== undefined, {
    error:
      'time must be an RFC 3339 date-time from 0001-01-01T00:00:00Z to 9999-12-31T23:59:59.999999Z once in UTC, e.g. 2026-11-28T05:13:09.123Z',
  });

const optional = <T extends z.ZodType>(t: T) => t.nullish();

function envelopeSchema(complete: boolean) {
  const id = attr('id');
  const specversion = z.literal('1.0', { error: 'specversion must be "1.0"' });
  return z
    .looseObject({
      specversion: complete ? specversion : optional(specversion),
      id: complete ? id : optional(id),
      source: attr('source'),
      type: attr('type'),
      time: optional(time),
      subject: optional(attr('subject')),
      datacontenttype: optional(attr('datacontenttype')),
      dataschema: optional(
        attr('dataschema').refine((v) => URL.canParse(v), {
          error: 'dataschema must be an absolute URI',
        }),
      ),
      data: z.unknown().optional(),
      data_base64: optional(
        z
          .string({ error: 'data_base64 must be a string' })
          .refine(isBase64, { error: 'data_base64 must be base64 (RFC 4648, padded)' }),
      ),
    })
    .superRefine((event, ctx) => {
      // An explicit `"data": null` is data (JSON format §3.1.1), so it excludes data_base64 too.
      if (event.data !== undefined && event.data_base64 != null) {
        ctx.addIssue({
          code: 'custom',
          path: ['data_base64'],
          message: 'data and data_base64 are mutually exclusive',
        });
      }
      let extensions = 0;
      for (const [key, value] of Object.entries(event)) {
        if (KNOWN.has(key)) continue;
        extensions += 1;
        if (!LIMITS.extensionNamePattern.test(key)) {
          ctx.addIssue({
            code: 'custom',
            path: [key],
            message: `unknown attribute "${key.slice(0, 40)}": extension names are lower-case a-z and 0-9, at most ${LIMITS.maxExtensionNameLength} characters`,
          });
        } else if (value === null) {
          continue; // JSON format: null means absent.
        } else if (typeof value === 'string') {
          if (Buffer.byteLength(value) > LIMITS.maxAttributeBytes || CONTROL.test(value)) {
            ctx.addIssue({
              code: 'custom',
              path: [key],
              message: `extension ${key} must be at most ${LIMITS.maxAttributeBytes} bytes (UTF-8), without control characters`,
            });
          }
        } else if (typeof value === 'number') {
          if (!Number.isInteger(value) || value < INT32_MIN || value > INT32_MAX) {
            ctx.addIssue({
              code: 'custom',
              path: [key],
              message: `extension ${key} must be a 32-bit integer when numeric`,
            });
          }
        } else if (typeof value !== 'boolean') {
          ctx.addIssue({
            code: 'custom',
            path: [key],
            message: `extension ${key} must be a string, integer or boolean`,
          });
        }
      }
      if (extensions > LIMITS.maxExtensions) {
        ctx.addIssue({
          code: 'custom',
          path: [],
          message: `at most ${LIMITS.maxExtensions} extension attributes are allowed`,
        });
      }
    });
}

/** What a producer may send: id, specversion and time may be left out. */
export const inputEventSchema = envelopeSchema(false);
/** What travels on the bus: id and specversion present (time stays optional: absent, the worker
 * takes the receive time, or the publish time of a message that did not pass the publisher). */
export const busEventSchema = envelopeSchema(true);

export interface ValidationIssue {
  /** Index of the event in the request body (0 for a single event). */
  index: number;
  /** JSON Pointer into the request body, e.g. "/3/type". */
  pointer: string;
  message: string;
}

const pointerOf = (prefix: string, path: readonly PropertyKey[]) =>
  prefix + path.map((p) => '/' + String(p).replaceAll('~', '~0').replaceAll('/', '~1')).join('');

function issuesOf(error: z.ZodError, index: number, prefix: string): ValidationIssue[] {
  return error.issues.map((i) => ({
    index,
    pointer: pointerOf(prefix, i.path),
    message:
      i.code === 'invalid_type' && i.path.length === 0 ? 'event must be a JSON object' : i.message,
  }));
}

function toEnvelope(
  parsed: Record<string, unknown>,
  dataText: JsonText | undefined,
  newId: () => string,
): Envelope {
  const extensions: Record<string, ExtensionValue> = {};
  for (const [key, value] of Object.entries(parsed)) {
    if (!KNOWN.has(key) && value != null) extensions[key] = value as ExtensionValue;
  }
  const env: Envelope = {
    specversion: '1.0',
    id: (parsed.id as string | null | undefined) ?? newId(),
    source: parsed.source as string,
    type: parsed.type as string,
    extensions,
  };
  for (const key of ['time', 'subject', 'datacontenttype', 'dataschema', 'data_base64'] as const) {
    const v = parsed[key];
    if (v != null) env[key] = v as string;
  }
  // The text as written when the caller cut it out of the body; JSON.stringify of the parsed
  // value only where there was no text (an object built in code).
  if (parsed.data !== undefined) env.data = dataText ?? jsonTextOf(parsed.data);
  return env;
}

export type ParseResult =
  { ok: true; events: Envelope[] } | { ok: false; issues: ValidationIssue[] };

/**
 * Validates what a producer sent (one event, or an array of them, maybe empty) and fills in the
 * defaults: a new UUIDv7 id and specversion "1.0". All or nothing: any issue fails all.
 * `dataTexts[i]` is the exact text of event i's `data` (see `eventDataTexts`).
 */
export function parseInputEvents(
  body: unknown,
  opts: { newId?: () => string; dataTexts?: readonly (JsonText | undefined)[] } = {},
): ParseResult {
  const list = Array.isArray(body) ? body : [body];
  const prefix = (i: number) => (Array.isArray(body) ? `/${i}` : '');
  const issues: ValidationIssue[] = [];
  const events: Envelope[] = [];
  const newId = opts.newId ?? (() => uuidv7());
  list.forEach((item, index) => {
    const r = inputEventSchema.safeParse(item);
    if (!r.success) issues.push(...issuesOf(r.error, index, prefix(index)));
    else events.push(toEnvelope(r.data, opts.dataTexts?.[index], newId));
  });
  return issues.length ? { ok: false, issues } : { ok: true, events };
}

/** Validates one event as read from the bus (id and specversion required). */
export function parseBusEvent(
  value: unknown,
  dataText: JsonText | undefined,
): { ok: true; event: Envelope } | { ok: false; issues: ValidationIssue[] } {
  const r = busEventSchema.safeParse(value);
  if (!r.success) return { ok: false, issues: issuesOf(r.error, 0, '') };
  return { ok: true, event: toEnvelope(r.data, dataText, uuidv7) };
}

/** The CloudEvents JSON format text of an envelope: the core attributes in spec order, the
 * extensions beside them, and `data` last as the text it was sent as (never re-serialized). */
export function eventJson(env: Envelope): string {
  let out = '{';
  for (const key of ['specversion', 'id', 'source', 'type', 'time', 'subject'] as const) {
    const v = env[key];
    if (v !== undefined) out += `${out.length > 1 ? ',' : ''}"${key}":${JSON.stringify(v)}`;
  }
  for (const key of ['datacontenttype', 'dataschema', 'data_base64'] as const) {
    const v = env[key];
    if (v !== undefined) out += `,"${key}":${JSON.stringify(v)}`;
  }
  const extensions = JSON.stringify(env.extensions);
  if (extensions.length > 2) out += `,${extensions.slice(1, -1)}`;
  return env.data === undefined ? `${out}}` : `${out},"data":${env.data}}`;
}
