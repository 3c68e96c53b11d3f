import { Counter, Gauge, Histogram, errors, type Registry } from '@eventpipe/platform';
import type { EventStore } from '@eventpipe/store';

export function queryMetrics(registry: Registry) {
  return {
    querySeconds: new Histogram({
      name: 'eventpipe_query_store_duration_seconds',
      help: 'Store query latency by operation and store.',
      labelNames: ['operation', 'store'] as const,
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [registry],
    }),
    rowsReturned: new Counter({
      name: 'eventpipe_query_rows_returned_total',
      help: 'Events returned to callers, by operation.',
      labelNames: ['operation'] as const,
      registers: [registry],
    }),
    streamsOpen: new Gauge({
      name: 'eventpipe_query_streams_open',
      help: 'Event streams (GET /v1/events/stream) open on this instance; at STREAM_MAX_CONCURRENT more get 429 too-many-streams.',
      registers: [registry],
    }),
    exportsInProgress: new Gauge({
      name: 'eventpipe_query_exports_in_progress',
      help: 'Streamed exports being served.',
      registers: [registry],
    }),
  };
}
export type QueryMetrics = ReturnType<typeof queryMetrics>;

/** Runs a store read, timed by operation. A store that fails (down, throttled, timing out) is
 * the caller's 503 with Retry-After, not a 500: nothing is wrong with the request, and the
 * details stay in the log. */
export const timedRead =
  (metrics: QueryMetrics, store: EventStore) =>
  <T>(operation: string, run: () => Promise<T>): Promise<T> => {
    const end = metrics.querySeconds.startTimer({ operation, store: store.kind });
    return run()
      .catch((e: unknown) => {
        throw errors.unavailable('the event store did not answer; retry later', 5, e);
      })
      .finally(() => end());
  };
