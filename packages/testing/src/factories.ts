import type { PubSubBusOptions } from '@eventpipe/bus/adapters';
import { BigQueryStore, type BigQueryStoreOptions } from '@eventpipe/store/adapters';
import { uniqueName } from './fixtures';

const DAY_MS = 86_400_000;

/** Pub/Sub bus options for a test: fresh topic and subscription names on the emulator. */
export function testBusOptions(
  emulatorHost: string,
  prefix: string,
  overrides: Partial<PubSubBusOptions> = {},
): PubSubBusOptions {
  const base = uniqueName(prefix);
  return {
    projectId: 'eventpipe-test',
    topic: `${base}-t`,
    subscription: `${base}-s`,
    deadLetterTopic: `${base}-dlq`,
    deadLetterSubscription: `${base}-dlq-s`,
    autoCreate: true,
    emulatorHost,
    // As createBus does on the emulator (PUBSUB_SUBSCRIPTION_POLICIES=auto): no policies.
    subscriptionPolicies: false,
    maxDeliveryAttempts: 5,
    publishTimeoutMs: 10_000,
    ...overrides,
  };
}

/** A BigQuery store on a fresh dataset of the given endpoint (the REST fake or an emulator). */
export function testBigQueryStore(
  apiEndpoint: string,
  overrides: Partial<BigQueryStoreOptions> = {},
): BigQueryStore {
  return new BigQueryStore({
    projectId: 'eventpipe-test',
    dataset: uniqueName('ds').replaceAll('-', '_'),
    table: 'events',
    apiEndpoint,
    autoCreate: true,
    maximumBytesBilled: 1024 ** 3,
    duplicateWindowMs: DAY_MS,
    range: { defaultRangeMs: 30 * DAY_MS, maxRangeMs: 400 * DAY_MS },
    retry: { maxAttempts: 3, initialDelayMs: 10, maxDelayMs: 50 },
    ...overrides,
  });
}
