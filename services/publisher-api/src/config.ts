import { z } from 'zod';
import { busEnvShape } from '@eventpipe/bus';
import { envPort, serviceEnvShape } from '@eventpipe/platform';

/** The publisher's environment when it runs alone (compose, Cloud Run). */
export const publisherConfigSchema = z.object({
  ...serviceEnvShape,
  PORT: envPort('HTTP port', 8080),
  ...busEnvShape,
  BUS: z
    .enum(['pubsub'])
    .default('pubsub')
    .describe('A publisher running alone publishes to Pub/Sub'),
});
export type PublisherConfig = z.output<typeof publisherConfigSchema>;
