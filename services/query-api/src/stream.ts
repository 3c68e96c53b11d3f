import type { Request, Response } from 'express';
import { AppError, type Logger } from '@eventpipe/platform';
import {
  formatMicros,
  matchesGrant,
  nowTime,
  parseRfc3339,
  streamParamsSchema,
  type StoredRow,
} from '@eventpipe/schema';
import {
  compareStoredKeys,
  defaultFrom,
  rowWeight,
  storedKeyOf,
  type EventFilter,
  type EventStore,
  type StoredKey,
} from '@eventpipe/store';
import type { CursorCodec } from './cursor';
import { ndjsonRecord } from './export';
import type { Reader } from './list-events';
import type { QueryMetrics } from './metrics';
import { filterOf, parseQuery } from './params';

/** A row's messages by token scope: one per use case, as the tokens in them are signed with
 * its cursor secret. */
type Messages = WeakMap<StoredRow, Map<string, Buffer>>;
/** A row's JSON text, the same in every scope and for every secret. */
const records = new WeakMap<StoredRow, string>();

/** A row's message, made once per token scope (same filters, same reader) however many streams
 * it goes to: the tail hands every stream the same row object. With 500 streams on one filter,
 * each event was serialized, signed and encoded 500 times (bench stream-latency). */
function messageOf(
  messages: Messages,
  row: StoredRow,
  positions: { scope: string; encode(key: StoredKey): string },
): Buffer {
  let byScope = messages.get(row);
  if (byScope === undefined) {
    byScope = new Map();
    messages.set(row, byScope);
  }
  let message = byScope.get(positions.scope);
  if (message === undefined) {
    let record = records.get(row);
    if (record === undefined) {
      record = ndjsonRecord(row).trimEnd();
      records.set(row, record);
    }
    message = Buffer.from(
      `id: ${positions.encode(keyOf(row))}\nevent: ${row.type}\ndata: ${record}\n\n`,
    );
    byScope.set(positions.scope, message);
  }
  return message;
}

/** A row's store position, one object for every stream that looks at it. */
const keys = new WeakMap<StoredRow, StoredKey>();
function keyOf(row: StoredRow): StoredKey {
  let key = keys.get(row);
  if (key === undefined) {
    key = storedKeyOf(row);
    keys.set(row, key);
  }
  return key;
}

export interface StreamOptions {
  /** Streams served at once (STREAM_MAX_CONCURRENT); past it, 429 too-many-streams. */
  maxConcurrent: number;
  /** How often the tail asks the store for newly stored rows, while any stream is open. */
  pollMs: number;
  /** Rows are streamed once stored at least this long ago, so none committed late (a slower
   * insert that took its stored time earlier) is passed over. */
  settleMs: number;
  /** A comment is sent this often, so proxies and clients keep an idle stream open. */
  heartbeatMs: number;
  /** A reader that lets this many bytes pile up unread is disconnected (it resumes). */
  bufferBytes: number;
  /** On a store that bounds reads in time (BigQuery), the tail reads events whose time is at
   * most this old: the partitions it scans. */
  windowMs: number;
}

export const STREAM_DEFAULTS: StreamOptions = {
  maxConcurrent: 100,
  pollMs: 500,
  settleMs: 1000,
  heartbeatMs: 15_000,
  bufferBytes: 1024 * 1024,
  windowMs: 24 * 3600 * 1000,
};

const TAIL_BATCH = 1000;
/** A reader that has taken nothing for this long while more than bufferBytes wait is cut. */
const STALL_MS = 2000;

type Listener = (rows: StoredRow[]) => void;

/** `t` minus `ms`, canonical. */
const before = (t: string, ms: number) => formatMicros(parseRfc3339(t)! - BigInt(ms) * 1000n);

/**
 * One tail per query-API instance: while any stream is open it asks the store, every pollMs, for
 * the rows stored since its position (in store order, settled), and hands each batch to every
 * stream; each stream filters for itself. Many streams cost one query per poll.
 */
export class StoreTail {
  private readonly listeners = new Set<Listener>();
  private position: StoredKey | undefined;
  private timer: NodeJS.Timeout | undefined;
  private polling = false;

  constructor(
    private readonly store: EventStore,
    private readonly opts: StreamOptions,
    private readonly logger: Logger,
  ) {}

  /** Adds a listener; returns the position from which it will hear every row (exclusive). */
  subscribe(listener: Listener): { position: StoredKey; unsubscribe: () => void } {
    this.position ??= { storedAt: before(nowTime(), this.opts.settleMs), source: '', id: '' };
    this.listeners.add(listener);
    this.timer ??= setInterval(() => void this.poll(), this.opts.pollMs);
    return {
      position: this.position,
      unsubscribe: () => {
        this.listeners.delete(listener);
        if (this.listeners.size === 0) {
          clearInterval(this.timer);
          this.timer = undefined;
          this.position = undefined; // idle: the next stream starts from its own now
        }
      },
    };
  }

  private async poll(): Promise<void> {
    if (this.polling) return;
    this.polling = true;
    try {
      for (;;) {
        const from = this.position;
        if (!from || this.listeners.size === 0) return;
        const now = nowTime();
        const rows = await this.store.listStored({
          after: from,
          until: before(now, this.opts.settleMs),
          filter: this.store.rangePolicy ? { from: before(now, this.opts.windowMs) } : {},
          limit: TAIL_BATCH,
        });
        if (this.position !== from) return; // went idle meanwhile
        if (rows.length === 0) return;
        this.position = storedKeyOf(rows.at(-1)!);
        for (const l of this.listeners) l(rows);
        if (rows.length < TAIL_BATCH) return;
      }
    } catch (e) {
      this.logger.warn({ err: e }, 'stream tail: the store did not answer; retrying');
    } finally {
      this.polling = false;
    }
  }
}

/** The list filters, checked in memory on a row the tail read (as the store query applies them). */
export function matchesFilter(row: StoredRow, f: EventFilter): boolean {
  if (f.type !== undefined && row.type !== f.type) return false;
  if (f.source !== undefined && row.source !== f.source) return false;
  if (f.subject !== undefined && row.subject !== f.subject) return false;
  if (f.producer !== undefined && row.producer !== f.producer) return false;
  const time = parseRfc3339(row.time)!;
  if (f.from !== undefined && time < parseRfc3339(f.from)!) return false;
  if (f.to !== undefined && time >= parseRfc3339(f.to)!) return false;
  return matchesGrant(row.source, f.grant?.sources) && matchesGrant(row.type, f.grant?.types);
}

/**
 * GET /v1/events/stream: Server-Sent Events of stored events. With a resume token (the
 * Last-Event-ID header, or ?after=) every stored match after it is replayed first, then the
 * stream goes live; each event is sent once per stream, in store order.
 */
export function streamUseCase(deps: {
  store: EventStore;
  cursors: CursorCodec;
  metrics: QueryMetrics;
  logger: Logger;
  options: StreamOptions;
}) {
  const tail = new StoreTail(deps.store, deps.options, deps.logger);
  const messages: Messages = new WeakMap();
  let open = 0;

  return async function serveStream(req: Request, res: Response, reader: Reader): Promise<void> {
    const params = parseQuery(streamParamsSchema, req.query);
    const filter = filterOf(params, reader?.grant);
    const header = req.get('Last-Event-ID');
    const resumeToken = header || params.after;
    const resumeFrom = resumeToken
      ? deps.cursors.decodePosition(
          resumeToken,
          filter,
          reader?.name,
          header ? 'Last-Event-ID' : 'after',
        )
      : undefined;
    if (open >= deps.options.maxConcurrent) {
      throw new AppError('too-many-streams', {
        detail: `${deps.options.maxConcurrent} streams are open on this instance; retry shortly`,
        headers: { 'Retry-After': '5' },
      });
    }
    open += 1;
    deps.metrics.streamsOpen.set(open);

    res.status(200);
    res.setHeader('Content-Type', 'text/event-stream; charset=utf-8');
    res.setHeader('Cache-Control', 'no-store');
    res.setHeader('X-Accel-Buffering', 'no'); // proxies must not hold messages back
    res.flushHeaders();
    res.write(': eventpipe stream\nretry: 2000\n\n');

    let last: StoredKey | undefined = resumeFrom;
    let replaying = true;
    let closed = false;
    const pending: StoredRow[] = [];
    const close = (comment?: string) => {
      if (closed) return;
      closed = true;
      if (comment && !res.writableEnded) res.write(`: ${comment}\n\n`);
      res.end();
    };
    const positions = deps.cursors.positions(filter, reader?.name);
    const token = positions.encode;

    // Events wait here while the socket is full, as references to the rows the tail read (its
    // batches are shared by every stream); each is written out only when the socket takes more.
    // A reader is cut when it lets more than bufferBytes wait and has taken nothing for
    // STALL_MS: one that keeps reading is never cut, however large a burst.
    const queue: StoredRow[] = [];
    let queuedBytes = 0;
    let flushing = false;
    let progressAt = Date.now();
    const flush = async () => {
      if (flushing) return;
      flushing = true;
      try {
        while (queue.length && !closed) {
          const row = queue.shift()!;
          queuedBytes -= rowWeight(row);
          const message = messageOf(messages, row, positions);
          if (res.write(message)) {
            progressAt = Date.now();
            continue;
          }
          await new Promise<void>((resolve) => {
            const done = () => {
              res.off('drain', done);
              res.off('close', done);
              resolve();
            };
            res.on('drain', done);
            res.on('close', done);
          });
          progressAt = Date.now();
        }
      } finally {
        flushing = false;
      }
    };
    const stalled = () =>
      queuedBytes + res.writableLength > deps.options.bufferBytes &&
      Date.now() - progressAt > STALL_MS;
    const cutIfStalled = () => {
      if (!stalled()) return;
      queue.length = 0;
      queuedBytes = 0;
      close(
        `disconnected: more than ${deps.options.bufferBytes} bytes unread; reconnect with Last-Event-ID to resume`,
      );
    };
    const enqueue = (row: StoredRow) => {
      // The stall clock runs only while something waits: an idle stream has taken all it had.
      if (queue.length === 0 && res.writableLength === 0) progressAt = Date.now();
      queue.push(row);
      queuedBytes += rowWeight(row);
      cutIfStalled();
      if (!flushing) void flush();
    };
    /** A message without an event: written at once when nothing waits, else skipped. */
    const note = (text: string) => {
      if (!closed && queue.length === 0 && res.writableLength === 0) res.write(text);
    };

    /** Queues the rows after `last` that match, in order. */
    const send = (rows: StoredRow[]) => {
      let sent = 0;
      for (const row of rows) {
        if (closed) break;
        const key = keyOf(row);
        if (last && compareStoredKeys(key, last) <= 0) continue;
        last = key;
        if (!matchesFilter(row, filter)) continue;
        enqueue(row);
        sent += 1;
      }
      if (sent) deps.metrics.rowsReturned.inc({ operation: 'stream' }, sent);
    };

    const sub = tail.subscribe((rows) => {
      if (replaying) pending.push(...rows);
      else send(rows);
    });
    // A heartbeat carries the stream's position (an id without data): a reader that drops
    // before any matching event, or on a rare filter, resumes from there, not from its start.
    const heartbeat = setInterval(() => {
      if (last) note(`: heartbeat\nid: ${token(last)}\n\n`);
    }, deps.options.heartbeatMs);
    const watchdog = setInterval(cutIfStalled, 1000);
    const done = new Promise<void>((resolve) => res.on('close', () => resolve()));
    void done.then(() => {
      closed = true;
      clearInterval(heartbeat);
      clearInterval(watchdog);
      sub.unsubscribe();
      open -= 1;
      deps.metrics.streamsOpen.set(open);
    });

    // Replay: every stored match after the resume point, up to where the tail took over.
    try {
      if (last) {
        const until = sub.position.storedAt;
        for (;;) {
          const rows = await deps.store.listStored({
            after: last,
            until,
            filter:
              deps.store.rangePolicy && filter.from === undefined
                ? { ...filter, from: defaultFrom(deps.store.rangePolicy, filter.to) }
                : filter,
            limit: TAIL_BATCH,
          });
          if (closed) return;
          send(rows);
          if (rows.length < TAIL_BATCH) break;
        }
      } else {
        last = sub.position;
        // Where this stream starts: reconnecting with it resumes here.
        res.write(`id: ${token(last)}\n\n`);
      }
    } catch (e) {
      deps.logger.warn({ err: e }, 'stream replay failed');
      close('the event store did not answer; reconnect with Last-Event-ID to resume');
      return;
    }
    replaying = false;
    send(pending.splice(0));
    await done;
  };
}
