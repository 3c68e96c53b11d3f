import { AppError, errors } from '@eventpipe/platform';
import { LIMITS, forbiddenKeyIn } from '@eventpipe/schema';

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Deepest nesting of arrays and objects in JSON text, counted without parsing it. Bounds the
 * recursion of what later walks the value (validation, JSON.stringify). */
export function jsonDepth(text: string, stopAt: number): number {
  let depth = 0;
  let max = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 92 /* \ */) i++;
      else if (c === 34 /* " */) inString = false;
    } else if (c === 34) inString = true;
    else if (c === 123 /* { */ || c === 91 /* [ */) {
      depth++;
      if (depth > max) {
        max = depth;
        if (max > stopAt) return max;
      }
    } else if (c === 125 || c === 93) depth--;
  }
  return max;
}

/** UTF-8 bytes → text; bytes that are not UTF-8 are a 400 invalid-encoding saying `detail`. */
export function decodeUtf8(body: Buffer, detail: string): string {
  try {
    return utf8.decode(body);
  } catch {
    throw new AppError('invalid-encoding', { detail });
  }
}

/** The 400 for an object key (or attribute name) that reaches for a prototype. */
export const forbiddenKeyError = (detail: string): AppError =>
  new AppError('forbidden-key', { detail });

/** UTF-8 bytes → JSON value and the text it was read from, with each failure its own 400. */
export function parseJsonBody(body: Buffer): { value: unknown; text: string } {
  if (body.length === 0) throw errors.validation('request body is empty');
  const text = decodeUtf8(body, 'request bodies must be UTF-8 encoded JSON');
  if (jsonDepth(text, LIMITS.maxJsonDepth) > LIMITS.maxJsonDepth) {
    throw new AppError('json-too-deep', {
      detail: `JSON may nest at most ${LIMITS.maxJsonDepth} levels`,
    });
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw errors.badJson((e as Error).message.slice(0, 200));
  }
  // Keys that reach for an object's prototype have no place in an event; refusing them means no
  // code further on (ours or a consumer's) can be tricked by them. Checked on the parsed value,
  // so an escaped spelling ("\u005f_proto__") is caught too.
  const key = forbiddenKeyIn(value, text);
  if (key) throw forbiddenKeyError(`objects may not have the key "${key}"`);
  return { value, text };
}
