import {
  OpenApiBuilder,
  describeOperationalRoutes,
  describePageRoutes,
  type OpenApiDocument,
} from '@eventpipe/platform';
import {
  CLOUDEVENTS_MEDIA_TYPES,
  CSV_COLUMNS,
  EXPORT_MEDIA_TYPES,
  cloudEventSchema,
  LIMITS,
  eventPageSchema,
  getParamsSchema,
  listParamsSchema,
  statsParamsSchema,
  statsResponseSchema,
  storedEventSchema,
  streamParamsSchema,
} from '@eventpipe/schema';

import { COMPATIBILITIES, SCHEMA_MODES } from '@eventpipe/registry';
import { describeErasureRoutes } from './erasures-openapi';
import { EXPLORER_ASSETS } from './explorer';
import { INFER_SAMPLE_EVENTS } from './schemas';

const VERSION = '1.0.0';

/** The query API's OpenAPI 3.1 document, from the contract's zod schemas. */
export function queryApiDocument(): OpenApiDocument {
  const api = new OpenApiBuilder({
    title: 'eventpipe query API',
    version: VERSION,
    description: [
      'Reads the events eventpipe stored: filtered pages with cursors, single events, counts per time bucket, and streaming exports.',
      '',
      `Limits: at most ${LIMITS.maxPageSize} events per page (default ${LIMITS.defaultPageSize}); filter values at most ${LIMITS.maxAttributeBytes} bytes; at most ${LIMITS.maxStatsBuckets} stats buckets per request. On BigQuery, from and to may be at most the configured number of days apart (400 range-too-large).`,
      '',
      'Errors are RFC 9457 problems (application/problem+json) with a stable `code`.',
    ].join('\n'),
  });
  const eventPage = api.schema(eventPageSchema);
  const storedEvent = api.schema(storedEventSchema);
  const cloudEvent = api.schema(cloudEventSchema);
  const metaHeaders = {
    'Eventpipe-Received-At': {
      description: 'With a pure CloudEvent: when the publisher API received it.',
      schema: { type: 'string', format: 'date-time' },
    },
    'Eventpipe-Published-At': {
      description: 'With a pure CloudEvent: when the bus accepted it.',
      schema: { type: 'string', format: 'date-time' },
    },
    'Eventpipe-Stored-At': {
      description: 'With a pure CloudEvent: when the store committed it.',
      schema: { type: 'string', format: 'date-time' },
    },
    'Eventpipe-Message-Id': {
      description: 'With a pure CloudEvent: the bus message id that was stored.',
      schema: { type: 'string' },
    },
    'Eventpipe-Producer': {
      description:
        'With a pure CloudEvent: the name of the API key that published it (absent without keys).',
      schema: { type: 'string' },
    },
  };
  api.operation('get', '/v1/events', {
    operationId: 'listEvents',
    summary: 'List events, newest first, or export every match',
    description: [
      `With Accept: application/json (or none) the answer is one page; follow nextCursor with the same filters. With Accept: ${CLOUDEVENTS_MEDIA_TYPES.batch} the page is an array of pure CloudEvents (the batch format) and the next cursor is in the Link (rel="next") and Eventpipe-Next-Cursor headers. With Accept: ${EXPORT_MEDIA_TYPES.ndjson} or ${EXPORT_MEDIA_TYPES.csv} every matching row is streamed, with no page size (limit is refused), in the same order. A page also ends early once its events weigh PAGE_MAX_BYTES (default 8 MiB: data, extensions and attributes), with a nextCursor. A key limited to sources or types (its grant) reads only those events, on this and every read route.`,
      '',
      "Every event's data is the JSON text its producer sent, byte for byte (numbers digit for digit); time is as the producer wrote it.",
      '',
      'An export that breaks off resumes with afterTime, afterSource and afterId set from the last complete row received. A failure after the first byte cuts the connection (no final chunk), so a short export is never mistaken for a complete one.',
    ].join('\n'),
    tags: ['events'],
    scope: 'events:read',
    rateLimited: true,
    query: listParamsSchema,
    responses: {
      '200': {
        description: 'A page, or the streamed export',
        headers: {
          'Cache-Control': { description: '`no-store`', schema: { type: 'string' } },
          Link: {
            description: `With ${CLOUDEVENTS_MEDIA_TYPES.batch}: <the next page>; rel="next", absent on the last page.`,
            schema: { type: 'string' },
          },
          'Eventpipe-Next-Cursor': {
            description: `With ${CLOUDEVENTS_MEDIA_TYPES.batch}: the next page's cursor, absent on the last page.`,
            schema: { type: 'string' },
          },
        },
        content: {
          'application/json': { schema: eventPage },
          [CLOUDEVENTS_MEDIA_TYPES.batch]: {
            schema: {
              type: 'array',
              items: cloudEvent,
              description: 'A page of pure CloudEvents.',
            },
          },
          [EXPORT_MEDIA_TYPES.ndjson]: {
            schema: {
              ...storedEvent,
              description:
                'One StoredEvent JSON object per line (line breaks between the JSON tokens of data removed).',
            },
          },
          [EXPORT_MEDIA_TYPES.csv]: {
            schema: {
              type: 'string',
              description: `RFC 4180, CRLF line ends, a header row: ${CSV_COLUMNS.join(',')}. data and extensions hold JSON text. A value of id, source, type, subject, datacontenttype or producer that starts with = + - @ tab, CR or ' has one ' put before it (CSV injection).`,
            },
          },
        },
      },
    },
    problems: [
      'validation-failed',
      'invalid-cursor',
      'range-too-large',
      'not-acceptable',
      'too-many-exports',
      'unavailable',
    ],
  });
  api.operation('get', '/v1/events/stream', {
    operationId: 'streamEvents',
    summary: 'Stored events as they arrive (Server-Sent Events), resumable',
    description: [
      "A live feed of stored events matching the same filters as GET /v1/events (and the key's grant): one SSE message per event, `id:` an opaque signed resume token, `event:` the CloudEvent type, `data:` the event as GET /v1/events/{id} returns it, on one line. A comment (`: heartbeat`) every 15 s.",
      '',
      'Resume with the `Last-Event-ID` header (what browsers send on reconnect) or `?after=`: every stored match after that event is sent first, then the stream continues live. Each event is sent once per stream, in store order (stored time, source, id). An event appears about STREAM_SETTLE_MS + STREAM_POLL_MS (1.5 s by default) after it was stored.',
      '',
      'A reader that leaves STREAM_BUFFER_BYTES unread is disconnected with a final comment saying so; it resumes with its last id. At STREAM_MAX_CONCURRENT open streams, 429 too-many-streams.',
    ].join('\n'),
    tags: ['events'],
    scope: 'events:read',
    rateLimited: true,
    query: streamParamsSchema,
    headerParams: [
      {
        name: 'Last-Event-ID',
        description: 'The `id:` of the last message received: resume after it.',
        schema: { type: 'string' },
      },
    ],
    responses: {
      '200': {
        description: 'The stream',
        headers: { 'Cache-Control': { description: '`no-store`', schema: { type: 'string' } } },
        content: {
          'text/event-stream': {
            schema: {
              type: 'string',
              description:
                'Server-Sent Events: `id: <resume token>`, `event: <type>`, `data: <StoredEvent JSON>`, a blank line; comments start with `:`.',
            },
          },
        },
      },
    },
    problems: ['validation-failed', 'invalid-cursor', 'too-many-streams', 'unavailable'],
  });
  api.operation('get', '/v1/events/:id', {
    operationId: 'getEvent',
    summary: 'One event by id',
    description: `A stored event never changes, so the answer carries a strong ETag and \`Cache-Control: private, max-age=3600\`; If-None-Match with that ETag answers 304. With Accept: ${CLOUDEVENTS_MEDIA_TYPES.event} the body is the pure CloudEvent (what an SDK's HTTP.toEvent reads) and the pipeline metadata is in Eventpipe-* headers.`,
    tags: ['events'],
    scope: 'events:read',
    rateLimited: true,
    pathParams: [
      {
        name: 'id',
        description: `The CloudEvents id (at most ${LIMITS.maxAttributeBytes} bytes).`,
        schema: { type: 'string', minLength: 1 },
      },
    ],
    query: getParamsSchema,
    headerParams: [
      {
        name: 'If-None-Match',
        description: 'An ETag from an earlier answer: 304 when it still matches.',
        schema: { type: 'string' },
      },
    ],
    responses: {
      '200': {
        description: 'The event',
        headers: {
          ETag: { description: 'Strong validator of the body.', schema: { type: 'string' } },
          'Cache-Control': {
            description: '`private, max-age=3600`',
            schema: { type: 'string' },
          },
          ...metaHeaders,
        },
        content: {
          'application/json': { schema: storedEvent },
          [CLOUDEVENTS_MEDIA_TYPES.event]: { schema: cloudEvent },
        },
      },
      '304': { description: 'Not modified: the ETag given still matches' },
    },
    problems: ['validation-failed', 'not-found', 'not-acceptable', 'ambiguous-id', 'unavailable'],
  });
  api.operation('get', '/v1/stats', {
    operationId: 'getStats',
    summary: 'Event counts per time bucket',
    description: `Counts matching events per minute, hour or day, optionally per type or source. The range defaults to the day before \`to\` (default now); it may span at most ${LIMITS.maxStatsBuckets} buckets.`,
    tags: ['events'],
    scope: 'events:read',
    rateLimited: true,
    query: statsParamsSchema,
    responses: {
      '200': {
        description: 'The buckets',
        headers: { 'Cache-Control': { description: '`no-store`', schema: { type: 'string' } } },
        content: { 'application/json': { schema: api.schema(statsResponseSchema) } },
      },
    },
    problems: ['validation-failed', 'range-too-large', 'unavailable'],
  });
  describeSchemaRoutes(api);
  describeErasureRoutes(api);
  describePageRoutes(api, {
    path: '/explorer',
    operationId: 'explorer',
    summary: 'The explorer: filter, page, inspect and tail events in a browser',
    description:
      'A page served by this API (strict CSP, no third-party hosts): a filter bar, a results table with cursor paging, an event inspector, a chart of events per interval by type (GET /v1/stats), and Live, which tails GET /v1/events/stream. Its calls carry the API key typed into it (kept in sessionStorage).',
    assetSummary: 'A file of the explorer page',
    assets: EXPLORER_ASSETS,
  });
  describeOperationalRoutes(api, ['store']);
  return api.build();
}

const TYPE_PARAM = {
  name: 'type',
  description: 'The CloudEvents type (URL-encoded).',
  schema: { type: 'string', minLength: 1 },
};
const versionSchema = {
  type: 'object',
  required: ['type', 'version', 'uri', 'mode', 'compatibility', 'createdAt', 'schema'],
  properties: {
    type: { type: 'string' },
    version: { type: 'integer', minimum: 1 },
    uri: {
      type: 'string',
      description:
        'What accepted events carry as dataschema: <SCHEMA_URI_BASE>/v1/schemas/<type>/versions/<n>.',
    },
    mode: { type: 'string', enum: [...SCHEMA_MODES] },
    compatibility: { type: 'string', enum: [...COMPATIBILITIES] },
    createdAt: { type: 'string', format: 'date-time' },
    schema: { type: 'object', description: 'The JSON Schema (draft 2020-12) of the data.' },
    view: { type: 'string', description: 'The typed view of the type (PUT answers only).' },
  },
};

/** /v1/schemas: the registry of data schemas (docs/SCHEMAS.md). */
function describeSchemaRoutes(api: OpenApiBuilder): void {
  api.operation('put', '/v1/schemas/:type', {
    operationId: 'putSchema',
    summary: 'Register the next version of the schema of a type',
    description:
      "Registers a JSON Schema (draft 2020-12) for the data of one event type as its next version, checked for compatibility with the newest version by the type's compatibility (BACKWARD by default). mode and compatibility default to the type's current settings (enforce and BACKWARD for a new type). The same schema and settings again: 200 with the newest version, nothing new. The typed view events_<type slug> is created or replaced. Every instance uses a new version within SCHEMA_REFRESH_SECONDS.",
    tags: ['schemas'],
    scope: 'schemas:write',
    rateLimited: true,
    pathParams: [TYPE_PARAM],
    requestBody: {
      description:
        '{"schema": <JSON Schema>, "mode"?: "enforce"|"warn"|"off", "compatibility"?: "BACKWARD"|"FORWARD"|"FULL"|"NONE"}',
      required: true,
      content: {
        'application/json': {
          schema: {
            type: 'object',
            required: ['schema'],
            additionalProperties: false,
            properties: {
              schema: { type: 'object' },
              mode: { type: 'string', enum: [...SCHEMA_MODES] },
              compatibility: { type: 'string', enum: [...COMPATIBILITIES] },
            },
          },
        },
      },
    },
    responses: {
      '200': {
        description: 'Nothing changed: the newest version',
        content: { 'application/json': { schema: versionSchema } },
      },
      '201': {
        description: 'The new version',
        headers: { Location: { description: 'The version URI.', schema: { type: 'string' } } },
        content: { 'application/json': { schema: versionSchema } },
      },
    },
    problems: [
      'validation-failed',
      'malformed-json',
      'bad-request',
      'invalid-schema',
      'schema-incompatible',
      'payload-too-large',
      'unavailable',
    ],
  });
  api.operation('get', '/v1/schemas', {
    operationId: 'listSchemas',
    summary: 'Every type with a schema',
    tags: ['schemas'],
    scope: 'events:read',
    rateLimited: true,
    responses: {
      '200': {
        description: 'The types, each with its settings and newest version',
        content: {
          'application/json': {
            schema: {
              type: 'object',
              required: ['data'],
              properties: {
                data: {
                  type: 'array',
                  items: {
                    type: 'object',
                    required: ['type', 'mode', 'compatibility', 'latestVersion', 'uri', 'view'],
                    properties: {
                      type: { type: 'string' },
                      mode: { type: 'string', enum: [...SCHEMA_MODES] },
                      compatibility: { type: 'string', enum: [...COMPATIBILITIES] },
                      latestVersion: { type: 'integer' },
                      uri: { type: 'string' },
                      view: { type: 'string' },
                    },
                  },
                },
              },
            },
          },
        },
      },
    },
    problems: ['validation-failed', 'unavailable'],
  });
  api.operation('get', '/v1/schemas/:type', {
    operationId: 'getSchema',
    summary: "A type's schema settings and every version",
    tags: ['schemas'],
    scope: 'events:read',
    rateLimited: true,
    pathParams: [TYPE_PARAM],
    responses: {
      '200': {
        description: 'The settings and versions, oldest first',
        content: {
          'application/json': {
            schema: {
              type: 'object',
              required: ['type', 'mode', 'compatibility', 'view', 'versions'],
              properties: {
                type: { type: 'string' },
                mode: { type: 'string', enum: [...SCHEMA_MODES] },
                compatibility: { type: 'string', enum: [...COMPATIBILITIES] },
                view: { type: 'string' },
                versions: { type: 'array', items: versionSchema },
              },
            },
          },
        },
      },
    },
    problems: ['validation-failed', 'not-found', 'unavailable'],
  });
  api.operation('get', '/v1/schemas/:type/versions/:n', {
    operationId: 'getSchemaVersion',
    summary: 'One version of the schema of a type (what dataschema points to)',
    tags: ['schemas'],
    scope: 'events:read',
    rateLimited: true,
    pathParams: [
      TYPE_PARAM,
      {
        name: 'n',
        description: 'The version number (1, 2, …).',
        schema: { type: 'string', pattern: '^[1-9][0-9]*$' },
      },
    ],
    responses: {
      '200': {
        description: 'The version; it never changes',
        content: { 'application/json': { schema: versionSchema } },
      },
    },
    problems: ['validation-failed', 'not-found', 'unavailable'],
  });
  api.operation('get', '/v1/schemas/:type/inferred', {
    operationId: 'inferSchema',
    summary: 'A schema drafted from stored events of a type',
    description: `Drafts a JSON Schema from the data of the newest ${INFER_SAMPLE_EVENTS} stored events of the type: the types seen, properties present in every event as required, and string formats (date-time, date, email, uri, uuid) that every value had. A starting point to edit and register; a key limited to some sources gets 403.`,
    tags: ['schemas'],
    scope: 'events:read',
    rateLimited: true,
    pathParams: [TYPE_PARAM],
    responses: {
      '200': {
        description: 'The draft',
        content: {
          'application/json': {
            schema: {
              type: 'object',
              required: ['type', 'sampledEvents', 'schema'],
              properties: {
                type: { type: 'string' },
                sampledEvents: { type: 'integer' },
                schema: { type: 'object' },
              },
            },
          },
        },
      },
    },
    problems: ['validation-failed', 'unavailable'],
  });
}
