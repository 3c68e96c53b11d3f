import { canonicalTime, formatMicros, grantTerms, isGrantPattern } from '@eventpipe/schema';

/**
 * Erasure on request. An erasure is kept as an append-only log of steps in an `erasures` table
 * beside the events (DuckDB and BigQuery alike), which is also its audit trail: erasure never
 * deletes from it. The `requested` step (one row per source it is limited to, or one row) fixes
 * what it matches and its cut-off `at`: every event the publisher received up to then.
 */
export const ERASURE_ACTIONS = ['requested', 'progress', 'done', 'failed', 'lifted'] as const;
export type ErasureAction = (typeof ERASURE_ACTIONS)[number];

/** One row of the erasures table. */
export interface ErasureStep {
  erasureId: string;
  /** When the step happened (canonical RFC 3339); on `requested`, the erasure's cut-off. */
  at: string;
  action: ErasureAction;
  /** The API key name that asked (requested, lifted); null without keys or for the worker. */
  keyName: string | null;
  /** What a `requested` row matches; null on the other steps. */
  subject: string | null;
  eventId: string | null;
  /** An exact source, or a prefix when sourcePrefix. */
  source: string | null;
  sourcePrefix: boolean | null;
  suppress: boolean | null;
  /** Rows deleted by this step (progress, done: the total). */
  rows: number | null;
  /** The failure reason, or what a progress step waits for. */
  detail: string | null;
}

/** What an erasure asks for, as the API takes it. */
export type ErasureRequest =
  { subject: string; sources?: string[]; suppress?: boolean } | { source: string; id: string };

export type ErasureState = 'pending' | 'done' | 'failed';

/** An erasure as its steps add up. */
export interface Erasure {
  id: string;
  state: ErasureState;
  request: ErasureRequest;
  requestedBy: string | null;
  /** The cut-off: events received up to this instant are erased. */
  requestedAt: string;
  /** Rows deleted so far (done: all of them). */
  rows: number;
  doneAt: string | null;
  /** failed: why; pending: what it waits for (rows still in BigQuery's streaming buffer). */
  detail: string | null;
  /** Later events for the subject are dropped at the publisher while this holds. */
  suppressed: boolean;
  liftedAt: string | null;
  liftedBy: string | null;
  /** The log, oldest first. */
  steps: ErasureStep[];
}

/** The most sources one erasure may be limited to. */
export const ERASURE_MAX_SOURCES = 100;

/** The most erasures pending at once: each is part of every read until its delete has run. */
export const ERASURE_MAX_PENDING = 100;

/** Checks an API request body; returns the request or the problems with it (JSON pointers). */
export function parseErasureRequest(
  body: unknown,
):
  | { ok: true; request: ErasureRequest }
  | { ok: false; errors: { pointer: string; detail: string }[] } {
  const errors: { pointer: string; detail: string }[] = [];
  const fail = (pointer: string, detail: string) => errors.push({ pointer, detail });
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    return { ok: false, errors: [{ pointer: '', detail: 'the body must be a JSON object' }] };
  }
  const b = body as Record<string, unknown>;
  const allowed = new Set(['subject', 'sources', 'suppress', 'source', 'id']);
  for (const k of Object.keys(b)) if (!allowed.has(k)) fail(`/${k}`, 'unknown member');
  const text = (k: string) => {
    const v = b[k];
    if (v === undefined) return undefined;
    if (typeof v !== 'string' || v.length === 0 || v.length > 4096) {
      fail(`/${k}`, 'must be a non-empty string of at most 4096 characters');
      return undefined;
    }
    return v;
  };
  const subject = text('subject');
  const source = text('source');
  const id = text('id');
  if (b.subject !== undefined) {
    if (b.source !== undefined || b.id !== undefined)
      fail('', 'give either subject, or source and id, not both');
    let sources: string[] | undefined;
    if (b.sources !== undefined) {
      if (
        !Array.isArray(b.sources) ||
        b.sources.length === 0 ||
        b.sources.length > ERASURE_MAX_SOURCES
      ) {
        fail('/sources', `must be a list of 1 to ${ERASURE_MAX_SOURCES} sources`);
      } else {
        b.sources.forEach((s, i) => {
          if (typeof s !== 'string' || !isGrantPattern(s))
            fail(`/sources/${i}`, 'must be a source, or a prefix ending in *');
        });
        sources = b.sources as string[];
      }
    }
    if (b.suppress !== undefined && typeof b.suppress !== 'boolean')
      fail('/suppress', 'must be true or false');
    if (errors.length || subject === undefined) return { ok: false, errors };
    return {
      ok: true,
      request: {
        subject,
        ...(sources ? { sources: [...new Set(sources)] } : {}),
        ...(b.suppress === true ? { suppress: true } : {}),
      },
    };
  }
  if (b.sources !== undefined) fail('/sources', 'limits a subject erasure only');
  if (b.suppress !== undefined) fail('/suppress', 'applies to a subject erasure only');
  if (b.source === undefined && b.id === undefined) fail('', 'give subject, or source and id');
  else {
    if (b.source === undefined) fail('/source', 'required with id');
    if (b.id === undefined) fail('/id', 'required with source');
  }
  if (errors.length || source === undefined || id === undefined) return { ok: false, errors };
  return { ok: true, request: { source, id } };
}

/** The `requested` rows of a new erasure: one per source it is limited to, or one. */
export function requestedSteps(
  erasureId: string,
  request: ErasureRequest,
  at: string,
  keyName: string | null,
): ErasureStep[] {
  const base = {
    erasureId,
    at,
    action: 'requested' as const,
    keyName,
    rows: null,
    detail: null,
  };
  if ('id' in request) {
    return [
      {
        ...base,
        subject: null,
        eventId: request.id,
        source: request.source,
        sourcePrefix: false,
        suppress: null,
      },
    ];
  }
  const patterns = request.sources ?? [null];
  return patterns.map((p) => ({
    ...base,
    subject: request.subject,
    eventId: null,
    source: p === null ? null : p.endsWith('*') ? p.slice(0, -1) : p,
    sourcePrefix: p === null ? null : p.endsWith('*'),
    suppress: request.suppress ?? false,
  }));
}

/** Folds a log (any order) into its erasures, newest first. */
export function foldErasures(steps: readonly ErasureStep[]): Erasure[] {
  const byId = new Map<string, ErasureStep[]>();
  for (const s of steps) {
    const list = byId.get(s.erasureId) ?? [];
    list.push(s);
    byId.set(s.erasureId, list);
  }
  const out: Erasure[] = [];
  for (const [id, list] of byId) {
    const ordered = [...list].sort((a, b) =>
      a.at < b.at ? -1 : a.at > b.at ? 1 : ACTION_ORDER[a.action] - ACTION_ORDER[b.action],
    );
    const requested = ordered.filter((s) => s.action === 'requested');
    const first = requested[0];
    if (!first) continue; // steps of a request not visible yet
    const request: ErasureRequest =
      first.eventId !== null
        ? { source: first.source!, id: first.eventId }
        : {
            subject: first.subject!,
            ...(requested.some((r) => r.source !== null)
              ? { sources: requested.map((r) => `${r.source}${r.sourcePrefix ? '*' : ''}`) }
              : {}),
            ...(first.suppress ? { suppress: true } : {}),
          };
    const done = ordered.find((s) => s.action === 'done');
    const failed = ordered.findLast((s) => s.action === 'failed');
    const progress = ordered.filter((s) => s.action === 'progress');
    const lifted = ordered.find((s) => s.action === 'lifted');
    const rows = done ? (done.rows ?? 0) : progress.reduce((n, s) => n + (s.rows ?? 0), 0);
    const state: ErasureState = done ? 'done' : failed ? 'failed' : 'pending';
    out.push({
      id,
      state,
      request,
      requestedBy: first.keyName,
      requestedAt: first.at,
      rows,
      doneAt: done?.at ?? null,
      detail: done ? null : (failed?.detail ?? progress.at(-1)?.detail ?? null),
      suppressed: first.suppress === true && !lifted,
      liftedAt: lifted?.at ?? null,
      liftedBy: lifted?.keyName ?? null,
      steps: ordered,
    });
  }
  return out.sort((a, b) =>
    a.requestedAt < b.requestedAt ? 1 : a.requestedAt > b.requestedAt ? -1 : a.id < b.id ? 1 : -1,
  );
}

const ACTION_ORDER: Record<ErasureAction, number> = {
  requested: 0,
  progress: 1,
  failed: 2,
  done: 3,
  lifted: 4,
};

/** What an erasure's delete and the read filter match, as each store writes it in SQL: the
 * subject (or the event's source and id), the sources it is limited to, and the cut-off on the
 * receive time. */
export interface ErasureMatch {
  subject?: string;
  eventId?: string;
  /** Exact sources and prefixes; both empty: any source. */
  exact: string[];
  prefixes: string[];
  receivedUpTo: string;
}

export function erasureMatch(e: Erasure): ErasureMatch {
  if ('id' in e.request) {
    return {
      eventId: e.request.id,
      exact: [e.request.source],
      prefixes: [],
      receivedUpTo: e.requestedAt,
    };
  }
  return {
    subject: e.request.subject,
    ...grantTerms(e.request.sources ?? []),
    receivedUpTo: e.requestedAt,
  };
}

/** Whether an event (its subject, source, id and receive time) is one an erasure removes. */
export function erases(
  e: Erasure,
  event: { subject?: string | null; source: string; id: string; receivedAt: string },
): boolean {
  const m = erasureMatch(e);
  if (event.receivedAt > m.receivedUpTo) return false;
  return matchesTarget(m, event);
}

function matchesTarget(
  m: ErasureMatch,
  event: { subject?: string | null; source: string; id: string },
): boolean {
  if (m.subject !== undefined && event.subject !== m.subject) return false;
  if (m.eventId !== undefined && event.id !== m.eventId) return false;
  if (m.exact.length === 0 && m.prefixes.length === 0) return true;
  return m.exact.includes(event.source) || m.prefixes.some((p) => event.source.startsWith(p));
}

/** Whether a suppressing erasure drops a new event (any receive time) with this subject and
 * source. */
export function suppresses(
  e: Erasure,
  event: { subject?: string | null; source: string },
): boolean {
  if (!e.suppressed || event.subject == null) return false;
  return matchesTarget(erasureMatch(e), { ...event, id: '' });
}

/** Erasures indexed by subject and by (source, id): which covers an event, which suppresses a
 * subject. Times compare as instants (any RFC 3339 form). */
export class ErasureIndex {
  private readonly bySubject = new Map<string, Erasure[]>();
  private readonly byKey = new Map<string, Erasure[]>();

  constructor(readonly erasures: readonly Erasure[]) {
    for (const e of erasures) {
      const byKey = 'id' in e.request;
      const k = byKey
        ? `${(e.request as { source: string }).source}\u0000${(e.request as { id: string }).id}`
        : (e.request as { subject: string }).subject;
      const index = byKey ? this.byKey : this.bySubject;
      index.set(k, [...(index.get(k) ?? []), e]);
    }
  }

  /** Whether an erasure covers this event (received up to its cut-off). */
  covers(event: {
    subject?: string | null;
    source: string;
    id: string;
    receivedAt: string;
  }): boolean {
    const candidates = [
      ...(event.subject == null ? [] : (this.bySubject.get(event.subject) ?? [])),
      ...(this.byKey.get(`${event.source}\u0000${event.id}`) ?? []),
    ];
    if (candidates.length === 0) return false;
    const receivedAt = canonicalTime(event.receivedAt) ?? event.receivedAt;
    return candidates.some((e) => erases(e, { ...event, receivedAt }));
  }

  /** Whether a suppression drops a new event with this subject and source. */
  suppresses(event: { subject?: string | null; source: string }): boolean {
    if (event.subject == null) return false;
    return (this.bySubject.get(event.subject) ?? []).some((e) => suppresses(e, event));
  }
}

/** The erasures table's columns, in order (both stores; infra/terraform/schema/erasures.json). */
export const ERASURE_COLUMNS = [
  'erasure_id',
  'step_at',
  'action',
  'key_name',
  'subject',
  'event_id',
  'source',
  'source_prefix',
  'suppress',
  'row_count',
  'detail',
] as const;

/** A row read from the erasures table (`step_at` as epoch microseconds, `at_us`) → its step. */
export function stepOfRecord(r: Record<string, unknown>): ErasureStep {
  const text = (v: unknown) => (v === null || v === undefined ? null : String(v));
  const flag = (v: unknown) => (v === null || v === undefined ? null : v === true);
  return {
    erasureId: String(r.erasure_id),
    at: formatMicros(BigInt(r.at_us as bigint)),
    action: String(r.action) as ErasureAction,
    keyName: text(r.key_name),
    subject: text(r.subject),
    eventId: text(r.event_id),
    source: text(r.source),
    sourcePrefix: flag(r.source_prefix),
    suppress: flag(r.suppress),
    rows: r.row_count === null || r.row_count === undefined ? null : Number(r.row_count),
    detail: text(r.detail),
  };
}

/** The erasures table: its log, read and appended. Each store keeps it beside its events. */
export interface ErasureLog {
  /** Every step, in no particular order (the table is small: a few rows per erasure). */
  readSteps(): Promise<ErasureStep[]>;
  /** Appends steps; retried appends of the same step are kept once. */
  appendSteps(steps: ErasureStep[]): Promise<void>;
}

/** What deleting an erasure's events came to. */
export interface EraseResult {
  /** Rows deleted by this call. */
  deleted: number;
  /** Rows the store could not delete yet (BigQuery's streaming buffer): why, to say in the
   * erasure's state; the delete is tried again later. */
  waiting?: string;
}
