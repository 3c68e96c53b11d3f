import { PubSub, type Topic } from '@google-cloud/pubsub';
import { busMessageOf, jsonTextOf, nowTime, uuidv7, type Envelope } from '@eventpipe/schema';

export const TYPES = [
  'com.example.order.created',
  'com.example.order.paid',
  'com.example.order.shipped',
  'com.example.order.cancelled',
  'com.example.cart.updated',
  'com.example.user.signed-up',
  'com.example.user.logged-in',
  'com.example.page.viewed',
  'com.example.search.performed',
  'com.example.payment.failed',
  'com.example.refund.issued',
  'com.example.stock.low',
];

/** What a producer POSTs: no id or time; the publisher fills in the id, the worker the time
 * (about 230 bytes). */
export function producerEvent(i: number): Record<string, unknown> {
  return {
    type: TYPES[i % TYPES.length],
    source: `/shops/${i % 50}`,
    subject: `customer-${i % 1000}`,
    datacontenttype: 'application/json',
    data: { orderId: i, amount: (i % 997) + 0.5, currency: 'EUR', items: ['sku-1', 'sku-2'] },
  };
}

/** The event the publisher would have made of producerEvent(i). */
export function envelopeOf(i: number): Envelope {
  const p = producerEvent(i);
  return {
    specversion: '1.0',
    id: uuidv7(),
    source: p.source as string,
    type: p.type as string,
    subject: p.subject as string,
    datacontenttype: 'application/json',
    data: jsonTextOf(p.data),
    extensions: {},
  };
}

export const PROJECT = 'eventpipe-bench';

export function pubsubClient(host: string): PubSub {
  return new PubSub({ projectId: PROJECT, apiEndpoint: host, emulatorMode: true });
}

/** The publisher's batching settings (packages/bus/src/pubsub.adapter.ts), for the reference. */
export const PUBLISH_BATCHING = { maxMessages: 500, maxMilliseconds: 5, maxBytes: 9 * 1024 * 1024 };

/** Publishes messages built as the publisher builds them, keeping at most `window` unconfirmed,
 * until `count` are confirmed or `seconds` pass. Returns how many were confirmed. */
export async function publishRaw(
  topic: Topic,
  opts: { count?: number; seconds?: number; window: number },
): Promise<{ published: number; seconds: number }> {
  const started = Date.now();
  const deadline = opts.seconds === undefined ? Infinity : started + opts.seconds * 1000;
  const limit = opts.count ?? Infinity;
  let sent = 0;
  let confirmed = 0;
  let failed: unknown;
  await new Promise<void>((resolve) => {
    let inFlight = 0;
    const pump = () => {
      while (inFlight < opts.window && sent < limit && Date.now() < deadline && !failed) {
        const receivedAt = nowTime();
        const m = busMessageOf(envelopeOf(sent), receivedAt);
        sent += 1;
        inFlight += 1;
        topic.publishMessage(m).then(
          () => {
            inFlight -= 1;
            confirmed += 1;
            if (inFlight === 0 && (sent >= limit || Date.now() >= deadline || failed)) resolve();
            else if (inFlight < opts.window / 2) setImmediate(pump);
          },
          (e: unknown) => {
            inFlight -= 1;
            failed = e;
            if (inFlight === 0) resolve();
          },
        );
      }
      if (inFlight === 0) resolve();
    };
    pump();
  });
  if (failed) throw failed;
  return { published: confirmed, seconds: (Date.now() - started) / 1000 };
}

/** Topic, dead-letter topic and subscriptions as an operator creates them for production. */
export async function createTopology(
  client: PubSub,
  base: string,
  subscriptions: string[],
): Promise<Topic> {
  const [topic] = await client.createTopic(`${base}-t`);
  await client.createTopic(`${base}-dlq`);
  for (const name of subscriptions) {
    await topic.createSubscription(name, {
      ackDeadlineSeconds: 60,
      deadLetterPolicy: {
        deadLetterTopic: `projects/${PROJECT}/topics/${base}-dlq`,
        maxDeliveryAttempts: 5,
      },
      retryPolicy: { minimumBackoff: { seconds: 1 }, maximumBackoff: { seconds: 60 } },
    });
  }
  return topic;
}

/** The Pub/Sub variables of a service using that topology. */
export const pubsubEnv = (host: string, base: string, subscription = `${base}-worker`) => ({
  BUS: 'pubsub',
  PUBSUB_EMULATOR_HOST: host,
  GOOGLE_CLOUD_PROJECT: PROJECT,
  PUBSUB_TOPIC: `${base}-t`,
  PUBSUB_SUBSCRIPTION: subscription,
  PUBSUB_DLQ_TOPIC: `${base}-dlq`,
  PUBSUB_DLQ_SUBSCRIPTION: `${base}-dlq-s`,
  PUBSUB_AUTO_CREATE: 'false',
});
