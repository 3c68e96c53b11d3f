import { z } from 'zod';
import { busEnvShape } from '@eventpipe/bus';
import { authEnvShape, envPort, serviceEnvShape } from '@eventpipe/platform';
import { publisherEnvShape } from '@eventpipe/publisher-api';
import { queryEnvShape } from '@eventpipe/query-api';
import { registryEnvShape, schemasDirShape } from '@eventpipe/registry';
import { storeEnvShape } from '@eventpipe/store';
import { workerEnvShape } from '@eventpipe/subscriber-worker';

/** The one-process mode's environment (npm start). */
export const stackConfigSchema = z.object({
  ...serviceEnvShape,
  HOST: z
    .string()
    .default('127.0.0.1')
    .describe('Interface all three services listen on (loopback by default)'),
  PUBLISHER_PORT: envPort('Publisher API port', 8080),
  QUERY_PORT: envPort('Query API port', 8081),
  WORKER_PORT: envPort('Worker health/metrics port', 8082),
  ...busEnvShape,
  ...publisherEnvShape,
  ...storeEnvShape,
  ...workerEnvShape,
  ...queryEnvShape,
  ...authEnvShape,
  ...registryEnvShape,
  ...schemasDirShape,
  ACCEPTED_LOG: z
    .string()
    .default('./data/accepted.ndjson')
    .describe(
      'What the publisher records of every accepted request for npm run audit: a file path (one JSON line per request, written before the 202; npm start default ./data/accepted.ndjson), log, or off',
    ),
});
export type StackConfig = z.output<typeof stackConfigSchema>;
