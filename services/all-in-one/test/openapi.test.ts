import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import request from 'supertest';
import { Ajv2020 } from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import { MemoryBus } from '@eventpipe/bus/adapters';
import type { Stack } from '@eventpipe/all-in-one';
import { errors, type AppError, type OpenApiDocument } from '@eventpipe/platform';
import { publisherApiDocument } from '@eventpipe/publisher-api';
import { queryApiDocument } from '@eventpipe/query-api';
import { DuckDbStore } from '@eventpipe/store/adapters';
import { documentedRoutes, routesOf, tempDuckDbPath, waitFor } from '@eventpipe/testing';
import { testStack } from './stack-fixture';

// The OpenAPI documents are generated from the zod contract. These tests hold them to the
// running apps: the same routes both ways, a valid OpenAPI 3.1 document, and real answers that
// match the status, media type and schema the document gives.
let stack: Stack;
let bus: MemoryBus;
let store: DuckDbStore;
beforeAll(async () => {
  bus = new MemoryBus();
  store = await DuckDbStore.open({ path: tempDuckDbPath() });
  await store.init();
  stack = testStack({ bus, store });
  stack.worker.start();
});
afterAll(async () => {
  await stack.worker.stop();
  await bus.close();
  await store.close();
});

const apis = () =>
  [
    ['publisher', stack.publisher, publisherApiDocument()],
    ['query', stack.query, queryApiDocument()],
  ] as const;

describe.each(['publisher', 'query'] as const)('the %s API document', (name) => {
  const api = () => apis().find(([n]) => n === name)!;

  it('describes exactly the routes the app has, no more and no fewer', () => {
    const [, app, doc] = api();
    const routes = routesOf(app);
    expect(routes.length).toBeGreaterThan(5);
    expect(documentedRoutes(doc)).toEqual(routes);
  });

  it('is a valid OpenAPI 3.1 document', async () => {
    const [, , doc] = api();
    // An ES module: loaded the way a CommonJS test can.
    const { Validator } = await import('@seriousme/openapi-schema-validator');
    const result = await new Validator().validate(doc as unknown as Record<string, unknown>);
    expect(result.errors).toBeUndefined();
    expect(result.valid).toBe(true);
    expect(doc.openapi).toBe('3.1.0');
  });

  it('is served at /openapi.json, and /docs serves the page and its files', async () => {
    const [, app, doc] = api();
    const served = await request(app).get('/openapi.json').expect(200);
    expect(served.body).toEqual(JSON.parse(JSON.stringify(doc)));
    const page = await request(app)
      .get('/docs')
      .expect(200)
      .expect('Content-Type', /text\/html/);
    expect(page.text).toContain('docs/swagger-ui-bundle.js');
    expect(page.headers['content-security-policy']).toContain("connect-src 'self'");
    const bundle = await request(app).get('/docs/swagger-ui-bundle.js').expect(200);
    expect(bundle.text.length).toBeGreaterThan(100_000);
    await request(app).get('/docs/package.json').expect(404);
    await request(app).get('/docs/').expect(301).expect('Location', '../docs');
  });

  it('describes auth, every rate-limit header and the problem model on its /v1 routes', () => {
    const [, , doc] = api();
    const components = doc.components as Record<string, Record<string, unknown>>;
    expect(Object.keys(components.securitySchemes!)).toEqual(['bearerAuth', 'apiKeyHeader']);
    for (const [path, item] of Object.entries(doc.paths)) {
      if (!path.startsWith('/v1/')) continue;
      for (const op of Object.values(item) as {
        security: object[];
        responses: Record<string, { headers?: object }>;
      }[]) {
        expect(op.security).toEqual([{ bearerAuth: [] }, { apiKeyHeader: [] }]);
        for (const s of ['400', '401', '403', '429', '500', '503'])
          expect(op.responses[s]).toBeDefined();
        expect(Object.keys(op.responses['429']!.headers!)).toContain('Retry-After');
        const ok = Object.entries(op.responses).find(([s]) => s.startsWith('2'))![1];
        expect(Object.keys(ok.headers!)).toEqual(
          expect.arrayContaining(['RateLimit', 'RateLimit-Policy', 'X-Request-Id']),
        );
      }
    }
  });
});

/** The code each `errors.<helper>` constructor gives, read off the helpers themselves. */
const HELPER_CODES: Record<string, string> = Object.fromEntries(
  Object.entries(errors).map(([name, make]) => [
    name,
    (make as (d: string) => AppError)('probe').code,
  ]),
);

/** Every problem code a service's own source can raise: `new AppError('<code>'` and the
 * `errors.<helper>(` constructors. */
function codesRaisedBy(service: string): Set<string> {
  const dir = join(__dirname, '..', '..', service, 'src');
  const codes = new Set<string>();
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.ts'))) {
    const text = readFileSync(join(dir, file), 'utf8');
    for (const m of text.matchAll(/new AppError\(\s*'([a-z-]+)'/g)) codes.add(m[1]!);
    for (const m of text.matchAll(/errors\.([A-Za-z]+)\(/g)) {
      const code = HELPER_CODES[m[1]!];
      if (!code) throw new Error(`unknown errors.${m[1]} in ${service}/src/${file}`);
      codes.add(code);
    }
  }
  return codes;
}

/** The problem codes a document lists in its response descriptions. */
const documentedCodes = (doc: OpenApiDocument): Set<string> =>
  new Set(
    JSON.stringify(doc.paths)
      .match(/Problem codes: [^"]*/g)!
      .flatMap((d) => [...d.matchAll(/`([a-z-]+)`/g)].map((m) => m[1]!)),
  );

it.each([
  ['publisher-api', publisherApiDocument],
  ['query-api', queryApiDocument],
] as const)('every problem code %s can raise is in its document', (service, document) => {
  const raised = codesRaisedBy(service);
  expect(raised.size).toBeGreaterThan(3);
  const documented = documentedCodes(document());
  expect([...raised].filter((c) => !documented.has(c))).toEqual([]);
});

it('the route comparison notices a route the document lacks', () => {
  const app = testStack({ bus, store }).query;
  app.get('/v1/undocumented', (_req, res) => {
    res.end();
  });
  expect(routesOf(app)).toContain('GET /v1/undocumented');
  expect(documentedRoutes(queryApiDocument())).not.toContain('GET /v1/undocumented');
});

/** Checks one real answer against the document: its status is listed for the operation, its
 * media type is one the status lists, and its body matches that media type's schema. */
function conformance(doc: OpenApiDocument) {
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  addFormats(ajv);
  ajv.addSchema({ ...doc, $id: 'https://eventpipe.invalid/openapi.json' });
  return (method: string, template: string, res: request.Response, body: unknown = res.body) => {
    const op = doc.paths[template]?.[method] as
      { responses: Record<string, { content?: Record<string, unknown> }> } | undefined;
    if (!op) throw new Error(`${method} ${template} is not in the document`);
    const response = op.responses[String(res.status)];
    if (!response) throw new Error(`${method} ${template} answered ${res.status}, not documented`);
    if (!response.content) return;
    const type = String(res.headers['content-type']).split(';')[0]!;
    const media = type in response.content ? type : '*/*';
    if (!(media in response.content))
      throw new Error(`${type} is not documented for ${res.status}`);
    const pointer = `/paths/${template.replaceAll('~', '~0').replaceAll('/', '~1')}/${method}/responses/${res.status}/content/${media.replaceAll('/', '~1')}/schema`;
    const validate = ajv.compile({ $ref: `https://eventpipe.invalid/openapi.json#${pointer}` });
    if (!validate(body)) {
      throw new Error(`${method} ${template} ${res.status}: ${ajv.errorsText(validate.errors)}`);
    }
  };
}

describe('real answers match the document', () => {
  it('for every publisher and query operation, success and failure alike', async () => {
    const pub = conformance(publisherApiDocument());
    const qry = conformance(queryApiDocument());
    const p = request(stack.publisher);
    const q = request(stack.query);

    const accepted = await p
      .post('/v1/events')
      .set('Content-Type', 'application/json')
      .send([
        { type: 'com.example.openapi', source: '/openapi', data: { n: 1 }, region: 'eu' },
        { type: 'com.example.openapi', source: '/openapi', subject: 's', data: 'text' },
      ]);
    expect(accepted.status).toBe(202);
    pub('post', '/v1/events', accepted);
    pub(
      'post',
      '/v1/events',
      await p.post('/v1/events').set('Content-Type', 'application/json').send('{'),
    );
    pub(
      'post',
      '/v1/events',
      await p.post('/v1/events').set('Content-Type', 'text/plain').send('x'),
    );
    pub(
      'post',
      '/v1/events',
      await p
        .post('/v1/events')
        .set('Content-Type', 'application/cloudevents-batch+json')
        .send('[]'),
    );
    pub('get', '/healthz', await p.get('/healthz'));
    pub('get', '/readyz', await p.get('/readyz'));

    const ids = (accepted.body as { ids: string[] }).ids;
    await waitFor(async () => ((await store.get(ids[1]!)).length === 1 ? true : undefined), {
      timeoutMs: 5000,
      what: 'both events stored',
    });
    const page = await q.get('/v1/events?source=/openapi&limit=1');
    expect((page.body as { data: unknown[] }).data).toHaveLength(1);
    qry('get', '/v1/events', page);
    const lines = await q.get('/v1/events?source=/openapi').set('Accept', 'application/x-ndjson');
    expect(lines.status).toBe(200);
    const rows = lines.text
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as unknown);
    expect(rows).toHaveLength(2);
    for (const row of rows) qry('get', '/v1/events', lines, row);
    const pure = await q
      .get('/v1/events?source=/openapi&limit=1')
      .set('Accept', 'application/cloudevents-batch+json');
    expect(pure.headers['eventpipe-next-cursor']).toMatch(/.+/);
    qry('get', '/v1/events', pure);
    qry('get', '/v1/events', await q.get('/v1/events?limit=0'));
    qry('get', '/v1/events', await q.get('/v1/events').set('Accept', 'image/png'));
    qry('get', '/v1/events/{id}', await q.get(`/v1/events/${ids[0]}`));
    qry('get', '/v1/events/{id}', await q.get('/v1/events/no-such-id'));
    const one = await q.get(`/v1/events/${ids[0]}`).set('Accept', 'application/cloudevents+json');
    expect(one.headers['eventpipe-message-id']).toMatch(/.+/);
    qry('get', '/v1/events/{id}', one);
    qry('get', '/v1/events/{id}', await q.get(`/v1/events/${ids[0]}`).set('Accept', 'image/png'));
    qry('get', '/v1/stats', await q.get('/v1/stats?groupBy=type'));
    qry('get', '/v1/stats', await q.get('/v1/stats?interval=week'));
    qry('get', '/readyz', await q.get('/readyz'));
  });

  it('and a body the document does not allow is caught', async () => {
    const qry = conformance(queryApiDocument());
    const page = await request(stack.query).get('/v1/events');
    expect(() => qry('get', '/v1/events', page, { data: [{ id: 1 }], nextCursor: null })).toThrow(
      /must/,
    );
    expect(() => qry('get', '/v1/stats', { ...page, status: 418 } as request.Response)).toThrow(
      /not documented/,
    );
  });
});
