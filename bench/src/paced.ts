import { Agent, request } from 'node:http';
import { percentile } from './harness';

export interface PacedOptions {
  url: string;
  method: 'GET' | 'POST';
  headers: Record<string, string>;
  /** The body of request number i. */
  body?: (i: number) => string;
  /** Requests per second, sent at evenly spaced instants whatever the answers do. */
  rate: number;
  seconds: number;
  /** Open sockets (keep-alive); requests beyond wait for one. */
  sockets?: number;
  /** Past this many unanswered requests the target is not keeping up; the rest are skipped. */
  maxInFlight?: number;
}

export interface PacedResult {
  sent: number;
  ok: number;
  non2xx: number;
  errors: number;
  /** Requests not sent because maxInFlight were unanswered: the rate was not sustained. */
  skipped: number;
  /** Latency in ms from the instant a request was due (not when it left): queueing counts. */
  p50: number;
  p99: number;
  achievedRate: number;
}

/**
 * An open-loop load generator: request i is due at start + i / rate and is sent then, whether or
 * not earlier ones were answered, so latency includes any queueing the server causes.
 * (autocannon's fixed-rate mode lets each connection send its whole per-second quota back to back
 * at the start of every second, so its latency at "half load" is that of a saturated server.)
 */
export async function paced(o: PacedOptions): Promise<PacedResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: o.sockets ?? 64 });
  const target = new URL(o.url);
  const total = Math.round(o.rate * o.seconds);
  const maxInFlight = o.maxInFlight ?? 1000;
  const latencies: number[] = [];
  let ok = 0;
  let non2xx = 0;
  let errors = 0;
  let skipped = 0;
  let inFlight = 0;
  let next = 0;
  const start = performance.now();
  await new Promise<void>((resolve) => {
    const finishIfDone = () => {
      if (next >= total && inFlight === 0) resolve();
    };
    const send = (i: number, due: number) => {
      inFlight += 1;
      const body = o.body?.(i);
      const req = request(
        {
          agent,
          host: target.hostname,
          port: target.port,
          path: `${target.pathname}${target.search}`,
          method: o.method,
          headers: {
            ...o.headers,
            ...(body !== undefined ? { 'content-length': Buffer.byteLength(body) } : {}),
          },
        },
        (res) => {
          res.resume();
          res.on('end', () => {
            latencies.push(performance.now() - due);
            if (res.statusCode !== undefined && res.statusCode < 300) ok += 1;
            else non2xx += 1;
            inFlight -= 1;
            finishIfDone();
          });
        },
      );
      req.on('error', () => {
        errors += 1;
        inFlight -= 1;
        finishIfDone();
      });
      req.end(body);
    };
    const tick = () => {
      const now = performance.now();
      while (next < total) {
        const due = start + (next * 1000) / o.rate;
        if (due > now) break;
        if (inFlight >= maxInFlight) skipped += 1;
        else send(next, due);
        next += 1;
      }
      if (next < total) setTimeout(tick, 1);
      else finishIfDone();
    };
    tick();
  });
  const seconds = (performance.now() - start) / 1000;
  agent.destroy();
  return {
    sent: total - skipped,
    ok,
    non2xx,
    errors,
    skipped,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    achievedRate: ok / seconds,
  };
}
