import { z } from 'zod';
import type { Scope } from './auth';
import { PROBLEMS, problemSchema, type ProblemCode } from './errors';

/**
 * Builds an OpenAPI 3.1 document from the zod schemas of the API contract, so the document and
 * the validation cannot drift apart: each service describes its operations here (see its
 * openapi.ts) and serves the result at GET /openapi.json. JSON Schema 2020-12 is OpenAPI 3.1's
 * own dialect, so zod's conversion is used as is; named schemas (`.meta({ id })`) land in
 * components.schemas.
 */

type Json = Record<string, unknown>;
export type OpenApiDocument = Json & { paths: Record<string, Record<string, Json>> };

export interface OperationSpec {
  operationId: string;
  summary: string;
  description?: string;
  tags: string[];
  /** Scope an API key needs; unset: no key (operational routes). */
  scope?: Scope;
  /** Rate limited per consumer (RateLimit headers on answers). */
  rateLimited?: boolean;
  query?: z.ZodType;
  pathParams?: { name: string; description: string; schema: Json }[];
  headerParams?: { name: string; description: string; schema: Json }[];
  requestBody?: { description: string; required: boolean; content: Record<string, Json> };
  /** Success responses by status. */
  responses: Record<
    string,
    { description: string; content?: Record<string, Json>; headers?: Record<string, Json> }
  >;
  /** The problem codes (AppError.code) this operation can answer; their statuses come from
   * the problem table (PROBLEMS). */
  problems: ProblemCode[];
}

const RATE_HEADERS = {
  RateLimit: { $ref: '#/components/headers/RateLimit' },
  'RateLimit-Policy': { $ref: '#/components/headers/RateLimit-Policy' },
};
const REQUEST_ID = { 'X-Request-Id': { $ref: '#/components/headers/X-Request-Id' } };

/** The failures any route with an API key can answer, whatever else it does. */
export const AUTH_PROBLEMS: ProblemCode[] = [
  'unauthenticated',
  'insufficient-scope',
  'rate-limited',
];
/** Every route can fail unexpectedly. */
export const SERVER_PROBLEMS: ProblemCode[] = ['internal'];

const STATUS_TEXT: Record<number, string> = {
  400: 'Bad request',
  401: 'No valid API key',
  403: 'The key lacks the scope, or may not write this source',
  404: 'Not found',
  406: 'Not acceptable',
  409: 'Conflict',
  413: 'Payload too large',
  415: 'Unsupported media type',
  429: 'Too many requests',
  500: 'Internal error',
  503: 'Unavailable; retry after Retry-After seconds',
};

/** An express route path in OpenAPI's template form: `/v1/events/:id` → `/v1/events/{id}`. */
export const openApiPath = (expressPath: string): string =>
  expressPath.replace(/:([A-Za-z0-9_]+)/g, '{$1}');

export class OpenApiBuilder {
  private readonly schemas: Record<string, Json> = {};
  private readonly paths: Record<string, Record<string, Json>> = {};

  constructor(private readonly info: { title: string; version: string; description: string }) {
    this.schema(problemSchema); // named: lands in components.schemas.Problem
  }

  /** JSON Schema of a zod schema; named sub-schemas move to components.schemas. */
  schema(schema: z.ZodType, io: 'input' | 'output' = 'output'): Json {
    const {
      $schema: _,
      $defs,
      ...rest
    } = z.toJSONSchema(schema, {
      target: 'draft-2020-12',
      io,
      unrepresentable: 'any',
    }) as Json & { $defs?: Record<string, Json> };
    for (const [name, def] of Object.entries($defs ?? {})) {
      const schema = relink(def) as Json;
      const known = this.schemas[name];
      // One name, one schema: the same id converted as input and as output (or zod's numbered
      // names, which restart on every conversion) must not overwrite each other silently.
      if (known && JSON.stringify(known) !== JSON.stringify(schema)) {
        throw new Error(`two different schemas are named ${name} in components.schemas`);
      }
      this.schemas[name] = schema;
    }
    return relink(rest) as Json;
  }

  /** One query parameter per key of a (strict) object schema, with its own description. */
  private queryParameters(schema: z.ZodType): Json[] {
    const shape = (schema as unknown as { shape?: Record<string, z.ZodType> }).shape;
    if (!shape) throw new Error('query parameters need an object schema');
    return Object.entries(shape).map(([name, field]) => {
      const { description, ...fieldSchema } = this.schema(field, 'input');
      return {
        name,
        in: 'query',
        required: !field.safeParse(undefined).success,
        ...(description ? { description } : {}),
        schema: fieldSchema,
      };
    });
  }

  operation(
    method: 'get' | 'post' | 'put' | 'delete',
    expressPath: string,
    op: OperationSpec,
  ): this {
    const path = openApiPath(expressPath);
    const successHeaders = { ...REQUEST_ID, ...(op.rateLimited ? RATE_HEADERS : {}) };
    const responses: Record<string, Json> = {};
    for (const [status, r] of Object.entries(op.responses)) {
      responses[status] = { ...r, headers: { ...successHeaders, ...(r.headers ?? {}) } };
    }
    // Problem codes by status, merged across the operation's own and the shared lists.
    const codes = new Map<number, Set<string>>();
    for (const code of [...op.problems, ...(op.scope ? AUTH_PROBLEMS : []), ...SERVER_PROBLEMS]) {
      const { status } = PROBLEMS[code];
      if (String(status) in op.responses) {
        throw new Error(`${method} ${path}: status ${status} is both a response and a problem`);
      }
      codes.set(status, (codes.get(status) ?? new Set<string>()).add(code));
    }
    for (const [status, set] of codes) {
      responses[String(status)] = problemResponse(status, [...set], path);
    }
    const parameters = [
      ...(op.pathParams ?? []).map((p) => ({ ...p, in: 'path', required: true })),
      ...(op.query ? this.queryParameters(op.query) : []),
      ...(op.headerParams ?? []).map((p) => ({ ...p, in: 'header', required: false })),
    ];
    (this.paths[path] ??= {})[method] = {
      operationId: op.operationId,
      summary: op.summary,
      ...(op.description ? { description: op.description } : {}),
      tags: op.tags,
      ...(parameters.length ? { parameters } : {}),
      ...(op.requestBody ? { requestBody: op.requestBody } : {}),
      security: op.scope ? [{ bearerAuth: [] }, { apiKeyHeader: [] }] : [],
      ...(op.scope ? { 'x-required-scope': op.scope } : {}),
      responses: Object.fromEntries(
        Object.entries(responses).sort(([a], [b]) => Number(a) - Number(b)),
      ),
    };
    return this;
  }

  build(): OpenApiDocument {
    return {
      openapi: '3.1.0',
      info: { ...this.info, license: { name: 'MIT', identifier: 'MIT' } },
      servers: [{ url: '/', description: 'The service that serves this document' }],
      paths: this.paths,
      components: {
        schemas: this.schemas,
        securitySchemes: {
          bearerAuth: {
            type: 'http',
            scheme: 'bearer',
            description:
              'An API key as `Authorization: Bearer <key>`. Needed only when the service runs with API keys (AUTH_MODE=keys); each operation names the scope it needs.',
          },
          apiKeyHeader: {
            type: 'apiKey',
            in: 'header',
            name: 'X-API-Key',
            description: 'The same API key in the X-API-Key header.',
          },
        },
        headers: {
          'X-Request-Id': {
            description:
              'The request id: the caller’s own X-Request-Id when it is 1–128 of A-Z a-z 0-9 . _ : -, else a new one. Quote it when reporting a problem.',
            schema: { type: 'string' },
          },
          RateLimit: {
            description:
              'Present when the per-consumer limit is on: what is left of the quota in this window (IETF draft-8: `"<policy>";r=<remaining>;t=<seconds to reset>`).',
            schema: { type: 'string' },
          },
          'RateLimit-Policy': {
            description:
              'Present when the per-consumer limit is on: the quota (`"<policy>";q=<requests>;w=60`).',
            schema: { type: 'string' },
          },
          'Retry-After': {
            description: 'Seconds to wait before retrying.',
            schema: { type: 'integer', minimum: 1 },
          },
          'WWW-Authenticate': {
            description: 'The Bearer challenge, with error= and scope= when a key was refused.',
            schema: { type: 'string' },
          },
        },
      },
    };
  }
}

function problemResponse(status: number, codes: string[], path: string): Json {
  const headers: Record<string, Json> = { ...REQUEST_ID };
  if (status === 429 || status === 503)
    headers['Retry-After'] = { $ref: '#/components/headers/Retry-After' };
  if (status === 401 || status === 403)
    headers['WWW-Authenticate'] = { $ref: '#/components/headers/WWW-Authenticate' };
  return {
    description: `${STATUS_TEXT[status] ?? 'Error'}. Problem codes: ${codes.map((c) => `\`${c}\``).join(', ')}.`,
    headers,
    content: {
      'application/problem+json': {
        schema: { $ref: '#/components/schemas/Problem' },
        example: {
          type: `urn:eventpipe:problem:${codes[0]}`,
          title: STATUS_TEXT[status] ?? 'Error',
          status,
          code: codes[0],
          instance: path,
          requestId: '7d0c9f6e-2b1a-4c3e-9a5f-0e4d2c1b3a59',
        },
      },
    },
  };
}

/** $defs references → components.schemas references. */
function relink(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(relink);
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [
        k,
        k === '$ref' && typeof v === 'string'
          ? v.replace('#/$defs/', '#/components/schemas/')
          : relink(v),
      ]),
    );
  }
  return value;
}

/** The routes every service has: health, readiness, metrics (behind the scope metrics:read on
 * the APIs, where keys are configured), and this documentation. */
export function describeOperationalRoutes(api: OpenApiBuilder, readinessChecks: string[]): void {
  const status = (s: string) => ({ type: 'object', properties: { status: { const: s } } });
  api
    .operation('get', '/healthz', {
      operationId: 'healthz',
      summary: 'Liveness: the process is up',
      tags: ['operations'],
      responses: {
        '200': {
          description: 'Alive',
          content: { 'application/json': { schema: status('ok') } },
        },
      },
      problems: [],
    })
    .operation('get', '/readyz', {
      operationId: 'readyz',
      summary: 'Readiness: every dependency answers',
      description: `Runs each check (${readinessChecks.join(', ')}) with a 2 s timeout.`,
      tags: ['operations'],
      responses: {
        '200': {
          description: 'Ready',
          content: { 'application/json': { schema: readySchema(readinessChecks, 'ready') } },
        },
        '503': {
          description: 'A dependency failed its check',
          content: { 'application/json': { schema: readySchema(readinessChecks, 'not-ready') } },
        },
      },
      problems: [],
    })
    .operation('get', '/metrics', {
      operationId: 'metrics',
      summary: 'Prometheus metrics',
      description:
        'Where API keys are configured, a key with the scope metrics:read (the metrics name consumers and their traffic); open without keys.',
      tags: ['operations'],
      scope: 'metrics:read',
      responses: {
        '200': {
          description: 'Prometheus text exposition format',
          content: { 'text/plain': { schema: { type: 'string' } } },
        },
      },
      problems: [],
    })
    .operation('get', '/openapi.json', {
      operationId: 'openapi',
      summary: 'This OpenAPI 3.1 document',
      tags: ['operations'],
      responses: {
        '200': {
          description: 'The document',
          content: { 'application/json': { schema: { type: 'object' } } },
        },
      },
      problems: [],
    });
  describePageRoutes(api, {
    path: '/docs',
    operationId: 'docs',
    summary: 'Interactive documentation of this API (Swagger UI)',
    assetSummary: 'A file of the documentation page',
    assets: DOC_ASSETS,
  });
}

/** A page a service serves with its own files (`/docs`, `/explorer`): the page, `<path>/`
 * sent to it, and `<path>/<asset>` for each of its files. */
export function describePageRoutes(
  api: OpenApiBuilder,
  page: {
    path: string;
    operationId: string;
    summary: string;
    description?: string;
    assetSummary: string;
    assets: string[];
  },
): void {
  api
    .operation('get', page.path, {
      operationId: page.operationId,
      summary: page.summary,
      ...(page.description ? { description: page.description } : {}),
      tags: ['operations'],
      responses: {
        '200': {
          description: 'HTML page',
          content: { 'text/html': { schema: { type: 'string' } } },
        },
        '301': {
          description: `\`${page.path}/\` is sent to \`${page.path}\`, where the page’s relative links work`,
        },
      },
      problems: [],
    })
    .operation('get', `${page.path}/:asset`, {
      operationId: `${page.operationId}Asset`,
      summary: page.assetSummary,
      tags: ['operations'],
      pathParams: [
        { name: 'asset', description: 'File name', schema: { type: 'string', enum: page.assets } },
      ],
      responses: {
        '200': {
          description: 'The file',
          content: {
            'text/css': { schema: { type: 'string' } },
            'text/javascript': { schema: { type: 'string' } },
          },
        },
      },
      problems: ['not-found'],
    });
}

/** Files /docs/{asset} serves. */
export const DOC_ASSETS = ['swagger-ui.css', 'swagger-ui-bundle.js', 'docs.js'];

const readySchema = (checks: string[], status: string) => ({
  type: 'object',
  properties: {
    status: { const: status },
    checks: {
      type: 'object',
      properties: Object.fromEntries(
        checks.map((c) => [c, { type: 'string', enum: ['ok', 'failing'] }]),
      ),
    },
  },
});
