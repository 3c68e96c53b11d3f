import type { z } from 'zod';
import { errors } from '@eventpipe/platform';
import type { Grant } from '@eventpipe/schema';
import type { EventFilter, PageKey, StatsInterval } from '@eventpipe/store';

// The parameter schemas are part of the API contract in @eventpipe/schema.
export { getParamsSchema, listParamsSchema, statsParamsSchema } from '@eventpipe/schema';

/** Parses query parameters; every problem is listed with the parameter's name as pointer. */
export function parseQuery<S extends z.ZodType>(schema: S, query: unknown): z.output<S> {
  const r = schema.safeParse(query ?? {});
  if (r.success) return r.data;
  const items = r.error.issues.flatMap((i) =>
    i.code === 'unrecognized_keys'
      ? i.keys.map((k) => ({
          pointer: k.slice(0, 64),
          detail: `unknown query parameter ${k.slice(0, 64)}`,
        }))
      : [{ pointer: String(i.path[0] ?? ''), detail: i.message }],
  );
  throw errors.validation(items.map((i) => i.detail).join('; '), items);
}

/** The filters of a request, and the grant of the key it came with (every read is limited to
 * it, in the store query). */
export const filterOf = (p: EventFilter, grant?: Grant): EventFilter => ({
  type: p.type,
  source: p.source,
  subject: p.subject,
  producer: p.producer,
  from: p.from,
  to: p.to,
  grant,
});

/** The resume key given as afterTime/afterSource/afterId, when it was. */
export const resumeKeyOf = (p: {
  afterTime?: string;
  afterSource?: string;
  afterId?: string;
}): PageKey | undefined =>
  p.afterTime !== undefined && p.afterSource !== undefined && p.afterId !== undefined
    ? { time: p.afterTime, source: p.afterSource, id: p.afterId }
    : undefined;

export const INTERVAL_MICROS: Record<StatsInterval, bigint> = {
  minute: 60_000_000n,
  hour: 3_600_000_000n,
  day: 86_400_000_000n,
};
