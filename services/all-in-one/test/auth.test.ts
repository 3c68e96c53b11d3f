import request from 'supertest';
import { MemoryBus } from '@eventpipe/bus';
import { createStack, type Stack } from '@eventpipe/all-in-one';
import { hashKey } from '@eventpipe/platform';
import { DuckDbStore } from '@eventpipe/store';
import { memoryLogger, sampleEvent, tempDuckDbPath } from '@eventpipe/testing';

const WRITER = 'ep_writer-key-for-tests';
const READER = 'ep_reader-key-for-tests';

let stack: Stack;
let bus: MemoryBus;
let store: DuckDbStore;
const publisherLog = memoryLogger('publisher-api');
beforeAll(async () => {
  bus = new MemoryBus();
  store = await DuckDbStore.open({ path: tempDuckDbPath() });
  await store.init();
  stack = createStack({
    bus,
    store,
    loggers: {
      publisher: publisherLog.logger,
      worker: memoryLogger().logger,
      query: memoryLogger().logger,
    },
    cursorSecret: Buffer.from('auth-test-cursor-secret-012345'),
    batch: { maxRows: 100, maxBytes: 1 << 20, maxWaitMs: 20 },
    flowControl: { maxMessages: 100, maxBytes: 1 << 24 },
    shutdownTimeoutMs: 1000,
    apiKeys: [
      { name: 'producer-a', scopes: ['events:write'], sha256: hashKey(WRITER) },
      { name: 'partner-b', scopes: ['events:read'], sha256: hashKey(READER) },
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
    ['publisher', '/metrics'],
    ['query', '/healthz'],
    ['query', '/readyz'],
    ['query', '/metrics'],
  ] as const)('when %s %s is asked without a key, then it answers', async (which, path) => {
    const res = await request(which === 'publisher' ? stack.publisher : stack.query).get(path);
    expect(res.status).toBe(200);
  });

  it('when a key is used, then its name is in the access log, never the key', async () => {
    await send(routes[0]!, { Authorization: `Bearer ${WRITER}` });
    const lines = publisherLog.lines();
    expect(lines.some((l) => l.consumer === 'producer-a')).toBe(true);
    expect(JSON.stringify(lines)).not.toContain(WRITER);
  });
});
