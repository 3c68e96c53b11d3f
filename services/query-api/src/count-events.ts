import { errors } from '@eventpipe/platform';
import { LIMITS, formatMicros, nowTime, parseRfc3339, type StatsResponse } from '@eventpipe/schema';
import type { EventStore } from '@eventpipe/store';
import { checkSpan, type Reader } from './list-events';
import type { timedRead } from './metrics';
import { INTERVAL_MICROS, filterOf, parseQuery, statsParamsSchema } from './params';

/** GET /v1/stats: counts per time bucket, the range defaulting to the window before `to`. */
export function countEventsUseCase(deps: {
  store: EventStore;
  read: ReturnType<typeof timedRead>;
  /** Default window when `from` is not given. */
  defaultWindowMs: number;
}) {
  return async function countEvents(query: unknown, reader?: Reader): Promise<StatsResponse> {
    const params = parseQuery(statsParamsSchema, query);
    const interval = params.interval ?? 'hour';
    const to = params.to ?? nowTime();
    const from =
      params.from ?? formatMicros(parseRfc3339(to)! - BigInt(deps.defaultWindowMs) * 1000n);
    if (parseRfc3339(from)! > parseRfc3339(to)!) {
      throw errors.validation('from must not be after to', [
        { pointer: 'from', detail: 'from must not be after to' },
      ]);
    }
    checkSpan(deps.store, from, to);
    const span = parseRfc3339(to)! - parseRfc3339(from)!;
    const buckets = span / INTERVAL_MICROS[interval] + 1n;
    if (buckets > BigInt(LIMITS.maxStatsBuckets)) {
      throw errors.validation(
        `the range spans ${buckets} ${interval} buckets; at most ${LIMITS.maxStatsBuckets} are allowed`,
        [{ pointer: 'interval', detail: 'choose a wider interval or a shorter range' }],
      );
    }
    const result = await deps.read('stats', () =>
      deps.store.stats({
        ...filterOf(params, reader?.grant),
        from,
        to,
        interval,
        groupBy: params.groupBy,
      }),
    );
    return { from, to, interval, groupBy: params.groupBy ?? null, buckets: result };
  };
}
