import express, { type RequestHandler } from 'express';
import helmet from 'helmet';
import request from 'supertest';
import { inOrder } from '../src/http';
import { fixedHeadersOf, securityHeaders } from '../src/security';

const HELMET_OPTIONS = {
  contentSecurityPolicy: { directives: { defaultSrc: ["'none'"], frameAncestors: ["'none'"] } },
  strictTransportSecurity: false,
} as const;

const headersFrom = async (handlers: RequestHandler[]) => {
  const app = express();
  app.disable('x-powered-by');
  app.use(...handlers);
  app.get('/x', (_req, res) => {
    res.json({ ok: true });
  });
  const res = await request(app).get('/x');
  const { date: _date, ...rest } = res.headers as Record<string, string>;
  return rest;
};

describe('security headers', () => {
  it('when the headers are worked out once, then every response has exactly what helmet sets on it per request', async () => {
    const perRequest = await headersFrom([helmet(HELMET_OPTIONS)]);
    const once = await headersFrom(securityHeaders([]));
    expect(once).toEqual(perRequest);
    expect(once['content-security-policy']).toMatch(/^default-src 'none';.*frame-ancestors 'none'/);
    expect(once['x-content-type-options']).toBe('nosniff');
  });

  it('when a middleware reads the request, then its headers are not taken as fixed', () => {
    const readsRequest: RequestHandler = (req, res, next) => {
      res.setHeader('X-Path', req.path);
      next();
    };
    expect(() => fixedHeadersOf(readsRequest)).toThrow(/read the request \(path\)/);
  });

  it('when a middleware does not finish at once, then its headers are not taken as fixed', () => {
    const later: RequestHandler = (_req, res, next) => {
      res.setHeader('X-Later', '1');
      setImmediate(next);
    };
    expect(() => fixedHeadersOf(later)).toThrow(/did not call next at once/);
  });
});

describe('inOrder', () => {
  const run = async (handlers: RequestHandler[]) => {
    const app = express();
    app.use(inOrder(handlers));
    app.get('/x', (_req, res) => {
      res.json({ seen: res.locals.seen ?? [] });
    });
    app.use(((err, _req, res, _next) => {
      res.status(500).json({ error: (err as Error).message, seen: res.locals.seen ?? [] });
    }) as express.ErrorRequestHandler);
    return request(app).get('/x');
  };
  const mark =
    (name: string): RequestHandler =>
    (_req, res, next) => {
      res.locals.seen = [...((res.locals.seen as string[] | undefined) ?? []), name];
      next();
    };

  it('when every middleware passes, then they run in order and the route runs after them', async () => {
    const res = await run([mark('a'), mark('b'), mark('c')]);
    expect(res.body).toEqual({ seen: ['a', 'b', 'c'] });
  });

  it('when one fails (by next, by throwing, by rejecting), then the rest are skipped and the error handler answers', async () => {
    const byNext: RequestHandler = (_req, _res, next) => next(new Error('by next'));
    const byThrow: RequestHandler = () => {
      throw new Error('by throw');
    };
    const byReject: RequestHandler = async () => {
      throw new Error('by reject');
    };
    for (const [failing, message] of [
      [byNext, 'by next'],
      [byThrow, 'by throw'],
      [byReject, 'by reject'],
    ] as const) {
      const res = await run([mark('a'), failing, mark('c')]);
      expect(res.status).toBe(500);
      expect(res.body).toEqual({ error: message, seen: ['a'] });
    }
  });
});
