import {
  Duration,
  PubSub,
  v1,
  type Message,
  type Subscription,
  type Topic,
} from '@google-cloud/pubsub';
import { withTimeout } from '@eventpipe/platform/core';
import type {
  BusSubscription,
  DeadLetterDelivery,
  EventBus,
  IncomingMessage,
  OutgoingMessage,
  SubscribeOptions,
  BusRole,
} from './event-bus.port';

export interface PubSubBusOptions {
  projectId: string;
  topic: string;
  subscription: string;
  deadLetterTopic: string;
  /** A subscription on the dead-letter topic, so dead-lettered messages are kept: Pub/Sub
   * drops messages published to a topic that has no subscription. */
  deadLetterSubscription: string;
  /** Create missing topics and subscriptions at init(). */
  autoCreate: boolean;
  /** host:port of the emulator; undefined for Google Cloud. */
  emulatorHost?: string;
  /** Give a subscription this adapter creates Pub/Sub's dead-letter and retry policies (below).
   * Off on the emulator by default: it drops messages that a killed subscriber held, or that
   * were nacked, on a subscription with either policy (docs/RELIABILITY.md, "The emulator"). */
  subscriptionPolicies: boolean;
  /** Dead-letter policy of a subscription this adapter creates. */
  maxDeliveryAttempts: number;
  /** Ack deadline of a subscription this adapter creates (default 60 s). */
  ackDeadlineSeconds?: number;
  /** Retry policy (exponential backoff) of a subscription this adapter creates; default 1 s … 60 s.
   * `null`: none, Pub/Sub redelivers at once. */
  retryBackoffSeconds?: { min: number; max: number } | null;
  /** Bounds one publish call; past it the caller gets an error (and answers 503). */
  publishTimeoutMs: number;
}

const isAlreadyExists = (e: unknown) => (e as { code?: number }).code === 6; // gRPC ALREADY_EXISTS

/** The Google Cloud Pub/Sub adapter (@google-cloud/pubsub); also drives the emulator. */
export class PubSubBus implements EventBus {
  readonly kind = 'pubsub' as const;
  readonly client: PubSub;
  private readonly topic: Topic;
  private readonly dlqTopic: Topic;
  private dlqClient: v1.SubscriberClient | undefined;

  constructor(private readonly opts: PubSubBusOptions) {
    this.client = new PubSub({
      projectId: opts.projectId,
      ...(opts.emulatorHost ? { apiEndpoint: opts.emulatorHost, emulatorMode: true } : {}),
    });
    const publishOptions = {
      // Small batches keep the latency of a single POST low while bursts still share RPCs.
      batching: { maxMessages: 500, maxMilliseconds: 5, maxBytes: 9 * 1024 * 1024 },
      gaxOpts: { timeout: opts.publishTimeoutMs },
    };
    this.topic = this.client.topic(opts.topic, publishOptions);
    this.dlqTopic = this.client.topic(opts.deadLetterTopic, publishOptions);
  }

  async init(): Promise<void> {
    if (!this.opts.autoCreate) return;
    for (const t of [this.opts.topic, this.opts.deadLetterTopic]) {
      await this.client.createTopic(t).catch((e: unknown) => {
        if (!isAlreadyExists(e)) throw e;
      });
    }
    const dlqTopicName = `projects/${this.opts.projectId}/topics/${this.opts.deadLetterTopic}`;
    await this.topic
      .createSubscription(this.opts.subscription, {
        ackDeadlineSeconds: this.opts.ackDeadlineSeconds ?? 60,
        ...(this.opts.subscriptionPolicies ? this.policies(dlqTopicName) : {}),
      })
      .catch((e: unknown) => {
        if (!isAlreadyExists(e)) throw e;
      });
    await this.dlqTopic
      .createSubscription(this.opts.deadLetterSubscription, {
        ackDeadlineSeconds: 60,
        messageRetentionDuration: { seconds: 7 * 24 * 3600 },
      })
      .catch((e: unknown) => {
        if (!isAlreadyExists(e)) throw e;
      });
  }

  /** The dead-letter and retry policies of the worker's subscription. */
  private policies(dlqTopicName: string) {
    return {
      deadLetterPolicy: {
        deadLetterTopic: dlqTopicName,
        maxDeliveryAttempts: this.opts.maxDeliveryAttempts,
      },
      ...(this.opts.retryBackoffSeconds === null
        ? {}
        : {
            retryPolicy: {
              minimumBackoff: { seconds: this.opts.retryBackoffSeconds?.min ?? 1 },
              maximumBackoff: { seconds: this.opts.retryBackoffSeconds?.max ?? 60 },
            },
          }),
    };
  }

  async publish(messages: OutgoingMessage[]): Promise<string[]> {
    return withTimeout(
      Promise.all(
        messages.map((m) => this.topic.publishMessage({ data: m.data, attributes: m.attributes })),
      ),
      this.opts.publishTimeoutMs,
      'publish',
    );
  }

  async deadLetter(message: OutgoingMessage): Promise<string> {
    return withTimeout(
      this.dlqTopic.publishMessage({ data: message.data, attributes: message.attributes }),
      this.opts.publishTimeoutMs,
      'dead-letter publish',
    );
  }

  subscribe(
    handler: (message: IncomingMessage) => void,
    onError: (error: Error) => void,
    options: SubscribeOptions,
  ): BusSubscription {
    const sub: Subscription = this.client.subscription(this.opts.subscription, {
      flowControl: {
        maxMessages: options.maxMessages,
        maxBytes: options.maxBytes,
        allowExcessMessages: false,
      },
      closeOptions: {
        behavior: 'WAIT',
        timeout: Duration.from({ millis: options.closeTimeoutMs }),
      },
    });
    sub.on('message', (m: Message) => {
      handler({
        id: m.id,
        data: m.data,
        attributes: m.attributes ?? {},
        publishTime: new Date(m.publishTime.getTime()),
        deliveryAttempt: m.deliveryAttempt ?? 0,
        ack: () => m.ack(),
        nack: () => m.nack(),
      });
    });
    sub.on('error', (e: Error) => onError(e));
    return { close: () => sub.close() };
  }

  async pullDeadLetters(max: number): Promise<DeadLetterDelivery[]> {
    // Synchronous pull (not the streaming subscriber): a replay takes what is there and stops.
    if (!this.dlqClient) {
      const config = await this.client.getClientConfig();
      this.dlqClient = new v1.SubscriberClient({
        ...config,
        port: config.port === undefined ? undefined : Number(config.port),
      });
    }
    const client = this.dlqClient;
    const subscription = `projects/${this.opts.projectId}/subscriptions/${this.opts.deadLetterSubscription}`;
    const [response] = await client.pull(
      { subscription, maxMessages: max, returnImmediately: true },
      { timeout: 30_000 },
    );
    return (response.receivedMessages ?? []).map((rm) => {
      const ackId = rm.ackId ?? '';
      const message = rm.message ?? {};
      return {
        id: message.messageId ?? '',
        data: Buffer.from(message.data ?? []),
        attributes: { ...(message.attributes ?? {}) },
        ack: async () => {
          await client.acknowledge({ subscription, ackIds: [ackId] });
        },
        release: async () => {
          await client.modifyAckDeadline({ subscription, ackIds: [ackId], ackDeadlineSeconds: 0 });
        },
      };
    });
  }

  async check(role: BusRole): Promise<void> {
    // The emulator has no IAM: that the resource is there is all it can say.
    if (this.opts.emulatorHost) {
      const [exists] =
        role === 'publish'
          ? await this.topic.exists()
          : await this.client.subscription(this.opts.subscription).exists();
      if (!exists) throw new Error(`${role === 'publish' ? 'topic' : 'subscription'} missing`);
      return;
    }
    // testIamPermissions needs no permission itself, so a publisher granted only
    // pubsub.topics.publish (and a worker only consume) can still be checked; a missing
    // resource fails it too.
    const [permission, iam, name] =
      role === 'publish'
        ? ['pubsub.topics.publish', this.topic.iam, `topic ${this.opts.topic}`]
        : [
            'pubsub.subscriptions.consume',
            this.client.subscription(this.opts.subscription).iam,
            `subscription ${this.opts.subscription}`,
          ];
    const [granted] = await iam.testPermissions([permission]);
    if (!(granted as Record<string, boolean>)[permission]) {
      throw new Error(`the service account lacks ${permission} on ${name}`);
    }
  }

  async close(): Promise<void> {
    await Promise.allSettled([this.topic.flush(), this.dlqTopic.flush()]);
    await this.dlqClient?.close();
    await this.client.close();
  }
}
