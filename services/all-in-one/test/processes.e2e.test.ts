import { join } from 'node:path';
import { EventpipeClient, sseMessages, type EventInput } from '@eventpipe/client';
import { DuckDbStore } from '@eventpipe/store/adapters';
import {
  BigQueryFake,
  allInOneEnv,
  bannerUrl,
  describeWithEmulator,
  sampleEvent,
  startService,
  tempDuckDbPath,
  uniqueName,
  urlFromLog,
  waitFor,
  type ServiceProcess,
} from '@eventpipe/testing';

// These tests run the built services (`npm test` builds first) as real processes.
const root = join(__dirname, '..', '..', '..');
const main = (service: string) => join(root, 'services', service, 'dist', 'main.js');

const postJson = (url: string, body: unknown) =>
  fetch(`${url}/v1/events`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });

/** A sample event, typed as the client takes it. */
const event = (overrides: Record<string, unknown> = {}) => sampleEvent(overrides) as EventInput;

const running: ServiceProcess[] = [];
afterEach(() => {
  for (const p of running.splice(0)) p.kill();
});
const track = (p: ServiceProcess) => {
  running.push(p);
  return p;
};

describe('npm start (the one-process mode)', () => {
  it('when started on embedded defaults, then a POSTed event is readable and SIGTERM exits 0', async () => {
    const dbPath = tempDuckDbPath();
    const proc = track(
      startService(main('all-in-one'), allInOneEnv({ LOG_LEVEL: 'warn' }, dbPath)),
    );
    const publisher = await bannerUrl(proc, 'publisher API');
    const query = await bannerUrl(proc, 'query API');
    expect(proc.lines().join('\n')).toContain('curl -sS -X POST');

    // Through the typed client, as a third party would use it.
    const client = new EventpipeClient({ publisherUrl: publisher, queryUrl: query });
    const one = await client.publish(event({ id: 'start-1', source: '/npm-start' }));
    expect(one).toEqual({ accepted: 1, ids: ['start-1'] });
    const batch = await client.publish(
      [2, 3, 4].map((n) =>
        event({ id: `start-${n}`, source: '/npm-start', type: 'com.example.batch' }),
      ),
    );
    expect(batch.accepted).toBe(3);
    // How fast it shows is measured in bench/, not asserted here; here it must show at all.
    await waitFor(
      async () =>
        (await client.listPage({ source: '/npm-start' })).data.length === 4 ? true : undefined,
      { what: 'the events through the query API', intervalMs: 20 },
    );
    // Pages of 3: the iterator follows nextCursor to the end.
    const listed: string[] = [];
    for await (const e of client.list({ source: '/npm-start', pageSize: 3 })) listed.push(e.id);
    expect(listed.sort()).toEqual(['start-1', 'start-2', 'start-3', 'start-4']);
    const exported: string[] = [];
    for await (const e of client.export({ source: '/npm-start', type: 'com.example.batch' })) {
      exported.push(e.id);
    }
    expect(exported.sort()).toEqual(['start-2', 'start-3', 'start-4']);
    expect((await client.get('start-1')).source).toBe('/npm-start');
    const stats = await client.stats({ source: '/npm-start', groupBy: 'type', interval: 'day' });
    expect(stats.buckets.reduce((n, b) => n + b.count, 0)).toBe(4);
    await expect(client.get('no-such-event')).rejects.toMatchObject({
      status: 404,
      problem: { code: 'not-found' },
    });

    proc.child.kill('SIGTERM');
    expect(await proc.exited).toBe(0);
    const store = await DuckDbStore.open({ path: dbPath, readOnly: true });
    expect(await store.get('start-1')).toHaveLength(1);
    await store.close();
  });

  it.each(['production', 'Production', 'prod'])(
    'when NODE_ENV=%s and no API keys are configured, then it refuses to start',
    async (nodeEnv) => {
      const proc = track(startService(main('all-in-one'), allInOneEnv({ NODE_ENV: nodeEnv })));
      expect(await proc.exited).toBe(1);
      expect(proc.lines().join('\n')).toMatch(
        /production rules .*require API keys \(API_KEYS or API_KEYS_FILE; create one with npm run keys -- create\), or AUTH_MODE=none/,
      );
    },
  );

  it.each([
    ['npm start', 'all-in-one', { PUBLISHER_PORT: '0', QUERY_PORT: '0', WORKER_PORT: '0' }],
    ['the query API alone', 'query-api', { PORT: '0' }],
  ])(
    'when %s runs open on purpose under production rules, then it warns at start',
    async (_what, service, ports) => {
      // The query API alone opens the file read-only: it must exist.
      const dbPath = tempDuckDbPath();
      const store = await DuckDbStore.open({ path: dbPath });
      await store.init();
      await store.close();
      const proc = track(
        startService(main(service), {
          NODE_ENV: 'prod',
          AUTH_MODE: 'none',
          DUCKDB_PATH: dbPath,
          // Its own journal and accepted record: never ./data, which other processes share.
          MEMORY_BUS_JOURNAL: `${tempDuckDbPath()}.journal`,
          ACCEPTED_LOG: 'off',
          ...ports,
        }),
      );
      const warning = await proc.waitForLine(
        (l) => l.includes('AUTH_MODE=none in production'),
        'the open-in-production warning',
      );
      expect(JSON.parse(warning)).toMatchObject({ severity: 'WARNING' });
      await proc.waitForLine((l) => l.includes('query-api listening'), 'the query API listening');
      proc.child.kill('SIGTERM');
      expect(await proc.exited).toBe(0);
    },
  );

  it('when npm start restarts without CURSOR_SECRET, then a stream id from before still resumes (the key is kept beside the data)', async () => {
    // The same file (and journal) for both starts.
    const env = allInOneEnv({ LOG_LEVEL: 'warn' });
    const first = track(startService(main('all-in-one'), env));
    const url = await bannerUrl(first, 'query API');
    const abort = new AbortController();
    const res = await fetch(`${url}/v1/events/stream`, {
      headers: { Accept: 'text/event-stream' },
      signal: abort.signal,
    });
    let startId: string | undefined;
    for await (const m of sseMessages(res)) {
      startId = m.id;
      if (startId) break;
    }
    abort.abort();
    first.child.kill('SIGTERM');
    expect(await first.exited).toBe(0);
    const second = track(startService(main('all-in-one'), env));
    const again = new AbortController();
    const resumed = await fetch(`${await bannerUrl(second, 'query API')}/v1/events/stream`, {
      headers: { Accept: 'text/event-stream', 'Last-Event-ID': startId! },
      signal: again.signal,
    });
    again.abort();
    expect(resumed.status).toBe(200);
  });

  it('when a key made by `npm run keys -- create` is configured, then requests need it', async () => {
    const cli = track(
      startService(join(root, 'packages', 'platform', 'dist', 'keys-cli.js'), {}, [
        'create',
        '--name',
        'partner-a',
        '--scope',
        'events:read',
        '--scope',
        'events:write',
      ]),
    );
    expect(await cli.exited).toBe(0);
    const out = cli.lines();
    const key = out[out.indexOf(out.find((l) => l.startsWith('key (shown once'))!) + 1]!.trim();
    const entry = out.find((l) => l.trim().startsWith('{"name"'))!.trim();
    expect(key).toMatch(/^ep_[A-Za-z0-9_-]{43}$/);
    const proc = track(
      startService(main('all-in-one'), allInOneEnv({ API_KEYS: `[${entry}]`, LOG_LEVEL: 'warn' })),
    );
    const publisher = await bannerUrl(proc, 'publisher API');
    expect(proc.lines().join('\n')).toContain('AUTH: API keys required (1 configured)');
    expect((await postJson(publisher, sampleEvent())).status).toBe(401);
    const keyless = new EventpipeClient({ publisherUrl: publisher });
    await expect(keyless.publish(event())).rejects.toMatchObject({
      status: 401,
      problem: { code: 'unauthenticated' },
    });
    const keyed = new EventpipeClient({ publisherUrl: publisher, apiKey: key });
    expect((await keyed.publish(event())).accepted).toBe(1);
    proc.child.kill('SIGTERM');
    expect(await proc.exited).toBe(0);
  });

  it('when variables are invalid, then it exits non-zero naming every bad variable with its description', async () => {
    const proc = track(
      startService(main('all-in-one'), {
        BUS: 'kafka',
        BATCH_MAX_ROWS: '0',
        PUBLISHER_PORT: 'http',
      }),
    );
    expect(await proc.exited).toBe(78);
    const out = proc.lines().join('\n');
    expect(out).toContain('invalid configuration');
    expect(out).toMatch(/BUS="kafka": .*\(Event bus adapter/);
    expect(out).toMatch(/BATCH_MAX_ROWS="0": .*\(Most rows per store insert\)/);
    expect(out).toMatch(/PUBLISHER_PORT="http": .*\(Publisher API port\)/);
  });
});

describeWithEmulator('each service alone, as compose and Cloud Run run them', (host) => {
  it('when publisher and worker run as separate processes on the emulator, then events land in DuckDB and the query API reads them after the worker stops', async () => {
    const base = uniqueName('alone');
    const dbPath = tempDuckDbPath();
    const pubsub = {
      PUBSUB_EMULATOR_HOST: host,
      GOOGLE_CLOUD_PROJECT: 'eventpipe-alone',
      PUBSUB_TOPIC: `${base}-t`,
      PUBSUB_SUBSCRIPTION: `${base}-s`,
      PUBSUB_DLQ_TOPIC: `${base}-dlq`,
      PUBSUB_DLQ_SUBSCRIPTION: `${base}-dlq-s`,
    };
    const publisher = track(
      startService(main('publisher-api'), { ...pubsub, PORT: '0', HOST: '127.0.0.1' }),
    );
    const worker = track(
      startService(main('subscriber-worker'), {
        ...pubsub,
        PORT: '0',
        HOST: '127.0.0.1',
        DUCKDB_PATH: dbPath,
        // Its own journal and accepted record: never ./data, which other processes share.
        MEMORY_BUS_JOURNAL: `${tempDuckDbPath()}.journal`,
        ACCEPTED_LOG: 'off',
        BATCH_MAX_WAIT_MS: '100',
      }),
    );
    const publisherUrl = await urlFromLog(publisher, 'publisher-api listening');
    const workerUrl = await urlFromLog(worker, 'subscriber-worker running');

    const events = Array.from({ length: 50 }, (_, i) =>
      sampleEvent({ id: `alone-${i}`, source: '/alone' }),
    );
    expect((await postJson(publisherUrl, events)).status).toBe(202);
    await waitFor(
      async () => {
        const text = await (await fetch(`${workerUrl}/metrics`)).text();
        return /eventpipe_worker_rows_total\{result="inserted",service="subscriber-worker"\} 50/.test(
          text,
        )
          ? true
          : undefined;
      },
      { what: '50 rows inserted by the worker process' },
    );

    // DuckDB admits one writing process: the query API cannot open the file while the worker runs.
    const blocked = track(startService(main('query-api'), { PORT: '0', DUCKDB_PATH: dbPath }));
    expect(await blocked.exited).toBe(1);
    expect(blocked.lines().join('\n')).toMatch(
      /held by another process.*npm start.*STORE=bigquery/,
    );

    publisher.child.kill('SIGTERM');
    worker.child.kill('SIGTERM');
    expect(await publisher.exited).toBe(0);
    expect(await worker.exited).toBe(0);

    const query = track(
      startService(main('query-api'), { PORT: '0', HOST: '127.0.0.1', DUCKDB_PATH: dbPath }),
    );
    const queryUrl = await urlFromLog(query, 'query-api listening');
    const body = (await (await fetch(`${queryUrl}/v1/events?source=/alone&limit=100`)).json()) as {
      data: { id: string }[];
    };
    expect(body.data.map((e) => e.id).sort()).toEqual(events.map((e) => e.id as string).sort());
    query.child.kill('SIGTERM');
    expect(await query.exited).toBe(0);
  });

  it('when publisher, worker and query API run as separate processes on STORE=bigquery, then the query API reads while the worker writes', async () => {
    const bigquery = await BigQueryFake.start();
    try {
      const base = uniqueName('bq');
      const shared = {
        PUBSUB_EMULATOR_HOST: host,
        BIGQUERY_EMULATOR_HOST: bigquery.endpoint,
        GOOGLE_CLOUD_PROJECT: 'eventpipe-bq',
        BIGQUERY_DATASET: base.replaceAll('-', '_'),
        PUBSUB_TOPIC: `${base}-t`,
        PUBSUB_SUBSCRIPTION: `${base}-s`,
        PUBSUB_DLQ_TOPIC: `${base}-dlq`,
        PUBSUB_DLQ_SUBSCRIPTION: `${base}-dlq-s`,
        STORE: 'bigquery',
        HOST: '127.0.0.1',
        PORT: '0',
      };
      const publisher = track(startService(main('publisher-api'), shared));
      const worker = track(
        startService(main('subscriber-worker'), { ...shared, BATCH_MAX_WAIT_MS: '100' }),
      );
      const publisherUrl = await urlFromLog(publisher, 'publisher-api listening');
      await urlFromLog(worker, 'subscriber-worker running'); // the table exists once the worker runs
      const query = track(
        startService(main('query-api'), { ...shared, CURSOR_SECRET: 'bq-process-test-secret' }),
      );
      const queryUrl = await urlFromLog(query, 'query-api listening');

      const events = Array.from({ length: 30 }, (_, i) =>
        sampleEvent({ id: `bq-${i}`, source: '/bq' }),
      );
      expect((await postJson(publisherUrl, events)).status).toBe(202);
      const ids = await waitFor(
        async () => {
          const body = (await (
            await fetch(`${queryUrl}/v1/events?source=/bq&limit=100`)
          ).json()) as { data: { id: string }[] };
          return body.data.length === 30 ? body.data.map((e) => e.id) : undefined;
        },
        { what: '30 events through the query API process' },
      );
      expect(ids.sort()).toEqual(events.map((e) => e.id as string).sort());
      const stats = (await (
        await fetch(`${queryUrl}/v1/stats?source=/bq&interval=day`)
      ).json()) as { buckets: { count: number }[] };
      expect(stats.buckets.reduce((n, b) => n + b.count, 0)).toBe(30);
      for (const p of [publisher, worker, query]) p.child.kill('SIGTERM');
      expect(await Promise.all([publisher.exited, worker.exited, query.exited])).toEqual([0, 0, 0]);
    } finally {
      await bigquery.stop();
    }
  });
});
