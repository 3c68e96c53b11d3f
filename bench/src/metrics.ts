import { metricValue } from '@eventpipe/testing';

/** Reads one counter of a service's /metrics (summed over the series that carry `labels`). */
export async function counter(
  url: string,
  name: string,
  labels: Record<string, string> = {},
): Promise<number> {
  return metricValue(await (await fetch(`${url}/metrics`)).text(), name, labels);
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
