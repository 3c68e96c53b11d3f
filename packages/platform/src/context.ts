import { AsyncLocalStorage } from 'node:async_hooks';

/** Per-request (or per-message) context: every log line inside it carries the request id. */
export interface RequestContext {
  requestId: string;
}

export const requestContext = new AsyncLocalStorage<RequestContext>();

export const currentRequestId = (): string | undefined => requestContext.getStore()?.requestId;
