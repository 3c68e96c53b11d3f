import { z } from 'zod';
import { busEnvShape } from '@eventpipe/bus';
import { serviceEnvShape } from '@eventpipe/platform';

/** The replay command's environment: the bus variables the services read. */
export const replayConfigSchema = z.object({
  ...serviceEnvShape,
  ...busEnvShape,
  BUS: z.enum(['pubsub']).default('pubsub').describe('Replay works on Pub/Sub'),
});
