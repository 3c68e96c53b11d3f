import { createHash } from 'node:crypto';
import type { Envelope } from './envelope';
import { minifyJson } from './json-text';

/**
 * The content digest of an event: SHA-256 (hex) over what its producer sent. Two deliveries of one
 * (source, id) with the same digest are one event sent twice (a retry, a redelivery); with
 * different digests they are two different events that share an id, a conflict.
 *
 * What it covers: every attribute the producer set (extensions included) with its value, `time`
 * as written and only when written (a retry that leaves `time` out is received at another
 * moment, yet is the same event), and `data` as written, minus whitespace between JSON tokens (a
 * retry may lay the same JSON out differently), or `data_base64`. The attributes are hashed as
 * a JSON array of [name, value] pairs sorted by name, then a NUL, then the data's text.
 */
export function contentDigest(env: Envelope): string {
  const { extensions, data, ...core } = env;
  const pairs = Object.entries({ ...core, ...extensions })
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const hash = createHash('sha256').update(JSON.stringify(pairs));
  if (data !== undefined) hash.update('\u0000').update(minifyJson(data));
  return hash.digest('hex');
}
