import autocannon from 'autocannon';

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
