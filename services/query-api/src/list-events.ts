import { AppError, errors } from '@eventpipe/platform';
import type { z } from 'zod';
import { LIMITS, parseRfc3339, type Grant, type StoredRow } from '@eventpipe/schema';
import {
  defaultFrom,
  type EventFilter,
  type EventStore,
  type ListResult,
  type PageKey,
} from '@eventpipe/store';
import type { CursorCodec } from './cursor';
import type { QueryMetrics, timedRead } from './metrics';
import { filterOf, listParamsSchema, parseQuery, resumeKeyOf } from './params';

/** Who reads: the API key's name and its grant; undefined when the service runs without keys. */
export type Reader = { name: string; grant?: Grant } | undefined;

const DAY_MS = 24 * 3600 * 1000;

/** A store that bills by bytes scanned (BigQuery) bounds every read: refuse wider ranges here,
 * with a 400 that says so, before any query runs. */
export function checkSpan(store: EventStore, from: string | undefined, to: string | undefined) {
  const policy = store.rangePolicy;
  if (!policy || from === undefined || to === undefined) return;
  const spanMs = Number((parseRfc3339(to)! - parseRfc3339(from)!) / 1000n);
  if (spanMs > policy.maxRangeMs) {
    const days = Math.floor(policy.maxRangeMs / DAY_MS);
    throw new AppError('range-too-large', {
      detail: `from and to may be at most ${days} days apart on this store`,
      errors: [{ pointer: 'from', detail: `at most ${days} days before to` }],
    });
  }
}

export interface ListEventsDeps {
  store: EventStore;
  cursors: CursorCodec;
  metrics: QueryMetrics;
  read: ReturnType<typeof timedRead>;
  /** Streamed exports served at once. */
  maxConcurrentExports: number;
  /** A page ends early once its events' data reach this many bytes (PAGE_MAX_BYTES). */
  pageMaxBytes: number;
}

/** What the list use cases read: the filters and where to start. */
interface ListRequest {
  params: z.output<typeof listParamsSchema>;
  filter: EventFilter;
  after: PageKey | undefined;
}

/**
 * GET /v1/events as use cases: read the parameters → check the range → read a page (one row more
 * than asked tells whether a next page exists) and sign its cursor; or reserve an export slot and
 * fix the window the export reads chunk by chunk.
 */
export function listEventsUseCases(deps: ListEventsDeps) {
  let exporting = 0;

  function request(query: unknown, reader: Reader): ListRequest {
    const params = parseQuery(listParamsSchema, query);
    const filter = filterOf(params, reader?.grant);
    checkSpan(deps.store, filter.from, filter.to);
    const after = params.cursor
      ? deps.cursors.decode(params.cursor, filter, reader?.name)
      : resumeKeyOf(params);
    return { params, filter, after };
  }

  return {
    /**
     * One page, newest first, and the cursor of the next (null on the last). The page holds
     * `limit` events, or fewer once they weigh pageMaxBytes: the store stops there and says so,
     * and the page gets a cursor.
     */
    async listEvents(
      query: unknown,
      reader?: Reader,
    ): Promise<{ page: StoredRow[]; nextCursor: string | null }> {
      const { params, filter, after } = request(query, reader);
      const limit = params.limit ?? LIMITS.defaultPageSize;
      const maxBytes = deps.pageMaxBytes;
      const rows = await deps.read('list', () =>
        deps.store.list({ ...filter, limit: limit + 1, after, maxBytes }),
      );
      const page = rows.slice(0, limit);
      const last = page[page.length - 1];
      const more = rows.length > limit || rows.truncated === true;
      const nextCursor =
        more && last
          ? deps.cursors.encode(
              { time: last.time, source: last.source, id: last.id },
              filter,
              reader?.name,
            )
          : null;
      deps.metrics.rowsReturned.inc({ operation: 'list' }, page.length);
      return { page, nextCursor };
    },

    /**
     * An export: every match, read chunk by chunk. Takes one of the export slots (release it
     * when done); a store that bounds reads by time (BigQuery) would move its default window
     * with the clock on every chunk, so the window is fixed here, once.
     */
    startExport(query: unknown, reader?: Reader) {
      const { params, filter, after } = request(query, reader);
      if (params.limit !== undefined) {
        throw errors.validation('limit does not apply to an export: every matching row is sent', [
          { pointer: 'limit', detail: 'leave limit out of an export' },
        ]);
      }
      if (exporting >= deps.maxConcurrentExports) {
        throw new AppError('too-many-exports', {
          detail: `this service streams at most ${deps.maxConcurrentExports} exports at a time; retry shortly`,
          headers: { 'Retry-After': '5' },
        });
      }
      const policy = deps.store.rangePolicy;
      const fixed =
        policy && filter.from === undefined
          ? { ...filter, from: defaultFrom(policy, filter.to) }
          : filter;
      exporting += 1;
      deps.metrics.exportsInProgress.set(exporting);
      // Each chunk is bounded in bytes too, so the two chunks an export holds stay small
      // whatever its events weigh.
      const maxBytes = LIMITS.exportChunkBytes;
      return {
        start: after,
        next: (key: PageKey | undefined, limit: number) =>
          deps.read('export', () => deps.store.list({ ...fixed, limit, after: key, maxBytes })),
        more: (rows: ListResult, limit: number) => rows.length >= limit || rows.truncated === true,
        onRows: (n: number) => deps.metrics.rowsReturned.inc({ operation: 'export' }, n),
        release: () => {
          exporting -= 1;
          deps.metrics.exportsInProgress.set(exporting);
        },
      };
    },
  };
}
