import { createHash } from 'node:crypto';

// What an insertAll request may hold and which of its failures are worth another attempt.

/** insertAll request bounds: BigQuery accepts up to 50 000 rows and 10 MB per request and
 * recommends about 500 rows; 9 MB leaves room for the request envelope. */
export const INSERT_MAX_ROWS = 500;
export const INSERT_MAX_BYTES = 9 * 1024 * 1024;

const RETRYABLE_STATUS = new Set([429, 500, 502, 503, 504]);
export const RETRYABLE_REASONS = new Set([
  'backendError',
  'internalError',
  'rateLimitExceeded',
  'quotaExceeded',
  'timeout',
]);

/** The insertId of an event: stable for its (source, id), so a redelivery repeats it. */
export const insertIdOf = (source: string, id: string): string =>
  createHash('sha256').update(source).update('\u0000').update(id).digest('base64url');

export interface ApiErrorLike {
  code?: number;
  errors?: { reason?: string; message?: string }[];
  name?: string;
  message?: string;
}

/** A 429 / 5xx or a quota / backend reason: transient, worth another attempt. */
export function isRetryable(err: ApiErrorLike): boolean {
  if (err.code !== undefined && RETRYABLE_STATUS.has(err.code)) return true;
  return (err.errors ?? []).some((x) => x.reason !== undefined && RETRYABLE_REASONS.has(x.reason));
}

/** Splits rows into insertAll requests of at most INSERT_MAX_ROWS rows and INSERT_MAX_BYTES. */
export function chunks<T extends { json: unknown }>(rows: T[]): T[][] {
  const out: T[][] = [];
  let current: T[] = [];
  let bytes = 0;
  for (const row of rows) {
    const size = Buffer.byteLength(JSON.stringify(row)) + 1;
    if (current.length && (current.length >= INSERT_MAX_ROWS || bytes + size > INSERT_MAX_BYTES)) {
      out.push(current);
      current = [];
      bytes = 0;
    }
    current.push(row);
    bytes += size;
  }
  if (current.length) out.push(current);
  return out;
}
