import express, { type ErrorRequestHandler, type Express, type Request } from 'express';
import type { EventBus } from '@eventpipe/bus';
import { withEventTypes, type SchemaRegistry } from '@eventpipe/registry';
import {
  apiDocsRoutes,
  authFailureLimit,
  createBaseApp,
  currentRequestId,
  currentTraceparent,
  finishApp,
  operationalRoutes,
  perConsumerLimit,
  problemCodeOf,
  requireScope,
  grantOf,
  type AccessOptions,
  type ApiKey,
  type Logger,
  type Registry,
} from '@eventpipe/platform';
import { LIMITS, nowTime } from '@eventpipe/schema';
import type { AcceptedLog } from './accepted-log';
import { ingestUseCase } from './ingest';
import type { ErasureBook } from '@eventpipe/store';
import { publisherMetrics } from './metrics';
import { publisherApiDocument } from './openapi';
import { readEvents, requestModeOf, type RequestMode } from './read-events';

export interface PublisherDeps {
  bus: EventBus;
  logger: Logger;
  registry: Registry;
  /** Seconds a client is told to wait (Retry-After) when the bus fails. */
  retryAfterSeconds?: number;
  /** Most events published and not yet confirmed by the bus; past it requests get 429. Bounds
   * the memory a slow or failing bus can tie up. */
  maxInFlightEvents?: number;
  /** API keys; a POST needs one with events:write. Empty: open (AUTH_MODE=none). */
  apiKeys?: ApiKey[];
  access?: AccessOptions;
  /** Where accepted events are recorded for `npm run audit`; none by default. */
  acceptedLog?: AcceptedLog;
  /** The schema registry (started): data is checked against its type's schema. */
  schemas?: SchemaRegistry;
  /** Erasures (started): subjects under a suppression are accepted and not published. */
  erasures?: ErasureBook;
}

/** The publisher API: POST /v1/events plus the operational routes. No I/O at import. */
export function createPublisherApp(deps: PublisherDeps): Express {
  const { bus, logger, registry } = deps;
  const metrics = publisherMetrics(registry);
  const document = publisherApiDocument();
  const app = createBaseApp(logger, registry, {
    corsOrigins: deps.access?.corsOrigins,
    trustProxy: deps.access?.trustProxy,
  });
  const ingest = ingestUseCase({
    bus,
    logger,
    metrics,
    acceptedLog: deps.acceptedLog,
    maxInFlightEvents: deps.maxInFlightEvents ?? 10_000,
    retryAfterSeconds: deps.retryAfterSeconds ?? 5,
    schemas: deps.schemas,
    erasures: deps.erasures,
  });
  const mode = (req: Request) => req.res!.locals.mode as RequestMode;
  /** Runs a step that reads the request; a refusal there counts the request's event as rejected. */
  const reading = <T>(step: () => T): T => {
    try {
      return step();
    } catch (e) {
      metrics.events.inc({ outcome: 'rejected' });
      throw e;
    }
  };

  // One count of failed authentications per address, for /v1 and /metrics together.
  const guarded = authFailureLimit(deps.access?.authFailuresPerMinute ?? 30);
  app.post(
    '/v1/events',
    guarded(requireScope(deps.apiKeys ?? [], 'events:write')),
    perConsumerLimit('write', deps.access?.rateLimitPerMinute ?? 0),
    // The mode comes from the headers, before the body is read.
    (req, res, next) => {
      res.locals.mode = reading(() => requestModeOf(req));
      next();
    },
    express.raw({ type: () => true, limit: LIMITS.maxRequestBytes }),
    async (req, res) => {
      const receivedAt = nowTime();
      // No body at all (no Content-Length, not chunked) leaves req.body unset.
      const body = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
      const { events, batch, parsedData } = reading(() => readEvents(req, mode(req), body));
      const key = res.locals.apiKey as ApiKey | undefined;
      const ids = await ingest({
        events,
        batch,
        parsedData,
        binary: 'binary' in mode(req),
        producer: key && { name: key.name, grant: grantOf(key) },
        receivedAt,
        requestId: currentRequestId(),
        traceparent: currentTraceparent(),
      });
      metrics.requestBytes.observe(body.length);
      res.status(202).json({ accepted: ids.length, ids });
    },
  );

  // After the ingest route, so its requests do not walk these routers first.
  app.use(
    operationalRoutes({
      registry,
      logger,
      checks: [{ name: 'bus', check: () => bus.check('publish') }],
      metricsAccess: guarded(requireScope(deps.apiKeys ?? [], 'metrics:read')),
    }),
    apiDocsRoutes(
      deps.schemas ? () => withEventTypes(document, deps.schemas!) : document,
      'eventpipe publisher API',
    ),
  );

  // Every refusal of the ingest route, counted by its problem code before the one error
  // middleware renders it (auth and rate limits included).
  app.use('/v1/events', ((err, _req, _res, next) => {
    metrics.rejectedRequests.inc({ reason: problemCodeOf(err) });
    next(err);
  }) as ErrorRequestHandler);

  return finishApp(app, logger);
}
