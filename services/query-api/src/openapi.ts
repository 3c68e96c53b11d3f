import {
  OpenApiBuilder,
  describeOperationalRoutes,
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
} from '@eventpipe/schema';

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
  describeOperationalRoutes(api, ['store']);
  return api.build();
}
