import type { BusEnv } from './config';
import type { EventBus } from './event-bus.port';
import { MemoryBus } from './memory.adapter';
import { PubSubBus } from './pubsub.adapter';

/** Builds the configured bus. In production PUBSUB_AUTO_CREATE is off unless set explicitly.
 * `journalEncryptionKey` encrypts what the in-process bus's journal keeps (npm start passes the
 * DuckDB encryption key). */
export function createBus(
  env: BusEnv,
  opts: { production: boolean; journalEncryptionKey?: string },
): EventBus {
  if (env.BUS === 'memory') {
    return new MemoryBus({
      maxDeliveryAttempts: env.PUBSUB_MAX_DELIVERY_ATTEMPTS,
      journalPath: env.MEMORY_BUS_JOURNAL || undefined,
      journalEncryptionKey: opts.journalEncryptionKey,
    });
  }
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
    autoCreate: env.PUBSUB_AUTO_CREATE ?? !opts.production,
    emulatorHost: env.PUBSUB_EMULATOR_HOST,
    subscriptionPolicies:
      env.PUBSUB_SUBSCRIPTION_POLICIES === 'auto'
        ? !env.PUBSUB_EMULATOR_HOST
        : env.PUBSUB_SUBSCRIPTION_POLICIES === 'on',
    maxDeliveryAttempts: env.PUBSUB_MAX_DELIVERY_ATTEMPTS,
    ackDeadlineSeconds: env.PUBSUB_ACK_DEADLINE_SECONDS,
    retryBackoffSeconds:
      env.PUBSUB_RETRY_MAX_BACKOFF_SECONDS === 0
        ? null
        : { min: env.PUBSUB_RETRY_MIN_BACKOFF_SECONDS, max: env.PUBSUB_RETRY_MAX_BACKOFF_SECONDS },
    publishTimeoutMs: env.PUBLISH_TIMEOUT_MS,
  });
}
