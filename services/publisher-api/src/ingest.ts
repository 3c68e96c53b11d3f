import type { EventBus } from '@eventpipe/bus';
import type { SchemaRegistry } from '@eventpipe/registry';
import type { ErasureBook } from '@eventpipe/store';
import { AppError, errors, type Logger } from '@eventpipe/platform';
import {
  LIMITS,
  busMessageOf,
  canonicalTime,
  matchesGrant,
  type Envelope,
  type Grant,
} from '@eventpipe/schema';
import type { AcceptedLog } from './accepted-log';
import type { PublisherMetrics } from './metrics';

export interface IngestDeps {
  bus: EventBus;
  logger: Logger;
  metrics: PublisherMetrics;
  acceptedLog?: AcceptedLog;
  /** Most events published and not yet confirmed by the bus; past it, 429. */
  maxInFlightEvents: number;
  /** Seconds a client is told to wait (Retry-After) when the bus fails. */
  retryAfterSeconds: number;
  /** The schema registry (started): each event's data is checked against its type's schema.
   * Unset: data is not checked here (the worker still checks, docs/SCHEMAS.md). */
  schemas?: SchemaRegistry;
  /** Erasures (started): an event whose subject a suppressing erasure covers is answered 202 like
   * the others, counted (outcome suppressed) and not published. Unset: nothing is suppressed. */
  erasures?: ErasureBook;
}

/** One request's events, read and validated (read-events.ts), with what travels beside them. */
export interface IngestInput {
  events: Envelope[];
  /** Whether the body was an array: sizes are then reported by index. */
  batch: boolean;
  /** Each event's data as parsed from the body (index by index), when the caller has it: the
   * schema check takes it instead of parsing the data text again. */
  parsedData?: readonly unknown[];
  /** Whether the event came in binary mode (its source is the ce-source header). */
  binary?: boolean;
  /** The API key the request came with: its name is stored with each event, its grant limits
   * the sources it may write. Unset: the publisher runs without keys. */
  producer?: { name: string; grant?: Grant };
  receivedAt: string;
  requestId?: string;
  traceparent?: string;
}

/**
 * The ingest use case: check the key may write each source → check each event's data against
 * its type's schema → check sizes → publish with backpressure → record what was accepted.
 * Resolves with the ids once the bus has every event (the 202); throws the problem otherwise,
 * having published nothing of the request (or, after a bus failure, nothing reported accepted).
 */
export function ingestUseCase(deps: IngestDeps) {
  let inFlight = 0;
  return async function ingest(input: IngestInput): Promise<string[]> {
    const { events, receivedAt } = input;
    if (events.length === 0) return []; // an empty batch is valid (the batch format allows it)

    // Sources: a key limited to some may write only those; one foreign event refuses them all.
    const sources = input.producer?.grant?.sources;
    const foreign = events
      .map((e, index) => ({ index, source: e.source }))
      .filter((e) => !matchesGrant(e.source, sources));
    if (foreign.length) {
      deps.metrics.events.inc({ outcome: 'rejected' }, events.length);
      throw new AppError('source-not-allowed', {
        detail: `this API key may write the sources ${sources!.join(', ')}; nothing was published`,
        errors: foreign.map((f) => ({
          index: f.index,
          pointer: input.binary ? 'ce-source' : input.batch ? `/${f.index}/source` : '/source',
          detail: `source ${f.source} is not among the key's sources`,
        })),
      });
    }

    const checkedAs = checkData(deps, input);

    const all = events.map((e, i) =>
      busMessageOf(
        e,
        receivedAt,
        input.requestId,
        input.traceparent,
        input.producer?.name,
        checkedAs[i],
        deps.schemas !== undefined,
      ),
    );
    // Suppressed subjects (an erasure with suppress): answered like the rest, never published.
    const suppressed = events.map((e) => deps.erasures?.suppressed(e) === true);
    const messages = all.filter((_, i) => !suppressed[i]);
    const published = events.filter((_, i) => !suppressed[i]);

    // Sizes: each event as it travels, under the limit, or nothing is published.
    const oversize = all
      .map((m, index) => ({ index, bytes: m.data.length }))
      .filter((m) => m.bytes > LIMITS.maxEventBytes);
    if (oversize.length) {
      deps.metrics.events.inc({ outcome: 'rejected' }, events.length);
      throw errors.tooLarge(
        `an event may be at most ${LIMITS.maxEventBytes} bytes serialized; nothing was published`,
        oversize.map((o) => ({
          index: o.index,
          pointer: input.batch ? `/${o.index}` : '',
          detail: `event is ${o.bytes} bytes`,
        })),
      );
    }

    const dropped = events.length - published.length;
    if (dropped) deps.metrics.events.inc({ outcome: 'suppressed' }, dropped);
    if (published.length === 0) return events.map((e) => e.id);

    // Backpressure: a slow or failing bus must not tie up unbounded memory.
    if (inFlight + published.length > deps.maxInFlightEvents) {
      deps.metrics.events.inc({ outcome: 'throttled' }, published.length);
      throw new AppError('too-many-in-flight', {
        detail: `the bus has not yet confirmed ${inFlight} events; retry shortly`,
        headers: { 'Retry-After': '1' },
      });
    }
    inFlight += published.length;
    deps.metrics.inFlight.set(inFlight);
    const end = deps.metrics.publishSeconds.startTimer();
    try {
      await deps.bus.publish(messages);
    } catch (e) {
      deps.metrics.events.inc({ outcome: 'failed' }, published.length);
      throw errors.unavailable(
        'the event bus did not accept the events; retry later',
        deps.retryAfterSeconds,
        e,
      );
    } finally {
      end();
      inFlight -= published.length;
      deps.metrics.inFlight.set(inFlight);
    }

    // The record `npm run audit` compares with the store, written before the 202. Failing to
    // write it is logged, not the producer's problem: the events are on the bus.
    await deps.acceptedLog
      ?.record({
        receivedAt,
        requestId: input.requestId,
        events: published.map((e) => [e.source, e.id, canonicalTime(e.time ?? '') ?? receivedAt]),
      })
      .catch((e: unknown) => deps.logger.error({ err: e }, 'accepted events not recorded'));
    deps.metrics.events.inc({ outcome: 'accepted' }, published.length);
    return events.map((e) => e.id);
  };
}

/**
 * Each event's data against its type's schema (docs/SCHEMAS.md). An event of a type in enforce
 * mode that does not match refuses the request (400 data-schema-invalid, each violation as the
 * event's index and a pointer into it; nothing is published); in warn mode it is counted and
 * logged. Returns, per event, the URI of the version its data matched, when the event names
 * none: it travels beside the event and is stored as its dataschema.
 */
function checkData(deps: IngestDeps, input: IngestInput): (string | undefined)[] {
  const schemas = deps.schemas;
  if (!schemas) return [];
  const refused: { index: number; pointer: string; detail: string }[] = [];
  const checkedAs = input.events.map((e, index) => {
    const result = schemas.checkEnvelope(
      e,
      e.dataschema,
      input.parsedData && { data: input.parsedData[index] },
    );
    if (result.outcome === 'valid')
      return e.dataschema === undefined ? result.dataschema : undefined;
    if (result.outcome === 'invalid') {
      if (result.mode === 'enforce') {
        for (const v of result.violations) {
          refused.push({
            index,
            pointer: `${input.batch ? `/${index}` : ''}${v.pointer}`,
            detail: v.message,
          });
        }
      } else {
        deps.metrics.schemaViolations.inc({ type: e.type });
        deps.logger.warn(
          { type: e.type, id: e.id, violations: result.violations },
          'data does not match its schema (mode warn: accepted)',
        );
      }
    }
    return undefined;
  });
  if (refused.length) {
    deps.metrics.events.inc({ outcome: 'rejected' }, input.events.length);
    const events = new Set(refused.map((r) => r.index)).size;
    throw new AppError('data-schema-invalid', {
      detail: `${events} event(s) do not match the schema of their type; nothing was published`,
      errors: refused,
    });
  }
  return checkedAs;
}
