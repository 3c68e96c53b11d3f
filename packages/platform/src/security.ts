import cors from 'cors';
import type { RequestHandler } from 'express';
import { ipKeyGenerator, rateLimit } from 'express-rate-limit';
import helmet from 'helmet';
import { AppError } from './errors';

/**
 * Response headers for a JSON API (helmet: no sniffing, no framing, no referrer, HSTS, a CSP that
 * allows nothing) and CORS only for the origins listed (none by default).
 */
export function securityHeaders(corsOrigins: string[]): RequestHandler[] {
  const handlers: RequestHandler[] = [
    helmet({
      contentSecurityPolicy: { directives: { defaultSrc: ["'none'"], frameAncestors: ["'none'"] } },
    }),
  ];
  if (corsOrigins.length) {
    handlers.push(
      cors({
        origin: corsOrigins,
        methods: ['GET', 'POST'],
        allowedHeaders: ['Authorization', 'X-API-Key', 'Content-Type', 'X-Request-Id'],
        exposedHeaders: ['X-Request-Id', 'RateLimit', 'RateLimit-Policy', 'Retry-After'],
        maxAge: 600,
      }),
    );
  }
  return handlers;
}

const limited = (detail: string, retryAfter: number) =>
  new AppError('rate-limited', 429, 'Too many requests', {
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

/** Failed authentications (401) per client IP per minute; always on. Mount before requireScope. */
export function authFailureLimit(perMinute: number): RequestHandler {
  return rateLimit({
    windowMs: 60_000,
    limit: perMinute,
    identifier: 'auth-failures',
    standardHeaders: false,
    legacyHeaders: false,
    keyGenerator: (req) => `ip:${ipKeyGenerator(req.ip ?? '')}`,
    skipSuccessfulRequests: true,
    requestWasSuccessful: (_req, res) => res.statusCode !== 401,
    handler: (_req, _res, next) =>
      next(limited('too many failed authentications from this address', 60)),
  });
}

/** What an API's app.ts takes for access control. */
export interface AccessOptions {
  corsOrigins?: string[];
  /** Requests per minute per consumer; 0 or unset: no limit. */
  rateLimitPerMinute?: number;
  /** Failed authentications per minute per IP (default 30). */
  authFailuresPerMinute?: number;
}

/** Runs handlers in order as one middleware (stops at the first error). */
export function chain(handlers: RequestHandler[]): RequestHandler {
  return (req, res, next) => {
    let i = 0;
    const step = (err?: unknown): void => {
      if (err !== undefined || i === handlers.length) return next(err as Error | undefined);
      const h = handlers[i++]!;
      try {
        void h(req, res, step);
      } catch (e) {
        next(e);
      }
    };
    step();
  };
}
