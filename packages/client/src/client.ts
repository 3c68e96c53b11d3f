import type {
  EventPage,
  ListParams,
  PublishAccepted,
  StatsParams,
  StatsResponse,
  StoredEvent,
} from '@eventpipe/schema';
// The JSON helpers alone (no zod, no node:crypto): the client stays light.
import { parseJson, stringifyJson } from '@eventpipe/schema/json';

/** An event as a producer sends it (CloudEvents JSON format): id, specversion and time may be
 * left out; any other key is an extension attribute. Numbers in `data` may be `bigint`s or
 * `JsonNumber`s, which are sent digit for digit. */
export interface EventInput {
  type: string;
  source: string;
  id?: string;
  specversion?: '1.0';
  time?: string;
  subject?: string;
  datacontenttype?: string;
  dataschema?: string;
  data?: unknown;
  data_base64?: string;
  [extension: string]: unknown;
}

/** Filters of list, export and stats; every value as the API's query parameters take it. */
export type EventFilter = Pick<
  ListParams,
  'type' | 'source' | 'subject' | 'producer' | 'from' | 'to'
>;
export interface ListOptions extends EventFilter {
  /** Events per request (1–1000). The iterator fetches pages until the last. */
  pageSize?: number;
  /** Start from this nextCursor of an earlier page (same filters). */
  cursor?: string;
}
export type StatsOptions = StatsParams;
export interface StreamOptions extends Omit<EventFilter, 'to'> {
  to?: string;
  /** Resume after this message id (a previous item's `id`); unset: from now. */
  after?: string;
  /** Stops the stream. */
  signal?: AbortSignal;
  /** Wait before reconnecting after the stream ended or broke (default 1000 ms). */
  reconnectDelayMs?: number;
}
export interface ExportOptions extends EventFilter {
  /** Start from this nextCursor of a page listed before (same filters). */
  cursor?: string;
  /** Attempts after a broken stream (resuming after the last complete row) or a 429 / 503
   * answer (after its Retry-After, at most 60 s), together (default 3). */
  resumeAttempts?: number;
}

export interface ClientOptions {
  /** Base URL of the publisher API, e.g. http://127.0.0.1:8080. */
  publisherUrl?: string;
  /** Base URL of the query API, e.g. http://127.0.0.1:8081. */
  queryUrl?: string;
  /** Sent as Authorization: Bearer <key> when set. */
  apiKey?: string;
  /** Headers sent with every request, e.g. `traceparent` or `X-Request-Id`. */
  headers?: Record<string, string>;
  /** A fetch implementation (default: the global one). */
  fetch?: typeof fetch;
}

/** The RFC 9457 problem an API answered with. */
export interface Problem {
  type: string;
  title: string;
  status: number;
  detail?: string;
  instance?: string;
  code: string;
  requestId?: string;
  errors?: { pointer: string; detail: string; index?: number }[];
}

/** A non-2xx answer: the status, the problem (when the body was one), and Retry-After. */
export class EventpipeError extends Error {
  constructor(
    readonly status: number,
    readonly problem: Problem | undefined,
    readonly retryAfterSeconds: number | undefined,
  ) {
    super(
      problem
        ? `${status} ${problem.code}: ${problem.detail ?? problem.title}`
        : `HTTP ${status} without a problem body`,
    );
    this.name = 'EventpipeError';
  }
}

type Query = Record<string, string | number | undefined>;

export type SchemaMode = 'enforce' | 'warn' | 'off';
export type SchemaCompatibility = 'BACKWARD' | 'FORWARD' | 'FULL' | 'NONE';
/** One registered version of a type's data schema. */
export interface SchemaVersionInfo {
  type: string;
  version: number;
  /** What events checked against it carry as dataschema. */
  uri: string;
  mode: SchemaMode;
  compatibility: SchemaCompatibility;
  createdAt: string;
  schema: Record<string, unknown>;
}
export interface SchemaTypeInfo {
  type: string;
  mode: SchemaMode;
  compatibility: SchemaCompatibility;
  latestVersion?: number;
  uri?: string;
  /** The typed view of the type in the store. */
  view: string;
}

/** What an erasure asks for (POST /v1/erasures). */
export type ErasureRequest =
  { subject: string; sources?: string[]; suppress?: boolean } | { source: string; id: string };

/** An erasure and its state (GET /v1/erasures/{id}). */
export interface ErasureInfo {
  id: string;
  state: 'pending' | 'done' | 'failed';
  subject?: string;
  sources?: string[];
  suppress?: boolean;
  source?: string;
  eventId?: string;
  requestedBy: string | null;
  requestedAt: string;
  /** Events deleted so far (done: all). */
  rows: number;
  doneAt: string | null;
  detail: string | null;
  suppressed: boolean;
  liftedAt: string | null;
  liftedBy: string | null;
  steps: { action: string; at: string; by?: string; rows?: number; detail?: string }[];
}

/**
 * A typed client of both APIs over fetch. Its types are the API contract's (@eventpipe/schema),
 * the same schemas that validate requests and generate the OpenAPI documents.
 *
 * Numbers are never rounded: events are read with `parseJson`, so a number in `data` that a
 * JavaScript number would change (`9007199254740993`, `1e400`, `1.0`) arrives as a
 * `JsonNumber` holding its exact text, and `stringifyJson(event.data)` writes it back as sent.
 */
export class EventpipeClient {
  private readonly fetch: typeof fetch;

  constructor(private readonly options: ClientOptions) {
    this.fetch = options.fetch ?? globalThis.fetch;
  }

  /** POSTs one event (structured mode) or an array (batch mode); all are published or none. */
  async publish(events: EventInput | EventInput[]): Promise<PublishAccepted> {
    const batch = Array.isArray(events);
    const res = await this.request(
      'publisher',
      '/v1/events',
      {},
      {
        method: 'POST',
        headers: {
          'Content-Type': batch
            ? 'application/cloudevents-batch+json'
            : 'application/cloudevents+json',
        },
        body: stringifyJson(events),
      },
    );
    return (await res.json()) as PublishAccepted;
  }

  /** One page of events, newest first; pass its nextCursor back for the next. */
  async listPage(options: ListOptions = {}): Promise<EventPage> {
    const { pageSize, ...rest } = options;
    const res = await this.request('query', '/v1/events', { ...rest, limit: pageSize });
    return parseJson(await res.text()) as EventPage;
  }

  /** Every matching event, newest first, fetching page after page as the loop asks. */
  async *list(options: ListOptions = {}): AsyncGenerator<StoredEvent> {
    let cursor = options.cursor;
    do {
      const page = await this.listPage({ ...options, cursor });
      yield* page.data;
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
  }

  /** One event by id (and source, when several sources use the id). */
  async get(id: string, options: { source?: string } = {}): Promise<StoredEvent> {
    const res = await this.request('query', `/v1/events/${encodeURIComponent(id)}`, options);
    return parseJson(await res.text()) as StoredEvent;
  }

  /** Registers the next version of the schema of `type` (PUT /v1/schemas/{type}); needs the
   * scope schemas:write. `created` is false when nothing changed. */
  async putSchema(
    type: string,
    body: { schema: unknown; mode?: SchemaMode; compatibility?: SchemaCompatibility },
  ): Promise<SchemaVersionInfo & { created: boolean; view: string }> {
    const res = await this.request(
      'query',
      `/v1/schemas/${encodeURIComponent(type)}`,
      {},
      {
        method: 'PUT',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify(body),
      },
    );
    return {
      ...((await res.json()) as SchemaVersionInfo & { view: string }),
      created: res.status === 201,
    };
  }

  /** Every type with a schema (GET /v1/schemas). */
  async listSchemas(): Promise<SchemaTypeInfo[]> {
    const res = await this.request('query', '/v1/schemas', {});
    return ((await res.json()) as { data: SchemaTypeInfo[] }).data;
  }

  /** A type's settings and every version (GET /v1/schemas/{type}). */
  async getSchema(type: string): Promise<SchemaTypeInfo & { versions: SchemaVersionInfo[] }> {
    const res = await this.request('query', `/v1/schemas/${encodeURIComponent(type)}`, {});
    return (await res.json()) as SchemaTypeInfo & { versions: SchemaVersionInfo[] };
  }

  /** Erases a subject's events (or one event); they leave every read at once (202, pending). */
  async requestErasure(request: ErasureRequest): Promise<ErasureInfo> {
    const res = await this.request(
      'query',
      '/v1/erasures',
      {},
      {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify(request),
      },
    );
    return (await res.json()) as ErasureInfo;
  }

  /** One erasure and its state. */
  async erasure(id: string): Promise<ErasureInfo> {
    const res = await this.request('query', `/v1/erasures/${encodeURIComponent(id)}`, {});
    return (await res.json()) as ErasureInfo;
  }

  /** Every erasure, newest first (the audit trail). */
  async listErasures(): Promise<ErasureInfo[]> {
    const res = await this.request('query', '/v1/erasures', {});
    return ((await res.json()) as { data: ErasureInfo[] }).data;
  }

  /** Lifts an erasure's suppression: later events for its subject are stored again. */
  async liftSuppression(id: string): Promise<ErasureInfo> {
    const res = await this.request(
      'query',
      `/v1/erasures/${encodeURIComponent(id)}/suppression`,
      {},
      { method: 'DELETE' },
    );
    return (await res.json()) as ErasureInfo;
  }

  /** Counts per time bucket. */
  async stats(options: StatsOptions = {}): Promise<StatsResponse> {
    const res = await this.request('query', '/v1/stats', { ...options });
    return (await res.json()) as StatsResponse;
  }

  /**
   * Every matching event, streamed as NDJSON: no page size, one request. If the stream breaks,
   * it reconnects after the last complete event (afterTime/afterSource/afterId), so no event is
   * lost or repeated; a 429 or 503 is retried after its Retry-After.
   */
  async *export(options: ExportOptions = {}): AsyncGenerator<StoredEvent> {
    const { resumeAttempts = 3, cursor, ...filter } = options;
    let last: StoredEvent | undefined;
    let attempts = 0;
    for (;;) {
      const resume: Query = last
        ? { afterTime: last.time, afterSource: last.source, afterId: last.id }
        : { cursor };
      try {
        const res = await this.request(
          'query',
          '/v1/events',
          { ...filter, ...resume },
          {
            headers: { Accept: 'application/x-ndjson' },
          },
        );
        const type = res.headers.get('content-type') ?? '';
        if (!type.startsWith('application/x-ndjson')) {
          await res.body?.cancel();
          throw new Error(`expected an NDJSON export, got ${type || 'no Content-Type'}`);
        }
        for await (const line of lines(res)) {
          last = parseJson(line) as StoredEvent;
          yield last;
        }
        return;
      } catch (e) {
        // A broken stream resumes at once: fetch reports a refused, reset or cut connection as a
        // TypeError (also while the body is read; matched by name, as it may come from another
        // realm), and a last line without its newline is a BrokenStream. A 429 or 503 (busy,
        // store down) is retried after Retry-After. Anything else is final: another answer, a
        // row that is not JSON, another content type.
        const busy = e instanceof EventpipeError && (e.status === 429 || e.status === 503);
        const broken = (e as { name?: unknown })?.name === 'TypeError' || e instanceof BrokenStream;
        if (!(busy || broken) || attempts >= resumeAttempts) throw e;
        attempts += 1;
        if (busy) {
          const seconds = Math.min((e as EventpipeError).retryAfterSeconds ?? 1, 60);
          await new Promise((r) => setTimeout(r, seconds * 1000));
        }
      }
    }
  }

  /**
   * Stored events as they arrive (GET /v1/events/stream), from `after` (a message id) or from
   * now: an async iterator that reconnects by itself after a dropped connection or a 429/503,
   * resuming after the last event it yielded (Last-Event-ID), so nothing is skipped or repeated.
   * Each item is the event and its resume id. Stop with `signal` (or by leaving the loop).
   */
  async *stream(options: StreamOptions = {}): AsyncGenerator<{ id: string; event: StoredEvent }> {
    const { after, signal, reconnectDelayMs = 1000, ...filter } = options;
    let last = after;
    for (;;) {
      if (signal?.aborted) return;
      try {
        const res = await this.request(
          'query',
          '/v1/events/stream',
          { ...filter },
          {
            headers: { Accept: 'text/event-stream', ...(last ? { 'Last-Event-ID': last } : {}) },
            signal,
          },
        );
        for await (const message of sseMessages(res)) {
          // An id without data is the stream's position (at the start, with heartbeats).
          if (message.id !== undefined) last = message.id;
          if (message.data === undefined || message.id === undefined) continue;
          yield { id: message.id, event: parseJson(message.data) as StoredEvent };
        }
        // The server ended the stream (a slow reader, a restart): resume.
      } catch (e) {
        if (signal?.aborted) return;
        const busy = e instanceof EventpipeError && (e.status === 429 || e.status === 503);
        const broken = (e as { name?: unknown })?.name === 'TypeError';
        if (!busy && !broken) throw e;
        const seconds = busy ? Math.min((e as EventpipeError).retryAfterSeconds ?? 1, 60) : 0;
        await sleep(Math.max(seconds * 1000, reconnectDelayMs), signal);
        continue;
      }
      await sleep(reconnectDelayMs, signal);
    }
  }

  /** Every matching event as CSV text (header row first), chunk by chunk as it arrives. */
  async *exportCsv(filter: EventFilter = {}): AsyncGenerator<string> {
    const res = await this.request(
      'query',
      '/v1/events',
      { ...filter },
      {
        headers: { Accept: 'text/csv' },
      },
    );
    yield* text(res);
  }

  private async request(
    api: 'publisher' | 'query',
    path: string,
    query: Query,
    init: {
      method?: string;
      headers?: Record<string, string>;
      body?: string;
      signal?: AbortSignal;
    } = {},
  ): Promise<Response> {
    const base = api === 'publisher' ? this.options.publisherUrl : this.options.queryUrl;
    if (!base) throw new Error(`the ${api} API's URL (${api}Url) is not set`);
    const url = new URL(path, base.endsWith('/') ? base : `${base}/`);
    for (const [k, v] of Object.entries(query)) {
      if (v !== undefined) url.searchParams.set(k, String(v));
    }
    // Header names are case-insensitive: merged through Headers, later sources win.
    const headers = new Headers({ Accept: 'application/json' });
    for (const source of [this.options.headers, init.headers]) {
      for (const [k, v] of Object.entries(source ?? {})) headers.set(k, v);
    }
    if (this.options.apiKey) headers.set('Authorization', `Bearer ${this.options.apiKey}`);
    const res = await this.fetch(url, { ...init, headers });
    if (res.ok) return res;
    const text = await res.text();
    let problem: Problem | undefined;
    try {
      problem = (res.headers.get('content-type') ?? '').includes('problem+json')
        ? (JSON.parse(text) as Problem)
        : undefined;
    } catch {
      problem = undefined;
    }
    const retryAfter = Number(res.headers.get('retry-after') ?? NaN);
    throw new EventpipeError(
      res.status,
      problem,
      Number.isFinite(retryAfter) ? retryAfter : undefined,
    );
  }
}

/** A body as UTF-8 text, chunk by chunk as it arrives (a character split between chunks is
 * held for the next). */
async function* text(res: Response): AsyncGenerator<string> {
  const decoder = new TextDecoder('utf-8', { fatal: true });
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    yield decoder.decode(chunk, { stream: true });
  }
  const rest = decoder.decode();
  if (rest) yield rest;
}

/** The complete lines of an NDJSON body. A last line without its newline is a cut stream:
 * it is dropped and the read fails, so the caller resumes instead of trusting a partial row. */
async function* lines(res: Response): AsyncGenerator<string> {
  let pending = '';
  for await (const chunk of text(res)) {
    const parts = (pending + chunk).split('\n');
    pending = parts.pop() ?? '';
    for (const line of parts) if (line) yield line;
  }
  if (pending) throw new BrokenStream('export stream ended inside a row');
}

/** The export's body ended inside a row: resumable. */
class BrokenStream extends Error {}

/** Waits, or resolves early when `signal` aborts. */
function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/** Server-Sent Events of a response body (WHATWG HTML, "Parsing an event stream"): each
 * message's id, event name and data (data lines joined with a line feed). */
export async function* sseMessages(
  res: Response,
): AsyncGenerator<{ id?: string; event?: string; data?: string }> {
  let id: string | undefined;
  let lastYieldedId: string | undefined;
  let event: string | undefined;
  let data: string[] = [];
  let buffer = '';
  for await (const chunk of text(res)) {
    buffer += chunk;
    let nl: number;
    while ((nl = buffer.search(/\r\n|\r|\n/)) >= 0) {
      // A CR at the end may be the first half of a CRLF: wait for the next chunk.
      if (nl === buffer.length - 1 && buffer[nl] === '\r') break;
      const line = buffer.slice(0, nl);
      buffer = buffer.slice(nl + (buffer.startsWith('\r\n', nl) ? 2 : 1));
      if (line === '') {
        // A message without data still moves the last event id (WHATWG: it is set first).
        if (data.length) yield { id, event, data: data.join('\n') };
        else if (id !== undefined && id !== lastYieldedId) yield { id };
        lastYieldedId = id;
        event = undefined;
        data = [];
        continue;
      }
      if (line.startsWith(':')) continue;
      const colon = line.indexOf(':');
      const field = colon < 0 ? line : line.slice(0, colon);
      const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
      if (field === 'data') data.push(value);
      else if (field === 'event') event = value;
      else if (field === 'id' && !value.includes('\0')) id = value;
    }
  }
}
