import { z } from 'zod';
import { envInt, envOptionalBool, googleCloudEnvShape } from '@eventpipe/platform/core';

/** Environment variables of the bus, shared by every service's config schema. */
export const busEnvShape = {
  BUS: z
    .enum(['memory', 'pubsub'])
    .default('memory')
    .describe('Event bus adapter: memory (in-process) or pubsub'),
  MEMORY_BUS_JOURNAL: z
    .string()
    .default('./data/memory-bus.journal')
    .describe(
      'BUS=memory (npm start): the file the in-process bus writes every accepted event to before the 202, so a crash loses none; empty: memory only',
    ),
  ...googleCloudEnvShape,
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
  PUBSUB_AUTO_CREATE: envOptionalBool(
    'Create missing topics and subscriptions at start (default: true unless NODE_ENV asks for production rules)',
  ),
  PUBSUB_SUBSCRIPTION_POLICIES: z
    .enum(['auto', 'on', 'off'])
    .default('auto')
    .describe(
      "Dead-letter and retry policies on the subscription created at start: on, off, or auto (on for Google Cloud, off on the emulator, which loses messages a killed subscriber held when either policy is set; the worker's own dead-lettering and store retries cover what they do)",
    ),
  PUBSUB_MAX_DELIVERY_ATTEMPTS: envInt(
    'Dead-letter policy of the subscription created at start (Pub/Sub allows 5..100)',
    5,
    5,
    100,
  ),
  PUBSUB_ACK_DEADLINE_SECONDS: envInt(
    "Ack deadline of the subscription created at start: how soon a crashed worker's messages come back (10..600)",
    60,
    10,
    600,
  ),
  PUBSUB_RETRY_MIN_BACKOFF_SECONDS: envInt(
    'Retry policy of the subscription created at start: first redelivery delay after a nack (0 with the max: no retry policy)',
    1,
    0,
    600,
  ),
  PUBSUB_RETRY_MAX_BACKOFF_SECONDS: envInt(
    'Retry policy of the subscription created at start: longest redelivery delay (0: no retry policy, redeliver at once)',
    60,
    0,
    600,
  ),
  PUBLISH_TIMEOUT_MS: envInt(
    'Longest wait for Pub/Sub to accept a publish before answering 503',
    10_000,
    100,
    60_000,
  ),
};

export type BusEnv = z.output<z.ZodObject<typeof busEnvShape>>;
