import {
  OpenApiBuilder,
  describeOperationalRoutes,
  type OpenApiDocument,
} from '@eventpipe/platform';
import {
  CLOUDEVENTS_JSON,
  LIMITS,
  inputEventSchema,
  publishAcceptedSchema,
} from '@eventpipe/schema';

const VERSION = '1.0.0';
const BATCH_JSON = 'application/cloudevents-batch+json';

/** The publisher API's OpenAPI 3.1 document, from the contract's zod schemas. */
export function publisherApiDocument(): OpenApiDocument {
  const api = new OpenApiBuilder({
    title: 'eventpipe publisher API',
    version: VERSION,
    description: [
      'Accepts CloudEvents 1.0 over HTTP (structured, batch and binary content modes) and publishes each event to the bus, one message per event. A 202 means the bus has the events.',
      '',
      `Limits: request body ${LIMITS.maxRequestBytes} bytes; ${LIMITS.maxEventsPerRequest} events per request; ${LIMITS.maxEventBytes} bytes per serialized event; ${LIMITS.maxAttributeBytes} bytes per attribute value; ${LIMITS.maxExtensions} extensions; JSON nesting ${LIMITS.maxJsonDepth} levels. Extension names are 1–${LIMITS.maxExtensionNameLength} of a-z 0-9. data is stored and returned as the JSON text sent; a 202 means the bus has the events.`,
      '',
      'Errors are RFC 9457 problems (application/problem+json) with a stable `code`. Any failure publishes nothing of the request.',
    ].join('\n'),
  });
  const event = api.schema(
    inputEventSchema.meta({
      description:
        'A CloudEvent in JSON format. id (default: a new UUIDv7), specversion (default "1.0") and time (default: when received) may be left out; other top-level keys are extension attributes. data is kept as the JSON text sent (numbers digit for digit; null is an explicit null).',
    }),
    'input',
  );
  const batch = { type: 'array', items: event, minItems: 0, maxItems: LIMITS.maxEventsPerRequest };
  const ceHeader = (name: string, description: string) => ({
    name: `ce-${name}`,
    description: `Binary mode: ${description}`,
    schema: { type: 'string' },
  });
  api.operation('post', '/v1/events', {
    operationId: 'publishEvents',
    summary: 'Publish one event or a batch',
    description: [
      `Structured mode: Content-Type ${CLOUDEVENTS_JSON}, one event. Batch mode: ${BATCH_JSON}, an array. application/json takes either.`,
      '',
      'Binary mode: any other Content-Type with a `ce-specversion` header; the attributes are `ce-*` headers (percent-encoded; read liberally: a % without two hex digits after it, and quotes, are kept as sent), the body is the data and its Content-Type the datacontenttype. JSON media types are stored as JSON data, the text as sent; text/* without a charset, or any type with charset=utf-8, as a string; anything else (other charsets included) as data_base64, byte for byte. Extension values arrive as strings.',
    ].join('\n'),
    tags: ['events'],
    scope: 'events:write',
    rateLimited: true,
    headerParams: [
      ceHeader('specversion', '"1.0"; its presence selects binary mode.'),
      ceHeader('type', 'the event type (required).'),
      ceHeader('source', 'the event source (required).'),
      ceHeader('id', 'the event id (default: a new UUIDv7).'),
      ceHeader('time', 'RFC 3339 event time (default: when received).'),
      ceHeader('subject', 'the subject.'),
      ceHeader('dataschema', 'the data schema URI.'),
    ],
    requestBody: {
      description: `At most ${LIMITS.maxRequestBytes} bytes.`,
      required: true,
      content: {
        [CLOUDEVENTS_JSON]: { schema: event },
        [BATCH_JSON]: { schema: batch },
        'application/json': { schema: { oneOf: [event, batch] } },
        '*/*': { schema: { description: 'Binary mode: the raw data, with the ce-* headers.' } },
      },
    },
    responses: {
      '202': {
        description: 'Every event was published',
        content: { 'application/json': { schema: api.schema(publishAcceptedSchema) } },
      },
    },
    problems: [
      'validation-failed',
      'malformed-json',
      'invalid-encoding',
      'json-too-deep',
      'forbidden-key',
      'data-schema-invalid',
      'source-not-allowed',
      'request-aborted',
      'bad-request',
      'payload-too-large',
      'unsupported-media-type',
      'too-many-in-flight',
      'unavailable',
    ],
  });
  describeOperationalRoutes(api, ['bus']);
  return api.build();
}
