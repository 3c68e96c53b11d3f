import { z } from 'zod';
import { busEnvShape } from '@eventpipe/bus';
import { serviceEnvShape } from '@eventpipe/platform';
import { storeEnvShape } from '@eventpipe/store';

const { MEMORY_BUS_JOURNAL: _journal, ...pubSubEnvShape } = busEnvShape;

/** The replay command's environment: the Pub/Sub variables the services read. */
export const replayConfigSchema = z.object({
  NODE_ENV: serviceEnvShape.NODE_ENV,
  ...pubSubEnvShape,
  BUS: z.enum(['pubsub']).default('pubsub').describe('Replay works on Pub/Sub'),
  // The store's variables: erased events are removed from the dead-letter subscription.
  ...storeEnvShape,
});
