import autocannon from 'autocannon';
import { Agent, request } from 'node:http';
import { percentile } from './harness';

export interface LoadOptions {
  url: string;
  method?: 'GET' | 'POST';
  headers?: Record<string, string>;
  body?: string;
  /** Several request shapes, taken in turn by every connection. */
  requests?: {
    method?: 'GET' | 'POST';
    path: string;
    headers?: Record<string, string>;
    body?: string;
  }[];
  connections: number;
  seconds: number;
  /** Fixed total request rate (req/s over all connections); unset: as fast as answers come. */
  rate?: number;
}

export interface LoadResult {
  requests: number;
  ok: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  rps: number;
  p50: number;
  p99: number;
  seconds: number;
}

/** One autocannon run on loopback (bounded by `seconds`). */
export async function load(o: LoadOptions): Promise<LoadResult> {
  const started = Date.now();
  const r = await autocannon({
    url: o.url,
    method: o.method ?? 'GET',
    headers: o.headers,
    body: o.body,
    connections: o.connections,
    duration: o.seconds,
    ...(o.rate ? { overallRate: Math.max(1, Math.round(o.rate)) } : {}),
    ...(o.requests ? { requests: o.requests } : {}),
  });
  const seconds = (Date.now() - started) / 1000;
  return {
    requests: r.requests.total,
    ok: r['2xx'],
    non2xx: r.non2xx,
    errors: r.errors,
    timeouts: r.timeouts,
    rps: r['2xx'] / o.seconds,
    p50: r.latency.p50,
    p99: r.latency.p99,
    seconds,
  };
}

/** Throws when a run had anything but 2xx answers: a benchmark of failures measures nothing. */
export function assertClean(what: string, r: LoadResult): void {
  if (r.non2xx || r.errors || r.timeouts || r.ok === 0) {
    throw new Error(
      `${what}: ${r.ok} 2xx, ${r.non2xx} non-2xx, ${r.errors} errors, ${r.timeouts} timeouts`,
    );
  }
}

/**
 * Requests one after another on one kept-alive socket for `seconds`, each timed with
 * performance.now() from its send to the end of its body: latency to a fraction of a
 * millisecond, as the raw queries it is compared with are timed (autocannon reports whole
 * milliseconds, so a 5.8 ms query beside a 6.4 ms page read as 1.2x).
 */
export async function sequential(o: {
  url: string;
  requests: { path: string; headers?: Record<string, string> }[];
  seconds: number;
}): Promise<LoadResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const latencies: number[] = [];
  let ok = 0;
  let non2xx = 0;
  let errors = 0;
  const started = performance.now();
  const stopAt = started + o.seconds * 1000;
  for (let i = 0; performance.now() < stopAt; i++) {
    const r = o.requests[i % o.requests.length]!;
    const t = performance.now();
    try {
      const status = await new Promise<number>((resolve, reject) => {
        const req = request(new URL(r.path, o.url), { agent, headers: r.headers }, (res) => {
          res.on('data', () => undefined);
          res.on('end', () => resolve(res.statusCode ?? 0));
          res.on('error', reject);
        });
        req.on('error', reject);
        req.end();
      });
      latencies.push(performance.now() - t);
      if (status >= 200 && status < 300) ok += 1;
      else non2xx += 1;
    } catch {
      errors += 1;
    }
  }
  agent.destroy();
  const seconds = (performance.now() - started) / 1000;
  return {
    requests: ok + non2xx + errors,
    ok,
    non2xx,
    errors,
    timeouts: 0,
    rps: ok / seconds,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    seconds,
  };
}
