import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import { parse } from 'yaml';
import { MemoryBus } from '@eventpipe/bus/adapters';
import { DuckDbStore } from '@eventpipe/store/adapters';
import {
  freePort,
  sampleEvent,
  startService,
  waitFor,
  type ServiceProcess,
} from '@eventpipe/testing';
import { testStack } from '../../services/all-in-one/test/stack-fixture';

/** Monitoring as code (deploy/): the names the rules and the dashboard use are the names the
 * services export; the dashboard and its provisioning hold together; a real Prometheus scrapes
 * the stack with the shipped config and rules. */
const root = join(__dirname, '..', '..');
const deploy = join(root, 'deploy');
const rulesText = readFileSync(join(deploy, 'prometheus', 'rules', 'eventpipe.rules.yml'), 'utf8');
const rules = parse(rulesText) as {
  groups: { name: string; rules: { record?: string; alert?: string; expr: string }[] }[];
};
const dashboardText = readFileSync(join(deploy, 'grafana', 'dashboards', 'eventpipe.json'), 'utf8');
const NAME = /\b(eventpipe_[a-z0-9_]+|eventpipe:[a-z0-9_:]+)\b/g;
const namesIn = (text: string) => new Set([...text.matchAll(NAME)].map((m) => m[1]!));
const recorded = new Set(rules.groups.flatMap((g) => g.rules.map((r) => r.record ?? '')));

/** name → type, from the `# TYPE` lines of every service's /metrics (present even before a
 * labelled series has its first sample). */
async function exportedMetrics(): Promise<Map<string, string>> {
  const store = await DuckDbStore.open({ path: ':memory:' });
  await store.init();
  const stack = testStack({ bus: new MemoryBus({ maxDeliveryAttempts: 5 }), store });
  const types = new Map<string, string>();
  for (const app of [stack.publisher, stack.query, stack.worker.app]) {
    const text = (await request(app).get('/metrics')).text;
    for (const m of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) types.set(m[1]!, m[2]!);
  }
  await store.close();
  return types;
}

function unknownNames(used: Set<string>, exported: Map<string, string>): string[] {
  return [...used].filter((name) => {
    if (name.includes(':')) return !recorded.has(name);
    if (exported.has(name)) return false;
    const base = name.replace(/_(bucket|count|sum)$/, '');
    return exported.get(base) !== 'histogram';
  });
}

describe('monitoring as code', () => {
  let exported: Map<string, string>;
  beforeAll(async () => {
    exported = await exportedMetrics();
  });

  it('when the rules name a metric, then a service exports it (or a rule records it)', () => {
    const used = namesIn(rulesText);
    expect(used.size).toBeGreaterThan(8);
    expect(unknownNames(used, exported)).toEqual([]);
  });

  it('when the dashboard names a metric, then a service exports it (or a rule records it)', () => {
    const used = namesIn(dashboardText);
    expect(used.size).toBeGreaterThan(10);
    expect(unknownNames(used, exported)).toEqual([]);
  });

  it('when a name is misspelt, then the check says so', () => {
    expect(
      unknownNames(
        new Set(['eventpipe_worker_mesages_total', 'eventpipe:nope:rate5m', 'eventpipe_up_bucket']),
        exported,
      ),
    ).toEqual(['eventpipe_worker_mesages_total', 'eventpipe:nope:rate5m', 'eventpipe_up_bucket']);
  });

  it('when Grafana provisions the dashboard, then datasource, provider path and panels agree', () => {
    const datasources = parse(
      readFileSync(
        join(deploy, 'grafana', 'provisioning', 'datasources', 'prometheus.yml'),
        'utf8',
      ),
    ) as { apiVersion: number; datasources: { uid: string; type: string; url: string }[] };
    const providers = parse(
      readFileSync(join(deploy, 'grafana', 'provisioning', 'dashboards', 'eventpipe.yml'), 'utf8'),
    ) as { apiVersion: number; providers: { type: string; options: { path: string } }[] };
    expect(datasources.apiVersion).toBe(1);
    expect(providers.apiVersion).toBe(1);
    const uid = datasources.datasources[0]!.uid;
    expect(datasources.datasources[0]!.type).toBe('prometheus');
    expect(providers.providers[0]).toMatchObject({
      type: 'file',
      options: { path: '/var/lib/grafana/dashboards' },
    });

    const dashboard = JSON.parse(dashboardText) as {
      uid: string;
      title: string;
      schemaVersion: number;
      panels: {
        id: number;
        type: string;
        title: string;
        gridPos: { x: number; y: number; w: number; h: number };
        datasource?: { uid: string };
        targets?: { expr: string; refId: string; datasource: { uid: string } }[];
      }[];
    };
    expect(dashboard.uid).toMatch(/^[a-z0-9-]{1,40}$/);
    expect(dashboard.schemaVersion).toBeGreaterThanOrEqual(36);
    const ids = dashboard.panels.map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    const graphs = dashboard.panels.filter((p) => p.type !== 'row');
    expect(graphs.length).toBeGreaterThanOrEqual(12);
    for (const p of graphs) {
      expect([p.title, p.datasource?.uid]).toEqual([p.title, uid]);
      expect(p.targets?.length).toBeGreaterThan(0);
      for (const t of p.targets ?? []) {
        expect([p.title, t.datasource.uid, t.expr.trim().length > 0]).toEqual([p.title, uid, true]);
      }
      expect(p.gridPos.x + p.gridPos.w).toBeLessThanOrEqual(24);
    }
    // The rows an operator needs: throughput, lag, dead letters, errors, latency, saturation.
    const titles = graphs.map((p) => p.title.toLowerCase()).join(' | ');
    for (const word of ['events in', 'lag', 'dead-letter', '5xx', 'latency', 'in flight'])
      expect(titles).toContain(word);
  });

  it('when every alert is listed, then docs/OPERATIONS.md has its runbook section', () => {
    const ops = readFileSync(join(root, 'docs', 'OPERATIONS.md'), 'utf8');
    const alerts = rules.groups.flatMap((g) => g.rules.flatMap((r) => (r.alert ? [r.alert] : [])));
    expect(alerts.length).toBeGreaterThanOrEqual(8);
    expect(alerts.filter((a) => !ops.includes(`### ${a}`))).toEqual([]);
  });
});

// ---------------------------------------------------------------------------------------------
// The real Prometheus binary (Debian package prometheus; .ci/run installs it) scraping the real
// one-process stack with deploy/prometheus/prometheus.yml, its targets pointed at loopback.

function findPrometheus(): string | undefined {
  try {
    return (
      execFileSync('sh', ['-c', 'command -v prometheus'], { encoding: 'utf8' }).trim() || undefined
    );
  } catch {
    return undefined;
  }
}
const prometheusBin = findPrometheus();
const required = process.env.EVENTPIPE_REQUIRE_PROMETHEUS === '1';
if (!prometheusBin && !required) {
  process.stderr.write('prometheus binary not found: the real-Prometheus scrape test is skipped\n');
}
const describeWithPrometheus = prometheusBin || required ? describe : describe.skip;

describeWithPrometheus('a real Prometheus scraping the stack', () => {
  let stack: ServiceProcess | undefined;
  let prometheus: ChildProcess | undefined;
  afterAll(() => {
    stack?.kill();
    prometheus?.kill('SIGKILL');
  });

  it('when events flow, then every target is up and the pipeline metrics and rules have values', async () => {
    if (!prometheusBin) throw new Error('EVENTPIPE_REQUIRE_PROMETHEUS=1 but no prometheus binary');
    const dir = mkdtempSync(join(tmpdir(), 'eventpipe-prom-'));
    const [pub, query, worker, promPort] = await Promise.all([
      freePort(),
      freePort(),
      freePort(),
      freePort(),
    ]);
    stack = startService(join(root, 'services', 'all-in-one', 'dist', 'main.js'), {
      DUCKDB_PATH: join(dir, 'events.duckdb'),
      // Its own journal: a journal in ./data left by another process would be replayed here.
      MEMORY_BUS_JOURNAL: join(dir, 'memory-bus.journal'),
      ACCEPTED_LOG: 'off',
      HOST: '127.0.0.1',
      PUBLISHER_PORT: String(pub),
      QUERY_PORT: String(query),
      WORKER_PORT: String(worker),
      BATCH_MAX_WAIT_MS: '50',
      LOG_LEVEL: 'warn',
    });
    await waitFor(
      async () =>
        (await fetch(`http://127.0.0.1:${query}/readyz`).catch(() => undefined))?.ok
          ? true
          : undefined,
      { what: 'the stack ready', timeoutMs: 30_000 },
    );
    // The shipped config, with loopback targets and 1 s intervals.
    const config = readFileSync(join(deploy, 'prometheus', 'prometheus.yml'), 'utf8')
      .replace('publisher-api:8080', `127.0.0.1:${pub}`)
      .replace('subscriber-worker:8082', `127.0.0.1:${worker}`)
      .replace('query-api:8081', `127.0.0.1:${query}`)
      .replace(/scrape_interval: \S+/, 'scrape_interval: 1s')
      .replace(/evaluation_interval: \S+/, 'evaluation_interval: 1s')
      .replace('rules/eventpipe.rules.yml', join(dir, 'eventpipe.rules.yml'));
    writeFileSync(join(dir, 'prometheus.yml'), config);
    // The shipped rules, evaluated every second instead of every 30 s.
    writeFileSync(
      join(dir, 'eventpipe.rules.yml'),
      rulesText.replace(/interval: 30s/g, 'interval: 1s'),
    );
    prometheus = spawn(
      prometheusBin,
      [
        `--config.file=${join(dir, 'prometheus.yml')}`,
        `--storage.tsdb.path=${join(dir, 'tsdb')}`,
        `--web.listen-address=127.0.0.1:${promPort}`,
      ],
      { stdio: 'ignore' },
    );
    const api = async (q: string) => {
      const res = await fetch(
        `http://127.0.0.1:${promPort}/api/v1/query?query=${encodeURIComponent(q)}`,
      );
      const body = (await res.json()) as {
        data: { result: { metric: Record<string, string>; value: [number, string] }[] };
      };
      return body.data.result;
    };

    const up = await waitFor(
      async () => {
        const r = await api('up{job=~"eventpipe-.+"} == 1').catch(() => []);
        return r.length === 3 ? r : undefined;
      },
      { what: 'three eventpipe targets up', timeoutMs: 60_000, intervalMs: 500 },
    );
    expect(up.map((s) => s.metric.job).sort()).toEqual([
      'eventpipe-publisher',
      'eventpipe-query',
      'eventpipe-worker',
    ]);

    for (let i = 0; i < 5; i++) {
      const res = await fetch(`http://127.0.0.1:${pub}/v1/events`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify([sampleEvent(), sampleEvent()]),
      });
      expect(res.status).toBe(202);
    }
    const acked = await waitFor(
      async () => {
        const r = await api('sum(eventpipe_worker_messages_total{outcome="acked"})');
        return Number(r[0]?.value[1] ?? 0) >= 10 ? r : undefined;
      },
      { what: 'Prometheus seeing 10 acked messages', timeoutMs: 60_000, intervalMs: 500 },
    );
    expect(Number(acked[0]!.value[1])).toBe(10);
    // Each target is scraped on its own clock: the publisher's count may arrive a scrape later.
    const accepted = await waitFor(
      async () => {
        const r = await api('sum(eventpipe_publisher_events_total{outcome="accepted"})');
        return Number(r[0]?.value[1] ?? 0) >= 10 ? r : undefined;
      },
      { what: 'Prometheus seeing 10 accepted events', timeoutMs: 30_000, intervalMs: 500 },
    );
    expect(Number(accepted[0]!.value[1])).toBe(10);
    // The recording rules load and evaluate on the real series: no failed ingest requests yet.
    // (A ratio needs traffic inside its window: the counter must rise between two scrapes.)
    const ratio = await waitFor(
      async () => {
        await fetch(`http://127.0.0.1:${pub}/v1/events`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(sampleEvent()),
        });
        const r = await api('eventpipe:ingest_error_ratio:rate5m');
        return r.length ? r : undefined;
      },
      { what: 'the ingest error ratio recorded', timeoutMs: 30_000, intervalMs: 500 },
    );
    expect(Number(ratio[0]!.value[1])).toBe(0);
    // Healthy stack: no alert is firing.
    const alerts = (await (await fetch(`http://127.0.0.1:${promPort}/api/v1/alerts`)).json()) as {
      data: { alerts: { labels: { alertname: string }; state: string }[] };
    };
    expect(alerts.data.alerts.filter((a) => a.state === 'firing')).toEqual([]);
  }, 120_000);
});
