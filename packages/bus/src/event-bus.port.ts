/** A message as the publisher hands it to the bus. */
export interface OutgoingMessage {
  data: Buffer;
  attributes: Record<string, string>;
}

/** A delivery to a subscriber. Exactly one of ack / nack settles it; unsettled deliveries come
 * back after the ack deadline (at-least-once, as Pub/Sub delivers). */
export interface IncomingMessage {
  id: string;
  data: Buffer;
  attributes: Record<string, string>;
  publishTime: Date;
  /** 1 on first delivery. Pub/Sub reports it only on subscriptions with a dead-letter policy;
   * elsewhere it reads 0. */
  deliveryAttempt: number;
  ack(): void;
  nack(): void;
}

export interface SubscribeOptions {
  /** Flow control: most deliveries outstanding (delivered, not yet settled). */
  maxMessages: number;
  /** Flow control: most bytes outstanding. */
  maxBytes: number;
  /** How long `close()` waits for outstanding deliveries to settle before nacking them. */
  closeTimeoutMs: number;
}

export interface BusSubscription {
  /** Stops new deliveries, waits (bounded) for outstanding ones to settle, then releases. */
  close(): Promise<void>;
}

/** A message pulled from the dead-letter subscription, held until acked or released. */
export interface DeadLetterDelivery {
  id: string;
  data: Buffer;
  attributes: Record<string, string>;
  /** Removes it from the dead-letter subscription. */
  ack(): Promise<void>;
  /** Gives it back to the dead-letter subscription at once. */
  release(): Promise<void>;
}

/** What a service does with the bus: the publisher publishes, the worker subscribes. */
export type BusRole = 'publish' | 'subscribe';

export interface EventBus {
  readonly kind: 'memory' | 'pubsub';
  /** Creates what is missing (topic, subscription, dead-letter topic) when configured to. */
  init(): Promise<void>;
  /** Publishes in order given; resolves with the message ids once the bus accepted every one. */
  publish(messages: OutgoingMessage[]): Promise<string[]>;
  /** Publishes one message to the dead-letter topic. */
  deadLetter(message: OutgoingMessage): Promise<string>;
  subscribe(
    handler: (message: IncomingMessage) => void,
    onError: (error: Error) => void,
    options: SubscribeOptions,
  ): BusSubscription;
  /** Pulls up to `max` messages from the dead-letter subscription; [] when it is empty.
   * Pulled messages stay leased (not pulled again) until acked or released. */
  pullDeadLetters(max: number): Promise<DeadLetterDelivery[]>;
  /** Resolves when the bus answers and this service may do its part there: `publish` to the
   * topic (the publisher) or `subscribe` to the subscription (the worker). Used by /readyz; it
   * needs no permission beyond the ones it checks. */
  check(role: BusRole): Promise<void>;
  close(): Promise<void>;
}
