import type { Express } from 'express';
import type { EventBus } from '@eventpipe/bus';
import { createRegistry, type AccessOptions, type ApiKey, type Logger } from '@eventpipe/platform';
import { createPublisherApp, type AcceptedLog } from '@eventpipe/publisher-api';
import { createQueryApp, type StreamOptions } from '@eventpipe/query-api';
import { backgroundRegistry, type SchemaRegistry } from '@eventpipe/registry';
import type { ErasureBook, EventStore } from '@eventpipe/store';
import {
  LifecycleRunner,
  Worker,
  type BatchOptions,
  type LifecycleOptions,
  type StoreRetry,
} from '@eventpipe/subscriber-worker';

export interface StackDeps {
  bus: EventBus;
  store: EventStore;
  /** One logger per service, so every line says which one wrote it. */
  loggers: { publisher: Logger; worker: Logger; query: Logger };
  cursorSecret: Buffer;
  maxInFlightEvents?: number;
  /** Streamed exports the query API serves at once. */
  maxConcurrentExports?: number;
  /** PAGE_MAX_BYTES and PAGE_MAX_CONCURRENT of the query API. */
  pageMaxBytes?: number;
  pageMaxConcurrent?: number;
  /** GET /v1/events/stream options of the query API. */
  stream?: Partial<StreamOptions>;
  apiKeys?: ApiKey[];
  /** Access options of the two APIs (write and read rate limits differ). */
  access?: { write?: AccessOptions; read?: AccessOptions };
  batch: BatchOptions;
  flowControl: { maxMessages: number; maxBytes: number };
  storeRetry?: StoreRetry;
  shutdownTimeoutMs: number;
  acceptedLog?: AcceptedLog;
  /** The schema registry the three share (started). Unset: one over the store, loading in the
   * background. */
  schemas?: SchemaRegistry;
  /** The erasures the three share (started), and the worker's lifecycle options. Unset: no
   * suppression or late-arrival drop, and no lifecycle runner (the query API loads its own). */
  erasures?: ErasureBook;
  lifecycle?: LifecycleOptions;
}

export interface Stack {
  publisher: Express;
  query: Express;
  worker: Worker;
  /** Runs erasures and the retention sweep; set when `erasures` is. */
  lifecycle?: LifecycleRunner;
}

/** The three services wired to one bus and one store, each with its own metrics registry. */
export function createStack(deps: StackDeps): Stack {
  const schemas = deps.schemas ?? backgroundRegistry(deps.store.schemas);
  const workerRegistry = createRegistry('subscriber-worker');
  const lifecycle =
    deps.erasures &&
    new LifecycleRunner({
      store: deps.store,
      book: deps.erasures,
      logger: deps.loggers.worker,
      registry: workerRegistry,
      options: deps.lifecycle ?? { sweepMs: 3_600_000, erasurePollMs: 10_000 },
    });
  return {
    lifecycle,
    publisher: createPublisherApp({
      acceptedLog: deps.acceptedLog,
      maxInFlightEvents: deps.maxInFlightEvents,
      apiKeys: deps.apiKeys,
      access: deps.access?.write,
      bus: deps.bus,
      logger: deps.loggers.publisher,
      registry: createRegistry('publisher-api'),
      schemas,
      erasures: deps.erasures,
    }),
    query: createQueryApp({
      apiKeys: deps.apiKeys,
      access: deps.access?.read,
      store: deps.store,
      logger: deps.loggers.query,
      registry: createRegistry('query-api'),
      schemas,
      cursorSecret: deps.cursorSecret,
      maxConcurrentExports: deps.maxConcurrentExports,
      pageMaxBytes: deps.pageMaxBytes,
      pageMaxConcurrent: deps.pageMaxConcurrent,
      stream: deps.stream,
      erasures: deps.erasures,
    }),
    worker: new Worker({
      bus: deps.bus,
      store: deps.store,
      logger: deps.loggers.worker,
      registry: workerRegistry,
      batch: deps.batch,
      flowControl: deps.flowControl,
      storeRetry: deps.storeRetry,
      shutdownTimeoutMs: deps.shutdownTimeoutMs,
      schemas,
      erasures: deps.erasures,
    }),
  };
}
