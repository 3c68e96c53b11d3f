import type {
  BusRole,
  BusSubscription,
  DeadLetterDelivery,
  EventBus,
  IncomingMessage,
  OutgoingMessage,
  SubscribeOptions,
} from './event-bus.port';
import { MemoryJournal } from './memory-journal';

export interface MemoryBusOptions {
  /** A delivery left unsettled this long comes back. A live Pub/Sub subscriber extends its
   * leases up to the client's maxExtension (60 minutes by default); this mirrors that. */
  maxExtensionMs?: number;
  /** After this many deliveries a message moves to the dead-letter list, like a Pub/Sub
   * dead-letter policy; 0 keeps redelivering forever. */
  maxDeliveryAttempts?: number;
  /** Delay before a nacked message is delivered again. */
  nackDelayMs?: number;
  /** A file the bus writes ahead to (see MemoryJournal): published messages survive a crash,
   * and init() brings back what was not settled. Unset: memory only. */
  journalPath?: string;
  /** Encrypts the journal's message data and attributes with a key derived from this secret
   * (MemoryJournal, JournalOptions); npm start passes DUCKDB_ENCRYPTION_KEY. */
  journalEncryptionKey?: string;
}

interface Stored {
  id: string;
  data: Buffer;
  attributes: Record<string, string>;
  publishTime: Date;
  attempts: number;
}

/**
 * The in-process bus for the one-process local mode and unit tests. It keeps Pub/Sub's
 * semantics that the worker depends on: at-least-once delivery, ack / nack, redelivery after the
 * ack deadline, flow control, delivery attempts and a dead-letter list. With `journalPath` every
 * publish is on disk before it resolves, so a crash loses nothing that got a 202; without it
 * (tests), messages live in memory only.
 */
export class MemoryBus implements EventBus {
  readonly kind = 'memory' as const;
  /** Dead-lettered messages, oldest first (tests and the local mode inspect them). */
  readonly deadLettered: OutgoingMessage[] = [];
  private readonly queue: Stored[] = [];
  private readonly leasedDeadLetters = new Set<OutgoingMessage>();
  private nextId = 1;
  private subscriber: MemorySubscription | undefined;
  private closed = false;
  private readonly maxExtensionMs: number;
  private readonly maxDeliveryAttempts: number;
  private readonly nackDelayMs: number;
  private journal: MemoryJournal | undefined;
  /** The journal key of each dead-lettered message. */
  private readonly deadLetterKeys = new Map<OutgoingMessage, string>();
  private nextDeadLetterKey = 1;

  constructor(private readonly opts: MemoryBusOptions = {}) {
    this.maxExtensionMs = opts.maxExtensionMs ?? 60 * 60_000;
    this.maxDeliveryAttempts = opts.maxDeliveryAttempts ?? 5;
    this.nackDelayMs = opts.nackDelayMs ?? 100;
  }

  /** Opens the journal, when there is one, and brings back what it holds. */
  async init(): Promise<void> {
    if (!this.opts.journalPath || this.journal) return;
    const { journal, state } = await MemoryJournal.open(this.opts.journalPath, {
      encryptionKey: this.opts.journalEncryptionKey,
    });
    this.journal = journal;
    this.nextId = Math.max(this.nextId, state.lastId + 1);
    for (const m of state.messages) {
      this.queue.push({ ...m, attempts: 0 });
      this.nextId = Math.max(this.nextId, Number(m.id) + 1);
    }
    for (const d of state.deadLettered) {
      const message = { data: d.data, attributes: d.attributes };
      this.deadLettered.push(message);
      this.deadLetterKeys.set(message, d.key);
      this.nextDeadLetterKey = Math.max(this.nextDeadLetterKey, Number(d.key) + 1);
    }
    queueMicrotask(() => this.subscriber?.pump());
  }

  /** How many messages init() brought back from the journal (for the start-up log). */
  get recovered(): number {
    return this.queue.length;
  }

  async publish(messages: OutgoingMessage[]): Promise<string[]> {
    if (this.closed) throw new Error('memory bus is closed');
    const publishTime = new Date();
    const stored: Stored[] = messages.map((m) => ({
      id: String(this.nextId++),
      data: m.data,
      attributes: { ...m.attributes },
      publishTime,
      attempts: 0,
    }));
    // On disk before the publish resolves: the publisher's 202 waits for this.
    await this.journal?.published(stored);
    this.queue.push(...stored);
    queueMicrotask(() => this.subscriber?.pump());
    return stored.map((m) => m.id);
  }

  async deadLetter(message: OutgoingMessage): Promise<string> {
    return this.keepDeadLetter({ data: message.data, attributes: { ...message.attributes } });
  }

  private async keepDeadLetter(message: OutgoingMessage): Promise<string> {
    const key = String(this.nextDeadLetterKey++);
    await this.journal?.deadLettered(key, message.data, message.attributes);
    this.deadLetterKeys.set(message, key);
    this.deadLettered.push(message);
    return `dlq-${key}`;
  }

  /** @internal A delivery was acked. */
  settled(message: Stored): void {
    this.journal?.settled(message.id);
  }

  async pullDeadLetters(max: number): Promise<DeadLetterDelivery[]> {
    const taken = this.deadLettered.filter((m) => !this.leasedDeadLetters.has(m)).slice(0, max);
    return taken.map((m, i) => {
      this.leasedDeadLetters.add(m);
      return {
        id: `dlq-${i}-${m.attributes['eventpipe-dlq-message-id'] ?? ''}`,
        data: m.data,
        attributes: { ...m.attributes },
        ack: async () => {
          this.leasedDeadLetters.delete(m);
          const at = this.deadLettered.indexOf(m);
          if (at >= 0) this.deadLettered.splice(at, 1);
          const key = this.deadLetterKeys.get(m);
          this.deadLetterKeys.delete(m);
          if (key !== undefined) this.journal?.removedDeadLetter(key);
        },
        release: async () => {
          this.leasedDeadLetters.delete(m);
        },
      };
    });
  }

  /** Messages published and not yet acked (queued or outstanding). */
  get backlog(): number {
    return this.queue.length + (this.subscriber?.outstandingCount ?? 0);
  }

  subscribe(
    handler: (message: IncomingMessage) => void,
    _onError: (error: Error) => void,
    options: SubscribeOptions,
  ): BusSubscription {
    if (this.subscriber) throw new Error('the memory bus has one subscription; it is taken');
    const sub = new MemorySubscription(this, handler, options);
    this.subscriber = sub;
    queueMicrotask(() => sub.pump());
    return sub;
  }

  /** @internal */
  take(maxBytes: number, outstandingBytes: number): Stored | undefined {
    const next = this.queue[0];
    if (!next) return undefined;
    // Like Pub/Sub, one message is always deliverable even if alone it exceeds maxBytes.
    if (outstandingBytes > 0 && outstandingBytes + next.data.length > maxBytes) return undefined;
    return this.queue.shift();
  }

  /** @internal Puts an unsettled delivery back, or dead-letters it after too many attempts. */
  requeue(message: Stored, delayMs: number): void {
    if (this.maxDeliveryAttempts > 0 && message.attempts >= this.maxDeliveryAttempts) {
      // Kept on the dead-letter list first, then settled: a crash in between keeps both copies.
      void this.keepDeadLetter({
        data: message.data,
        attributes: { ...message.attributes, 'eventpipe-dlq-reason': 'max-delivery-attempts' },
      }).then(() => this.settled(message));
      return;
    }
    const back = () => {
      this.queue.push(message);
      this.subscriber?.pump();
    };
    if (delayMs > 0) setTimeout(back, delayMs).unref();
    else back();
  }

  /** @internal */
  detach(sub: MemorySubscription): void {
    if (this.subscriber === sub) this.subscriber = undefined;
  }

  get maxExtension(): number {
    return this.maxExtensionMs;
  }
  get nackDelay(): number {
    return this.nackDelayMs;
  }

  /** Either role: the in-process bus has no permissions to lack. */
  async check(_role?: BusRole): Promise<void> {
    if (this.closed) throw new Error('memory bus is closed');
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.subscriber?.close();
    await this.journal?.close();
  }
}

class MemorySubscription implements BusSubscription {
  private readonly outstanding = new Map<string, { msg: Stored; timer: NodeJS.Timeout }>();
  private outstandingBytes = 0;
  private open = true;
  private settledWaiter: (() => void) | undefined;

  constructor(
    private readonly bus: MemoryBus,
    private readonly handler: (message: IncomingMessage) => void,
    private readonly options: SubscribeOptions,
  ) {}

  get outstandingCount(): number {
    return this.outstanding.size;
  }

  pump(): void {
    while (this.open && this.outstanding.size < this.options.maxMessages) {
      const msg = this.bus.take(this.options.maxBytes, this.outstandingBytes);
      if (!msg) return;
      this.deliver(msg);
    }
  }

  private deliver(msg: Stored): void {
    msg.attempts += 1;
    const deliveryKey = `${msg.id}#${msg.attempts}`;
    let settled = false;
    const settle = (requeueDelayMs: number | undefined) => {
      if (settled) return; // a second ack/nack, or one after the deadline passed, does nothing
      settled = true;
      const entry = this.outstanding.get(deliveryKey);
      if (entry) clearTimeout(entry.timer);
      this.outstanding.delete(deliveryKey);
      this.outstandingBytes -= msg.data.length;
      if (requeueDelayMs !== undefined) this.bus.requeue(msg, requeueDelayMs);
      if (this.outstanding.size === 0) this.settledWaiter?.();
      this.pump();
    };
    const timer = setTimeout(() => settle(0), this.bus.maxExtension);
    timer.unref();
    this.outstanding.set(deliveryKey, { msg, timer });
    this.outstandingBytes += msg.data.length;
    const incoming: IncomingMessage = {
      id: msg.id,
      data: msg.data,
      attributes: msg.attributes,
      publishTime: msg.publishTime,
      deliveryAttempt: msg.attempts,
      ack: () => {
        if (!settled) this.bus.settled(msg);
        settle(undefined);
      },
      nack: () => settle(this.bus.nackDelay),
    };
    this.handler(incoming);
  }

  async close(): Promise<void> {
    if (!this.open) return;
    this.open = false;
    if (this.outstanding.size > 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, this.options.closeTimeoutMs);
        timer.unref();
        this.settledWaiter = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
    // What is still unsettled goes back for a later subscriber, as a Pub/Sub nack would.
    for (const { msg, timer } of this.outstanding.values()) {
      clearTimeout(timer);
      this.bus.requeue(msg, 0);
    }
    this.outstanding.clear();
    this.outstandingBytes = 0;
    this.bus.detach(this);
  }
}
