import { z } from 'zod';
import { LIMITS } from './limits';
import { canonicalTime, parseRfc3339 } from './time';

/**
 * The HTTP contract of the two APIs as zod schemas: query parameters (validated by the query
 * API), and the response bodies. The OpenAPI documents are generated from these, and the typed
 * client takes its types from them, so the contract is written once.
 */

export const STATS_INTERVALS = ['minute', 'hour', 'day'] as const;
export type StatsInterval = (typeof STATS_INTERVALS)[number];
export const STATS_GROUPS = ['type', 'source'] as const;
export type StatsGroup = (typeof STATS_GROUPS)[number];

// ---------------------------------------------------------------------------------------------
// Query parameters. Every value arrives as a string; a repeated parameter is an error.

const single = (name: string) =>
  z.string({
    error: (i) =>
      Array.isArray(i.input) ? `${name} may be given once` : `${name} must be a string`,
  });

const text = (name: string, description: string) =>
  single(name)
    .min(1, { error: `${name} must not be empty` })
    .refine((v) => Buffer.byteLength(v) <= LIMITS.maxAttributeBytes, {
      error: `${name} is longer than ${LIMITS.maxAttributeBytes} bytes`,
    })
    .meta({ description: `${description} At most ${LIMITS.maxAttributeBytes} bytes (UTF-8).` });

const time = (name: string, description: string) =>
  single(name)
    .refine((v) => parseRfc3339(v) !== undefined, {
      error: `${name} must be an RFC 3339 date-time from 0001-01-01T00:00:00Z to 9999-12-31T23:59:59.999999Z once in UTC, e.g. 2026-11-28T00:00:00Z`,
    })
    .transform((v) => canonicalTime(v)!)
    .meta({ description, format: 'date-time', examples: ['2026-11-28T00:00:00Z'] });

const filterShape = {
  type: text('type', 'Only events of this CloudEvents type (exact match).').optional(),
  source: text('source', 'Only events from this CloudEvents source (exact match).').optional(),
  subject: text('subject', 'Only events with this subject (exact match).').optional(),
  producer: text(
    'producer',
    'Only events published with the API key of this name (exact match).',
  ).optional(),
  from: time('from', 'Only events whose time is at or after this instant.').optional(),
  to: time('to', 'Only events whose time is before this instant.').optional(),
};

const orderedRange = (v: { from?: string; to?: string }) =>
  v.from === undefined || v.to === undefined || parseRfc3339(v.from)! <= parseRfc3339(v.to)!;
const rangeIssue = { error: 'from must not be after to', path: ['from'] };

/** Both halves of a resume key or neither; and not beside a cursor. */
const resumeKeyComplete = (v: {
  afterTime?: string;
  afterSource?: string;
  afterId?: string;
  cursor?: string;
}) => {
  const given = [v.afterTime, v.afterSource, v.afterId].filter((x) => x !== undefined).length;
  return given === 0 || (given === 3 && v.cursor === undefined);
};

export const listParamsSchema = z
  .strictObject({
    ...filterShape,
    limit: single('limit')
      .regex(/^\d{1,7}$/, { error: 'limit must be a whole number' })
      .transform(Number)
      .pipe(
        z
          .number()
          .min(1, { error: 'limit must be at least 1' })
          .max(LIMITS.maxPageSize, { error: `limit must be at most ${LIMITS.maxPageSize}` }),
      )
      .meta({
        description: `Events per page, 1 to ${LIMITS.maxPageSize} (default ${LIMITS.defaultPageSize}). Not allowed on a streaming export, which has no page size.`,
        examples: ['100'],
      })
      .optional(),
    cursor: single('cursor')
      .max(2048, { error: 'cursor is too long' })
      .meta({
        description:
          'The `nextCursor` of the previous page, exactly as returned, with the same filters.',
      })
      .optional(),
    afterTime: time(
      'afterTime',
      'Resume after the row with this time, afterSource and afterId (all three, no cursor): the `time` of the last event received.',
    ).optional(),
    afterSource: text(
      'afterSource',
      'With afterTime and afterId: the `source` of the last event received.',
    ).optional(),
    afterId: text(
      'afterId',
      'With afterTime and afterSource: the `id` of the last event received.',
    ).optional(),
  })
  .refine(orderedRange, rangeIssue)
  .refine(resumeKeyComplete, {
    error: 'afterTime, afterSource and afterId go together, and not with cursor',
    path: ['afterTime'],
  });
export type ListParams = z.input<typeof listParamsSchema>;

/** GET /v1/events/stream: the list filters, and where to resume. */
export const streamParamsSchema = z
  .strictObject({
    ...filterShape,
    after: single('after')
      .max(2048, { error: 'after is too long' })
      .meta({
        description:
          'Resume after this event: the `id:` of the last message received (what `Last-Event-ID` carries; the header wins when both are sent).',
      })
      .optional(),
  })
  .refine(orderedRange, rangeIssue);
export type StreamParams = z.input<typeof streamParamsSchema>;

export const getParamsSchema = z.strictObject({
  source: text(
    'source',
    'The source of the event, needed when more than one source uses the id.',
  ).optional(),
});

export const statsParamsSchema = z
  .strictObject({
    ...filterShape,
    interval: z
      .enum(STATS_INTERVALS, { error: `interval must be one of ${STATS_INTERVALS.join(', ')}` })
      .meta({ description: 'Bucket width (default hour).' })
      .optional(),
    groupBy: z
      .enum(STATS_GROUPS, { error: `groupBy must be one of ${STATS_GROUPS.join(', ')}` })
      .meta({ description: 'Count per type or per source within each bucket.' })
      .optional(),
  })
  .refine(orderedRange, rangeIssue);
export type StatsParams = z.input<typeof statsParamsSchema>;

// ---------------------------------------------------------------------------------------------
// Response bodies.

const instant = (description: string) =>
  z.string().meta({
    description: `${description} RFC 3339, UTC, six fraction digits.`,
    format: 'date-time',
    examples: ['2026-11-28T10:15:30.123456Z'],
  });

const cloudEventShape = {
  specversion: z.literal('1.0'),
  id: z.string().meta({ description: 'CloudEvents id; unique per source.' }),
  source: z.string().meta({ description: 'CloudEvents source (URI-reference).' }),
  type: z.string().meta({ description: 'CloudEvents type.' }),
  time: z.string().meta({
    description:
      'Event time (RFC 3339) exactly as the producer wrote it; when it left time out, the receive time (UTC, six fraction digits).',
    format: 'date-time',
    examples: ['2026-11-28T10:15:30.123456Z'],
  }),
  subject: z.string().optional(),
  datacontenttype: z.string().optional(),
  dataschema: z.string().optional(),
  data: z.unknown().optional().meta({
    description:
      'The payload exactly as sent: JSON (numbers digit for digit; `null` is an explicit null), or a string for text.',
  }),
  data_base64: z.string().optional().meta({ description: 'A binary payload, base64.' }),
};

/** A stored event as a pure CloudEvent (JSON format): what `Accept: application/cloudevents+json`
 * and `application/cloudevents-batch+json` return. */
export const cloudEventSchema = z.looseObject(cloudEventShape).meta({
  id: 'CloudEvent',
  description:
    'A stored CloudEvent in the JSON format, nothing else. Other keys are extension attributes.',
  additionalProperties: { type: ['string', 'integer', 'boolean'] },
});

/** An event as the query API returns it: the CloudEvent in JSON format, extensions beside the
 * core attributes, plus the pipeline's metadata (camelCase, so never an extension name). */
export const storedEventSchema = z
  .looseObject({
    ...cloudEventShape,
    receivedAt: instant('When the publisher API received the request.'),
    publishedAt: instant('When the bus accepted the message.'),
    storedAt: instant('When the store committed the row.'),
    messageId: z.string().meta({ description: 'Id of the bus message that was stored.' }),
    producer: z.string().nullable().meta({
      description:
        'Name of the API key that published the event; null when the publisher ran without keys (or the message came to the topic another way).',
    }),
  })
  .meta({
    id: 'StoredEvent',
    description:
      'A stored CloudEvent (JSON format) with the pipeline metadata. Other keys are extension attributes.',
    additionalProperties: { type: ['string', 'integer', 'boolean'] },
  });

export const eventPageSchema = z
  .object({
    data: z.array(storedEventSchema).meta({ description: 'Newest first by (time, source, id).' }),
    nextCursor: z
      .string()
      .nullable()
      .meta({ description: 'Pass as `cursor` for the next page; null on the last page.' }),
  })
  .meta({ id: 'EventPage' });
export type EventPage = z.output<typeof eventPageSchema>;

export const statsBucketSchema = z
  .object({
    start: instant('Bucket start.'),
    key: z.string().optional().meta({ description: 'The type or source, when grouped.' }),
    count: z.number().int().min(0),
  })
  .meta({ id: 'StatsBucket' });

export const statsResponseSchema = z
  .object({
    from: instant('Start of the range (inclusive).'),
    to: instant('End of the range (exclusive).'),
    interval: z.enum(STATS_INTERVALS),
    groupBy: z.enum(STATS_GROUPS).nullable(),
    buckets: z
      .array(statsBucketSchema)
      .meta({ description: 'Non-empty buckets in time order, then key order.' }),
  })
  .meta({ id: 'Stats' });
export type StatsResponse = z.output<typeof statsResponseSchema>;

export const publishAcceptedSchema = z
  .object({
    accepted: z.number().int().min(0).meta({ description: 'Events published.' }),
    ids: z.array(z.string()).meta({ description: 'Their ids, in request order.' }),
  })
  .meta({ id: 'Accepted' });
export type PublishAccepted = z.output<typeof publishAcceptedSchema>;

/** The columns of a CSV export, in order. `data` and `extensions` hold JSON text. */
export const CSV_COLUMNS = [
  'id',
  'source',
  'type',
  'specversion',
  'time',
  'subject',
  'datacontenttype',
  'dataschema',
  'data',
  'data_base64',
  'extensions',
  'receivedAt',
  'publishedAt',
  'storedAt',
  'messageId',
  'producer',
] as const;

/** Media types of GET /v1/events: a JSON page, or every matching row streamed. */
export const EXPORT_MEDIA_TYPES = { ndjson: 'application/x-ndjson', csv: 'text/csv' } as const;

/** Media types of the CloudEvents formats: one event (structured mode), and a batch. */
export const CLOUDEVENTS_MEDIA_TYPES = {
  event: 'application/cloudevents+json',
  batch: 'application/cloudevents-batch+json',
} as const;
