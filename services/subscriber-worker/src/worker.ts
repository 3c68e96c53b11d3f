import { EventEmitter } from 'node:events';
import type { Express } from 'express';
import type { BusSubscription, EventBus, IncomingMessage } from '@eventpipe/bus';
import {
  createBaseApp,
  finishApp,
  retry,
  operationalRoutes,
  requestContext,
  requestScope,
  type Logger,
  type Registry,
} from '@eventpipe/platform';
import {
  ATTR,
  decodeBusMessage,
  nowTime,
  parseRfc3339,
  type DeadLetterReason,
  type Envelope,
} from '@eventpipe/schema';
import type { SchemaRegistry } from '@eventpipe/registry';
import type { ErasureBook, EventStore, InsertItem, InsertResult } from '@eventpipe/store';
import { Batcher, type BatchOptions } from './batcher';
import { attemptLabel, workerMetrics } from './metrics';

export interface WorkerDeps {
  bus: EventBus;
  store: EventStore;
  logger: Logger;
  registry: Registry;
  batch: BatchOptions;
  /** Flow control: the most messages and bytes received and not yet settled. */
  flowControl: { maxMessages: number; maxBytes: number };
  /** The schema registry (started): data of a type with a schema is checked here too, for
   * messages published to the topic by others than the publisher API. Unset: not checked. */
  schemas?: SchemaRegistry;
  /** Erasures (started): an event an erasure covers (received up to its cut-off: one that was
   * in flight, or replayed from the dead-letter topic) or a suppression drops is acked and not
   * stored. Unset: none. */
  erasures?: ErasureBook;
  /** How long stop() lets outstanding messages settle. */
  shutdownTimeoutMs: number;
  /** A failed insert is retried in place, holding the batch (Pub/Sub keeps extending the
   * leases), with capped exponential backoff; only after `windowMs` is the batch nacked. So a
   * short store outage does not burn delivery attempts towards the dead-letter topic. */
  storeRetry?: StoreRetry;
}

export interface StoreRetry {
  initialDelayMs: number;
  maxDelayMs: number;
  windowMs: number;
}

const DEFAULT_STORE_RETRY: StoreRetry = {
  initialDelayMs: 500,
  maxDelayMs: 30_000,
  windowMs: 300_000,
};

interface Pending {
  message: IncomingMessage;
  item: InsertItem;
}

/** What the worker reports as it settles messages; tests wait on these instead of sleeping. */
export interface WorkerEvents {
  acked: [count: number];
  nacked: [count: number, error: Error];
  'dead-lettered': [reason: DeadLetterReason, messageId: string];
  'store-retry': [attempt: number];
}

/**
 * The subscriber worker: the subscription is its entry point. Every message is validated here
 * and settled in one visible place: stored → ack; store failed → nack (redelivered later);
 * poison → dead-letter topic with its reason, then ack.
 */
export class Worker extends EventEmitter<WorkerEvents> {
  readonly app: Express;
  private readonly metrics;
  private readonly batcher: Batcher<Pending>;
  private subscription: BusSubscription | undefined;
  private stopping = false;
  private readonly stopSignal = new AbortController();
  private subscriptionError: Error | undefined;

  constructor(private readonly deps: WorkerDeps) {
    super();
    this.metrics = workerMetrics(deps.registry);
    this.batcher = new Batcher<Pending>(deps.batch, (items, bytes) => this.store(items, bytes));
    const app = createBaseApp(deps.logger, deps.registry);
    app.use(
      operationalRoutes({
        registry: deps.registry,
        logger: deps.logger,
        checks: [
          { name: 'bus', check: () => deps.bus.check('subscribe') },
          { name: 'store', check: () => deps.store.check() },
          {
            name: 'subscription',
            check: async () => {
              if (this.subscriptionError) throw this.subscriptionError;
            },
          },
        ],
      }),
    );
    this.app = finishApp(app, deps.logger);
  }

  start(): void {
    if (this.subscription) return;
    this.subscription = this.deps.bus.subscribe(
      (m) => this.onMessage(m),
      (e) => {
        this.subscriptionError = e;
        this.deps.logger.error({ err: e }, 'subscription error');
      },
      { ...this.deps.flowControl, closeTimeoutMs: this.deps.shutdownTimeoutMs },
    );
    this.deps.logger.info(
      { batch: this.deps.batch, flowControl: this.deps.flowControl },
      'worker pulling',
    );
  }

  /** Stops pulling, flushes the open batch, waits for acks; messages not settled in time are
   * nacked by the bus and redelivered to the next worker. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.stopSignal.abort(); // a batch waiting to retry its insert gives up and is nacked
    const closing = this.subscription?.close();
    await this.batcher.flush();
    await closing;
    this.subscription = undefined;
  }

  private onMessage(message: IncomingMessage): void {
    this.metrics.inFlight.inc();
    const requestId = message.attributes[ATTR.requestId] ?? `message-${message.id}`;
    this.metrics.received.inc({ attempt: attemptLabel(message.deliveryAttempt) });
    requestContext.run(requestScope(requestId, message.attributes[ATTR.traceparent]), () => {
      // One debug line per delivery, in the request's context: with LOG_LEVEL=debug an operator
      // can follow any event by its request id or trace (docs/OPERATIONS.md).
      this.deps.logger.debug(
        { messageId: message.id, deliveryAttempt: message.deliveryAttempt },
        'message received',
      );
      if (this.stopping) {
        this.settle([message], 'nacked');
        return;
      }
      const decoded = decodeBusMessage(message);
      if (!decoded.ok) {
        void this.deadLetter(message, decoded.reason, decoded.detail);
        return;
      }
      const event = decoded.event;
      const erasures = this.deps.erasures;
      if (
        erasures &&
        (erasures.erased({ ...event, receivedAt: decoded.receivedAt }) ||
          erasures.suppressed(event))
      ) {
        this.metrics.rowsWritten.inc({ result: 'erased' });
        this.settle([message], 'acked');
        return;
      }
      const dataschema = this.checkData(message, decoded.event, decoded.dataschema);
      if (dataschema === false) return;
      this.batcher.add(
        {
          message,
          item: {
            event: decoded.event,
            meta: {
              receivedAt: decoded.receivedAt,
              publishedAt: nowTime(message.publishTime),
              messageId: message.id,
              producer: decoded.producer,
              dataschema,
            },
          },
        },
        message.data.length,
      );
    });
  }

  /**
   * The event's data against its type's schema: the version it (or the publisher, in the
   * dataschema attribute) names, else the newest. What the publisher checked is not checked
   * again. Enforced, invalid and published straight to the topic: dead-lettered
   * `data-schema-invalid`, and false. Otherwise the dataschema to store when the event names none.
   */
  private checkData(
    message: IncomingMessage,
    event: Envelope,
    checkedAs: string | null,
  ): string | null | false {
    const schemas = this.deps.schemas;
    // What the publisher accepted after checking it is stored as accepted: a version or mode
    // registered since (or the data of a redelivery) never makes a 202 a dead letter.
    if (!schemas || message.attributes[ATTR.schemasChecked] === '1') return checkedAs;
    const result = schemas.checkEnvelope(event, event.dataschema ?? checkedAs ?? undefined);
    if (result.outcome === 'valid') return result.dataschema;
    if (result.outcome === 'unchecked') return checkedAs;
    const detail = result.violations
      .slice(0, 5)
      .map((v) => `${v.pointer} ${v.message}`)
      .join('; ');
    // A message that came through the publisher API was accepted (202) by it: stored whatever
    // its data, counted below. Only what others published to the topic is refused here.
    const accepted = message.attributes[ATTR.receivedAt] !== undefined;
    if (result.mode === 'enforce' && !accepted) {
      void this.deadLetter(message, 'data-schema-invalid', `type ${event.type}: ${detail}`);
      return false;
    }
    // warn: stored, and counted (the publisher counts what it checked itself).
    this.metrics.schemaViolations.inc({ type: event.type });
    this.deps.logger.warn(
      { type: event.type, id: event.id, violations: result.violations },
      'data does not match its schema (mode warn: stored)',
    );
    return checkedAs;
  }

  /** Inserts, retrying in place with backoff within the retry window; throws when it gives up. */
  private insertHolding(batch: Pending[]): Promise<InsertResult> {
    const policy = this.deps.storeRetry ?? DEFAULT_STORE_RETRY;
    return retry(
      async () => {
        const end = this.metrics.insertSeconds.startTimer({ store: this.deps.store.kind });
        try {
          const result = await this.deps.store.insert(batch.map((p) => p.item));
          end({ result: 'ok' });
          return result;
        } catch (e) {
          end({ result: 'error' });
          throw e;
        }
      },
      {
        ...policy,
        // Stopping: the batch is nacked at once and goes to the next worker.
        signal: this.stopSignal.signal,
        onRetry: (e, attempt, delay) => {
          this.metrics.storeRetries.inc();
          this.deps.logger.warn(
            { err: e, rows: batch.length, attempt, retryInMs: delay },
            'store insert failed; holding the batch and retrying',
          );
          this.emit('store-retry', attempt);
        },
      },
    );
  }

  private async store(whole: Pending[], bytes: number): Promise<void> {
    // Checked again now: an erasure requested while the batch filled covers some of it.
    const batch = this.dropErased(whole);
    if (batch.length === 0) return;
    try {
      const result = await this.insertHolding(batch);
      this.metrics.batchRows.observe(batch.length);
      this.metrics.batchBytes.observe(bytes);
      this.metrics.rowsWritten.inc({ result: 'inserted' }, result.inserted);
      this.metrics.rowsWritten.inc({ result: 'duplicate' }, result.duplicates);
      this.metrics.rowsWritten.inc({ result: 'redelivered' }, result.redelivered);
      this.metrics.rowsWritten.inc({ result: 'conflict' }, result.conflicts.length);
      this.metrics.rowsWritten.inc({ result: 'erased' }, result.erased ?? 0);
      const refused = new Map(result.rejected.map((r) => [r.index, r.reason]));
      const conflicting = new Set(result.conflicts.map((c) => c.index));
      const stored = batch.filter((_, i) => !refused.has(i) && !conflicting.has(i));
      const now = Date.now();
      for (const p of stored) {
        const received = parseRfc3339(p.item.meta.receivedAt);
        if (received !== undefined) {
          this.metrics.lagSeconds.observe(Math.max(0, now - Number(received / 1000n)) / 1000);
        }
        const published = parseRfc3339(p.item.meta.publishedAt);
        if (published !== undefined) {
          this.metrics.publishLagSeconds.observe(
            Math.max(0, now - Number(published / 1000n)) / 1000,
          );
        }
      }
      // Ack only now: the rows are committed, so a lost ack costs a redelivery, never an event.
      this.settle(
        stored.map((p) => p.message),
        'acked',
      );
      // Rows the store refused for their content will not pass on a retry: dead-letter them.
      for (const [i, reason] of refused)
        void this.deadLetter(batch[i]!.message, 'store-rejected', reason);
      // Another event already holds its (source, id): never stored, never silent.
      for (const c of result.conflicts) {
        const { event } = batch[c.index]!.item;
        void this.deadLetter(
          batch[c.index]!.message,
          'conflicting-duplicate',
          `(source, id) = (${event.source}, ${event.id}) is stored with other content`,
          { [ATTR.dlqDigest]: c.digest, [ATTR.dlqStoredDigest]: c.storedDigest },
        );
      }
      this.deps.logger.debug(
        {
          rows: batch.length,
          inserted: result.inserted,
          duplicates: result.duplicates,
          redelivered: result.redelivered,
          conflicts: result.conflicts.length,
          rejected: refused.size,
        },
        'batch stored',
      );
      this.emit('acked', stored.length);
    } catch (e) {
      const error = e instanceof Error ? e : new Error(String(e));
      this.deps.logger.error(
        { err: error, rows: batch.length },
        'store insert failed past the retry window (or at shutdown); nacking batch',
      );
      this.settle(
        batch.map((p) => p.message),
        'nacked',
      );
      this.emit('nacked', batch.length, error);
    }
  }

  /** Acks (and counts) the messages of events an erasure covers or a suppression drops; the rest
   * go on. */
  private dropErased(batch: Pending[]): Pending[] {
    const erasures = this.deps.erasures;
    if (!erasures) return batch;
    const keep: Pending[] = [];
    const drop: Pending[] = [];
    for (const p of batch) {
      const { event, meta } = p.item;
      const gone =
        erasures.erased({ ...event, receivedAt: meta.receivedAt }) || erasures.suppressed(event);
      (gone ? drop : keep).push(p);
    }
    if (drop.length) {
      this.metrics.rowsWritten.inc({ result: 'erased' }, drop.length);
      this.settle(
        drop.map((p) => p.message),
        'acked',
      );
      this.emit('acked', drop.length);
    }
    return keep;
  }

  private async deadLetter(
    message: IncomingMessage,
    reason: DeadLetterReason,
    detail: string,
    extra: Record<string, string> = {},
  ): Promise<void> {
    try {
      await this.deps.bus.deadLetter({
        data: message.data,
        attributes: {
          ...message.attributes,
          ...extra,
          [ATTR.dlqReason]: reason,
          // Pub/Sub attribute values are capped at 1024 bytes.
          [ATTR.dlqDetail]: Buffer.from(detail)
            .subarray(0, 1000)
            .toString('utf8')
            .replace(/\uFFFD$/, ''),
          [ATTR.dlqMessageId]: message.id,
          [ATTR.dlqAt]: nowTime(),
        },
      });
      this.deps.logger.warn({ reason, detail, messageId: message.id }, 'message dead-lettered');
      this.metrics.deadLettered.inc({ reason });
      this.settle([message], 'dead_lettered');
      this.emit('dead-lettered', reason, message.id);
    } catch (e) {
      // Could not dead-letter: keep the message; it comes back and is tried again.
      this.deps.logger.error(
        { err: e, reason, messageId: message.id },
        'dead-letter publish failed; nacking',
      );
      this.settle([message], 'nacked');
    }
  }

  private settle(messages: IncomingMessage[], outcome: 'acked' | 'nacked' | 'dead_lettered'): void {
    for (const m of messages) {
      if (outcome === 'nacked') m.nack();
      else m.ack();
      this.metrics.messages.inc({ outcome, attempt: attemptLabel(m.deliveryAttempt) });
    }
    this.metrics.inFlight.dec(messages.length);
  }
}
