import { z } from 'zod';
import { busEnvShape } from '@eventpipe/bus';
import { authEnvShape, envInt, envPort, serviceEnvShape } from '@eventpipe/platform';
import { registryEnvShape } from '@eventpipe/registry';
import { storeEnvShape } from '@eventpipe/store';

/** Publisher variables, shared with the one-process mode. */
export const publisherEnvShape = {
  ACCEPTED_LOG: z
    .string()
    .default('off')
    .describe(
      'What the publisher records of every accepted request (source, id, time of each event) for npm run audit: off, log (a JSON log line "events accepted", for Cloud Logging), or a file path (one JSON line per request, written before the 202)',
    ),
  PUBLISH_MAX_IN_FLIGHT_EVENTS: envInt(
    'Most events handed to Pub/Sub and not yet confirmed; past it requests get 429',
    10_000,
    1000,
    1_000_000,
  ),
};

/** The publisher's environment when it runs alone (compose, Cloud Run). */
export const publisherConfigSchema = z.object({
  ...serviceEnvShape,
  PORT: envPort('HTTP port', 8080),
  ...publisherEnvShape,
  ...authEnvShape,
  ...busEnvShape,
  BUS: z
    .enum(['pubsub'])
    .default('pubsub')
    .describe('A publisher running alone publishes to Pub/Sub'),
  // The schema registry is read from the store's schemas table (docs/SCHEMAS.md): with
  // STORE=bigquery the publisher checks data itself; with duckdb the worker does.
  ...storeEnvShape,
  ...registryEnvShape,
});
export type PublisherConfig = z.output<typeof publisherConfigSchema>;
