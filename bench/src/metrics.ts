import { metricValue } from '@eventpipe/testing';

/** Reads one counter of a service's /metrics (summed over the series that carry `labels`);
 * `apiKey` for an API with keys, where /metrics needs the scope metrics:read. */
export async function counter(
  url: string,
  name: string,
  labels: Record<string, string> = {},
  apiKey?: string,
): Promise<number> {
  const headers: Record<string, string> = apiKey ? { Authorization: `Bearer ${apiKey}` } : {};
  const res = await fetch(`${url}/metrics`, { headers });
  if (!res.ok) throw new Error(`GET ${url}/metrics answered ${res.status}`);
  return metricValue(await res.text(), name, labels);
}

/** Samples `probe` every `intervalMs` until `done` says so; returns the samples. */
export async function sampleUntil<T>(
  probe: () => Promise<T>,
  done: (v: T) => boolean,
  opts: { intervalMs: number; timeoutMs: number; what: string },
): Promise<{ at: number; value: T }[]> {
  const samples: { at: number; value: T }[] = [];
  const deadline = Date.now() + opts.timeoutMs;
  for (;;) {
    const value = await probe();
    samples.push({ at: Date.now(), value });
    if (done(value)) return samples;
    if (Date.now() > deadline) throw new Error(`timed out: ${opts.what}`);
    await new Promise((r) => setTimeout(r, opts.intervalMs));
  }
}

/** Rate over the samples from the first that shows progress to the first that reaches `total`:
 * process start-up is left out, on both sides alike. */
export function rateOf(samples: { at: number; value: number }[], total: number): number {
  const first = samples.find((s) => s.value > 0);
  const last = samples.find((s) => s.value >= total);
  if (!first || !last || last.at === first.at) return NaN;
  return (last.value - first.value) / ((last.at - first.at) / 1000);
}
