import type { EventEmitter } from 'node:events';

/** Polls `probe` until it returns a value that is not undefined, or fails at the deadline with
 * the last value seen. For observable outcomes only; never a fixed sleep. */
export async function waitFor<T>(
  probe: () => Promise<T | undefined> | T | undefined,
  opts: { timeoutMs?: number; intervalMs?: number; what?: string } = {},
): Promise<T> {
  const deadline = Date.now() + (opts.timeoutMs ?? 15_000);
  let lastError: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch (e) {
      lastError = e;
    }
    if (Date.now() > deadline) {
      throw new Error(
        `timed out waiting for ${opts.what ?? 'condition'}${lastError ? `: ${String(lastError)}` : ''}`,
      );
    }
    await new Promise((r) => setTimeout(r, opts.intervalMs ?? 50));
  }
}

/** Resolves once `emitter` has emitted `event` with counts adding up to `total` (the first
 * argument of each emission is its count, as the worker's 'acked' event has). */
export function waitForCount(
  emitter: EventEmitter,
  event: string,
  total: number,
  timeoutMs = 20_000,
): Promise<void> {
  return new Promise((resolve, reject) => {
    let seen = 0;
    const timer = setTimeout(() => {
      emitter.off(event, on);
      reject(new Error(`timed out waiting for ${total} '${event}' (saw ${seen})`));
    }, timeoutMs);
    const on = (n: number) => {
      seen += typeof n === 'number' ? n : 1;
      if (seen >= total) {
        clearTimeout(timer);
        emitter.off(event, on);
        resolve();
      }
    };
    emitter.on(event, on);
  });
}
