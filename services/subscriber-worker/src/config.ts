import { z } from 'zod';
import { busEnvShape } from '@eventpipe/bus';
import { storeEnvShape } from '@eventpipe/store';

const int = (description: string, def: number, min: number, max: number) =>
  z.coerce.number().int().min(min).max(max).default(def).describe(description);

/** Batching and flow-control variables, shared with the one-process mode. */
export const workerEnvShape = {
  BATCH_MAX_ROWS: int('Most rows per store insert', 500, 1, 10_000),
  BATCH_MAX_BYTES: int(
    'Most message bytes per store insert',
    5 * 1024 * 1024,
    1024,
    9 * 1024 * 1024,
  ),
  BATCH_MAX_WAIT_MS: int('Longest a batch waits to fill before it is written', 1000, 1, 60_000),
  WORKER_MAX_OUTSTANDING_MESSAGES: int(
    'Flow control: most messages received and not yet settled',
    2000,
    1,
    100_000,
  ),
  WORKER_MAX_OUTSTANDING_BYTES: int(
    'Flow control: most bytes received and not yet settled',
    64 * 1024 * 1024,
    1024 * 1024,
    1024 * 1024 * 1024,
  ),
};

/** The worker's environment when it runs alone (compose, Cloud Run). */
export const workerConfigSchema = z.object({
  NODE_ENV: z
    .string()
    .default('development')
    .describe('production turns auto-creation off by default'),
  PORT: int('HTTP port of /healthz, /readyz and /metrics', 8082, 0, 65535),
  HOST: z.string().default('0.0.0.0').describe('Interface to listen on'),
  LOG_LEVEL: z
    .enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'])
    .default('info')
    .describe('pino log level'),
  SHUTDOWN_TIMEOUT_MS: int('Longest graceful shutdown after SIGTERM/SIGINT', 8000, 100, 600_000),
  ...busEnvShape,
  BUS: z.enum(['pubsub']).default('pubsub').describe('A worker running alone pulls from Pub/Sub'),
  ...storeEnvShape,
  ...workerEnvShape,
});
export type WorkerConfig = z.output<typeof workerConfigSchema>;
