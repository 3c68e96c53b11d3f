import { abortableSleep, backoffDelay, retry, type Clock } from '@eventpipe/platform';

/** A clock whose sleeps only move its time: the schedule runs without waiting. */
function fakeClock(): Clock & { slept: number[] } {
  let t = 0;
  const slept: number[] = [];
  return {
    slept,
    now: () => t,
    sleep: async (ms) => {
      slept.push(ms);
      t += ms;
    },
  };
}
const failing = (times: number, error = new Error('down')) => {
  let calls = 0;
  return async (n: number) => {
    calls += 1;
    if (calls <= times) throw error;
    return `ok after ${n}`;
  };
};

describe('retry', () => {
  it('when attempts fail, then it waits the capped doubling delay between them and returns the first success', async () => {
    const clock = fakeClock();
    await expect(retry(failing(5), { initialDelayMs: 100, maxDelayMs: 1000, clock })).resolves.toBe(
      'ok after 6',
    );
    expect(clock.slept).toEqual([100, 200, 400, 800, 1000]);
  });

  it('when the attempts or the window run out, then the last error is thrown', async () => {
    const clock = fakeClock();
    await expect(
      retry(failing(10), { initialDelayMs: 100, maxDelayMs: 1000, maxAttempts: 3, clock }),
    ).rejects.toThrow('down');
    expect(clock.slept).toEqual([100, 200]);
    const windowed = fakeClock();
    await expect(
      retry(failing(10), {
        initialDelayMs: 100,
        maxDelayMs: 1000,
        windowMs: 1000,
        clock: windowed,
      }),
    ).rejects.toThrow('down');
    expect(windowed.slept).toEqual([100, 200, 400]); // the next, 800, would end past 1000
  });

  it('when an error is not retryable, then it is thrown at once', async () => {
    const clock = fakeClock();
    const fatal = new Error('bad request');
    await expect(
      retry(failing(1, fatal), {
        initialDelayMs: 1,
        maxDelayMs: 1,
        retryable: (e) => e !== fatal,
        clock,
      }),
    ).rejects.toBe(fatal);
    expect(clock.slept).toEqual([]);
  });

  it('when the signal aborts during a wait, then it gives up with the last error', async () => {
    const stop = new AbortController();
    const started = Date.now();
    const run = retry(failing(10), {
      initialDelayMs: 60_000,
      maxDelayMs: 60_000,
      signal: stop.signal,
    });
    setTimeout(() => stop.abort(), 20);
    await expect(run).rejects.toThrow('down');
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it('when jitter is full, then each delay is a fraction of its cap', () => {
    expect(
      backoffDelay(3, { initialDelayMs: 100, maxDelayMs: 1000, jitter: 'full' }, () => 0.5),
    ).toBe(200);
    expect(backoffDelay(3, { initialDelayMs: 100, maxDelayMs: 1000 })).toBe(400);
  });

  it('when an abortable sleep is aborted, then it resolves at once', async () => {
    const stop = new AbortController();
    stop.abort();
    await expect(abortableSleep(60_000, stop.signal)).resolves.toBeUndefined();
  });
});
