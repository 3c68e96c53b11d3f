import { Counter, Gauge, Histogram, type Registry } from '@eventpipe/platform';

export function workerMetrics(registry: Registry) {
  return {
    received: new Counter({
      name: 'eventpipe_worker_messages_received_total',
      help: 'Messages delivered by the subscription (redeliveries included), by delivery attempt: 1 to 4, 5+, or unknown (a subscription without a dead-letter policy reports none).',
      labelNames: ['attempt'] as const,
      registers: [registry],
    }),
    messages: new Counter({
      name: 'eventpipe_worker_messages_total',
      help: 'Messages settled, by outcome (acked: stored or already stored; nacked: store failed; dead_lettered) and delivery attempt (as for messages_received_total).',
      labelNames: ['outcome', 'attempt'] as const,
      registers: [registry],
    }),
    deadLettered: new Counter({
      name: 'eventpipe_worker_dead_lettered_total',
      help: 'Messages sent to the dead-letter topic, by reason.',
      labelNames: ['reason'] as const,
      registers: [registry],
    }),
    rowsWritten: new Counter({
      name: 'eventpipe_worker_rows_total',
      help: 'Rows handed to the store, by result: inserted; redelivered (stored already from this very message: a delivery that came back after a crash, a lost ack or an expired lease); duplicate (stored already from another message with the same content digest: a resend); conflict (stored with another digest under its source and id: dead-lettered as conflicting-duplicate); erased (an erasure covers it, or a suppression its subject: acked, not stored).',
      labelNames: ['result'] as const,
      registers: [registry],
    }),
    schemaViolations: new Counter({
      name: 'eventpipe_schema_violations_total',
      help: "Events whose data did not match their type's schema in warn mode (stored anyway), by type; in the worker only those that reached the topic without passing the publisher (the publisher counts its own).",
      labelNames: ['type'] as const,
      registers: [registry],
    }),
    storeRetries: new Counter({
      name: 'eventpipe_worker_store_retries_total',
      help: 'Failed inserts retried in place while the batch is held.',
      registers: [registry],
    }),
    batchRows: new Histogram({
      name: 'eventpipe_worker_batch_rows',
      help: 'Rows per flushed batch.',
      buckets: [1, 5, 10, 25, 50, 100, 250, 500, 1000],
      registers: [registry],
    }),
    batchBytes: new Histogram({
      name: 'eventpipe_worker_batch_bytes',
      help: 'Bytes per flushed batch.',
      buckets: [1024, 16384, 65536, 262144, 1048576, 5242880, 10485760],
      registers: [registry],
    }),
    insertSeconds: new Histogram({
      name: 'eventpipe_worker_store_insert_duration_seconds',
      help: 'Store insert latency per batch, by store and result.',
      labelNames: ['store', 'result'] as const,
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
    lagSeconds: new Histogram({
      name: 'eventpipe_worker_end_to_end_lag_seconds',
      help: 'Store time minus the publisher receive time, per stored event.',
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300],
      registers: [registry],
    }),
    publishLagSeconds: new Histogram({
      name: 'eventpipe_worker_publish_to_store_seconds',
      help: 'Store time minus the Pub/Sub publish time, per stored event: time spent in the subscription and the worker.',
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300],
      registers: [registry],
    }),
    inFlight: new Gauge({
      name: 'eventpipe_worker_in_flight_messages',
      help: 'Messages received and not yet settled.',
      registers: [registry],
    }),
  };
}
export type WorkerMetrics = ReturnType<typeof workerMetrics>;

/** The bounded `attempt` label of a delivery attempt. */
export const attemptLabel = (attempt: number): string =>
  attempt <= 0 ? 'unknown' : attempt >= 5 ? '5+' : String(attempt);
