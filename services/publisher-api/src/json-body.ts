import { AppError, errors } from '@eventpipe/platform';
import { LIMITS } from '@eventpipe/schema';

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
    throw new AppError('invalid-encoding', 400, 'Body is not valid UTF-8', { detail });
  }
}

/** The 400 for an object key (or attribute name) that reaches for a prototype. */
export const forbiddenKeyError = (detail: string): AppError =>
  new AppError('forbidden-key', 400, 'Forbidden object key', { detail });

/** Keys that reach for an object's prototype: refused in bodies and as attribute names. */
export const FORBIDDEN_KEYS: ReadonlySet<string> = new Set([
  '__proto__',
  'constructor',
  'prototype',
]);

/** UTF-8 bytes → JSON value, with each failure its own 400. */
export function parseJsonBody(body: Buffer): unknown {
  if (body.length === 0) throw errors.validation('request body is empty');
  const text = decodeUtf8(body, 'request bodies must be UTF-8 encoded JSON');
  if (jsonDepth(text, LIMITS.maxJsonDepth) > LIMITS.maxJsonDepth) {
    throw new AppError('json-too-deep', 400, 'JSON nesting too deep', {
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
  // code further on (ours or a consumer's) can be tricked by them. The walk runs only when the
  // text holds one of the names at all.
  if (FORBIDDEN_TEXT.test(text)) {
    const key = forbiddenKey(value);
    if (key) throw forbiddenKeyError(`objects may not have the key "${key}"`);
  }
  return value;
}

const FORBIDDEN_TEXT = /"(__proto__|constructor|prototype)"/;

function forbiddenKey(value: unknown): string | undefined {
  const stack: unknown[] = [value];
  while (stack.length) {
    const v = stack.pop();
    if (v === null || typeof v !== 'object') continue;
    if (Array.isArray(v)) stack.push(...(v as unknown[]));
    else {
      for (const k of Object.keys(v)) {
        if (FORBIDDEN_KEYS.has(k)) return k;
        stack.push((v as Record<string, unknown>)[k]);
      }
    }
  }
  return undefined;
}
