import request from 'supertest';
import { MemoryBus } from '@eventpipe/bus/adapters';
import type { Stack } from '@eventpipe/all-in-one';
import { hashKey } from '@eventpipe/platform';
import { DuckDbStore } from '@eventpipe/store/adapters';
import { memoryLogger, sampleEvent, tempDuckDbPath } from '@eventpipe/testing';
import { testStack } from './stack-fixture';

const WRITER = 'ep_writer-key-for-tests';
const READER = 'ep_reader-key-for-tests';
const SCRAPER = 'ep_metrics-key-for-tests';

let stack: Stack;
let bus: MemoryBus;
let store: DuckDbStore;
const publisherLog = memoryLogger('publisher-api');
beforeAll(async () => {
  bus = new MemoryBus();
  store = await DuckDbStore.open({ path: tempDuckDbPath() });
  await store.init();
  stack = testStack({
    bus,
    store,
    loggers: {
      publisher: publisherLog.logger,
      worker: memoryLogger().logger,
      query: memoryLogger().logger,
    },
    apiKeys: [
      { name: 'producer-a', scopes: ['events:write'], sha256: hashKey(WRITER) },
      { name: 'partner-b', scopes: ['events:read'], sha256: hashKey(READER) },
      { name: 'prometheus', scopes: ['metrics:read'], sha256: hashKey(SCRAPER) },
    ],
  });
});
afterAll(async () => {
  await bus.close();
  await store.close();
});

type Route = {
  app: () => Stack['publisher'];
  method: 'get' | 'post';
  path: string;
  scope: string;
  ok: number[];
};
const routes: Route[] = [
  {
    app: () => stack.publisher,
    method: 'post',
    path: '/v1/events',
    scope: 'events:write',
    ok: [202],
  },
  { app: () => stack.query, method: 'get', path: '/v1/events', scope: 'events:read', ok: [200] },
  {
    app: () => stack.query,
    method: 'get',
    path: '/v1/events/some-id',
    scope: 'events:read',
    ok: [404],
  },
  { app: () => stack.query, method: 'get', path: '/v1/stats', scope: 'events:read', ok: [200] },
];
const send = (r: Route, headers: Record<string, string>) => {
  let req = request(r.app())[r.method](r.path);
  for (const [k, v] of Object.entries(headers)) req = req.set(k, v);
  return r.method === 'post'
    ? req.set('Content-Type', 'application/json').send(JSON.stringify(sampleEvent()))
    : req;
};

describe.each(routes)('auth on $method $path', (route) => {
  const right = route.scope === 'events:write' ? WRITER : READER;
  const wrongScope = route.scope === 'events:write' ? READER : WRITER;

  it('when no key is sent, then 401 with a WWW-Authenticate challenge', async () => {
    const res = await send(route, {});
    expect(res.status).toBe(401);
    expect(res.headers['www-authenticate']).toBe('Bearer realm="eventpipe"');
    expect(res.body.code).toBe('unauthenticated');
  });

  it('when a wrong key is sent, then 401 invalid_token', async () => {
    const res = await send(route, { Authorization: 'Bearer ep_not-a-key' });
    expect(res.status).toBe(401);
    expect(res.headers['www-authenticate']).toBe('Bearer realm="eventpipe", error="invalid_token"');
  });

  it('when a valid key without the scope is sent, then 403 insufficient-scope', async () => {
    const res = await send(route, { Authorization: `Bearer ${wrongScope}` });
    expect(res.status).toBe(403);
    expect(res.body.code).toBe('insufficient-scope');
    expect(res.headers['www-authenticate']).toContain(`scope="${route.scope}"`);
  });

  it('when the right key is sent (Bearer or X-API-Key), then the route answers', async () => {
    expect(route.ok).toContain((await send(route, { Authorization: `Bearer ${right}` })).status);
    expect(route.ok).toContain((await send(route, { 'X-API-Key': right })).status);
  });
});

describe('routes that stay open', () => {
  it.each([
    ['publisher', '/healthz'],
    ['publisher', '/readyz'],
    ['query', '/healthz'],
    ['query', '/readyz'],
  ] as const)('when %s %s is asked without a key, then it answers', async (which, path) => {
    const res = await request(which === 'publisher' ? stack.publisher : stack.query).get(path);
    expect(res.status).toBe(200);
  });
});

describe('GET /metrics where keys are configured', () => {
  it.each(['publisher', 'query'] as const)(
    'when the %s API is scraped, then only a key with metrics:read gets the metrics',
    async (which) => {
      const app = which === 'publisher' ? stack.publisher : stack.query;
      const none = await request(app).get('/metrics');
      expect(none.status).toBe(401);
      expect(none.text).not.toContain('eventpipe_');
      const reader = await request(app).get('/metrics').set('Authorization', `Bearer ${READER}`);
      expect(reader.status).toBe(403);
      expect(reader.body.code).toBe('insufficient-scope');
      const scraper = await request(app).get('/metrics').set('Authorization', `Bearer ${SCRAPER}`);
      expect(scraper.status).toBe(200);
      expect(scraper.text).toContain('eventpipe_');
    },
  );

  it('when the worker is scraped, then it answers without a key (it is not exposed)', async () => {
    expect((await request(stack.worker.app).get('/metrics')).status).toBe(200);
  });
});

describe('access logs', () => {
  it('when a key is used, then its name is in the access log, never the key', async () => {
    await send(routes[0]!, { Authorization: `Bearer ${WRITER}` });
    const lines = publisherLog.lines();
    expect(lines.some((l) => l.consumer === 'producer-a')).toBe(true);
    expect(JSON.stringify(lines)).not.toContain(WRITER);
  });
});

describe('rate limits, security headers, CORS', () => {
  function limitedStack(write: number, read: number, authFailures = 30) {
    return testStack({
      bus,
      store,
      apiKeys: [
        { name: 'producer-a', scopes: ['events:write'], sha256: hashKey(WRITER) },
        { name: 'partner-b', scopes: ['events:read'], sha256: hashKey(READER) },
        { name: 'partner-c', scopes: ['events:read'], sha256: hashKey(`${READER}-c`) },
      ],
      access: {
        write: {
          rateLimitPerMinute: write,
          authFailuresPerMinute: authFailures,
          corsOrigins: ['https://app.example.com'],
        },
        read: {
          rateLimitPerMinute: read,
          authFailuresPerMinute: authFailures,
          corsOrigins: ['https://app.example.com'],
        },
      },
    });
  }

  it('when a key passes its per-minute limit, then 429 with Retry-After and RateLimit headers; another key is unaffected', async () => {
    const s = limitedStack(100, 3);
    const get = (key: string) =>
      request(s.query).get('/v1/stats').set('Authorization', `Bearer ${key}`);
    const first = await get(READER);
    expect(first.status).toBe(200);
    expect(first.headers['ratelimit-policy']).toMatch(/q=3/);
    expect(first.headers['ratelimit']).toMatch(/r=2/);
    await get(READER);
    await get(READER);
    const over = await get(READER);
    expect(over.status).toBe(429);
    expect(over.body.code).toBe('rate-limited');
    expect(Number(over.headers['retry-after'])).toBeGreaterThan(0);
    expect((await get(`${READER}-c`)).status).toBe(200);
  });

  it('when one address keeps failing to authenticate, then its wrong keys get 429 and a right key from it still passes', async () => {
    const s = limitedStack(100, 100, 5);
    for (let i = 0; i < 5; i++) {
      expect(
        (await request(s.query).get('/v1/events').set('Authorization', `Bearer guess-${i}`)).status,
      ).toBe(401);
    }
    const blocked = await request(s.query).get('/v1/events').set('Authorization', 'Bearer guess-6');
    expect(blocked.status).toBe(429);
    expect(blocked.body.code).toBe('rate-limited');
    const noKey = await request(s.query).get('/v1/events');
    expect(noKey.status).toBe(429);
    // Behind one proxy many clients share an address: another's failures never lock a key out.
    const valid = await request(s.query).get('/v1/events').set('Authorization', `Bearer ${READER}`);
    expect(valid.status).toBe(200);
  });

  it('when TRUST_PROXY names the proxy hop, then failures count per forwarded client; without it a forged header changes nothing', async () => {
    const proxied = testStack({
      bus,
      store,
      apiKeys: [{ name: 'partner-b', scopes: ['events:read'], sha256: hashKey(READER) }],
      access: { read: { authFailuresPerMinute: 3, trustProxy: 1 } },
    });
    const fail = (app: Stack['query'], client: string) =>
      request(app).get('/v1/stats').set('X-Forwarded-For', client).set('X-API-Key', 'wrong');
    for (let i = 0; i < 3; i++) expect((await fail(proxied.query, '203.0.113.7')).status).toBe(401);
    expect((await fail(proxied.query, '203.0.113.7')).status).toBe(429);
    expect((await fail(proxied.query, '198.51.100.9')).status).toBe(401);

    const direct = testStack({
      bus,
      store,
      apiKeys: [{ name: 'partner-b', scopes: ['events:read'], sha256: hashKey(READER) }],
      access: { read: { authFailuresPerMinute: 3 } },
    });
    for (let i = 0; i < 3; i++) expect((await fail(direct.query, `192.0.2.${i}`)).status).toBe(401);
    expect((await fail(direct.query, '192.0.2.200')).status).toBe(429);
  });

  it('when more requests with a right key are in flight at once than the failure limit, then none gets 429', async () => {
    const s = limitedStack(1000, 1000, 5);
    const statuses = await Promise.all(
      Array.from({ length: 40 }, () =>
        request(s.query).get('/v1/stats').set('Authorization', `Bearer ${READER}`),
      ),
    ).then((all) => all.map((r) => r.status));
    expect(statuses).toEqual(Array.from({ length: 40 }, () => 200));
    // Failures still count after that burst: five wrong keys, then 429.
    for (let i = 0; i < 5; i++) {
      expect((await request(s.query).get('/v1/stats').set('X-API-Key', `nope-${i}`)).status).toBe(
        401,
      );
    }
    expect((await request(s.query).get('/v1/stats').set('X-API-Key', 'nope-5')).status).toBe(429);
    expect((await request(s.query).get('/v1/stats').set('X-API-Key', READER)).status).toBe(200);
  });

  it('when any response goes out, then it carries the security headers', async () => {
    for (const res of [
      await request(stack.publisher).get('/healthz'),
      await request(stack.query).get('/v1/events'),
      await request(stack.query).get('/nope'),
    ]) {
      expect(res.headers['x-content-type-options']).toBe('nosniff');
      expect(res.headers['x-frame-options']).toBe('SAMEORIGIN');
      expect(res.headers['content-security-policy']).toContain("default-src 'none'");
      // Plain HTTP: HSTS only goes out over TLS (https.e2e.test.ts).
      expect(res.headers['strict-transport-security']).toBeUndefined();
      expect(res.headers['x-powered-by']).toBeUndefined();
    }
  });

  it('when a browser origin asks, then only a listed origin gets CORS headers', async () => {
    const s = limitedStack(100, 100);
    const allowed = await request(s.query)
      .options('/v1/events')
      .set('Origin', 'https://app.example.com')
      .set('Access-Control-Request-Method', 'GET');
    expect(allowed.headers['access-control-allow-origin']).toBe('https://app.example.com');
    // Binary mode from a browser: any ce-<name> header, plus the fixed list; nothing else.
    const binary = await request(s.publisher)
      .options('/v1/events')
      .set('Origin', 'https://app.example.com')
      .set('Access-Control-Request-Method', 'POST')
      .set(
        'Access-Control-Request-Headers',
        'content-type, ce-specversion, ce-type, ce-tenant, if-none-match, x-evil, ce-no_underscore',
      );
    expect(binary.headers['access-control-allow-headers']).toBe(
      'content-type,ce-specversion,ce-type,ce-tenant,if-none-match',
    );
    expect(binary.headers.vary).toMatch(/Access-Control-Request-Headers/);
    const read = await request(s.query)
      .get('/v1/events')
      .set('Origin', 'https://app.example.com')
      .set('Authorization', `Bearer ${READER}`);
    expect(read.headers['access-control-expose-headers']).toContain('ETag');
    const other = await request(s.query)
      .get('/v1/events')
      .set('Origin', 'https://evil.example')
      .set('Authorization', `Bearer ${READER}`);
    expect(other.headers['access-control-allow-origin']).toBeUndefined();
    const none = await request(stack.query)
      .get('/v1/events')
      .set('Origin', 'https://app.example.com');
    expect(none.headers['access-control-allow-origin']).toBeUndefined();
  });
});

describe('consumer metrics', () => {
  it('when keys are used, then requests are counted by key name', async () => {
    await send(routes[1]!, { Authorization: `Bearer ${READER}` });
    const text = (
      await request(stack.query).get('/metrics').set('Authorization', `Bearer ${SCRAPER}`)
    ).text;
    expect(text).toMatch(
      /eventpipe_http_requests_total\{consumer="partner-b",route="\/v1\/events",status="200",service="query-api"\} \d+/,
    );
    expect(text).not.toContain(READER);
  });
});
