import { z } from 'zod';
import { errors } from '@eventpipe/platform';
import { LIMITS, canonicalTime, parseRfc3339 } from '@eventpipe/schema';
import {
  STATS_GROUPS,
  STATS_INTERVALS,
  type EventFilter,
  type StatsInterval,
} from '@eventpipe/store';

const single = (name: string) =>
  z.string({
    error: (i) =>
      Array.isArray(i.input) ? `${name} may be given once` : `${name} must be a string`,
  });

const text = (name: string) =>
  single(name)
    .min(1, { error: `${name} must not be empty` })
    .refine((v) => Buffer.byteLength(v) <= LIMITS.maxAttributeBytes, {
      error: `${name} is longer than ${LIMITS.maxAttributeBytes} bytes`,
    });

const time = (name: string) =>
  single(name)
    .refine((v) => parseRfc3339(v) !== undefined, {
      error: `${name} must be an RFC 3339 date-time, e.g. 2026-11-28T00:00:00Z`,
    })
    .transform((v) => canonicalTime(v)!);

const filterShape = {
  type: text('type').optional(),
  source: text('source').optional(),
  subject: text('subject').optional(),
  from: time('from').optional(),
  to: time('to').optional(),
};

const orderedRange = (v: { from?: string; to?: string }) =>
  v.from === undefined || v.to === undefined || parseRfc3339(v.from)! <= parseRfc3339(v.to)!;
const rangeIssue = { error: 'from must not be after to', path: ['from'] };

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
      .optional(),
    cursor: single('cursor').max(2048, { error: 'cursor is too long' }).optional(),
  })
  .refine(orderedRange, rangeIssue);

export const getParamsSchema = z.strictObject({ source: text('source').optional() });

export const statsParamsSchema = z
  .strictObject({
    ...filterShape,
    interval: z
      .enum(STATS_INTERVALS, { error: `interval must be one of ${STATS_INTERVALS.join(', ')}` })
      .optional(),
    groupBy: z
      .enum(STATS_GROUPS, { error: `groupBy must be one of ${STATS_GROUPS.join(', ')}` })
      .optional(),
  })
  .refine(orderedRange, rangeIssue);

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

export const filterOf = (p: EventFilter): EventFilter => ({
  type: p.type,
  source: p.source,
  subject: p.subject,
  from: p.from,
  to: p.to,
});

export const INTERVAL_MICROS: Record<StatsInterval, bigint> = {
  minute: 60_000_000n,
  hour: 3_600_000_000n,
  day: 86_400_000_000n,
};
