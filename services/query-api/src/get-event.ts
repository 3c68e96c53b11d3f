import { AppError, errors } from '@eventpipe/platform';
import { LIMITS, type StoredRow } from '@eventpipe/schema';
import type { EventStore } from '@eventpipe/store';
import type { QueryMetrics, timedRead } from './metrics';
import type { Reader } from './list-events';
import { getParamsSchema, parseQuery } from './params';

/** GET /v1/events/{id}: the one event with this id (and source), or why not. */
export function getEventUseCase(deps: {
  store: EventStore;
  metrics: QueryMetrics;
  read: ReturnType<typeof timedRead>;
}) {
  /** An event outside the reader's grant is not found, as one that does not exist. */
  return async function getEvent(id: string, query: unknown, reader?: Reader): Promise<StoredRow> {
    const { source } = parseQuery(getParamsSchema, query);
    if (!id || Buffer.byteLength(id) > LIMITS.maxAttributeBytes) {
      throw errors.validation('id is empty or too long', [
        { pointer: 'id', detail: 'id is empty or too long' },
      ]);
    }
    const found = await deps.read('get', () => deps.store.get(id, source, reader?.grant));
    if (found.length === 0) {
      throw errors.notFound(
        `no event with id ${id.slice(0, 100)}${source ? ' from that source' : ''}`,
      );
    }
    if (found.length > 1) {
      throw new AppError('ambiguous-id', {
        detail: `${found.length} sources use this id; add ?source= to choose one`,
        errors: found.map((e) => ({ pointer: 'source', detail: e.source })),
      });
    }
    deps.metrics.rowsReturned.inc({ operation: 'get' }, 1);
    return found[0]!;
  };
}
