import type { Request, Response } from 'express';
import { AppError, type Logger } from '@eventpipe/platform';
import {
  CLOUDEVENTS_MEDIA_TYPES,
  CSV_COLUMNS,
  EXPORT_MEDIA_TYPES,
  LIMITS,
  jsonLine,
  storedEventJson,
  type StoredRow,
} from '@eventpipe/schema';
import type { ListResult, PageKey } from '@eventpipe/store';

export const JSON_TYPE = 'application/json';

/** What GET /v1/events answers with, by media type: a page of events with their pipeline
 * metadata (the default), a page of pure CloudEvents, or every match streamed. */
export const LIST_FORMATS = {
  [JSON_TYPE]: 'json',
  [CLOUDEVENTS_MEDIA_TYPES.batch]: 'cloudevents',
  [EXPORT_MEDIA_TYPES.ndjson]: 'ndjson',
  [EXPORT_MEDIA_TYPES.csv]: 'csv',
} as const;
export type ResponseFormat = (typeof LIST_FORMATS)[keyof typeof LIST_FORMATS];
export type ExportFormat = Extract<ResponseFormat, 'ndjson' | 'csv'>;

/** What GET /v1/events/{id} answers with: the event with its metadata, or a pure CloudEvent. */
export const EVENT_FORMATS = {
  [JSON_TYPE]: 'json',
  [CLOUDEVENTS_MEDIA_TYPES.event]: 'cloudevent',
} as const;

/**
 * The representation the Accept header asks for, among `offers` (media type → format; the
 * first is the default). Media type parameters other than q are ignored (`application/json;
 * charset=utf-8` is JSON). A wildcard (any type, application/any) or no Accept at all means the
 * default: anything else (an export, which may be large; a pure CloudEvent) is only sent when
 * its type is named. The highest q wins, the earlier offer on a tie; nothing acceptable is a 406
 * naming the choices.
 */
export function negotiate<F extends string>(req: Request, offers: Record<string, F>): F {
  const types = Object.keys(offers);
  const fallback = types[0]!;
  const header = req.get('accept');
  if (!header?.trim()) return offers[fallback]!;
  const entries = header.split(',').map((part) => {
    const [type = '', ...params] = part.split(';').map((p) => p.trim().toLowerCase());
    const q = params.find((p) => p.startsWith('q='));
    const weight = q === undefined ? 1 : Number(q.slice(2));
    return { type, q: Number.isFinite(weight) ? weight : 0 };
  });
  const weightOf = (offer: string): number => {
    const exact = entries.filter((e) => e.type === offer);
    if (exact.length) return Math.max(...exact.map((e) => e.q));
    if (offer !== fallback) return 0;
    const wild = entries.filter((e) => e.type === '*/*' || e.type === 'application/*');
    return wild.length ? Math.max(...wild.map((e) => e.q)) : 0;
  };
  let best: string | undefined;
  let bestQ = 0;
  for (const offer of types) {
    const q = weightOf(offer);
    if (q > bestQ) [best, bestQ] = [offer, q];
  }
  if (best !== undefined) return offers[best]!;
  throw new AppError('not-acceptable', {
    detail: `Accept one of ${types.join(', ')}`,
  });
}

/** RFC 4180: a field with a comma, quote, CR or LF is quoted, quotes doubled. */
const csvField = (v: string | null): string =>
  v === null ? '' : /[",\r\n]/.test(v) ? `"${v.replaceAll('"', '""')}"` : v;

/** A spreadsheet runs a cell that starts with = + - @ tab or CR as a formula (CSV injection), so
 * a text attribute starting so gets a leading ' (OWASP's advice), and one starting with ' gets
 * one too: a reader removes exactly one leading ' from these columns to have the value as sent
 * (docs/API.md, "Streaming export"). */
const FORMULA_START = /^[=+\-@\t\r']/;
const inert = (v: string | null): string | null =>
  v !== null && FORMULA_START.test(v) ? `'${v}` : v;

export const CSV_HEADER = CSV_COLUMNS.join(',') + '\r\n';

/** One CSV record: `data` (as sent) and `extensions` as JSON text, `time` as sent, every other
 * column as its string. */
export function csvRecord(row: StoredRow): string {
  const cells: Record<(typeof CSV_COLUMNS)[number], string | null> = {
    id: inert(row.id),
    source: inert(row.source),
    type: inert(row.type),
    specversion: row.specversion,
    time: row.time_text ?? row.time,
    subject: inert(row.subject),
    datacontenttype: inert(row.datacontenttype),
    dataschema: row.dataschema,
    data: row.data,
    data_base64: inert(row.data_base64),
    extensions: row.extensions,
    receivedAt: row.received_at,
    publishedAt: row.published_at,
    storedAt: row.stored_at,
    messageId: row.message_id,
    producer: inert(row.producer),
  };
  return CSV_COLUMNS.map((c) => csvField(cells[c])).join(',') + '\r\n';
}

/** One NDJSON record: the event as the JSON page has it, on one line (only data can hold a
 * line break: between its tokens, where it goes). */
export const ndjsonRecord = (row: StoredRow): string =>
  storedEventJson(row.data === null ? row : { ...row, data: jsonLine(row.data) }) + '\n';

/** Resolves true when the response can take more (drain), false when it has gone (closed) or
 * took nothing for `stallMs` (the connection is then cut: a reader that stopped reading must
 * not hold an export slot and its rows for ever). */
const writable = (res: Response, stallMs: number): Promise<boolean> =>
  new Promise((resolve) => {
    const done = (ok: boolean) => () => {
      clearTimeout(timer);
      res.off('drain', drained);
      res.off('close', closed);
      resolve(ok);
    };
    const drained = done(true);
    const closed = done(false);
    const timer = setTimeout(() => {
      closed();
      res.destroy();
    }, stallMs);
    res.on('drain', drained);
    res.on('close', closed);
  });

const FLUSH_BYTES = 64 * 1024;
const full = (rows: ListResult, limit: number) => rows.length >= limit;

/** Rows to ask for next: about LIMITS.exportChunkBytes of text at the size rows had so far,
 * between 1 and LIMITS.exportChunkRows. */
const nextLimit = (bytesPerRow: number): number =>
  Math.max(
    1,
    Math.min(
      LIMITS.exportChunkRows,
      Math.floor(LIMITS.exportChunkBytes / Math.max(bytesPerRow, 1)),
    ),
  );

/**
 * Streams every row `next` yields, chunk by chunk in list order, as NDJSON or CSV. `next(after,
 * limit)` reads up to `limit` rows after a key; a shorter chunk is the last, unless `more` says
 * the read stopped at its byte bound. Chunks are sized in
 * bytes (about LIMITS.exportChunkBytes, at most LIMITS.exportChunkRows rows; the first is
 * LIMITS.exportFirstChunkRows), so large events make smaller chunks. While one chunk is written,
 * the next is read, so memory holds two chunks and no more: the chunk after is asked for only
 * once the socket has taken this one (write() backpressure). A store failure before the first
 * byte is the usual problem response; after it, the connection is cut so the client sees a
 * truncated body (no final chunk), never a silently short export — it resumes after its last
 * full row. HEAD gets the headers and reads nothing.
 */
export async function streamExport(
  res: Response,
  format: ExportFormat,
  next: (after: PageKey | undefined, limit: number) => Promise<ListResult>,
  opts: {
    start: PageKey | undefined;
    onRows: (n: number) => void;
    logger: Logger;
    /** How long a write may wait for the reader (default LIMITS.exportStallMs). */
    stallMs?: number;
    /** Whether rows may follow a chunk read with `limit` (default: it was full). A store read
     * bounded in bytes can end a chunk early: then this says so. */
    more?: (rows: ListResult, limit: number) => boolean;
  },
): Promise<void> {
  let closed = false;
  res.on('close', () => {
    closed = true;
  });
  const head = res.req.method === 'HEAD';
  let limit: number = LIMITS.exportFirstChunkRows;
  // A failure here is still an ordinary error response.
  let rows = head ? [] : await next(opts.start, limit);
  res.status(200);
  res.setHeader(
    'Content-Type',
    format === 'csv'
      ? `${EXPORT_MEDIA_TYPES.csv}; charset=utf-8; header=present`
      : `${EXPORT_MEDIA_TYPES.ndjson}; charset=utf-8`,
  );
  res.setHeader('Cache-Control', 'no-store');
  res.setHeader('Vary', 'Accept');
  if (head) {
    res.end();
    return;
  }
  const line = format === 'csv' ? csvRecord : ndjsonRecord;
  const stallMs = opts.stallMs ?? LIMITS.exportStallMs;
  let buffer = format === 'csv' ? CSV_HEADER : '';
  const flush = async (): Promise<boolean> => {
    const more = res.write(buffer);
    buffer = '';
    if (closed) return false;
    return more || writable(res, stallMs);
  };
  try {
    // Output bytes per row, measured on the chunk before: it sizes the next read. The first
    // chunk is serialized (and measured) before anything is read after it; later chunks are
    // serialized while the next read runs.
    let lines: string[] | undefined = rows.map(line);
    let bytesPerRow = rows.length ? lines.reduce((n, l) => n + l.length, 0) / rows.length : 1;
    for (;;) {
      const last = rows[rows.length - 1];
      const following =
        last && (opts.more ?? full)(rows, limit)
          ? next(
              { time: last.time, source: last.source, id: last.id },
              (limit = nextLimit(bytesPerRow)),
            )
          : undefined;
      following?.catch(() => undefined); // awaited below, unless the client has gone
      let bytes = 0;
      for (let i = 0; i < rows.length; i++) {
        const l = lines?.[i] ?? line(rows[i]!);
        bytes += l.length;
        buffer += l;
        if (buffer.length >= FLUSH_BYTES && !(await flush())) return;
      }
      lines = undefined;
      if (rows.length) bytesPerRow = bytes / rows.length;
      opts.onRows(rows.length);
      if (!following) break;
      rows = await following;
      if (closed) return;
    }
    if (buffer && !(await flush())) return;
    res.end();
  } catch (e) {
    opts.logger.error({ err: e }, 'export failed after the response began; connection cut');
    res.locals.cutStatus = 500; // a server failure in the request metrics, not the client's
    res.destroy();
  }
}
