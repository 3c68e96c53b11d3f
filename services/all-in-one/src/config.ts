import { z } from 'zod';
import { busEnvShape } from '@eventpipe/bus';
import { authEnvShape, envPort, serviceEnvShape } from '@eventpipe/platform';
import { publisherEnvShape } from '@eventpipe/publisher-api';
import { queryEnvShape } from '@eventpipe/query-api';
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
});
export type StackConfig = z.output<typeof stackConfigSchema>;
