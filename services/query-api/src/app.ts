import { createHash } from 'node:crypto';
import type { Express, Response } from 'express';
import {
  AppError,
  apiDocsRoutes,
  createBaseApp,
  errors,
  finishApp,
  operationalRoutes,
  requireScope,
  chain,
  authFailureLimit,
  perConsumerLimit,
  type AccessOptions,
  type ApiKey,
  type Logger,
  type Registry,
  Histogram,
  Counter,
  Gauge,
} from '@eventpipe/platform';
import {
  CLOUDEVENTS_MEDIA_TYPES,
  LIMITS,
  cloudEventJson,
  formatMicros,
  nowTime,
  parseRfc3339,
  storedEventJson,
  type StoredRow,
} from '@eventpipe/schema';
import { defaultFrom, type EventStore } from '@eventpipe/store';
import { CursorCodec } from './cursor';
import {
  INTERVAL_MICROS,
  filterOf,
  getParamsSchema,
  listParamsSchema,
  parseQuery,
  resumeKeyOf,
  statsParamsSchema,
} from './params';
import { EVENT_FORMATS, LIST_FORMATS, negotiate, streamExport } from './export';
import { queryApiDocument } from './openapi';

export interface QueryDeps {
  store: EventStore;
  logger: Logger;
  registry: Registry;
  /** HMAC key of page cursors (at least 16 bytes). */
  cursorSecret: Buffer;
  /** API keys; every /v1 route needs one with events:read. Empty: open (AUTH_MODE=none). */
  apiKeys?: ApiKey[];
  access?: AccessOptions;
  /** Streamed exports served at once (default 8); each holds up to two chunks of rows. */
  maxConcurrentExports?: number;
  /** Default stats window when `from` is not given. */
  defaultStatsWindowMs?: number;
}

const DAY_MS = 24 * 3600 * 1000;

/** A store that bills by bytes scanned (BigQuery) bounds every read: refuse wider ranges here,
 * with a 400 that says so, before any query runs. */
function checkSpan(store: EventStore, from: string | undefined, to: string | undefined): void {
  const policy = store.rangePolicy;
  if (!policy || from === undefined || to === undefined) return;
  const spanMs = Number((parseRfc3339(to)! - parseRfc3339(from)!) / 1000n);
  if (spanMs > policy.maxRangeMs) {
    const days = Math.floor(policy.maxRangeMs / DAY_MS);
    throw new AppError('range-too-large', 400, 'Time range too large', {
      detail: `from and to may be at most ${days} days apart on this store`,
      errors: [{ pointer: 'from', detail: `at most ${days} days before to` }],
    });
  }
}

/** A pure CloudEvent's pipeline metadata, which its body has no room for. */
function setMetaHeaders(res: Response, row: StoredRow): void {
  res.setHeader('Eventpipe-Received-At', row.received_at);
  res.setHeader('Eventpipe-Published-At', row.published_at);
  res.setHeader('Eventpipe-Stored-At', row.stored_at);
  res.setHeader('Eventpipe-Message-Id', row.message_id);
}

/** The query API: GET /v1/events, /v1/events/{id}, /v1/stats plus the operational routes. */
export function createQueryApp(deps: QueryDeps): Express {
  const { store, logger, registry } = deps;
  const cursors = new CursorCodec(deps.cursorSecret);
  const app = createBaseApp(logger, registry, { corsOrigins: deps.access?.corsOrigins });
  const querySeconds = new Histogram({
    name: 'eventpipe_query_store_duration_seconds',
    help: 'Store query latency by operation and store.',
    labelNames: ['operation', 'store'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [registry],
  });
  const rowsReturned = new Counter({
    name: 'eventpipe_query_rows_returned_total',
    help: 'Events returned to callers, by operation.',
    labelNames: ['operation'] as const,
    registers: [registry],
  });
  const exportsInProgress = new Gauge({
    name: 'eventpipe_query_exports_in_progress',
    help: 'Streamed exports being served.',
    registers: [registry],
  });
  const maxExports = deps.maxConcurrentExports ?? 8;
  let exporting = 0;
  // A store that fails (down, throttled, timing out) is the caller's 503 with Retry-After, not
  // a 500: nothing is wrong with the request, and the details stay in the log.
  const timed = <T>(operation: string, run: () => Promise<T>): Promise<T> => {
    const end = querySeconds.startTimer({ operation, store: store.kind });
    return run()
      .catch((e: unknown) => {
        throw errors.unavailable('the event store did not answer; retry later', 5, e);
      })
      .finally(() => end());
  };

  app.use(
    operationalRoutes({
      registry,
      logger,
      checks: [{ name: 'store', check: () => store.check() }],
    }),
    apiDocsRoutes(queryApiDocument(), 'eventpipe query API'),
  );

  const read = chain([
    authFailureLimit(
      deps.access?.authFailuresPerMinute ?? 30,
      requireScope(deps.apiKeys ?? [], 'events:read'),
    ),
    perConsumerLimit('read', deps.access?.rateLimitPerMinute ?? 0),
  ]);

  app.get('/v1/events', read, async (req, res) => {
    const params = parseQuery(listParamsSchema, req.query);
    const filter = filterOf(params);
    checkSpan(store, filter.from, filter.to);
    const after = params.cursor ? cursors.decode(params.cursor, filter) : resumeKeyOf(params);
    const format = negotiate(req, LIST_FORMATS);
    if (format === 'ndjson' || format === 'csv') {
      if (params.limit !== undefined) {
        throw errors.validation('limit does not apply to an export: every matching row is sent', [
          { pointer: 'limit', detail: 'leave limit out of an export' },
        ]);
      }
      if (exporting >= maxExports) {
        throw new AppError('too-many-exports', 429, 'Too many exports at once', {
          detail: `this service streams at most ${maxExports} exports at a time; retry shortly`,
          headers: { 'Retry-After': '5' },
        });
      }
      // A store that bounds reads by time (BigQuery) would move its default window with the
      // clock on every chunk; the export fixes it once, at its start.
      const policy = store.rangePolicy;
      const exportFilter =
        policy && filter.from === undefined
          ? { ...filter, from: defaultFrom(policy, filter.to) }
          : filter;
      // Its duration depends on its size: labelled apart from the /v1/ latency SLO.
      res.locals.routeLabel = 'export /v1/events';
      exporting += 1;
      exportsInProgress.set(exporting);
      try {
        await streamExport(
          res,
          format,
          (key, limit) => timed('export', () => store.list({ ...exportFilter, limit, after: key })),
          {
            start: after,
            onRows: (n) => rowsReturned.inc({ operation: 'export' }, n),
            logger,
          },
        );
      } finally {
        exporting -= 1;
        exportsInProgress.set(exporting);
      }
      return;
    }
    const limit = params.limit ?? LIMITS.defaultPageSize;
    // One extra row tells whether another page exists without a count query.
    const rows = await timed('list', () => store.list({ ...filter, limit: limit + 1, after }));
    const page = rows.slice(0, limit);
    const last = page[page.length - 1];
    const nextCursor =
      rows.length > limit && last
        ? cursors.encode({ time: last.time, source: last.source, id: last.id }, filter)
        : null;
    rowsReturned.inc({ operation: 'list' }, page.length);
    res.setHeader('Cache-Control', 'no-store'); // new events change every page
    res.setHeader('Vary', 'Accept');
    // Built as text, not res.json(): each event's data goes out as the text it was sent as.
    if (format === 'cloudevents') {
      // A batch of pure CloudEvents has no room for a cursor: it goes in headers.
      if (nextCursor) {
        const next = new URL(req.originalUrl, 'http://host');
        next.searchParams.set('cursor', nextCursor);
        res.setHeader('Link', `<${next.pathname}${next.search}>; rel="next"`);
        res.setHeader('Eventpipe-Next-Cursor', nextCursor);
      }
      res.type(CLOUDEVENTS_MEDIA_TYPES.batch).send(`[${page.map(cloudEventJson).join(',')}]`);
      return;
    }
    res
      .type('application/json')
      .send(
        `{"data":[${page.map(storedEventJson).join(',')}],"nextCursor":${JSON.stringify(nextCursor)}}`,
      );
  });

  app.get('/v1/events/:id', read, async (req, res) => {
    const { source } = parseQuery(getParamsSchema, req.query);
    const id = String(req.params.id ?? '');
    if (!id || Buffer.byteLength(id) > LIMITS.maxAttributeBytes) {
      throw errors.validation('id is empty or too long', [
        { pointer: 'id', detail: 'id is empty or too long' },
      ]);
    }
    const found = await timed('get', () => store.get(id, source));
    if (found.length === 0)
      throw errors.notFound(
        `no event with id ${id.slice(0, 100)}${source ? ' from that source' : ''}`,
      );
    if (found.length > 1) {
      throw new AppError('ambiguous-id', 409, 'Id is used by more than one source', {
        detail: `${found.length} sources use this id; add ?source= to choose one`,
        errors: found.map((e) => ({ pointer: 'source', detail: String(e.source) })),
      });
    }
    rowsReturned.inc({ operation: 'get' }, 1);
    const row = found[0]!;
    const pure = negotiate(req, EVENT_FORMATS) === 'cloudevent';
    // A stored event never changes (the first write of (source, id) wins), so its ETag is a
    // strong hash of the body and a client may keep it; the key decides access, hence private.
    const body = pure ? cloudEventJson(row) : storedEventJson(row);
    const etag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 32)}"`;
    res.setHeader('ETag', etag);
    res.setHeader('Cache-Control', 'private, max-age=3600');
    res.setHeader('Vary', 'Accept');
    if (pure) setMetaHeaders(res, row);
    // express's req.fresh compares If-None-Match with the ETag just set (RFC 9110, weakly).
    if (req.fresh) {
      res.status(304).end();
      return;
    }
    res.type(pure ? CLOUDEVENTS_MEDIA_TYPES.event : 'application/json').send(body);
  });

  app.get('/v1/stats', read, async (req, res) => {
    const params = parseQuery(statsParamsSchema, req.query);
    const interval = params.interval ?? 'hour';
    const to = params.to ?? nowTime();
    const from =
      params.from ??
      formatMicros(parseRfc3339(to)! - BigInt(deps.defaultStatsWindowMs ?? DAY_MS) * 1000n);
    if (parseRfc3339(from)! > parseRfc3339(to)!) {
      throw errors.validation('from must not be after to', [
        { pointer: 'from', detail: 'from must not be after to' },
      ]);
    }
    checkSpan(store, from, to);
    const span = parseRfc3339(to)! - parseRfc3339(from)!;
    const buckets = span / INTERVAL_MICROS[interval] + 1n;
    if (buckets > BigInt(LIMITS.maxStatsBuckets)) {
      throw errors.validation(
        `the range spans ${buckets} ${interval} buckets; at most ${LIMITS.maxStatsBuckets} are allowed`,
        [{ pointer: 'interval', detail: 'choose a wider interval or a shorter range' }],
      );
    }
    const result = await timed('stats', () =>
      store.stats({ ...filterOf(params), from, to, interval, groupBy: params.groupBy }),
    );
    res.setHeader('Cache-Control', 'no-store');
    res.json({ from, to, interval, groupBy: params.groupBy ?? null, buckets: result });
  });

  return finishApp(app, logger);
}
