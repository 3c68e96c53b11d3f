import { createHash } from 'node:crypto';
import express, { type Express, type Request, type RequestHandler, type Response } from 'express';
import {
  apiDocsRoutes,
  authFailureLimit,
  createBaseApp,
  errors,
  finishApp,
  grantOf,
  operationalRoutes,
  perConsumerLimit,
  requireScope,
  type AccessOptions,
  type ApiKey,
  type Logger,
  type Registry,
} from '@eventpipe/platform';
import {
  CLOUDEVENTS_MEDIA_TYPES,
  LIMITS,
  cloudEventJson,
  storedEventJson,
  type StoredRow,
} from '@eventpipe/schema';
import { backgroundRegistry, withEventTypes, type SchemaRegistry } from '@eventpipe/registry';
import { ErasureBook, type EventStore } from '@eventpipe/store';
import { countEventsUseCase } from './count-events';
import { CursorCodec } from './cursor';
import { EVENT_FORMATS, LIST_FORMATS, negotiate, streamExport } from './export';
import { explorerRoutes } from './explorer';
import { ERASURE_BODY_MAX_BYTES, erasureUseCases } from './erasures';
import { getEventUseCase } from './get-event';
import { listEventsUseCases, type Reader } from './list-events';
import { queryMetrics, timedRead } from './metrics';
import { queryApiDocument } from './openapi';
import { ReadGate, responseDone } from './read-gate';
import { SCHEMA_BODY_MAX_BYTES, schemaUseCases } from './schemas';
import { STREAM_DEFAULTS, streamUseCase, type StreamOptions } from './stream';

export interface QueryDeps {
  store: EventStore;
  /** The schema registry (started): /v1/schemas reads and registers through it. Unset: one
   * over the store, loading in the background. */
  schemas?: SchemaRegistry;
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
  /** A page ends early once its events' data reach this many bytes (default 8 MiB). */
  pageMaxBytes?: number;
  /** Page (and by-id) reads at once; more wait, and past four times as many waiting, 503
   * (default 8). */
  pageMaxConcurrent?: number;
  /** GET /v1/events/stream: caps and timings (STREAM_* variables). */
  stream?: Partial<StreamOptions>;
  /** Erasures (started): /v1/erasures requests, lists and lifts through it. Unset: one over the
   * store's erasures table, loaded at the first /v1/erasures request. */
  erasures?: ErasureBook;
}

/** The query API: GET /v1/events, /v1/events/{id}, /v1/stats plus the operational routes. */
export function createQueryApp(deps: QueryDeps): Express {
  const { store, logger, registry } = deps;
  const metrics = queryMetrics(registry);
  const schemaRegistry = deps.schemas ?? backgroundRegistry(store.schemas);
  const baseDocument = queryApiDocument();
  const read = timedRead(metrics, store);
  const gate = new ReadGate(deps.pageMaxConcurrent ?? 8);
  const cursors = new CursorCodec(deps.cursorSecret);
  const lists = listEventsUseCases({
    store,
    metrics,
    read,
    cursors,
    maxConcurrentExports: deps.maxConcurrentExports ?? 8,
    pageMaxBytes: deps.pageMaxBytes ?? 8 * 1024 * 1024,
  });
  const getEvent = getEventUseCase({ store, metrics, read });
  const serveStream = streamUseCase({
    store,
    cursors,
    metrics,
    logger,
    options: { ...STREAM_DEFAULTS, ...deps.stream },
  });
  const countEvents = countEventsUseCase({
    store,
    read,
    defaultWindowMs: deps.defaultStatsWindowMs ?? 24 * 3600 * 1000,
  });
  const app = createBaseApp(logger, registry, {
    corsOrigins: deps.access?.corsOrigins,
    trustProxy: deps.access?.trustProxy,
  });
  // One count of failed authentications per address, for /v1 and /metrics together.
  const guarded = authFailureLimit(deps.access?.authFailuresPerMinute ?? 30);
  app.use(
    operationalRoutes({
      registry,
      logger,
      checks: [{ name: 'store', check: () => store.check() }],
      metricsAccess: guarded(requireScope(deps.apiKeys ?? [], 'metrics:read')),
    }),
    apiDocsRoutes(() => withEventTypes(baseDocument, schemaRegistry), 'eventpipe query API'),
    // The explorer page is public; its calls to /v1 carry the key typed into it.
    explorerRoutes(),
  );
  const access = [
    guarded(requireScope(deps.apiKeys ?? [], 'events:read')),
    perConsumerLimit('read', deps.access?.rateLimitPerMinute ?? 0),
  ];

  /** A page read holds a gate slot from its query until its response has left. */
  const gated = (res: Response, send: () => Promise<void>) =>
    gate.run(readerOf(res)?.name ?? `ip:${res.req.ip ?? ''}`, async () => {
      await send();
      await responseDone(res, LIMITS.exportStallMs);
    });

  /** The key a request came with, as the use cases see it: its name and grant. */
  const readerOf = (res: Response): Reader => {
    const key = res.locals.apiKey as ApiKey | undefined;
    return key && { name: key.name, grant: grantOf(key) };
  };

  app.get('/v1/events', ...access, async (req, res) => {
    const format = negotiate(req, LIST_FORMATS);
    if (format === 'ndjson' || format === 'csv') {
      const run = lists.startExport(req.query, readerOf(res));
      // Its duration depends on its size: labelled apart from the /v1/ latency SLO.
      res.locals.routeLabel = 'export /v1/events';
      try {
        await streamExport(res, format, run.next, {
          start: run.start,
          more: run.more,
          onRows: run.onRows,
          logger,
        });
      } finally {
        run.release();
      }
      return;
    }
    await gated(res, async () => {
      const { page, nextCursor } = await lists.listEvents(req.query, readerOf(res));
      sendPage(req, res, format, page, nextCursor);
    });
  });

  // Before /v1/events/:id, which would take "stream" for an id. Only a request that asks for
  // text/event-stream is a stream: any other is the event whose id is "stream".
  const wantsStream: RequestHandler = (req, _res, next) =>
    next(
      (req.get('accept') ?? '').toLowerCase().includes('text/event-stream') ? undefined : 'route',
    );
  app.get('/v1/events/stream', wantsStream, ...access, async (req, res) => {
    // Its duration is the client's: labelled apart from the /v1/ latency SLO.
    res.locals.routeLabel = 'stream /v1/events/stream';
    await serveStream(req, res, readerOf(res));
  });

  app.get('/v1/events/:id', ...access, async (req, res) => {
    await gated(res, async () => {
      const row = await getEvent(String(req.params.id ?? ''), req.query, readerOf(res));
      sendEvent(req, res, negotiate(req, EVENT_FORMATS), row);
    });
  });

  app.get('/v1/stats', ...access, async (req, res) => {
    const stats = await countEvents(req.query, readerOf(res));
    res.setHeader('Cache-Control', 'no-store');
    res.json(stats);
  });

  // Without a started book (tests, or a caller that needs none), one is loaded at first use.
  let book: Promise<ErasureBook> | undefined = deps.erasures && Promise.resolve(deps.erasures);
  const erasures = erasureUseCases({
    book: () => {
      if (!book) {
        const fresh = new ErasureBook(store.erasures, { refreshMs: 10_000 });
        book = fresh.refresh().then(() => fresh);
        book.catch(() => {
          book = undefined; // tried again by the next request
        });
      }
      return book;
    },
  });
  const erase = [
    guarded(requireScope(deps.apiKeys ?? [], 'events:erase')),
    perConsumerLimit('write', deps.access?.rateLimitPerMinute ?? 0),
  ];
  app.post(
    '/v1/erasures',
    ...erase,
    // JSON only: a form or text/plain body (what a web page may send without a CORS preflight)
    // is refused before it is read.
    (req, _res, next) =>
      next(
        req.is('application/json')
          ? undefined
          : errors.unsupportedMediaType('POST /v1/erasures takes Content-Type: application/json'),
      ),
    express.json({ limit: ERASURE_BODY_MAX_BYTES, type: () => true }),
    async (req, res) => {
      const body = await erasures.request(req.body, req.query, readerOf(res));
      res.setHeader('Location', `/v1/erasures/${encodeURIComponent(body.id)}`);
      res.status(202).json(body);
    },
  );
  app.get('/v1/erasures', ...erase, async (req, res) => {
    res.setHeader('Cache-Control', 'no-store');
    res.json(await erasures.list(req.query, readerOf(res)));
  });
  app.get('/v1/erasures/:id', ...erase, async (req, res) => {
    res.setHeader('Cache-Control', 'no-store');
    res.json(await erasures.get(String(req.params.id), req.query, readerOf(res)));
  });
  app.delete('/v1/erasures/:id/suppression', ...erase, async (req, res) => {
    res.json(await erasures.lift(String(req.params.id), req.query, readerOf(res)));
  });

  const schemas = schemaUseCases({ registry: schemaRegistry, store: store.schemas });
  const writeSchemas = [
    guarded(requireScope(deps.apiKeys ?? [], 'schemas:write')),
    perConsumerLimit('write', deps.access?.rateLimitPerMinute ?? 0),
    express.json({ limit: SCHEMA_BODY_MAX_BYTES, type: () => true }),
  ];
  app.put('/v1/schemas/:type', ...writeSchemas, async (req, res) => {
    const { created, body } = await schemas.put(String(req.params.type), req.body);
    res.setHeader('Location', body.uri);
    res.status(created ? 201 : 200).json(body);
  });
  app.get('/v1/schemas', ...access, (req, res) => {
    res.setHeader('Cache-Control', 'no-store');
    res.json(schemas.list(req.query, readerOf(res)));
  });
  app.get('/v1/schemas/:type', ...access, (req, res) => {
    res.setHeader('Cache-Control', 'no-store');
    res.json(schemas.get(String(req.params.type), req.query, readerOf(res)));
  });
  app.get('/v1/schemas/:type/versions/:n', ...access, (req, res) => {
    // A version never changes once registered.
    res.setHeader('Cache-Control', 'private, max-age=3600');
    res.json(
      schemas.version(String(req.params.type), String(req.params.n), req.query, readerOf(res)),
    );
  });
  app.get('/v1/schemas/:type/inferred', ...access, async (req, res) => {
    res.setHeader('Cache-Control', 'no-store');
    res.json(await schemas.inferred(String(req.params.type), req.query, readerOf(res)));
  });

  return finishApp(app, logger);
}

/** A page, built as text (not res.json()): each event's data goes out as the text it was sent
 * as. A page of pure CloudEvents has no room for the cursor: it goes in headers. */
function sendPage(
  req: Request,
  res: Response,
  format: 'json' | 'cloudevents',
  page: StoredRow[],
  nextCursor: string | null,
): void {
  res.setHeader('Cache-Control', 'no-store'); // new events change every page
  res.setHeader('Vary', 'Accept');
  if (format === 'cloudevents') {
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
}

/** One event, with its metadata or as a pure CloudEvent (the metadata then in headers). A
 * stored event never changes (the first write of (source, id) wins), so its ETag is a strong
 * hash of the body and a client may keep it; the key decides access, hence private. */
function sendEvent(req: Request, res: Response, format: 'json' | 'cloudevent', row: StoredRow) {
  const pure = format === 'cloudevent';
  const body = pure ? cloudEventJson(row) : storedEventJson(row);
  res.setHeader('ETag', `"${createHash('sha256').update(body).digest('base64url').slice(0, 32)}"`);
  res.setHeader('Cache-Control', 'private, max-age=3600');
  res.setHeader('Vary', 'Accept');
  if (pure) {
    res.setHeader('Eventpipe-Received-At', row.received_at);
    res.setHeader('Eventpipe-Published-At', row.published_at);
    res.setHeader('Eventpipe-Stored-At', row.stored_at);
    res.setHeader('Eventpipe-Message-Id', row.message_id);
    if (row.producer !== null) res.setHeader('Eventpipe-Producer', row.producer);
  }
  // express's req.fresh compares If-None-Match with the ETag just set (RFC 9110, weakly).
  if (req.fresh) {
    res.status(304).end();
    return;
  }
  res.type(pure ? CLOUDEVENTS_MEDIA_TYPES.event : 'application/json').send(body);
}
