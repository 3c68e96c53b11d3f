import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { join } from 'node:path';

export type EmulatorSource = 'env' | 'gcloud' | 'testcontainers';

export interface RunningEmulator {
  /** host:port, the form PUBSUB_EMULATOR_HOST takes. */
  host: string;
  source: EmulatorSource;
  stop(): Promise<void>;
}

export type EmulatorResult =
  { ok: true; emulator: RunningEmulator } | { ok: false; reason: string };

/** A free loopback TCP port (the OS picks; a race with another process is possible but rare). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

function canConnect(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    socket.setTimeout(1000);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
    socket.once('timeout', () => {
      socket.destroy();
      resolve(false);
    });
  });
}

/** Where the Google Cloud CLI keeps its emulator launcher, or undefined. */
export function findGcloudEmulator(): string | undefined {
  const roots = [
    '/usr/lib/google-cloud-sdk',
    '/usr/share/google-cloud-sdk',
    '/opt/google-cloud-sdk',
  ];
  try {
    const root = execFileSync('gcloud', ['info', '--format=value(installation.sdk_root)'], {
      encoding: 'utf8',
      timeout: 30_000,
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
    if (root) roots.unshift(root);
  } catch {
    // no gcloud on PATH: try the usual install folders
  }
  for (const root of roots) {
    const bin = join(root, 'platform', 'pubsub-emulator', 'bin', 'cloud-pubsub-emulator');
    if (existsSync(bin)) return bin;
  }
  return undefined;
}

async function waitUntilServing(
  port: number,
  child: ChildProcess,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`emulator exited with code ${child.exitCode}`);
    if (await canConnect('127.0.0.1', port)) {
      const res = await fetch(`http://127.0.0.1:${port}/`).catch(() => undefined);
      if (res?.ok) return;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`emulator did not answer on port ${port} within ${timeoutMs} ms`);
}

/** Spawns the emulator installed with the Google Cloud CLI on a free loopback port. */
export async function spawnGcloudEmulator(
  bin: string,
  timeoutMs = 60_000,
  fixedPort?: number,
): Promise<RunningEmulator> {
  const port = fixedPort ?? (await freePort());
  const child = spawn(bin, ['--host=127.0.0.1', `--port=${port}`], {
    stdio: ['ignore', 'ignore', 'pipe'],
    detached: true, // its own process group, so stop() also ends the JVM the script starts
  });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-4000);
  });
  try {
    await waitUntilServing(port, child, timeoutMs);
  } catch (e) {
    killGroup(child);
    throw new Error(`${(e as Error).message}\n${stderr}`);
  }
  child.stderr?.removeAllListeners('data');
  child.stderr?.resume();
  return {
    host: `127.0.0.1:${port}`,
    source: 'gcloud',
    stop: async () => {
      killGroup(child);
      await new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) resolve();
        else child.once('exit', () => resolve());
      });
    },
  };
}

function killGroup(child: ChildProcess): void {
  try {
    if (child.pid) process.kill(-child.pid, 'SIGKILL');
  } catch {
    child.kill('SIGKILL');
  }
}

const TESTCONTAINERS_IMAGE = 'gcr.io/google.com/cloudsdktool/google-cloud-cli:528.0.0-emulators';

/* eslint-disable @typescript-eslint/no-require-imports */
async function startWithTestcontainers(): Promise<RunningEmulator> {
  // require, not import(): jest's module sandbox refuses dynamic import() without VM flags.
  const tc = require('testcontainers') as typeof import('testcontainers');
  await tc.getContainerRuntimeClient(); // throws when no Docker (or compatible) runtime answers
  const { PubSubEmulatorContainer } =
    require('@testcontainers/gcloud') as typeof import('@testcontainers/gcloud');
  const container = await new PubSubEmulatorContainer(TESTCONTAINERS_IMAGE).start();
  return {
    host: container.getEmulatorEndpoint(),
    source: 'testcontainers',
    stop: async () => {
      await container.stop();
    },
  };
}

/** Project id the goccy BigQuery emulator container is started with (it serves one project). */
export const BIGQUERY_EMULATOR_PROJECT = 'eventpipe-test';
const BIGQUERY_EMULATOR_IMAGE = 'ghcr.io/goccy/bigquery-emulator:0.6.1';

/** Starts goccy/bigquery-emulator with testcontainers when a Docker runtime answers; otherwise
 * says why not. The suites then run against it beside the REST fake. */
export async function startBigQueryEmulator(): Promise<
  { ok: true; endpoint: string; stop(): Promise<void> } | { ok: false; reason: string }
> {
  try {
    const tc = require('testcontainers') as typeof import('testcontainers');
    await tc.getContainerRuntimeClient();
    const { BigQueryEmulatorContainer } =
      require('@testcontainers/gcloud') as typeof import('@testcontainers/gcloud');
    const container = await new BigQueryEmulatorContainer(BIGQUERY_EMULATOR_IMAGE)
      .withProjectId(BIGQUERY_EMULATOR_PROJECT)
      .start();
    return {
      ok: true,
      endpoint: container.getEmulatorEndpoint(),
      stop: async () => void (await container.stop()),
    };
  } catch (e) {
    return { ok: false, reason: (e as Error).message.split('\n')[0] ?? 'unknown' };
  }
}
/* eslint-enable @typescript-eslint/no-require-imports */

/**
 * Finds a Pub/Sub emulator for the integration tests, in this order: PUBSUB_EMULATOR_HOST if set;
 * the one installed with the Google Cloud CLI, spawned on a free port; a testcontainers
 * PubSubEmulatorContainer when Docker answers. Otherwise says why none could be had.
 */
export async function ensurePubSubEmulator(
  env: Record<string, string | undefined>,
): Promise<EmulatorResult> {
  const given = env.PUBSUB_EMULATOR_HOST;
  if (given) {
    const [host, port] = given.split(':');
    if (!(await canConnect(host ?? '127.0.0.1', Number(port)))) {
      return { ok: false, reason: `PUBSUB_EMULATOR_HOST=${given} does not accept connections` };
    }
    return { ok: true, emulator: { host: given, source: 'env', stop: async () => {} } };
  }
  const reasons: string[] = [];
  const bin = findGcloudEmulator();
  if (bin) {
    try {
      return { ok: true, emulator: await spawnGcloudEmulator(bin) };
    } catch (e) {
      reasons.push(`gcloud emulator at ${bin} failed: ${(e as Error).message}`);
    }
  } else {
    reasons.push('no Google Cloud CLI pubsub-emulator component found');
  }
  try {
    return { ok: true, emulator: await startWithTestcontainers() };
  } catch (e) {
    reasons.push(`testcontainers: ${(e as Error).message.split('\n')[0]}`);
  }
  return { ok: false, reason: reasons.join('; ') };
}
