import { AsyncLocalStorage } from 'node:async_hooks';

/** Per-request (or per-message) context: every log line inside it carries the request id and,
 * when the caller sent one, its W3C trace context. */
export interface RequestContext {
  requestId: string;
  /** A valid W3C trace context (https://www.w3.org/TR/trace-context/), parsed once. */
  trace?: TraceContext;
}

export interface TraceParts {
  traceId: string;
  spanId: string;
  sampled: boolean;
}

export interface TraceContext extends TraceParts {
  /** The header value as received, forwarded on the bus. */
  traceparent: string;
}

export const requestContext = new AsyncLocalStorage<RequestContext>();

export const currentRequestId = (): string | undefined => requestContext.getStore()?.requestId;
export const currentTraceparent = (): string | undefined =>
  requestContext.getStore()?.trace?.traceparent;

const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

/** The parts of a W3C traceparent; undefined for anything malformed, version ff, or all-zero
 * ids (which the spec says to ignore). */
export function parseTraceparent(value: string | undefined): TraceParts | undefined {
  if (!value || value.length > 128) return undefined;
  const m = TRACEPARENT.exec(value.trim());
  if (!m) return undefined;
  const [, version, traceId, spanId, flags] = m as unknown as [
    string,
    string,
    string,
    string,
    string,
  ];
  if (version === 'ff' || /^0+$/.test(traceId) || /^0+$/.test(spanId)) return undefined;
  if (version === '00' && value.trim().length !== 55) return undefined;
  return { traceId, spanId, sampled: (parseInt(flags, 16) & 1) === 1 };
}

/** The scope of one request or bus message: its id and, when the traceparent is valid, its trace
 * context. The HTTP middleware and the worker both open scopes with this. */
export function requestScope(requestId: string, traceparent: string | undefined): RequestContext {
  const parts = parseTraceparent(traceparent);
  return parts
    ? { requestId, trace: { traceparent: traceparent!.trim(), ...parts } }
    : { requestId };
}
