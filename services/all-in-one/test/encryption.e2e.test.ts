import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  bannerUrl,
  filesHolding,
  startCommand,
  waitFor,
  type ServiceProcess,
} from '@eventpipe/testing';

// npm start with DUCKDB_ENCRYPTION_KEY, run as the real process: after a SIGKILL, nothing in its
// data directory (DuckDB file, WAL, bus journal, accepted record, cursor key) holds an accepted
// event in clear; the key brings it back; without the key it does not start.
const root = join(__dirname, '..', '..', '..');
const main = join(root, 'services', 'all-in-one', 'dist', 'main.js');
const KEY = 'process-test-key-0123456789abcdef';

const running: ServiceProcess[] = [];
afterEach(() => {
  for (const p of running.splice(0)) p.killGroup();
});

/** The one process in a process group of its own, so killGroup() is a crash of all of it. */
function start(env: Record<string, string>): ServiceProcess {
  const proc = startCommand(process.execPath, [main], env, { group: true });
  running.push(proc);
  return proc;
}

async function urls(proc: ServiceProcess): Promise<{ publisher: string; query: string }> {
  return {
    publisher: await bannerUrl(proc, 'publisher API'),
    query: await bannerUrl(proc, 'query API'),
  };
}

const post = async (publisher: string, id: string, note: string) => {
  const res = await fetch(`${publisher}/v1/events`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ id, source: '/enc', type: 'com.example.secret', data: { note } }),
  });
  expect(res.status).toBe(202);
};

/** The event's data once the query API returns it. */
const stored = (query: string, id: string) =>
  waitFor(
    async () => {
      const res = await fetch(`${query}/v1/events/${id}?source=/enc`);
      return res.status === 200 ? ((await res.json()) as { data: unknown }).data : undefined;
    },
    { what: `event ${id} through the query API`, intervalMs: 50 },
  );

describe('npm start with DUCKDB_ENCRYPTION_KEY', () => {
  it('when it is killed with SIGKILL, then no file of its data directory holds the event, the key brings it back, and without the key it refuses to start', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'eventpipe-enc-'));
    const env = {
      DUCKDB_PATH: join(dir, 'eventpipe.duckdb'),
      MEMORY_BUS_JOURNAL: join(dir, 'memory-bus.journal'),
      ACCEPTED_LOG: join(dir, 'accepted.ndjson'),
      PUBLISHER_PORT: '0',
      QUERY_PORT: '0',
      WORKER_PORT: '0',
      LOG_LEVEL: 'info',
    };
    const marker = `process-marker-${Math.random().toString(36).slice(2)}-${Date.now()}`;

    const first = start({ ...env, DUCKDB_ENCRYPTION_KEY: KEY });
    let { publisher, query } = await urls(first);
    await post(publisher, 'stored-1', `${marker}-1`);
    expect(await stored(query, 'stored-1')).toEqual({ note: `${marker}-1` });
    // Accepted (on disk in the journal) just before the crash: stored or not yet, it must survive.
    await post(publisher, 'late-2', `${marker}-2`);
    first.killGroup();
    expect(await first.exited).toBeNull(); // died by the signal

    const files: string[] = [];
    expect(filesHolding(dir, marker, files)).toEqual([]);
    // What the crash left: the file, its WAL (never checkpointed) and the journal, all read.
    expect(existsSync(`${env.DUCKDB_PATH}.wal`)).toBe(true);
    expect(files).toEqual(
      expect.arrayContaining([
        env.DUCKDB_PATH,
        `${env.DUCKDB_PATH}.wal`,
        env.MEMORY_BUS_JOURNAL,
        env.ACCEPTED_LOG,
      ]),
    );

    const second = start({ ...env, DUCKDB_ENCRYPTION_KEY: KEY });
    ({ publisher, query } = await urls(second));
    expect(await stored(query, 'stored-1')).toEqual({ note: `${marker}-1` });
    expect(await stored(query, 'late-2')).toEqual({ note: `${marker}-2` });
    second.child.kill('SIGTERM');
    expect(await second.exited).toBe(0);
    expect(filesHolding(dir, marker)).toEqual([]);

    const keyless = start(env);
    expect(await keyless.exited).toBe(1);
    expect(keyless.lines().join('\n')).toMatch(
      /DuckDB file .*eventpipe\.duckdb is encrypted: set DUCKDB_ENCRYPTION_KEY or DUCKDB_ENCRYPTION_KEY_FILE/,
    );

    // The key is in no line any of the three printed.
    for (const p of [first, second, keyless]) {
      expect(p.lines().filter((l) => l.includes(KEY))).toEqual([]);
    }
  });
});
