import request from 'supertest';
import { createRegistry, hashKey, type ApiKey } from '@eventpipe/platform';
import { DuckDbStore } from '@eventpipe/store/adapters';
import { memoryLogger } from '@eventpipe/testing';
import { createQueryApp } from '../src/app';

const key = (name: string) => `ep_${name}-key-for-schema-route-tests`;
const KEYS: ApiKey[] = [
  { name: 'reader', scopes: ['events:read'], sha256: hashKey(key('reader')) },
  { name: 'steward', scopes: ['schemas:write', 'events:read'], sha256: hashKey(key('steward')) },
  {
    name: 'orders-reader',
    scopes: ['events:read'],
    types: ['com.shop.order.*'],
    sha256: hashKey(key('orders-reader')),
  },
];
const SCHEMA = { schema: { type: 'object', properties: { n: { type: 'integer' } } } };

describe('/v1/schemas with API keys', () => {
  let store: DuckDbStore;
  let app: ReturnType<typeof createQueryApp>;
  beforeAll(async () => {
    store = await DuckDbStore.open({ path: ':memory:' });
    await store.init();
    app = createQueryApp({
      store,
      logger: memoryLogger().logger,
      registry: createRegistry('query-api'),
      cursorSecret: Buffer.from('schema-route-tests-cursor-secret'),
      apiKeys: KEYS,
    });
  });
  afterAll(() => store.close());

  const put = (type: string, who?: string) => {
    const r = request(app).put(`/v1/schemas/${type}`).send(SCHEMA);
    return who ? r.set('Authorization', `Bearer ${key(who)}`) : r;
  };

  it('when a key without schemas:write registers a schema, then 403 insufficient-scope and nothing is registered', async () => {
    expect((await put('com.shop.order.created')).status).toBe(401);
    const res = await put('com.shop.order.created', 'reader');
    expect(res.status).toBe(403);
    expect(res.body.code).toBe('insufficient-scope');
    const list = await request(app)
      .get('/v1/schemas')
      .set('Authorization', `Bearer ${key('reader')}`);
    expect(list.body.data).toEqual([]);
  });

  it('when a key with schemas:write registers, then 201; a key limited to some types reads only their schemas', async () => {
    expect((await put('com.shop.order.created', 'steward')).status).toBe(201);
    expect((await put('com.partner.made', 'steward')).status).toBe(201);
    const all = await request(app)
      .get('/v1/schemas')
      .set('Authorization', `Bearer ${key('reader')}`);
    expect(all.body.data.map((t: { type: string }) => t.type)).toEqual([
      'com.partner.made',
      'com.shop.order.created',
    ]);
    const limited = await request(app)
      .get('/v1/schemas')
      .set('Authorization', `Bearer ${key('orders-reader')}`);
    expect(limited.body.data.map((t: { type: string }) => t.type)).toEqual([
      'com.shop.order.created',
    ]);
    const outside = await request(app)
      .get('/v1/schemas/com.partner.made')
      .set('Authorization', `Bearer ${key('orders-reader')}`);
    expect(outside.status).toBe(404);
  });

  it('when the body is not JSON or has unknown keys, then 400 and nothing is registered', async () => {
    const bad = await request(app)
      .put('/v1/schemas/com.shop.x')
      .set('Authorization', `Bearer ${key('steward')}`)
      .set('Content-Type', 'application/json')
      .send('{"schema":');
    expect(bad.status).toBe(400);
    const extra = await request(app)
      .put('/v1/schemas/com.shop.x')
      .set('Authorization', `Bearer ${key('steward')}`)
      .send({ ...SCHEMA, version: 7 });
    expect(extra.status).toBe(400);
    expect(extra.body.code).toBe('validation-failed');
    const none = await request(app)
      .get('/v1/schemas/com.shop.x')
      .set('Authorization', `Bearer ${key('steward')}`);
    expect(none.status).toBe(404);
  });

  it('when 12 different compatible versions are PUT at once, then each gets its own version number and none is a 5xx', async () => {
    const puts = await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        request(app)
          .put('/v1/schemas/race.a')
          .set('Authorization', `Bearer ${key('steward')}`)
          .send({ schema: { type: 'object', properties: { [`p${i}`]: { type: 'string' } } } }),
      ),
    );
    expect(puts.map((r) => r.status).filter((s) => s !== 201)).toEqual([]);
    const versions = puts.map((r) => r.body.version as number).sort((a, b) => a - b);
    expect(versions).toEqual(Array.from({ length: 12 }, (_, i) => i + 1));
  });

  it('when two types would share one typed view, then the second is 409 and nothing is registered', async () => {
    expect((await put('col.one', 'steward')).status).toBe(201);
    const clash = await put('Col-One', 'steward');
    expect(clash.status).toBe(409);
    expect(clash.body.errors[0].detail).toMatch(
      /^view-name-taken: events_col_one belongs to col.one/,
    );
    const none = await request(app)
      .get('/v1/schemas/Col-One')
      .set('Authorization', `Bearer ${key('steward')}`);
    expect(none.status).toBe(404);
  });
});
