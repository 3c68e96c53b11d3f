import { AppError, errors } from '@eventpipe/platform';
import { matchesGrant } from '@eventpipe/schema';
import {
  ERASURE_MAX_PENDING,
  parseErasureRequest,
  type Erasure,
  type ErasureBook,
  type ErasureRequest,
} from '@eventpipe/store';
import { z } from 'zod';
import type { Reader } from './list-events';
import { parseQuery } from './params';

/** Largest POST /v1/erasures body. */
export const ERASURE_BODY_MAX_BYTES = 64 * 1024;

const noParams = z.object({}).strict();

/** An erasure as the API shows it. */
export function erasureJson(e: Erasure) {
  // The request's id (an event's) would clash with the erasure's: it is shown as eventId.
  const target =
    'id' in e.request ? { source: e.request.source, eventId: e.request.id } : e.request;
  return {
    id: e.id,
    state: e.state,
    ...target,
    requestedBy: e.requestedBy,
    requestedAt: e.requestedAt,
    rows: e.rows,
    doneAt: e.doneAt,
    detail: e.detail,
    suppressed: e.suppressed,
    liftedAt: e.liftedAt,
    liftedBy: e.liftedBy,
    steps: e.steps.map((s) => ({
      action: s.action,
      at: s.at,
      ...(s.keyName !== null ? { by: s.keyName } : {}),
      ...(s.rows !== null ? { rows: s.rows } : {}),
      ...(s.detail !== null ? { detail: s.detail } : {}),
    })),
  };
}

/** Whether a source pattern (exact, or a prefix ending in *) lies inside a key's sources. */
function inside(pattern: string, allowed: readonly string[] | undefined): boolean {
  if (allowed === undefined) return true;
  if (!pattern.endsWith('*')) return matchesGrant(pattern, allowed);
  const prefix = pattern.slice(0, -1);
  return allowed.some((a) => a.endsWith('*') && prefix.startsWith(a.slice(0, -1)));
}

/**
 * The erasure use cases of the query API: request (the events leave every read at once; the
 * worker deletes them), list and read (the audit trail), lift a suppression. A key limited to
 * some sources erases only inside them (a subject erasure without sources is limited to the
 * key's), and sees only the erasures it asked for.
 */
export function erasureUseCases(deps: { book: () => Promise<ErasureBook> }) {
  const visible = (e: Erasure, reader: Reader) =>
    reader?.grant?.sources === undefined || e.requestedBy === reader.name;

  const find = async (id: string, reader: Reader): Promise<Erasure> => {
    const book = await deps.book();
    // Another instance may have taken it (or moved it on): read the log again.
    await book.refresh();
    const e = book.get(id);
    if (!e || !visible(e, reader)) throw errors.notFound(`no erasure ${id}`);
    return e;
  };

  return {
    async request(body: unknown, query: unknown, reader: Reader) {
      parseQuery(noParams, query);
      const parsed = parseErasureRequest(body);
      if (!parsed.ok)
        throw errors.validation(
          'the body must be {"subject": …} (with optional sources and suppress) or {"source": …, "id": …}',
          parsed.errors,
        );
      let request: ErasureRequest = parsed.request;
      const allowed = reader?.grant?.sources;
      if (allowed !== undefined) {
        const asked = 'id' in request ? [request.source] : (request.sources ?? []);
        const outside = asked.filter((s) => !inside(s, allowed));
        if (outside.length)
          throw new AppError('source-not-allowed', {
            detail: `this API key may erase inside the sources ${allowed.join(', ')}; nothing was erased`,
            errors: outside.map((s) => ({
              pointer: 'id' in request ? '/source' : `/sources/${asked.indexOf(s)}`,
              detail: `source ${s} is not among the key's sources`,
            })),
          });
        if (!('id' in request) && request.sources === undefined)
          request = { ...request, sources: [...allowed] };
      }
      const book = await deps.book();
      if (book.pending().length >= ERASURE_MAX_PENDING)
        throw new AppError('too-many-pending-erasures', {
          detail: `${ERASURE_MAX_PENDING} erasures are pending; retry once some are done`,
          headers: { 'Retry-After': '10' },
        });
      return erasureJson(await book.request(request, reader?.name ?? null));
    },

    async list(query: unknown, reader: Reader) {
      parseQuery(noParams, query);
      const book = await deps.book();
      await book.refresh();
      return {
        data: book
          .all()
          .filter((e) => visible(e, reader))
          .map(erasureJson),
      };
    },

    async get(id: string, query: unknown, reader: Reader) {
      parseQuery(noParams, query);
      return erasureJson(await find(id, reader));
    },

    /** Lifts a suppression: later events for the subject are stored again. */
    async lift(id: string, query: unknown, reader: Reader) {
      parseQuery(noParams, query);
      const e = await find(id, reader);
      if (!e.suppressed) {
        if (e.liftedAt !== null) return erasureJson(e); // lifted already: the same answer
        throw new AppError('not-suppressing', {
          detail: `erasure ${id} holds no suppression`,
        });
      }
      const book = await deps.book();
      return erasureJson(await book.record(e, { action: 'lifted', keyName: reader?.name ?? null }));
    },
  };
}
