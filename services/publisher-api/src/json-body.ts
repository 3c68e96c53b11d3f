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

/** UTF-8 bytes → JSON value, with each failure its own 400. */
export function parseJsonBody(body: Buffer): unknown {
  if (body.length === 0) throw errors.validation('request body is empty');
  let text: string;
  try {
    text = utf8.decode(body);
  } catch {
    throw new AppError('invalid-encoding', 400, 'Body is not valid UTF-8', {
      detail: 'request bodies must be UTF-8 encoded JSON',
    });
  }
  if (jsonDepth(text, LIMITS.maxJsonDepth) > LIMITS.maxJsonDepth) {
    throw new AppError('json-too-deep', 400, 'JSON nesting too deep', {
      detail: `JSON may nest at most ${LIMITS.maxJsonDepth} levels`,
    });
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw errors.badJson((e as Error).message.slice(0, 200));
  }
}
