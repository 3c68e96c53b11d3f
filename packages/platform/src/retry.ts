/**
 * Retry with capped exponential backoff: the one helper behind every retry in eventpipe (the
 * worker holding a batch through a store outage, the BigQuery adapter's insertAll retries), as
 * testcontainers' common/retry.ts and nodejs-pubsub's exponential-retry.ts do it. The clock is
 * injectable, so tests run the schedule without waiting.
 */

/** Time as a retry sees it: now, and a sleep that ends early when `signal` aborts. */
export interface Clock {
  now(): number;
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

/** Resolves after `ms`, or at once when `signal` aborts (it never rejects). */
export function abortableSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done);
  });
}

export const systemClock: Clock = { now: () => Date.now(), sleep: abortableSleep };

export interface Backoff {
  /** Delay after the first failure. */
  initialDelayMs: number;
  /** No delay is longer. */
  maxDelayMs: number;
  /** `full`: each delay a random fraction of its cap, so many clients retrying at once spread
   * out (AWS's "full jitter"). `none`: the cap itself. */
  jitter?: 'full' | 'none';
}

/** The delay before attempt `attempt + 1`, after `attempt` failures (1-based): the initial delay
 * doubled per failure, capped, jittered. */
export function backoffDelay(attempt: number, b: Backoff, random = Math.random): number {
  const cap = Math.min(b.maxDelayMs, b.initialDelayMs * 2 ** (attempt - 1));
  return b.jitter === 'full' ? random() * cap : cap;
}

export interface RetryOptions extends Backoff {
  /** Most attempts in all (default: no limit). */
  maxAttempts?: number;
  /** Give up when the next attempt would start later than this after the first (default: no
   * limit). */
  windowMs?: number;
  /** Whether an error may be retried at all (default: every one). */
  retryable?: (error: unknown) => boolean;
  /** Stops waiting and gives up with the last error. */
  signal?: AbortSignal;
  clock?: Clock;
  /** Called before each wait, with the failed attempt's number and the wait. */
  onRetry?: (error: unknown, attempt: number, delayMs: number) => void;
}

/**
 * Runs `attempt(n)` (n from 1) until it resolves; after a retryable failure it waits
 * `backoffDelay` and tries again, unless attempts or the window are used up or `signal` has
 * aborted: then the last error is thrown.
 */
export async function retry<T>(attempt: (n: number) => Promise<T>, opts: RetryOptions): Promise<T> {
  const clock = opts.clock ?? systemClock;
  const started = clock.now();
  for (let n = 1; ; n++) {
    try {
      return await attempt(n);
    } catch (e) {
      const delay = backoffDelay(n, opts);
      const giveUp =
        (opts.retryable && !opts.retryable(e)) ||
        (opts.maxAttempts !== undefined && n >= opts.maxAttempts) ||
        (opts.windowMs !== undefined && clock.now() - started + delay > opts.windowMs) ||
        opts.signal?.aborted;
      if (giveUp) throw e;
      opts.onRetry?.(e, n, delay);
      await clock.sleep(delay, opts.signal);
      if (opts.signal?.aborted) throw e;
    }
  }
}
