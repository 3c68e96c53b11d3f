import { Counter, Gauge, type Logger, type Registry } from '@eventpipe/platform';
import { formatMicros, nowTime, parseRfc3339 } from '@eventpipe/schema';
import {
  StoreConfigError,
  erasureMatch,
  type Erasure,
  type ErasureBook,
  type EventStore,
} from '@eventpipe/store';

export interface LifecycleOptions {
  /** RETENTION_DAYS in ms; unset: no retention sweep. */
  retentionMs?: number;
  /** How often the retention sweep runs (the first at start). */
  sweepMs: number;
  /** How often pending erasures are tried (and at once when one is requested in this process). */
  erasurePollMs: number;
}

function lifecycleMetrics(registry: Registry) {
  return {
    retentionRuns: new Counter({
      name: 'eventpipe_retention_runs_total',
      help: 'Retention sweeps (DuckDB: deletes of events older than RETENTION_DAYS), by result: ok or error.',
      labelNames: ['result'] as const,
      registers: [registry],
    }),
    retentionDeleted: new Counter({
      name: 'eventpipe_retention_deleted_rows_total',
      help: 'Events deleted by retention sweeps.',
      registers: [registry],
    }),
    retentionLastRun: new Gauge({
      name: 'eventpipe_retention_last_success_timestamp_seconds',
      help: 'When the last retention sweep finished without error (Unix seconds).',
      registers: [registry],
    }),
    erasureRuns: new Counter({
      name: 'eventpipe_erasure_runs_total',
      help: "Attempts at an erasure's delete, by result: done, waiting (rows in BigQuery's streaming buffer; tried again), error (tried again) or failed (given up: the store refuses).",
      labelNames: ['result'] as const,
      registers: [registry],
    }),
    erasureDeleted: new Counter({
      name: 'eventpipe_erasure_deleted_rows_total',
      help: 'Events deleted by erasures.',
      registers: [registry],
    }),
    erasuresPending: new Gauge({
      name: 'eventpipe_erasures_pending',
      help: 'Erasures requested and not done (their events are already left out of every read).',
      registers: [registry],
    }),
  };
}

/**
 * The worker's data lifecycle: it runs the deletes of pending erasures (recording each step in
 * the erasure's log) and, where the store keeps no expiry of its own (DuckDB), deletes events
 * past RETENTION_DAYS in bounded batches. Reads already leave out both before a delete runs.
 */
export class LifecycleRunner {
  private readonly metrics;
  private timers: NodeJS.Timeout[] = [];
  private erasing: Promise<void> | undefined;
  private again = false;
  private sweeping: Promise<void> | undefined;
  private unsubscribe: (() => void) | undefined;
  private stopped = false;

  constructor(
    private readonly deps: {
      store: EventStore;
      book: ErasureBook;
      logger: Logger;
      registry: Registry;
      options: LifecycleOptions;
    },
  ) {
    this.metrics = lifecycleMetrics(deps.registry);
  }

  start(): void {
    const { options } = this.deps;
    this.unsubscribe = this.deps.book.onChange(() => {
      this.metrics.erasuresPending.set(this.deps.book.pending().length);
      if (this.deps.book.pending().length) void this.runErasures();
    });
    this.metrics.erasuresPending.set(this.deps.book.pending().length);
    this.every(options.erasurePollMs, () => this.runErasures());
    void this.runErasures();
    if (options.retentionMs !== undefined && this.deps.store.expire) {
      this.every(options.sweepMs, () => this.sweep());
      void this.sweep();
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    this.unsubscribe?.();
    await Promise.allSettled([this.erasing, this.sweeping]);
  }

  private every(ms: number, fn: () => Promise<void>): void {
    const t = setInterval(() => void fn(), ms);
    t.unref();
    this.timers.push(t);
  }

  /** Tries every pending erasure once; a call while one runs makes it go round again. */
  runErasures(): Promise<void> {
    if (this.erasing) {
      this.again = true;
      return this.erasing;
    }
    this.erasing = (async () => {
      do {
        this.again = false;
        for (const e of this.deps.book.pending()) {
          if (this.stopped) return;
          await this.runErasure(e);
        }
      } while (this.again && !this.stopped);
    })().finally(() => {
      this.erasing = undefined;
    });
    return this.erasing;
  }

  private async runErasure(e: Erasure): Promise<void> {
    const { book, logger } = this.deps;
    try {
      const result = await this.deps.store.erase(erasureMatch(e));
      this.metrics.erasureDeleted.inc(result.deleted);
      if (result.waiting !== undefined) {
        this.metrics.erasureRuns.inc({ result: 'waiting' });
        // A step only when something changed: a wait is not logged again every poll.
        if (result.deleted > 0 || e.detail !== result.waiting)
          await book.record(e, {
            action: 'progress',
            rows: result.deleted,
            detail: result.waiting,
          });
        return;
      }
      const done = await book.record(e, { action: 'done', rows: e.rows + result.deleted });
      this.metrics.erasureRuns.inc({ result: 'done' });
      logger.info({ erasure: e.id, rows: done.rows, requestedBy: e.requestedBy }, 'erasure done');
    } catch (err) {
      if (err instanceof StoreConfigError) {
        this.metrics.erasureRuns.inc({ result: 'failed' });
        await book
          .record(e, { action: 'failed', detail: err.message })
          .catch((x) => logger.error({ err: x, erasure: e.id }, 'cannot record erasure failure'));
        logger.error({ err, erasure: e.id }, 'erasure failed');
        return;
      }
      this.metrics.erasureRuns.inc({ result: 'error' });
      logger.warn({ err, erasure: e.id }, 'erasure delete failed; tried again');
    }
  }

  /** One retention sweep: deletes events older than the retention, a batch at a time. */
  sweep(): Promise<void> {
    if (this.sweeping) return this.sweeping;
    const { store, logger, options } = this.deps;
    this.sweeping = (async () => {
      const started = Date.now();
      const cutoff = formatMicros(parseRfc3339(nowTime())! - BigInt(options.retentionMs!) * 1000n);
      try {
        const deleted = await store.expire!(cutoff, Number.MAX_SAFE_INTEGER);
        this.metrics.retentionRuns.inc({ result: 'ok' });
        this.metrics.retentionDeleted.inc(deleted);
        this.metrics.retentionLastRun.set(Date.now() / 1000);
        logger.info({ deleted, cutoff, durationMs: Date.now() - started }, 'retention sweep done');
      } catch (err) {
        this.metrics.retentionRuns.inc({ result: 'error' });
        logger.error({ err, cutoff }, 'retention sweep failed');
      }
    })().finally(() => {
      this.sweeping = undefined;
    });
    return this.sweeping;
  }
}

/** The runner's options from the variables. */
export const lifecycleOptions = (c: {
  RETENTION_DAYS?: number;
  RETENTION_SWEEP_SECONDS: number;
  ERASURE_REFRESH_SECONDS: number;
}): LifecycleOptions => ({
  retentionMs: c.RETENTION_DAYS === undefined ? undefined : c.RETENTION_DAYS * 86_400_000,
  sweepMs: c.RETENTION_SWEEP_SECONDS * 1000,
  erasurePollMs: c.ERASURE_REFRESH_SECONDS * 1000,
});
