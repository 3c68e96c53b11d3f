import { z } from 'zod';
import { LIMITS } from './limits';
import { canonicalTime, nowTime, parseRfc3339 } from './time';
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

/** The CloudEvents context attributes and data of a complete event. */
export interface CoreAttributes {
  specversion: '1.0';
  id: string;
  source: string;
  type: string;
  /** Canonical RFC 3339: UTC, 'Z', six fraction digits. */
  time: string;
  subject?: string;
  datacontenttype?: string;
  dataschema?: string;
  data?: unknown;
  data_base64?: string;
}

/** A complete, normalized CloudEvent. Extensions are kept apart from the core attributes here;
 * on the wire (JSON format) they stand beside them, see `toWire`. */
export interface Envelope extends CoreAttributes {
  extensions: Record<string, ExtensionValue>;
}

/** The CloudEvents JSON format object: core attributes and extensions side by side. */
export interface WireEvent extends CoreAttributes {
  /** Extension attributes. */
  [extension: string]: unknown;
}

// CloudEvents' String type excludes the C0 and C1 control characters.
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
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
    error: 'time must be an RFC 3339 date-time, e.g. 2026-11-28T05:13:09.123Z',
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
      time: complete ? time : optional(time),
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
          .regex(BASE64, { error: 'data_base64 must be base64' }),
      ),
    })
    .superRefine((event, ctx) => {
      if (event.data != null && event.data_base64 != null) {
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
            message: `unknown attribute "${key.slice(0, 40)}": extension names are lower-case a-z and 0-9, at most 20 characters`,
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
/** What travels on the bus and is stored: every required attribute present. */
export const completeEventSchema = envelopeSchema(true);

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
  defaults: { now: string; id: () => string },
): Envelope {
  const extensions: Record<string, ExtensionValue> = {};
  for (const [key, value] of Object.entries(parsed)) {
    if (!KNOWN.has(key) && value != null) extensions[key] = value as ExtensionValue;
  }
  const env: Envelope = {
    specversion: '1.0',
    id: (parsed.id as string | null | undefined) ?? defaults.id(),
    source: parsed.source as string,
    type: parsed.type as string,
    time: parsed.time != null ? canonicalTime(parsed.time as string)! : defaults.now,
    extensions,
  };
  for (const key of ['subject', 'datacontenttype', 'dataschema', 'data_base64'] as const) {
    const v = parsed[key];
    if (v != null) env[key] = v as string;
  }
  if (parsed.data != null) env.data = parsed.data;
  return env;
}

export type ParseResult =
  { ok: true; events: Envelope[] } | { ok: false; issues: ValidationIssue[] };

/**
 * Validates what a producer sent (one event, or an array of them) and fills in the defaults:
 * a new UUIDv7 id, specversion "1.0", and the receive time. All or nothing: any issue fails all.
 */
export function parseInputEvents(
  body: unknown,
  opts: { receivedAt: string; newId?: () => string },
): ParseResult {
  if (Array.isArray(body) && body.length === 0) {
    return { ok: false, issues: [{ index: 0, pointer: '', message: 'the event array is empty' }] };
  }
  const list = Array.isArray(body) ? body : [body];
  const prefix = (i: number) => (Array.isArray(body) ? `/${i}` : '');
  const issues: ValidationIssue[] = [];
  const events: Envelope[] = [];
  const newId = opts.newId ?? (() => uuidv7());
  list.forEach((item, index) => {
    const r = inputEventSchema.safeParse(item);
    if (!r.success) issues.push(...issuesOf(r.error, index, prefix(index)));
    else events.push(toEnvelope(r.data, { now: opts.receivedAt, id: newId }));
  });
  return issues.length ? { ok: false, issues } : { ok: true, events };
}

/** Validates one complete event as read from the bus. */
export function parseCompleteEvent(
  value: unknown,
): { ok: true; event: Envelope } | { ok: false; issues: ValidationIssue[] } {
  const r = completeEventSchema.safeParse(value);
  if (!r.success) return { ok: false, issues: issuesOf(r.error, 0, '') };
  return { ok: true, event: toEnvelope(r.data, { now: nowTime(), id: uuidv7 }) };
}

/** The CloudEvents JSON format of an envelope. */
export function toWire(env: Envelope): WireEvent {
  const { extensions, ...core } = env;
  return { ...core, ...extensions };
}

/** UTF-8 size of an event's JSON format, as it is published and limited. */
export function wireBytes(env: Envelope): number {
  return Buffer.byteLength(JSON.stringify(toWire(env)));
}
