import { z } from 'zod';
import { busEnvShape } from '@eventpipe/bus';

/** The publisher's environment when it runs alone (compose, Cloud Run). */
export const publisherConfigSchema = z.object({
  NODE_ENV: z
    .string()
    .default('development')
    .describe('production turns auto-creation off by default'),
  PORT: z.coerce.number().int().min(0).max(65535).default(8080).describe('HTTP port'),
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
    .describe("Longest graceful shutdown after SIGTERM/SIGINT (below Cloud Run's 10 s)"),
  ...busEnvShape,
  BUS: z
    .enum(['pubsub'])
    .default('pubsub')
    .describe('A publisher running alone publishes to Pub/Sub'),
});
export type PublisherConfig = z.output<typeof publisherConfigSchema>;
