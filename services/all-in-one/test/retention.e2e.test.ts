import { join } from 'node:path';
import { formatMicros, nowTime, parseRfc3339 } from '@eventpipe/schema';
import { DuckDbStore } from '@eventpipe/store/adapters';
import {
  allInOneEnv,
  bannerUrl,
  startService,
  tempDuckDbPath,
  waitFor,
  type ServiceProcess,
} from '@eventpipe/testing';

// RETENTION_DAYS on `npm start` (DuckDB), as a real process: an event older than the retention
// is never read back, and the worker's sweep deletes it from the file, with a log line and a
// metric per run.

const root = join(__dirname, '..', '..', '..');
const main = join(root, 'services', 'all-in-one', 'dist', 'main.js');
const DAY_US = 86_400_000_000n;

const running: ServiceProcess[] = [];
afterEach(() => {
  for (const p of running.splice(0)) p.kill();
});

function start(dbPath: string) {
  const proc = startService(main, allInOneEnv({ LOG_LEVEL: 'info', RETENTION_DAYS: '2' }, dbPath));
  running.push(proc);
  return { proc, urlOf: (label: string) => bannerUrl(proc, label) };
}

describe('RETENTION_DAYS on npm start', () => {
  it('when an event is older than the retention, then no read returns it, and the sweep deletes it from the file', async () => {
    const dbPath = tempDuckDbPath();
    const first = start(dbPath);
    const publisher = await first.urlOf('publisher API');
    const query = await first.urlOf('query API');
    const worker = await first.urlOf('worker');
    const old = formatMicros(parseRfc3339(nowTime())! - 3n * DAY_US);
    const res = await fetch(`${publisher}/v1/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify([
        { specversion: '1.0', type: 't', source: '/ret', id: 'old-1', time: old },
        { specversion: '1.0', type: 't', source: '/ret', id: 'new-1' },
      ]),
    });
    expect(res.status).toBe(202);
    await waitFor(async () => ((await fetch(`${query}/v1/events/new-1`)).ok ? true : undefined));
    // Stored (the worker took both), and never read back.
    const metrics = await waitFor(async () => {
      const text = await (await fetch(`${worker}/metrics`)).text();
      return /eventpipe_worker_rows_total\{result="inserted"[^}]*\} 2/.test(text)
        ? text
        : undefined;
    });
    expect(metrics).toMatch(/eventpipe_retention_runs_total\{result="ok"[^}]*\} 1/);
    expect((await fetch(`${query}/v1/events/old-1`)).status).toBe(404);
    const from = encodeURIComponent(formatMicros(parseRfc3339(old)! - DAY_US));
    const page = (await (await fetch(`${query}/v1/events?source=/ret&from=${from}`)).json()) as {
      data: { id: string }[];
    };
    expect(page.data.map((e) => e.id)).toEqual(['new-1']);
    first.proc.child.kill('SIGTERM');
    expect(await first.proc.exited).toBe(0);

    // The next start sweeps at once: the old event leaves the file.
    const second = start(dbPath);
    const line = await second.proc.waitForLine(
      (l) => l.includes('retention sweep done'),
      'the sweep log line',
    );
    expect(JSON.parse(line)).toMatchObject({ deleted: 1, message: 'retention sweep done' });
    second.proc.child.kill('SIGTERM');
    expect(await second.proc.exited).toBe(0);

    const store = await DuckDbStore.open({ path: dbPath });
    await store.init();
    try {
      expect((await store.get('old-1')).length).toBe(0);
      expect((await store.get('new-1')).length).toBe(1);
    } finally {
      await store.close();
    }
  }, 60_000);
});
