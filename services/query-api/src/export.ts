import type { Request, Response } from 'express';
import { AppError, type Logger } from '@eventpipe/platform';
import {
  CONTEXT_ATTRIBUTES,
  CSV_COLUMNS,
  EXPORT_MEDIA_TYPES,
  type StoredEvent,
} from '@eventpipe/schema';
import type { PageKey } from '@eventpipe/store';

export type ResponseFormat = 'json' | keyof typeof EXPORT_MEDIA_TYPES;

const OFFERED = ['application/json', EXPORT_MEDIA_TYPES.ndjson, EXPORT_MEDIA_TYPES.csv];

/** What the Accept header asks of GET /v1/events: a JSON page (also for no Accept or any type),
 * or a streamed export. Anything else is a 406 naming the choices. */
export function responseFormatOf(req: Request): ResponseFormat {
  const chosen = req.accepts(OFFERED);
  if (chosen === EXPORT_MEDIA_TYPES.ndjson) return 'ndjson';
  if (chosen === EXPORT_MEDIA_TYPES.csv) return 'csv';
  if (chosen === 'application/json') return 'json';
  throw new AppError('not-acceptable', 406, 'No acceptable representation', {
    detail: `Accept one of ${OFFERED.join(', ')}`,
  });
}

const EXTENSION_EXCLUDED = new Set<string>([
  ...CONTEXT_ATTRIBUTES,
  'receivedAt',
  'publishedAt',
  'storedAt',
  'messageId',
]);

/** RFC 4180: a field with a comma, quote, CR or LF is quoted, quotes doubled. Values are
 * written as stored; nothing is rewritten for spreadsheets (see README "Streaming export"). */
const csvField = (v: string | undefined): string =>
  v === undefined ? '' : /[",\r\n]/.test(v) ? `"${v.replaceAll('"', '""')}"` : v;

export const CSV_HEADER = CSV_COLUMNS.join(',') + '\r\n';

/** One CSV record: `data` and `extensions` as JSON text, every other column as its string. */
export function csvRecord(e: StoredEvent): string {
  const extensions: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(e)) if (!EXTENSION_EXCLUDED.has(k)) extensions[k] = v;
  const cell = (column: (typeof CSV_COLUMNS)[number]): string | undefined => {
    if (column === 'data') return e.data === undefined ? undefined : JSON.stringify(e.data);
    if (column === 'extensions') return JSON.stringify(extensions);
    const v = e[column];
    return v === undefined || v === null ? undefined : String(v as string);
  };
  return CSV_COLUMNS.map((c) => csvField(cell(c))).join(',') + '\r\n';
}

/** Resolves when the response can take more (drain) or has gone (closed): never waits forever. */
const writable = (res: Response): Promise<void> =>
  new Promise((resolve) => {
    const done = () => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });

const FLUSH_BYTES = 64 * 1024;

/**
 * Streams every row `next` yields, chunk by chunk in list order, as NDJSON or CSV. `next(after)`
 * reads up to `chunkRows` rows after a key; a shorter chunk is the last. While one chunk is
 * written, the next is read (the store works while the socket drains), so memory holds two
 * chunks and up to 64 KiB of text, and no more: the chunk after is asked for only once the socket
 * has taken this one (write() backpressure). A store failure before the first byte is the usual
 * problem response; after it, the connection is cut so the client sees a truncated body (no final
 * chunk), never a silently short export — it resumes after its last full row.
 */
export async function streamExport(
  res: Response,
  format: Exclude<ResponseFormat, 'json'>,
  next: (after: PageKey | undefined) => Promise<StoredEvent[]>,
  opts: {
    start: PageKey | undefined;
    chunkRows: number;
    onRows: (n: number) => void;
    logger: Logger;
  },
): Promise<void> {
  let closed = false;
  res.on('close', () => {
    closed = true;
  });
  let rows = await next(opts.start); // a failure here is still an ordinary error response
  res.status(200);
  res.setHeader(
    'Content-Type',
    format === 'csv'
      ? `${EXPORT_MEDIA_TYPES.csv}; charset=utf-8; header=present`
      : `${EXPORT_MEDIA_TYPES.ndjson}; charset=utf-8`,
  );
  res.setHeader('Cache-Control', 'no-store');
  res.setHeader('Vary', 'Accept');
  const line = format === 'csv' ? csvRecord : (e: StoredEvent) => JSON.stringify(e) + '\n';
  let buffer = format === 'csv' ? CSV_HEADER : '';
  const flush = async () => {
    const more = res.write(buffer);
    buffer = '';
    if (!more && !closed) await writable(res);
  };
  try {
    for (;;) {
      const last = rows[rows.length - 1];
      const following =
        last && rows.length >= opts.chunkRows
          ? next({ time: last.time, source: last.source, id: last.id })
          : undefined;
      following?.catch(() => undefined); // awaited below, unless the client has gone
      for (const row of rows) {
        buffer += line(row);
        if (buffer.length >= FLUSH_BYTES) await flush();
        if (closed) return;
      }
      opts.onRows(rows.length);
      if (!following) break;
      rows = await following;
    }
    if (buffer) await flush();
    res.end();
  } catch (e) {
    opts.logger.error({ err: e }, 'export failed after the response began; connection cut');
    res.destroy();
  }
}
