import cors from 'cors';
import type { RequestHandler } from 'express';
import { ipKeyGenerator, rateLimit } from 'express-rate-limit';
import helmet from 'helmet';
import { AppError } from './errors';

/** Request headers a listed browser origin may send (lower case). */
const CORS_REQUEST_HEADERS = new Set([
  'authorization',
  'x-api-key',
  'content-type',
  'accept',
  'x-request-id',
  'traceparent',
  'if-none-match',
]);
const BINARY_MODE_HEADER = /^ce-[a-z0-9]{1,64}$/;

/** Headers that carry a pure CloudEvent's pipeline metadata and a CloudEvents page's next cursor
 * (query API), readable by a listed origin. */
const EXPOSED_EVENT_HEADERS = [
  'Eventpipe-Received-At',
  'Eventpipe-Published-At',
  'Eventpipe-Stored-At',
  'Eventpipe-Message-Id',
  'Eventpipe-Producer',
  'Eventpipe-Next-Cursor',
];

/** HSTS: a year, this host only (includeSubDomains would bind every other name under it). */
export const HSTS = 'max-age=31536000';

/** The headers a middleware sets when it sets the same ones on every response, run once on a
 * stand-in response. One that does not finish at once, or that reads the request, is refused. */
export function fixedHeadersOf(middleware: RequestHandler): [string, string][] {
  const headers = new Map<string, string>();
  const res = {
    setHeader: (name: string, value: unknown) => headers.set(name, String(value)),
    removeHeader: (name: string) => headers.delete(name),
  };
  const req = new Proxy(
    {},
    {
      get: (_target, key) => {
        throw new Error(`fixed headers: the middleware read the request (${String(key)})`);
      },
    },
  );
  let finished = false;
  middleware(req as never, res as never, (err?: unknown) => {
    if (err) throw err as Error;
    finished = true;
  });
  if (!finished) throw new Error('fixed headers: the middleware did not call next at once');
  return [...headers];
}

/**
 * Response headers for a JSON API (helmet: no sniffing, no framing, no referrer, a CSP that
 * allows nothing; HSTS over TLS only) and CORS only for the origins listed (none by default).
 */
export function securityHeaders(corsOrigins: string[]): RequestHandler[] {
  const fixed = fixedHeadersOf(
    helmet({
      contentSecurityPolicy: { directives: { defaultSrc: ["'none'"], frameAncestors: ["'none'"] } },
      strictTransportSecurity: false,
    }),
  );
  const handlers: RequestHandler[] = [
    // helmet's headers do not depend on the request here: worked out once, set in one step
    // (its eleven middlewares per request were a measurable share of a small POST's cost).
    (req, res, next) => {
      for (const [name, value] of fixed) res.setHeader(name, value);
      // HSTS only on responses the client received over TLS: from the service's own HTTPS
      // listener (TLS_CERT_FILE), or through a front end that ended TLS and that TRUST_PROXY
      // vouches for (X-Forwarded-Proto: https, as Cloud Run sends). Never over plain HTTP
      // (RFC 6797 7.2; a browser ignores it there).
      if (req.secure) res.setHeader('Strict-Transport-Security', HSTS);
      next();
    },
  ];
  if (corsOrigins.length) {
    // Per request, so a preflight may ask for any CloudEvents binary-mode header (ce-<name>,
    // extension names included) besides the fixed list; anything else is left out and the
    // browser refuses the request.
    handlers.push(
      // The preflight answer depends on the headers asked for: caches must key on them.
      (req, res, next) => {
        if (req.method === 'OPTIONS') res.vary('Access-Control-Request-Headers');
        next();
      },
      cors((req, callback) => {
        const requested = String(req.headers['access-control-request-headers'] ?? '')
          .split(',')
          .map((h) => h.trim().toLowerCase())
          .filter((h) => CORS_REQUEST_HEADERS.has(h) || BINARY_MODE_HEADER.test(h));
        callback(null, {
          origin: corsOrigins,
          methods: ['GET', 'POST'],
          allowedHeaders: requested,
          exposedHeaders: [
            'X-Request-Id',
            'RateLimit',
            'RateLimit-Policy',
            'Retry-After',
            'ETag',
            'Link',
            ...EXPOSED_EVENT_HEADERS,
          ],
          maxAge: 600,
        });
      }),
    );
  }
  return handlers;
}

const limited = (detail: string, retryAfter: number) =>
  new AppError('rate-limited', {
    detail,
    headers: { 'Retry-After': String(Math.max(1, retryAfter)) },
  });

/**
 * Requests per minute per API key (per client IP when the request carries none). Sends the IETF
 * RateLimit / RateLimit-Policy headers; past the limit 429 + Retry-After. 0 turns it off.
 * Mount after requireScope, which names the consumer.
 */
export function perConsumerLimit(name: string, perMinute: number): RequestHandler {
  if (perMinute === 0) return (_req, _res, next) => next();
  return rateLimit({
    windowMs: 60_000,
    limit: perMinute,
    identifier: name,
    standardHeaders: 'draft-8',
    legacyHeaders: false,
    keyGenerator: (req, res) => {
      const consumer = res.locals.consumer as string | undefined;
      return consumer && consumer !== 'anonymous'
        ? `key:${consumer}`
        : `ip:${ipKeyGenerator(req.ip ?? '')}`;
    },
    handler: (_req, res, next) => {
      const reset = (res.getHeader('RateLimit') as string | undefined)?.match(/t=(\d+)/)?.[1];
      next(limited(`at most ${perMinute} requests per minute`, Number(reset ?? 60)));
    },
  });
}

/**
 * Makes a wrapper for authentication middleware (requireScope), one per app so every route it
 * guards shares the count: a client IP whose requests failed
 * authentication (401) `perMinute` times within a minute gets 429 instead of 401 until the
 * minute is over; a request with a valid key is never refused for it.
 * Only failures count, and they count the moment they happen, so any number of concurrent
 * authenticated requests never trips it. (express-rate-limit's skipSuccessfulRequests counts
 * every request on arrival and takes successes back when they finish: 64 concurrent good
 * requests got 429 — found by bench/ingest-single.)
 */
export function authFailureLimit(
  perMinute: number,
): (authenticate: RequestHandler) => RequestHandler {
  const windowMs = 60_000;
  // One count per address for every route the limiter guards (/v1 and /metrics alike).
  const failures = new Map<string, { count: number; resetAt: number }>();
  let nextSweep = Date.now() + windowMs;
  return (authenticate) => (req, res, next) => {
    const now = Date.now();
    if (now >= nextSweep) {
      for (const [k, w] of failures) if (w.resetAt <= now) failures.delete(k);
      nextSweep = now + windowMs;
    }
    const key = ipKeyGenerator(req.ip ?? '');
    const seen = failures.get(key);
    const current = seen && seen.resetAt > now ? seen : undefined;
    // The key is checked first: a request with a valid key passes whatever others from the same
    // address (behind one proxy, many clients) got wrong. Only failures meet the limit.
    void authenticate(req, res, (err?: unknown) => {
      if (err instanceof AppError && err.status === 401) {
        if (current && current.count >= perMinute) {
          next(
            limited(
              'too many failed authentications from this address',
              Math.ceil((current.resetAt - now) / 1000),
            ),
          );
          return;
        }
        if (current) current.count += 1;
        else failures.set(key, { count: 1, resetAt: Date.now() + windowMs });
      }
      next(err as Error | undefined);
    });
  };
}

/** What an API's app.ts takes for access control. */
export interface AccessOptions {
  corsOrigins?: string[];
  /** Requests per minute per consumer; 0 or unset: no limit. */
  rateLimitPerMinute?: number;
  /** Failed authentications per minute per IP (default 30). */
  authFailuresPerMinute?: number;
  /** Proxy hops whose X-Forwarded-For is believed (TRUST_PROXY); 0 or unset: none. */
  trustProxy?: number;
}
