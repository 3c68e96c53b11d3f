import { z } from 'zod';
import { registryEnvShape } from '@eventpipe/registry';
import { busEnvShape } from '@eventpipe/bus';
import { envInt, envPort, serviceEnvShape } from '@eventpipe/platform';
import { storeEnvShape } from '@eventpipe/store';

/** Batching and flow-control variables, shared with the one-process mode. */
export const workerEnvShape = {
  BATCH_MAX_ROWS: envInt('Most rows per store insert', 500, 1, 10_000),
  BATCH_MAX_BYTES: envInt(
    'Most message bytes per store insert',
    5 * 1024 * 1024,
    1024,
    9 * 1024 * 1024,
  ),
  BATCH_MAX_WAIT_MS: envInt('Longest a batch waits to fill before it is written', 1000, 1, 60_000),
  WORKER_MAX_OUTSTANDING_MESSAGES: envInt(
    'Flow control: most messages received and not yet settled',
    2000,
    1,
    100_000,
  ),
  WORKER_MAX_OUTSTANDING_BYTES: envInt(
    'Flow control: most bytes received and not yet settled',
    64 * 1024 * 1024,
    1024 * 1024,
    1024 * 1024 * 1024,
  ),
  STORE_RETRY_INITIAL_MS: envInt(
    'First wait before a failed insert is retried (doubles each time)',
    500,
    10,
    60_000,
  ),
  RETENTION_SWEEP_SECONDS: envInt(
    'With RETENTION_DAYS on DuckDB: how often the worker deletes events past retention (the first sweep at start), in batches of 5000 rows so inserts wait for at most one batch',
    3600,
    10,
    86_400,
  ),
  STORE_RETRY_MAX_DELAY_MS: envInt('Longest wait between insert retries', 30_000, 10, 600_000),
  STORE_RETRY_WINDOW_MS: envInt(
    'How long a failing batch is held and retried before it is nacked back to Pub/Sub',
    300_000,
    0,
    3_600_000,
  ),
};

/** The worker's environment when it runs alone (compose, Cloud Run). */
export const workerConfigSchema = z.object({
  ...serviceEnvShape,
  PORT: envPort('HTTP port of /healthz, /readyz and /metrics', 8082),
  ...busEnvShape,
  BUS: z.enum(['pubsub']).default('pubsub').describe('A worker running alone pulls from Pub/Sub'),
  ...storeEnvShape,
  ...workerEnvShape,
  ...registryEnvShape,
});
export type WorkerConfig = z.output<typeof workerConfigSchema>;

/** The worker's batch and flow-control options from its variables. */
export const workerOptions = (c: z.output<z.ZodObject<typeof workerEnvShape>>) => ({
  batch: { maxRows: c.BATCH_MAX_ROWS, maxBytes: c.BATCH_MAX_BYTES, maxWaitMs: c.BATCH_MAX_WAIT_MS },
  flowControl: {
    maxMessages: c.WORKER_MAX_OUTSTANDING_MESSAGES,
    maxBytes: c.WORKER_MAX_OUTSTANDING_BYTES,
  },
  storeRetry: {
    initialDelayMs: c.STORE_RETRY_INITIAL_MS,
    maxDelayMs: c.STORE_RETRY_MAX_DELAY_MS,
    windowMs: c.STORE_RETRY_WINDOW_MS,
  },
});
