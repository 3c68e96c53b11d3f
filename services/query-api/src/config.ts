import { z } from 'zod';
import { storeEnvShape } from '@eventpipe/store';

/** CURSOR_SECRET: hex or any string of at least 16 bytes; random per process when unset. */
export const cursorSecretShape = {
  CURSOR_SECRET: z
    .string()
    .refine((v) => Buffer.byteLength(v) >= 16, { error: 'must be at least 16 bytes' })
    .optional()
    .describe(
      'HMAC key that signs page cursors; set it so cursors survive restarts and work across replicas',
    ),
};

/** The query API's environment when it runs alone (compose, Cloud Run). */
export const queryConfigSchema = z.object({
  NODE_ENV: z.string().default('development').describe('Deployment environment'),
  PORT: z.coerce.number().int().min(0).max(65535).default(8081).describe('HTTP port'),
  HOST: z.string().default('0.0.0.0').describe('Interface to listen on'),
  LOG_LEVEL: z
    .enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'])
    .default('info')
    .describe('pino log level'),
  SHUTDOWN_TIMEOUT_MS: z.coerce
    .number()
    .int()
    .min(100)
    .max(600_000)
    .default(8000)
    .describe('Longest graceful shutdown'),
  ...storeEnvShape,
  ...cursorSecretShape,
});
export type QueryConfig = z.output<typeof queryConfigSchema>;
