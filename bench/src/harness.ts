import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { openSync, closeSync, readFileSync } from 'node:fs';
import { cpus, totalmem, platform, release } from 'node:os';
import { join } from 'node:path';
import { hashKey } from '@eventpipe/platform';
import { freePort } from '@eventpipe/testing';

/** One measured figure, with the reference measured in the same run where the goal has one. */
export interface Figure {
  /** What is measured, e.g. "events/s" or "p99 latency". */
  metric: string;
  unit: string;
  value: number;
  reference?: { what: string; value: number };
  /** value / reference.value. */
  ratio?: number;
  /** The goal in words, e.g. "≥ 0.8× reference". */
  goal: string;
  /** Whether the goal was met; null for figures given for information. */
  met: boolean | null;
}

export interface BenchOutcome {
  figures: Figure[];
  /** Sizes, durations and anything a reader needs to repeat or judge the run. */
  params: Record<string, string | number>;
  notes: string[];
}

export interface BenchResult extends BenchOutcome {
  name: string;
  what: string;
  date: string;
  smoke: boolean;
  seconds: number;
  machine: MachineInfo;
}

export interface MachineInfo {
  cpu: string;
  cores: number;
  memoryGiB: number;
  os: string;
  node: string;
}

export interface Bench {
  name: string;
  what: string;
  run(ctx: BenchContext): Promise<BenchOutcome>;
}

/** What every benchmark gets from the harness. */
export interface BenchContext {
  /** A seconds-long run that checks the harness works; its figures mean nothing. */
  smoke: boolean;
  /** host:port of the Pub/Sub emulator the harness started. */
  emulatorHost: string;
  /** Scratch directory of this run (DuckDB files, service logs). */
  workDir: string;
  /** The DuckDB file of generated events for the query benchmarks (made on first use). */
  dataset(): Promise<{ path: string; rows: number; from: string; to: string; types: string[] }>;
  /** The full-size value, or the smoke one. */
  size<T>(full: T, smoke: T): T;
  log(message: string): void;
  /** Services run as in production: API keys required, limits raised for this one key. */
  apiKey: string;
  /** A read key limited to TENANT_SOURCES (its rate limit raised too). */
  tenantKey: string;
  serviceEnv(extra: Record<string, string>): Record<string, string>;
  /** Starts a built service (`node <script>`) with its logs in workDir; killed at the end. */
  startProcess(
    name: string,
    script: string,
    env: Record<string, string>,
    portVar?: string,
  ): Promise<Running>;
}

export interface Running {
  url: string;
  child: ChildProcess;
  /** Resident set size in bytes (Linux /proc). */
  rss(): number;
  /** SIGTERM, then waits for the exit. */
  stop(): Promise<void>;
}

export function machineInfo(): MachineInfo {
  const cpu = cpus();
  return {
    cpu: cpu[0]?.model.trim() ?? 'unknown',
    cores: cpu.length,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    os: `${platform()} ${release()}`,
    node: process.version,
  };
}

/** What the image sets as NODE_OPTIONS (Dockerfile): a young generation of 32 MB semi-spaces,
 * so short-lived request garbage is swept less often (ingest-batch 0.57× → 0.70×). */
export const SERVICE_NODE_OPTIONS = '--max-semi-space-size=32';

/** The sources a tenant's read key may see: 5 of the dataset's 50 (query-page). */
export const TENANT_SOURCES = ['/shops/3', '/shops/14', '/shops/25', '/shops/36', '/shops/47'];

export function newApiKey(): { key: string; tenantKey: string; env: Record<string, string> } {
  const key = `bench_${randomBytes(24).toString('base64url')}`;
  const tenantKey = `bench_${randomBytes(24).toString('base64url')}`;
  const keys = [
    {
      name: 'bench',
      scopes: ['events:write', 'events:read', 'metrics:read'],
      sha256: hashKey(key),
    },
    {
      name: 'bench-tenant',
      scopes: ['events:read'],
      sources: TENANT_SOURCES,
      sha256: hashKey(tenantKey),
    },
  ];
  return {
    key,
    tenantKey,
    env: {
      NODE_ENV: 'production',
      // The V8 flags the image runs every service with (Dockerfile, ENV NODE_OPTIONS).
      NODE_OPTIONS: process.env.BENCH_NODE_OPTIONS ?? SERVICE_NODE_OPTIONS,
      API_KEYS: JSON.stringify(keys),
      // Production limits stay switched on (their cost is measured) but sized for the bench key.
      RATE_LIMIT_WRITE: '10000000',
      RATE_LIMIT_READ: '10000000',
    },
  };
}

export function rssOf(pid: number | undefined): number {
  if (pid === undefined) return 0;
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = /VmRSS:\s+(\d+) kB/.exec(status)?.[1];
    return kb ? Number(kb) * 1024 : 0;
  } catch {
    return 0;
  }
}

/** Starts `node script` with stdout and stderr going to a log file, on a free loopback port,
 * and waits until its /healthz answers. */
export async function startProcess(
  workDir: string,
  name: string,
  script: string,
  env: Record<string, string>,
  track: (r: Running) => void,
  portVar = 'PORT',
  profileDir?: string,
): Promise<Running> {
  const port = env[portVar] ?? String(await freePort());
  const logPath = join(workDir, `${name}-${Date.now()}.log`);
  const fd = openSync(logPath, 'a');
  const nodeArgs = profileDir
    ? [
        '--cpu-prof',
        `--cpu-prof-dir=${profileDir}`,
        `--cpu-prof-name=${name}-${Date.now()}.cpuprofile`,
      ]
    : [];
  const child = spawn(process.execPath, [...nodeArgs, script], {
    env: {
      PATH: process.env.PATH ?? '',
      METADATA_SERVER_DETECTION: 'none',
      HOST: '127.0.0.1',
      ...env,
      [portVar]: port,
    },
    stdio: ['ignore', fd, fd],
  });
  closeSync(fd);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = `http://127.0.0.1:${port}`;
  const running: Running = {
    url,
    child,
    rss: () => rssOf(child.pid),
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
  track(running);
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) {
      const tail = readFileSync(logPath, 'utf8').split('\n').slice(-5).join(' | ');
      throw new Error(`${name} exited with ${child.exitCode}: ${tail}`);
    }
    const res = await fetch(`${url}/healthz`).catch(() => undefined);
    if (res?.ok) break;
    if (Date.now() > deadline) throw new Error(`${name} did not answer on ${url} within 60 s`);
    await sleep(50);
  }
  return running;
}

/** Nearest-rank percentile of unsorted numbers. */
export function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))]!;
}

export const round = (v: number, digits = 2): number => {
  const f = 10 ** digits;
  return Math.round(v * f) / f;
};

/** A figure whose goal is `value / reference ≥ min` (or ≤ max). */
export function ratioFigure(
  metric: string,
  unit: string,
  value: number,
  reference: { what: string; value: number },
  bound: { min?: number; max?: number },
): Figure {
  const ratio = reference.value > 0 ? value / reference.value : NaN;
  const parts: string[] = [];
  let met = Number.isFinite(ratio);
  if (bound.min !== undefined) {
    parts.push(`≥ ${bound.min}× reference`);
    met &&= ratio >= bound.min;
  }
  if (bound.max !== undefined) {
    parts.push(`≤ ${bound.max}× reference`);
    met &&= ratio <= bound.max;
  }
  return {
    metric,
    unit,
    value: round(value),
    reference: { what: reference.what, value: round(reference.value) },
    ratio: round(ratio, 3),
    goal: parts.join(' and '),
    met,
  };
}

/** A figure with an absolute bound (no reference). */
export function limitFigure(
  metric: string,
  unit: string,
  value: number,
  bound: { below?: number; atMost?: number },
): Figure {
  if (bound.below !== undefined) {
    return {
      metric,
      unit,
      value: round(value),
      goal: `< ${bound.below} ${unit}`,
      met: value < bound.below,
    };
  }
  if (bound.atMost !== undefined) {
    return {
      metric,
      unit,
      value: round(value),
      goal: `≤ ${bound.atMost} ${unit}`,
      met: value <= bound.atMost,
    };
  }
  return { metric, unit, value: round(value), goal: '—', met: null };
}

/** A figure given for information beside the ones with goals. */
export const infoFigure = (
  metric: string,
  unit: string,
  value: number,
  reference?: { what: string; value: number },
): Figure => ({
  metric,
  unit,
  value: round(value),
  ...(reference
    ? {
        reference: { what: reference.what, value: round(reference.value) },
        ratio: round(value / reference.value, 3),
      }
    : {}),
  goal: '—',
  met: null,
});

/** The built entry point of a service: services/<name>/dist/main.js. */
export const serviceMain = (service: string): string =>
  join(__dirname, '..', '..', 'services', service, 'dist', 'main.js');

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
