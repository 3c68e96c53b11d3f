import { z } from 'zod';
import { authEnvShape, envInt, envPort, serviceEnvShape } from '@eventpipe/platform';
import { registryEnvShape, schemasDirShape } from '@eventpipe/registry';
import { storeEnvShape } from '@eventpipe/store';

/** CURSOR_SECRET: any string of at least 16 bytes; random per process when unset. */
export const cursorSecretShape = {
  CURSOR_SECRET: z
    .string()
    .refine((v) => Buffer.byteLength(v) >= 16, { error: 'must be at least 16 bytes' })
    .optional()
    .describe(
      'HMAC key that signs page cursors and stream resume tokens; set it so they survive restarts and work across replicas (unset: the query API alone uses a random key per process; npm start keeps one in cursor-secret beside its DuckDB file)',
    ),
};

/** The query API's own variables, also read by npm start's one process. */
export const queryEnvShape = {
  ...cursorSecretShape,
  EXPORT_MAX_CONCURRENT: envInt(
    'Streamed exports (GET /v1/events as NDJSON or CSV) served at once; more get 429 too-many-exports',
    8,
    1,
    1000,
  ),
  PAGE_MAX_BYTES: envInt(
    'A page of GET /v1/events ends early, with a nextCursor, once its events weigh this many bytes (the UTF-8 bytes of data or data_base64, extensions JSON and string attributes, plus 1 KiB each); the first event always comes',
    8 * 1024 * 1024,
    64 * 1024,
    256 * 1024 * 1024,
  ),
  STREAM_MAX_CONCURRENT: envInt(
    'Event streams (GET /v1/events/stream) open at once on this instance; more get 429 too-many-streams',
    100,
    1,
    100_000,
  ),
  STREAM_POLL_MS: envInt(
    'How often the one tail of this instance asks the store for newly stored events while any stream is open (milliseconds); on BigQuery each poll is a query job (docs/BIGQUERY.md)',
    500,
    100,
    60_000,
  ),
  STREAM_SETTLE_MS: envInt(
    'Events are streamed once stored at least this long ago (milliseconds), so an insert that committed late is never passed over; latency is about STREAM_SETTLE_MS + STREAM_POLL_MS',
    1000,
    0,
    60_000,
  ),
  STREAM_BUFFER_BYTES: envInt(
    'A stream reader that lets more than this many bytes wait and takes nothing for 2 s is disconnected with a comment saying why (one that keeps reading is never cut); it resumes with Last-Event-ID',
    1024 * 1024,
    64 * 1024,
    256 * 1024 * 1024,
  ),
  STREAM_WINDOW_HOURS: envInt(
    'On BigQuery, the live tail reads events whose time is at most this many hours old (the partitions each poll scans); older events are replayed on resume but not streamed live',
    24,
    1,
    24 * 400,
  ),
  PAGE_MAX_CONCURRENT: envInt(
    'Pages (and events by id) in flight at once, from the store query until the response has left; more wait their turn, and past four times as many waiting (or as many from one consumer) get 503 with Retry-After. With PAGE_MAX_BYTES this bounds the memory pages take',
    8,
    1,
    1000,
  ),
};

/** The query API's environment when it runs alone (compose, Cloud Run). */
export const queryConfigSchema = z.object({
  ...serviceEnvShape,
  PORT: envPort('HTTP port', 8081),
  ...storeEnvShape,
  ...queryEnvShape,
  ...authEnvShape,
  ...registryEnvShape,
  ...schemasDirShape,
});
export type QueryConfig = z.output<typeof queryConfigSchema>;

/** The stream options from the variables. */
export const streamOptionsOf = (c: {
  STREAM_MAX_CONCURRENT: number;
  STREAM_POLL_MS: number;
  STREAM_SETTLE_MS: number;
  STREAM_BUFFER_BYTES: number;
  STREAM_WINDOW_HOURS: number;
}) => ({
  maxConcurrent: c.STREAM_MAX_CONCURRENT,
  pollMs: c.STREAM_POLL_MS,
  settleMs: c.STREAM_SETTLE_MS,
  bufferBytes: c.STREAM_BUFFER_BYTES,
  windowMs: c.STREAM_WINDOW_HOURS * 3600 * 1000,
});
