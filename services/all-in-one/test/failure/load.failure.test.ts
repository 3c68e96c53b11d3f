import autocannon from 'autocannon';
import { allInOneEnv, bannerUrl, waitFor } from '@eventpipe/testing';
import { killAll, start } from './harness';

afterEach(killAll);

// Bounded: LOAD_SECONDS (default 60) of load from 8 connections, on loopback only.
const seconds = Number(process.env.LOAD_SECONDS ?? 60);
const EVENTS_PER_REQUEST = 10;

describe('failure: a bounded load run on the local stack', () => {
  it(`when ${seconds} s of batch POSTs hit npm start's stack, then no 5xx, no error and no event lost`, async () => {
    const proc = start(
      'all-in-one',
      allInOneEnv({
        LOG_LEVEL: 'warn',
        HOST: '127.0.0.1',
        // One client IP sends all of it: the per-IP ingest limit would answer 429.
        RATE_LIMIT_WRITE: '0',
      }),
    );
    const publisher = await bannerUrl(proc, 'publisher API');
    const query = await bannerUrl(proc, 'query API');
    // HOST=127.0.0.1: the banner names the loopback address it listens on.
    for (const url of [publisher, query]) expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const source = `/load/${Date.now()}`;
    const body = JSON.stringify(
      Array.from({ length: EVENTS_PER_REQUEST }, (_, i) => ({
        type: 'com.example.load',
        source,
        data: { i },
      })),
    );
    const result = await autocannon({
      url: `${publisher}/v1/events`,
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
      connections: 8,
      duration: seconds,
    });
    const acceptedByClient = result['2xx'] * EVENTS_PER_REQUEST;
    process.stderr.write(
      `load: ${result.requests.total} requests, ${result.requests.average} req/s, p99 ${result.latency.p99} ms, ` +
        `2xx ${result['2xx']}, non-2xx ${result.non2xx}, errors ${result.errors}, timeouts ${result.timeouts}\n`,
    );
    expect(result['5xx']).toBe(0);
    expect(result.non2xx).toBe(0);
    expect(result.errors).toBe(0);
    expect(result.timeouts).toBe(0);
    expect(result['2xx']).toBeGreaterThan(0);

    // Zero loss. The publisher's own count of events it answered 202 for is exact, once the
    // requests still in flight when autocannon stopped (at most one per connection) have been
    // answered: the client never read those 202s, and the server may count them a moment after
    // autocannon returns. So both counts are read until they agree twice in a row.
    const acceptedNow = async () => {
      const text = await (await fetch(`${publisher}/metrics`)).text();
      return Number(
        /eventpipe_publisher_events_total\{outcome="accepted",service="publisher-api"\} (\d+)/.exec(
          text,
        )?.[1] ?? -1,
      );
    };
    const storedNow = async () => {
      const res = await fetch(
        `${query}/v1/stats?source=${encodeURIComponent(source)}&interval=day`,
      );
      const stats = (await res.json()) as { buckets: { count: number }[] };
      return stats.buckets.reduce((n, b) => n + b.count, 0);
    };
    let accepted = -1;
    let stored = -1;
    let agreedOnce = false;
    await waitFor(
      async () => {
        accepted = await acceptedNow();
        stored = await storedNow();
        const agreed = stored === accepted;
        const done = agreed && agreedOnce;
        agreedOnce = agreed;
        return done ? true : undefined;
      },
      { what: 'stored events to equal accepted ones', timeoutMs: 300_000, intervalMs: 1000 },
    ).catch((e: Error) => {
      throw new Error(`${e.message}: accepted ${accepted}, stored ${stored}`);
    });
    expect(stored).toBe(accepted);
    expect(accepted).toBeGreaterThanOrEqual(acceptedByClient);
    expect(accepted - acceptedByClient).toBeLessThanOrEqual(8 * EVENTS_PER_REQUEST);
    proc.child.kill('SIGTERM');
    expect(await proc.exited).toBe(0);
  }, 480_000);
});
