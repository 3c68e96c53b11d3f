import { z } from 'zod';
import { busEnvShape } from '@eventpipe/bus';
import { cursorSecretShape } from '@eventpipe/query-api';
import { storeEnvShape } from '@eventpipe/store';
import { workerEnvShape } from '@eventpipe/subscriber-worker';

const port = (description: string, def: number) =>
  z.coerce.number().int().min(0).max(65535).default(def).describe(description);

/** The one-process mode's environment (npm start). */
export const stackConfigSchema = z.object({
  NODE_ENV: z
    .string()
    .default('development')
    .describe('production turns auto-creation off by default'),
  HOST: z
    .string()
    .default('127.0.0.1')
    .describe('Interface all three services listen on (loopback by default)'),
  PUBLISHER_PORT: port('Publisher API port', 8080),
  QUERY_PORT: port('Query API port', 8081),
  WORKER_PORT: port('Worker health/metrics port', 8082),
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
  ...busEnvShape,
  ...storeEnvShape,
  ...workerEnvShape,
  ...cursorSecretShape,
});
export type StackConfig = z.output<typeof stackConfigSchema>;
