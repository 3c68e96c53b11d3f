import { spawn, type ChildProcess } from 'node:child_process';
import { tempDuckDbPath } from './fixtures';
import { waitFor } from './wait';

export interface ServiceProcess {
  child: ChildProcess;
  /** SIGKILL to the process and everything in its process group (started with `group`). */
  killGroup(): void;
  /** Every stdout and stderr line so far. */
  lines(): string[];
  /** Resolves with the first line that `match` accepts. */
  waitForLine(match: (line: string) => boolean, what: string, timeoutMs?: number): Promise<string>;
  /** Resolves with the exit code (signal exits give null). */
  exited: Promise<number | null>;
  /** SIGKILL, if still running. */
  kill(): void;
}

/** Starts a built service (`node dist/main.js`) as a real process, as compose or Cloud Run would. */
export function startService(
  script: string,
  env: Record<string, string>,
  args: string[] = [],
): ServiceProcess {
  return startCommand(process.execPath, [script, ...args], env);
}

/** Starts any command as a real process. With `group`, it leads a process group of its own, so
 * `killGroup()` kills it and its children at once (as a crash of `npm start` would). With `user`
 * (when this process is root), it runs as that uid and gid, as an image's USER would. */
export function startCommand(
  command: string,
  args: string[],
  env: Record<string, string>,
  opts: { cwd?: string; group?: boolean; user?: { uid: number; gid: number } } = {},
): ServiceProcess {
  const child = spawn(command, args, {
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '/tmp',
      METADATA_SERVER_DETECTION: 'none',
      ...env,
    },
    cwd: opts.cwd,
    detached: opts.group ?? false,
    ...(opts.user ?? {}),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  let partial = '';
  const onData = (d: Buffer) => {
    const parts = (partial + d.toString()).split('\n');
    partial = parts.pop() ?? '';
    lines.push(...parts);
  };
  child.stdout?.on('data', onData);
  child.stderr?.on('data', onData);
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => resolve(code)),
  );
  return {
    child,
    lines: () => [...lines, ...(partial ? [partial] : [])],
    waitForLine: (match, what, timeoutMs = 30_000) =>
      waitFor(
        () => {
          if (child.exitCode !== null)
            throw new Error(
              `process exited (${child.exitCode}) before ${what}: ${lines.slice(-5).join(' | ')}`,
            );
          return lines.find(match);
        },
        { what, timeoutMs },
      ),
    exited,
    kill: () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    },
    killGroup: () => {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // the group is gone already
      }
    },
  };
}

/** The `url` field of the first JSON log line whose message matches. */
export async function urlFromLog(proc: ServiceProcess, message: string): Promise<string> {
  const line = await proc.waitForLine((l) => l.includes(`"message":"${message}"`), message);
  return (JSON.parse(line) as { url: string }).url;
}

/** The environment of an `npm start` process of its own: a new DuckDB file with the bus journal
 * beside it, no accepted record, free ports (never ./data, which other processes share).
 * `overrides` win. */
export function allInOneEnv(
  overrides: Record<string, string> = {},
  dbPath: string = tempDuckDbPath(),
): Record<string, string> {
  return {
    DUCKDB_PATH: dbPath,
    MEMORY_BUS_JOURNAL: `${dbPath}.journal`,
    ACCEPTED_LOG: 'off',
    PUBLISHER_PORT: '0',
    QUERY_PORT: '0',
    WORKER_PORT: '0',
    ...overrides,
  };
}

/** The URL `npm start`'s banner prints on its line that starts with `label` ('publisher API',
 * 'query API', 'worker'); a line without a `scheme` URL on it fails the test. */
export async function bannerUrl(
  proc: ServiceProcess,
  label: string,
  scheme: 'http' | 'https' = 'http',
): Promise<string> {
  const line = await proc.waitForLine(
    (l) => l.trimStart().startsWith(label),
    `banner line ${label}`,
  );
  const url = new RegExp(`${scheme}://[\\d.]+:\\d+`).exec(line)?.[0];
  if (!url) throw new Error(`banner line ${label} holds no ${scheme} URL: ${line}`);
  return url;
}
