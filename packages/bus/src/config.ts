import { z } from 'zod';
import type { EventBus } from './event-bus.port';
import { MemoryBus } from './memory.adapter';
import { PubSubBus } from './pubsub.adapter';

const bool = (description: string, def: boolean) =>
  z
    .enum(['true', 'false', '1', '0'])
    .optional()
    .transform((v) => (v === undefined ? def : v === 'true' || v === '1'))
    .describe(description);

/** Environment variables of the bus, shared by every service's config schema. */
export const busEnvShape = {
  BUS: z
    .enum(['memory', 'pubsub'])
    .default('memory')
    .describe('Event bus adapter: memory (in-process) or pubsub'),
  GOOGLE_CLOUD_PROJECT: z
    .string()
    .min(1)
    .optional()
    .describe(
      'Google Cloud project of the Pub/Sub resources (default eventpipe-local with an emulator)',
    ),
  PUBSUB_EMULATOR_HOST: z
    .string()
    .regex(/^[^\s/]+:\d+$/, { error: 'must be host:port' })
    .optional()
    .describe('host:port of the Pub/Sub emulator; unset for Google Cloud'),
  PUBSUB_TOPIC: z.string().min(3).default('events').describe('Topic events are published to'),
  PUBSUB_SUBSCRIPTION: z
    .string()
    .min(3)
    .default('events-worker')
    .describe('Subscription the worker pulls'),
  PUBSUB_DLQ_TOPIC: z.string().min(3).default('events-dlq').describe('Dead-letter topic'),
  PUBSUB_DLQ_SUBSCRIPTION: z
    .string()
    .min(3)
    .default('events-dlq')
    .describe('Subscription on the dead-letter topic that retains dead-lettered messages'),
  PUBSUB_AUTO_CREATE: bool(
    'Create missing topics and subscriptions at start (default: true unless NODE_ENV=production)',
    true,
  ),
  PUBSUB_MAX_DELIVERY_ATTEMPTS: z.coerce
    .number()
    .int()
    .min(5)
    .max(100)
    .default(5)
    .describe('Dead-letter policy of the subscription created at start (Pub/Sub allows 5..100)'),
  PUBLISH_TIMEOUT_MS: z.coerce
    .number()
    .int()
    .min(100)
    .max(60_000)
    .default(10_000)
    .describe('Longest wait for Pub/Sub to accept a publish before answering 503'),
};

export type BusEnv = z.output<z.ZodObject<typeof busEnvShape>>;

/** Builds the configured bus. `production` turns PUBSUB_AUTO_CREATE off unless set explicitly. */
export function createBus(
  env: BusEnv,
  opts: { production: boolean; autoCreateSet: boolean },
): EventBus {
  if (env.BUS === 'memory')
    return new MemoryBus({ maxDeliveryAttempts: env.PUBSUB_MAX_DELIVERY_ATTEMPTS });
  const projectId =
    env.GOOGLE_CLOUD_PROJECT ?? (env.PUBSUB_EMULATOR_HOST ? 'eventpipe-local' : undefined);
  if (!projectId) {
    throw new Error('GOOGLE_CLOUD_PROJECT is required with BUS=pubsub outside the emulator');
  }
  return new PubSubBus({
    projectId,
    topic: env.PUBSUB_TOPIC,
    subscription: env.PUBSUB_SUBSCRIPTION,
    deadLetterTopic: env.PUBSUB_DLQ_TOPIC,
    deadLetterSubscription: env.PUBSUB_DLQ_SUBSCRIPTION,
    autoCreate: opts.production && !opts.autoCreateSet ? false : env.PUBSUB_AUTO_CREATE,
    emulatorHost: env.PUBSUB_EMULATOR_HOST,
    maxDeliveryAttempts: env.PUBSUB_MAX_DELIVERY_ATTEMPTS,
    publishTimeoutMs: env.PUBLISH_TIMEOUT_MS,
  });
}
