import type { OpenApiBuilder } from '@eventpipe/platform';
import { ERASURE_MAX_SOURCES } from '@eventpipe/store';

const STEP = {
  type: 'object',
  required: ['action', 'at'],
  properties: {
    action: { type: 'string', enum: ['requested', 'progress', 'done', 'failed', 'lifted'] },
    at: { type: 'string', format: 'date-time' },
    by: { type: 'string', description: 'The API key name that took the step.' },
    rows: { type: 'integer', description: 'Rows deleted by the step.' },
    detail: { type: 'string' },
  },
};

/** An erasure as the API shows it (erasures.ts, erasureJson). */
const ERASURE = {
  type: 'object',
  required: ['id', 'state', 'requestedAt', 'rows', 'suppressed', 'steps'],
  properties: {
    id: { type: 'string' },
    state: {
      type: 'string',
      enum: ['pending', 'done', 'failed'],
      description:
        'pending: its events are already left out of every read, the delete has not finished (detail says what it waits for, e.g. rows in BigQuery streaming buffer); done: deleted (rows); failed: the store refused the delete (detail).',
    },
    subject: { type: 'string' },
    sources: { type: 'array', items: { type: 'string' } },
    source: { type: 'string' },
    eventId: { type: 'string' },
    suppress: { type: 'boolean' },
    requestedBy: { type: ['string', 'null'] },
    requestedAt: {
      type: 'string',
      format: 'date-time',
      description: 'The cut-off: events the publisher received up to this instant are erased.',
    },
    rows: { type: 'integer', description: 'Events deleted so far (done: all).' },
    doneAt: { type: ['string', 'null'], format: 'date-time' },
    detail: { type: ['string', 'null'] },
    suppressed: { type: 'boolean', description: 'Later events for the subject are dropped.' },
    liftedAt: { type: ['string', 'null'], format: 'date-time' },
    liftedBy: { type: ['string', 'null'] },
    steps: { type: 'array', items: STEP, description: 'The audit trail, oldest first.' },
  },
};

const ID_PARAM = { name: 'id', description: 'The erasure id.', schema: { type: 'string' } };

/** /v1/erasures: erasure on request (docs/SECURITY.md, "Erasure"). */
export function describeErasureRoutes(api: OpenApiBuilder): void {
  api.operation('post', '/v1/erasures', {
    operationId: 'requestErasure',
    summary: 'Erase the events of a subject, or one event',
    description: `Erases every event the publisher received up to now whose subject is the given one (optionally only from the given sources: exact, or a prefix ending in *; at most ${ERASURE_MAX_SOURCES}), or the one event with the given source and id. Its events leave every read path at once (pages, exports, stats, by id, the stream); the worker deletes them and the erasure turns done with the row count. With suppress, later events for the subject are answered 202 by the publisher and not stored, until the suppression is lifted. A key limited to sources erases only inside them. Every erasure is kept, with who asked, as the audit trail.`,
    tags: ['erasures'],
    scope: 'events:erase',
    rateLimited: true,
    requestBody: {
      description:
        '{"subject": "…", "sources"?: ["…"], "suppress"?: true} or {"source": "…", "id": "…"}',
      required: true,
      content: {
        'application/json': {
          schema: {
            oneOf: [
              {
                type: 'object',
                required: ['subject'],
                additionalProperties: false,
                properties: {
                  subject: { type: 'string', minLength: 1, maxLength: 4096 },
                  sources: {
                    type: 'array',
                    minItems: 1,
                    maxItems: ERASURE_MAX_SOURCES,
                    items: { type: 'string' },
                  },
                  suppress: { type: 'boolean' },
                },
              },
              {
                type: 'object',
                required: ['source', 'id'],
                additionalProperties: false,
                properties: {
                  source: { type: 'string', minLength: 1, maxLength: 4096 },
                  id: { type: 'string', minLength: 1, maxLength: 4096 },
                },
              },
            ],
          },
        },
      },
    },
    responses: {
      '202': {
        description: 'Recorded: pending',
        headers: { Location: { description: 'The erasure.', schema: { type: 'string' } } },
        content: { 'application/json': { schema: ERASURE } },
      },
    },
    problems: [
      'validation-failed',
      'malformed-json',
      'source-not-allowed',
      'payload-too-large',
      'unsupported-media-type',
      'too-many-pending-erasures',
      'unavailable',
    ],
  });
  api.operation('get', '/v1/erasures', {
    operationId: 'listErasures',
    summary: 'Every erasure, newest first (the audit trail)',
    tags: ['erasures'],
    scope: 'events:erase',
    rateLimited: true,
    responses: {
      '200': {
        description: 'The erasures (a key limited to sources: those it asked for)',
        content: {
          'application/json': {
            schema: {
              type: 'object',
              required: ['data'],
              properties: { data: { type: 'array', items: ERASURE } },
            },
          },
        },
      },
    },
    problems: ['validation-failed', 'unavailable'],
  });
  api.operation('get', '/v1/erasures/:id', {
    operationId: 'getErasure',
    summary: 'One erasure and its state',
    tags: ['erasures'],
    scope: 'events:erase',
    rateLimited: true,
    pathParams: [ID_PARAM],
    responses: {
      '200': { description: 'The erasure', content: { 'application/json': { schema: ERASURE } } },
    },
    problems: ['validation-failed', 'not-found', 'unavailable'],
  });
  api.operation('delete', '/v1/erasures/:id/suppression', {
    operationId: 'liftSuppression',
    summary: "Lift an erasure's suppression",
    description:
      'Later events for the subject are stored again (the erased ones stay erased). Lifting again answers the same.',
    tags: ['erasures'],
    scope: 'events:erase',
    rateLimited: true,
    pathParams: [ID_PARAM],
    responses: {
      '200': { description: 'The erasure', content: { 'application/json': { schema: ERASURE } } },
    },
    problems: ['validation-failed', 'not-found', 'not-suppressing', 'unavailable'],
  });
}
