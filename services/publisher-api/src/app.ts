import express, { type ErrorRequestHandler, type Express, type Request } from 'express';
import type { EventBus, OutgoingMessage } from '@eventpipe/bus';
import {
  AppError,
  apiDocsRoutes,
  createBaseApp,
  currentRequestId,
  currentTraceparent,
  errors,
  finishApp,
  operationalRoutes,
  problemCodeOf,
  requireScope,
  authFailureLimit,
  perConsumerLimit,
  type AccessOptions,
  type ApiKey,
  type Logger,
  type Registry,
} from '@eventpipe/platform';
import {
  busMessageOf,
  canonicalTime,
  CLOUDEVENTS_JSON,
  eventDataTexts,
  isUtf8Charset,
  LIMITS,
  nowTime,
  parseContentType,
  parseInputEvents,
  type Envelope,
  type JsonText,
} from '@eventpipe/schema';
import type { AcceptedLog } from './accepted-log';
import { binaryModeEvent, binaryModeOf, headerOfPointer, type BodyKind } from './binary-mode';
import { parseJsonBody } from './json-body';
import { publisherMetrics } from './metrics';
import { publisherApiDocument } from './openapi';

export interface PublisherDeps {
  bus: EventBus;
  logger: Logger;
  registry: Registry;
  /** Seconds a client is told to wait (Retry-After) when the bus fails. */
  retryAfterSeconds?: number;
  /** Most events published and not yet confirmed by the bus; past it requests get 429. Bounds
   * the memory a slow or failing bus can tie up. */
  maxInFlightEvents?: number;
  /** API keys; a POST needs one with events:write. Empty: open (AUTH_MODE=none). */
  apiKeys?: ApiKey[];
  access?: AccessOptions;
  /** Where accepted events are recorded for `npm run audit`; none by default. */
  acceptedLog?: AcceptedLog;
}

type Shape = 'one' | 'many' | 'either';

/** Accepted request content types and the body shape each allows (binary mode aside). */
const MEDIA_TYPES: Record<string, Shape> = {
  'application/json': 'either',
  [CLOUDEVENTS_JSON]: 'one',
  'application/cloudevents-batch+json': 'many',
};

const ACCEPTED = `use one of ${Object.keys(MEDIA_TYPES).join(', ')}, or binary mode (a ce-specversion header and ce-* attribute headers, any Content-Type)`;

function mediaTypeOf(req: Request): Shape {
  const header = req.get('content-type');
  if (!header) throw errors.unsupportedMediaType(`Content-Type is required; ${ACCEPTED}`);
  const { type, params } = parseContentType(header);
  const shape = MEDIA_TYPES[type];
  if (!shape) {
    throw errors.unsupportedMediaType(
      `Content-Type ${type.slice(0, 100)} is not accepted; ${ACCEPTED}`,
    );
  }
  if (params.some(([k, v]) => k === 'charset' && !isUtf8Charset(v))) {
    throw errors.unsupportedMediaType('only charset=utf-8 is accepted');
  }
  return shape;
}

const toMessage = (event: Envelope, receivedAt: string): OutgoingMessage =>
  busMessageOf(event, receivedAt, currentRequestId(), currentTraceparent());

/** The publisher API: POST /v1/events plus the operational routes. No I/O at import. */
export function createPublisherApp(deps: PublisherDeps): Express {
  const { bus, logger, registry } = deps;
  const metrics = publisherMetrics(registry);
  const app = createBaseApp(logger, registry, { corsOrigins: deps.access?.corsOrigins });
  const retryAfter = deps.retryAfterSeconds ?? 5;
  const maxInFlight = deps.maxInFlightEvents ?? 10_000;
  let inFlight = 0;

  app.use(
    operationalRoutes({ registry, logger, checks: [{ name: 'bus', check: () => bus.check() }] }),
    apiDocsRoutes(publisherApiDocument(), 'eventpipe publisher API'),
  );

  app.post(
    '/v1/events',
    authFailureLimit(
      deps.access?.authFailuresPerMinute ?? 30,
      requireScope(deps.apiKeys ?? [], 'events:write'),
    ),
    perConsumerLimit('write', deps.access?.rateLimitPerMinute ?? 0),
    (req, _res, next) => {
      // Checked before the body is read, so a wrong type never costs a 5 MiB upload.
      try {
        const binary = binaryModeOf(req);
        locals(req).mode = binary ? { binary } : { shape: mediaTypeOf(req) };
        next();
      } catch (e) {
        metrics.events.inc({ outcome: 'rejected' });
        next(e);
      }
    },
    express.raw({ type: () => true, limit: LIMITS.maxRequestBytes }),
    async (req, res) => {
      const receivedAt = nowTime();
      const mode = locals(req).mode;
      // No body at all (no Content-Length, not chunked) leaves req.body unset.
      const bytes = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
      let events: Envelope[];
      let isBatch = false;
      try {
        // The body parsed (for validation), and the exact text of each event's data: data is
        // stored and returned as it was written, never re-serialized from the parsed value.
        let body: unknown;
        let dataTexts: (JsonText | undefined)[];
        if ('binary' in mode) {
          const binary = binaryModeEvent(req, mode.binary, bytes);
          body = binary.event;
          dataTexts = [binary.dataText];
        } else {
          const json = parseJsonBody(bytes);
          body = json.value;
          dataTexts = eventDataTexts(json.text);
        }
        const shape = 'shape' in mode ? mode.shape : 'one'; // binary mode: one event
        if (shape === 'one' && (typeof body !== 'object' || body === null || Array.isArray(body))) {
          throw errors.validation(`${CLOUDEVENTS_JSON} bodies hold exactly one event object`);
        }
        if (shape === 'many' && !Array.isArray(body)) {
          throw errors.validation(
            'application/cloudevents-batch+json bodies hold an array of events',
          );
        }
        isBatch = Array.isArray(body);
        if (Array.isArray(body)) {
          if (body.length > LIMITS.maxEventsPerRequest) {
            throw errors.tooLarge(
              `a request holds at most ${LIMITS.maxEventsPerRequest} events; got ${body.length}`,
            );
          }
        }
        const parsed = parseInputEvents(body, { dataTexts });
        if (!parsed.ok) {
          throw errors.validation(
            `${new Set(parsed.issues.map((i) => i.index)).size} event(s) failed validation; nothing was published`,
            parsed.issues.slice(0, 100).map((i) => ({
              index: i.index,
              // In binary mode the attributes came from headers: name the header.
              pointer: 'binary' in mode ? headerOfPointer(i.pointer) : i.pointer,
              detail: i.message,
            })),
          );
        }
        events = parsed.events;
      } catch (e) {
        metrics.events.inc({ outcome: 'rejected' });
        throw e;
      }

      const messages = events.map((e) => toMessage(e, receivedAt));
      const oversize = messages
        .map((m, index) => ({ index, bytes: m.data.length }))
        .filter((m) => m.bytes > LIMITS.maxEventBytes);
      if (oversize.length) {
        metrics.events.inc({ outcome: 'rejected' }, events.length);
        throw errors.tooLarge(
          `an event may be at most ${LIMITS.maxEventBytes} bytes serialized; nothing was published`,
          oversize.map((o) => ({
            index: o.index,
            pointer: isBatch ? `/${o.index}` : '',
            detail: `event is ${o.bytes} bytes`,
          })),
        );
      }

      if (events.length === 0) {
        // An empty batch is valid (the batch format allows it): nothing to publish.
        res.status(202).json({ accepted: 0, ids: [] });
        return;
      }
      if (inFlight + events.length > maxInFlight) {
        metrics.events.inc({ outcome: 'throttled' }, events.length);
        throw new AppError('too-many-in-flight', 429, 'Too many events in flight', {
          detail: `the bus has not yet confirmed ${inFlight} events; retry shortly`,
          headers: { 'Retry-After': '1' },
        });
      }
      inFlight += events.length;
      metrics.inFlight.set(inFlight);
      const end = metrics.publishSeconds.startTimer();
      try {
        await bus.publish(messages);
      } catch (e) {
        metrics.events.inc({ outcome: 'failed' }, events.length);
        throw errors.unavailable(
          'the event bus did not accept the events; retry later',
          retryAfter,
          e,
        );
      } finally {
        end();
        inFlight -= events.length;
        metrics.inFlight.set(inFlight);
      }
      if (deps.acceptedLog) {
        // Recorded before the 202; a failure to record is logged, not the producer's problem.
        await deps.acceptedLog
          .record({
            receivedAt,
            requestId: currentRequestId(),
            events: events.map((e) => [e.source, e.id, canonicalTime(e.time ?? '') ?? receivedAt]),
          })
          .catch((e: unknown) => logger.error({ err: e }, 'accepted events not recorded'));
      }
      metrics.events.inc({ outcome: 'accepted' }, events.length);
      metrics.requestBytes.observe(bytes.length);
      res.status(202).json({ accepted: events.length, ids: events.map((e) => e.id) });
    },
  );

  // Every refusal of the ingest route, counted by its problem code before the one error
  // middleware renders it (auth and rate limits included).
  app.use('/v1/events', ((err, _req, _res, next) => {
    metrics.rejectedRequests.inc({ reason: problemCodeOf(err) });
    next(err);
  }) as ErrorRequestHandler);

  return finishApp(app, logger);
}

// Per-request scratch space, typed: the request's mode, decided before the body is read.
function locals(req: Request): { mode: { shape: Shape } | { binary: BodyKind } } {
  return req.res!.locals as { mode: { shape: Shape } | { binary: BodyKind } };
}
