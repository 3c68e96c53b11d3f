import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import express, { type ErrorRequestHandler, type Express, type RequestHandler } from 'express';
import type { Logger } from 'pino';
import { Counter, type Registry } from 'prom-client';
import { requestContext, requestScope } from './context';
import { AppError, isAppError } from './errors';
import { httpDurationHistogram } from './metrics';
import { securityHeaders } from './security';
import { withTimeout } from './timeout';
import { readTlsPair, watchTlsPair, type TlsFiles } from './tls';

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;
export const REQUEST_ID_HEADER = 'x-request-id';

/** Takes the caller's X-Request-Id when it is sane, else makes one; echoes it; scopes the request.
 * A valid W3C `traceparent` header joins the scope, so log lines carry the trace. */
export const requestId: RequestHandler = (req, res, next) => {
  const given = req.get(REQUEST_ID_HEADER);
  const id = given && REQUEST_ID.test(given) ? given : randomUUID();
  res.setHeader('X-Request-Id', id);
  requestContext.run(requestScope(id, req.get('traceparent')), next);
};

/** The route template ("/v1/events/:id"), never the raw path, so metric labels stay bounded. A
 * handler may name its request otherwise with `res.locals.routeLabel` (a fixed string): a
 * streamed export is `export /v1/events`, so its minutes never count against the latency SLO
 * of the /v1/ routes. */
const routeOf = (req: express.Request, res: express.Response): string =>
  (res.locals.routeLabel as string | undefined) ??
  (req.route?.path ? `${req.baseUrl}${String(req.route.path)}` : 'unmatched');

export function observe(logger: Logger, registry: Registry): RequestHandler {
  const histogram = httpDurationHistogram(registry);
  const byConsumer = new Counter({
    name: 'eventpipe_http_requests_total',
    help: 'HTTP requests by consumer (API key name; anonymous without keys; none when unauthenticated), route template and status.',
    labelNames: ['consumer', 'route', 'status'] as const,
    registers: [registry],
  });
  return (req, res, next) => {
    const start = process.hrtime.bigint();
    let recorded = false;
    // 'finish': the response was sent. 'close' without it: the connection went first, the
    // client's doing (499, as nginx counts it) unless a handler cut it and said so
    // (res.locals.cutStatus, e.g. 500 when a streamed export's store failed mid-way).
    const record = () => {
      if (recorded) return;
      recorded = true;
      const status = res.writableFinished
        ? res.statusCode
        : ((res.locals.cutStatus as number | undefined) ?? 499);
      const seconds = Number(process.hrtime.bigint() - start) / 1e9;
      const route = routeOf(req, res);
      histogram.observe({ method: req.method, route, status: String(status) }, seconds);
      // Bounded: consumer names come from the configured keys only.
      const consumer = (res.locals.consumer as string | undefined) ?? 'none';
      byConsumer.inc({ consumer, route, status: String(status) });
      const line = {
        httpRequest: {
          requestMethod: req.method,
          requestUrl: req.originalUrl.slice(0, 512),
          status,
          latency: `${seconds.toFixed(6)}s`,
          userAgent: req.get('user-agent'),
          remoteIp: req.ip,
        },
        route,
        consumer: res.locals.consumer as string | undefined,
      };
      if (status >= 500) logger.error(line, 'request failed');
      else if (!res.writableFinished) logger.info(line, 'request cut');
      else logger.info(line, 'request');
    };
    res.on('finish', record);
    res.on('close', record);
    next();
  };
}

export const PROBLEM_JSON = 'application/problem+json';
export const problemType = (code: string) => `urn:eventpipe:problem:${code}`;

export function sendProblem(res: express.Response, err: AppError, instance: string): void {
  for (const [k, v] of Object.entries(err.headers)) res.setHeader(k, v);
  res
    .status(err.status)
    .type(PROBLEM_JSON)
    .send(
      JSON.stringify({
        type: problemType(err.code),
        title: err.title,
        status: err.status,
        detail: err.detail,
        instance,
        code: err.code,
        requestId: res.getHeader('X-Request-Id'),
        ...(err.errors ? { errors: err.errors } : {}),
      }),
    );
}

/** Maps express/body-parser errors that carry an HTTP status onto the error model. */
function fromHttpError(err: {
  status?: number;
  type?: string;
  message?: string;
}): AppError | undefined {
  if (err.type === 'entity.too.large') {
    return new AppError('payload-too-large', {
      detail: 'request body is larger than the limit',
    });
  }
  if (err.type === 'encoding.unsupported' || err.type === 'charset.unsupported') {
    return new AppError('unsupported-media-type', {
      detail: 'only UTF-8 bodies are accepted',
    });
  }
  if (err.type === 'request.aborted') {
    return new AppError('request-aborted', {
      detail: 'client closed the request',
    });
  }
  if (typeof err.status === 'number' && err.status >= 400 && err.status < 500) {
    return new AppError('bad-request', {
      status: err.status,
      detail: 'request could not be read',
    });
  }
  return undefined;
}

/** What the error middleware answers `err` with: the AppError itself, an express/body-parser
 * error mapped onto the model, or a 500 without internals. */
function asAppError(err: unknown): AppError {
  if (isAppError(err)) return err;
  return (
    fromHttpError((err ?? {}) as { status?: number; type?: string }) ??
    new AppError('internal', {
      detail: 'the request failed unexpectedly; quote the request id when reporting it',
    })
  );
}

/** The problem code the error middleware answers `err` with (a bounded set: a metric label). */
export const problemCodeOf = (err: unknown): string => asAppError(err).code;

/** The one error middleware: AppError → problem+json; anything else → a 500 without internals. */
export function problemHandler(logger: Logger): ErrorRequestHandler {
  return (err: unknown, req, res, _next) => {
    const appError = asAppError(err);
    if (appError.status >= 500) {
      logger.error({ err, code: appError.code }, appError.message);
    } else {
      logger.info({ code: appError.code, detail: appError.detail }, 'request rejected');
    }
    if (res.headersSent) {
      res.destroy();
      return;
    }
    sendProblem(res, appError, req.originalUrl.split('?')[0] ?? '/');
  };
}

export const notFound: RequestHandler = (req, _res, next) => {
  next(
    new AppError('route-not-found', {
      detail: `no route ${req.method} ${req.path}`,
    }),
  );
};

export interface ReadinessCheck {
  name: string;
  check: () => Promise<void>;
}

/** GET /healthz (process alive), GET /readyz (every dependency answers), GET /metrics. */
export function operationalRoutes(opts: {
  registry: Registry;
  checks: ReadinessCheck[];
  logger: Logger;
  checkTimeoutMs?: number;
  /** Runs before /metrics: where API keys are configured, a key with the scope metrics:read
   * (the metrics name consumers and their traffic). Unset: open (the worker, internal only). */
  metricsAccess?: RequestHandler;
}): express.Router {
  const router = express.Router();
  router.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  router.get('/readyz', async (_req, res) => {
    const results = await Promise.all(
      opts.checks.map(async (c) => {
        try {
          await withTimeout(c.check(), opts.checkTimeoutMs ?? 2000, `check ${c.name}`);
          return [c.name, 'ok'] as const;
        } catch (e) {
          opts.logger.warn({ check: c.name, err: e }, 'readiness check failed');
          return [c.name, 'failing'] as const;
        }
      }),
    );
    const ready = results.every(([, r]) => r === 'ok');
    res
      .status(ready ? 200 : 503)
      .json({ status: ready ? 'ready' : 'not-ready', checks: Object.fromEntries(results) });
  });
  const metricsAccess: RequestHandler = opts.metricsAccess ?? ((_req, _res, next) => next());
  router.get('/metrics', metricsAccess, async (_req, res) => {
    res.type(opts.registry.contentType).send(await opts.registry.metrics());
  });
  return router;
}

/** Middlewares run one after the other as one: the first error skips the rest. */
export function inOrder(handlers: RequestHandler[]): RequestHandler {
  return (req, res, next) => {
    let i = 0;
    const step = (err?: unknown): void => {
      if (err !== undefined && err !== null) return next(err);
      const handler = handlers[i++];
      if (!handler) return next();
      try {
        const result: unknown = handler(req, res, step);
        if (result instanceof Promise) result.catch(next);
      } catch (e) {
        next(e);
      }
    };
    step();
  };
}

/** An express app with the shared front matter: request ids, access logs, HTTP metrics. */
export function createBaseApp(
  logger: Logger,
  registry: Registry,
  opts: { corsOrigins?: string[]; trustProxy?: number } = {},
): Express {
  const app = express();
  app.disable('x-powered-by');
  // ETags are set where a response is cacheable (a stored event), not on every response.
  app.set('etag', false);
  // req.ip (rate limits, logs) is the socket's address unless TRUST_PROXY names the hops in front.
  app.set('trust proxy', opts.trustProxy ? opts.trustProxy : false);
  app.set('query parser', 'simple');
  // One layer for all of them: each layer the router walks costs every request.
  app.use(
    inOrder([requestId, ...securityHeaders(opts.corsOrigins ?? []), observe(logger, registry)]),
  );
  return app;
}

/** Adds the 404 and error handlers; call after the routes. */
export function finishApp(app: Express, logger: Logger): Express {
  app.use(notFound);
  app.use(problemHandler(logger));
  return app;
}

export interface RunningServer {
  server: Server | HttpsServer;
  url: string;
  port: number;
  /** Stops accepting, lets in-flight requests finish, then cuts what is left at the deadline. */
  close(timeoutMs: number): Promise<void>;
}

/** How long a client may take: to send its headers, its whole request, and between requests on a
 * kept-alive connection (docs/SECURITY.md). */
export const SERVER_TIMEOUTS = { headersMs: 10_000, requestMs: 30_000, keepAliveMs: 5_000 };

/** HTTPS instead of HTTP: the certificate and key files, reloaded when they change. */
export interface ListenTls {
  files: TlsFiles;
  /** Where a reload (or a replacement that does not load) is told. */
  logger: Logger;
  /** How often the files are looked at (default 2 s). */
  pollMs?: number;
}

export function listen(
  app: Express,
  port: number,
  host = '0.0.0.0',
  tls?: ListenTls,
): Promise<RunningServer> {
  return new Promise((resolve, reject) => {
    // Header and request timeouts bound how long a slow client can hold a socket. Node enforces
    // them on a timer (connectionsCheckingInterval, 30 s by default, settable only here): with
    // the default a client trickling header lines stayed past the 10 s header timeout.
    const options = {
      headersTimeout: SERVER_TIMEOUTS.headersMs,
      requestTimeout: SERVER_TIMEOUTS.requestMs,
      keepAliveTimeout: SERVER_TIMEOUTS.keepAliveMs,
      connectionsCheckingInterval: 1_000,
    };
    // A pair that does not load rejects here, naming the file, before anything listens.
    const pair = tls ? readTlsPair(tls.files) : undefined;
    const server = pair
      ? createHttpsServer({ ...options, cert: pair.cert, key: pair.key }, app)
      : createServer(options, app);
    let stopWatching = () => {};
    server.listen(port, host);
    server.once('error', reject);
    server.once('listening', () => {
      server.off('error', reject);
      const addr = server.address() as AddressInfo;
      const shownHost = host === '0.0.0.0' ? '127.0.0.1' : host;
      const url = `${pair ? 'https' : 'http'}://${shownHost}:${addr.port}`;
      if (tls && pair) {
        const https = server as HttpsServer;
        stopWatching = watchTlsPair(tls.files, {
          current: pair,
          // Handshakes from now on get the new pair; connections already open keep theirs.
          use: (next) => https.setSecureContext({ cert: next.cert, key: next.key }),
          logger: tls.logger.child({ url }),
          intervalMs: tls.pollMs,
        });
      }
      resolve({
        server,
        port: addr.port,
        url,
        close: (timeoutMs) =>
          new Promise<void>((done) => {
            stopWatching();
            const timer = setTimeout(() => server.closeAllConnections(), timeoutMs);
            timer.unref();
            server.close(() => {
              clearTimeout(timer);
              done();
            });
            server.closeIdleConnections();
          }),
      });
    });
  });
}
