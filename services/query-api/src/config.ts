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
      'HMAC key that signs page cursors; set it so cursors survive restarts and work across replicas',
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
