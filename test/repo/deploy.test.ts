import { spawn } from 'node:child_process';
import {
  appendFileSync,
  chmodSync,
  copyFileSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';

/**
 * .github/deploy.sh run as CD runs it, against a stand-in gcloud (fixtures/gcloud-stub.mjs) that
 * records every call and keeps the Cloud Run services as data, and an HTTP server standing in for
 * each revision: a revision of a "bad" image answers 500. What is checked is what the script asks
 * of Cloud Run, in which order, and which revision serves at the end.
 */
const root = join(__dirname, '..', '..');
const REGISTRY = 'europe-west1-docker.pkg.dev/p/eventpipe';
const SERVICES = {
  'eventpipe-worker-staging': 'subscriber-worker',
  'eventpipe-publisher-staging': 'publisher-api',
  'eventpipe-query-staging': 'query-api',
} as const;
type ServiceName = keyof typeof SERVICES;
interface Revision {
  name: string;
  image: string;
}
interface State {
  services: Record<
    string,
    {
      revisions: Revision[];
      traffic: { revision?: string; latest?: boolean; percent: number; tag?: string }[];
    }
  >;
  failingImages?: string[];
  failDescribeAt?: number;
}

let dir: string;
let server: Server;
let baseUrl: string;
let badImages: string[] = [];
/** Every request through a service's own URL fails (what only the switched service shows). */
let serviceUrlsFail = false;
const stored = new Map<string, number>();

const readState = (): State => JSON.parse(readFileSync(join(dir, 'state.json'), 'utf8')) as State;
const calls = (): string[][] =>
  readFileSync(join(dir, 'calls.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as string[]);
const serving = (service: ServiceName): string => {
  const s = readState().services[service]!;
  const top = s.traffic.filter((t) => t.percent > 0).sort((a, b) => b.percent - a.percent)[0]!;
  return top.latest ? s.revisions.at(-1)!.name : top.revision!;
};
const imageOf = (revision: string): string => {
  for (const s of Object.values(readState().services))
    for (const r of s.revisions) if (r.name === revision) return r.image;
  throw new Error(`no revision ${revision}`);
};

beforeAll(async () => {
  // The revisions: /rev/<revision>/… and /svc/<service>/… (routed by its traffic).
  server = createServer((req, res) => {
    const url = new URL(req.url!, 'http://x');
    const m = /^\/(rev|svc)\/([^/]+)(\/.*)$/.exec(url.pathname);
    if (!m) return void res.writeHead(404).end();
    const revision = m[1] === 'rev' ? m[2]! : serving(m[2] as ServiceName);
    appendFileSync(
      join(dir, 'calls.jsonl'),
      `${JSON.stringify(['HTTP', req.method!, revision])}\n`,
    );
    if (badImages.includes(imageOf(revision)) || (m[1] === 'svc' && serviceUrlsFail))
      return void res.writeHead(500).end('{}');
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      if (req.method === 'POST' && m[3] === '/v1/events') {
        const events = JSON.parse(body) as { source: string }[];
        for (const e of events) stored.set(e.source, (stored.get(e.source) ?? 0) + 1);
        return void res.writeHead(202).end(JSON.stringify({ accepted: events.length }));
      }
      if (req.method === 'GET' && m[3] === '/v1/stats') {
        const count = stored.get(url.searchParams.get('source') ?? '') ?? 0;
        return void res.writeHead(200).end(JSON.stringify({ buckets: [{ count }] }));
      }
      res.writeHead(404).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'ep-deploy-'));
  copyFileSync(join(__dirname, 'fixtures', 'gcloud-stub.mjs'), join(dir, 'gcloud'));
  chmodSync(join(dir, 'gcloud'), 0o755);
  writeFileSync(join(dir, 'calls.jsonl'), '');
  badImages = [];
  serviceUrlsFail = false;
  const services: State['services'] = {};
  for (const [name, image] of Object.entries(SERVICES))
    services[name] = {
      revisions: [{ name: `${name}-00001`, image: `${REGISTRY}/${image}:old` }],
      traffic: [{ latest: true, percent: 100 }],
    };
  writeFileSync(join(dir, 'state.json'), JSON.stringify({ services }));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** Runs deploy.sh (asynchronously: this process's HTTP server answers its smoke test). */
async function deploy(tag = 'new'): Promise<{ status: number | null; stderr: string }> {
  const child = spawn('bash', [join(root, '.github', 'deploy.sh'), 'staging'], {
    env: {
      PATH: `${dir}:${process.env.PATH}`,
      GCLOUD_STUB_DIR: dir,
      GCLOUD_STUB_URL: baseUrl,
      GCP_REGION: 'europe-west1',
      REGISTRY,
      TAG: tag,
      API_KEY: 'smoke-key',
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
  const status = await new Promise<number | null>((r) => child.on('close', (code) => r(code)));
  clearTimeout(timer);
  return { status, stderr };
}
const gcloudCalls = () => calls().filter((c) => c[0] !== 'HTTP');
const indexOf = (pred: (c: string[]) => boolean) => calls().findIndex(pred);
const isDeploy = (service: string) => (c: string[]) => c[1] === 'deploy' && c[2] === service;
const isMove = (service: string) => (c: string[]) =>
  c[2] === 'update-traffic' && c[3] === service && c.includes('--to-latest');

describe('.github/deploy.sh (against a recording gcloud)', () => {
  it('when the new images pass the smoke test, then the worker goes first, the APIs are tested as candidates before any traffic moves, then all serve the new revisions', async () => {
    const r = await deploy();
    expect(r.stderr).not.toContain('rolling back');
    expect(r.status).toBe(0);
    // Worker first, and it takes over at once.
    const worker = indexOf(isDeploy('eventpipe-worker-staging'));
    expect(worker).toBeGreaterThanOrEqual(0);
    expect(worker).toBeLessThan(indexOf(isDeploy('eventpipe-publisher-staging')));
    expect(worker).toBeLessThan(indexOf(isDeploy('eventpipe-query-staging')));
    // The APIs arrive with no traffic and a candidate tag...
    for (const api of ['eventpipe-publisher-staging', 'eventpipe-query-staging']) {
      const call = calls()[indexOf(isDeploy(api))]!;
      expect(call).toEqual(expect.arrayContaining(['--no-traffic', '--tag', 'candidate']));
      expect(call).toContain(`${REGISTRY}/${SERVICES[api as ServiceName]}:new`);
      // ... are smoke-tested at their own revision before traffic is moved to them.
      const tested = indexOf((c) => c[0] === 'HTTP' && c[2] === `${api}-00002`);
      expect(tested).toBeGreaterThan(indexOf(isDeploy(api)));
      expect(tested).toBeLessThan(indexOf(isMove(api)));
    }
    for (const name of Object.keys(SERVICES) as ServiceName[])
      expect([name, serving(name)]).toEqual([name, `${name}-00002`]);
  });

  it('when the smoke test of the new revisions fails, then every service serves its previous revision again, the worker included, and it exits 1', async () => {
    badImages = [`${REGISTRY}/query-api:new`];
    const r = await deploy();
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('rolled back');
    for (const name of Object.keys(SERVICES) as ServiceName[])
      expect([name, serving(name)]).toEqual([name, `${name}-00001`]);
    // The bad revisions never had traffic moved to them.
    expect(indexOf(isMove('eventpipe-query-staging'))).toBe(-1);
    expect(gcloudCalls()).toContainEqual(
      expect.arrayContaining([
        'update-traffic',
        'eventpipe-worker-staging',
        '--to-revisions=eventpipe-worker-staging-00001=100',
      ]),
    );
  });

  it('when the smoke test passes on candidates but fails on the switched services, then it rolls back too', async () => {
    const r1 = await deploy('good');
    expect(r1.status).toBe(0);
    serviceUrlsFail = true;
    const r = await deploy('next');
    expect(r.status).toBe(1);
    for (const name of Object.keys(SERVICES) as ServiceName[])
      expect([name, serving(name)]).toEqual([name, `${name}-00002`]);
  });

  it('when an operator had pinned the publisher to an older revision, then the smoke test checks the new revision and the deploy moves traffic to it', async () => {
    const state = readState();
    const publisher = state.services['eventpipe-publisher-staging']!;
    publisher.revisions.push({
      name: 'eventpipe-publisher-staging-00002',
      image: `${REGISTRY}/publisher-api:mid`,
    });
    publisher.traffic = [{ revision: 'eventpipe-publisher-staging-00001', percent: 100 }];
    writeFileSync(join(dir, 'state.json'), JSON.stringify(state));
    const r = await deploy();
    expect(r.status).toBe(0);
    const httpTo = calls()
      .filter((c) => c[0] === 'HTTP')
      .map((c) => c[2]);
    expect(httpTo).toContain('eventpipe-publisher-staging-00003');
    expect(httpTo).not.toContain('eventpipe-publisher-staging-00001');
    expect(serving('eventpipe-publisher-staging')).toBe('eventpipe-publisher-staging-00003');
  });

  it('when a gcloud call fails once the worker has moved, then everything is rolled back and the candidate tag removed', async () => {
    const state = readState();
    state.failDescribeAt = 4; // three to note what serves, then the publisher candidate's URL
    writeFileSync(join(dir, 'state.json'), JSON.stringify(state));
    const r = await deploy();
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('rolled back');
    for (const name of Object.keys(SERVICES) as ServiceName[])
      expect([name, serving(name)]).toEqual([name, `${name}-00001`]);
    const tags = readState().services['eventpipe-publisher-staging']!.traffic.filter((t) => t.tag);
    expect(tags).toEqual([]);
  });

  it('when the new worker revision does not start, then the APIs are not touched and nothing moves', async () => {
    const state = readState();
    state.failingImages = [`${REGISTRY}/subscriber-worker:new`];
    writeFileSync(join(dir, 'state.json'), JSON.stringify(state));
    const r = await deploy();
    expect(r.status).toBe(1);
    expect(indexOf(isDeploy('eventpipe-publisher-staging'))).toBe(-1);
    expect(indexOf(isDeploy('eventpipe-query-staging'))).toBe(-1);
    for (const name of Object.keys(SERVICES) as ServiceName[])
      expect([name, serving(name)]).toEqual([name, `${name}-00001`]);
  });
});

describe('.github/workflows/cd.yml', () => {
  const cd = parse(readFileSync(join(root, '.github', 'workflows', 'cd.yml'), 'utf8')) as {
    on: Record<string, { workflows?: string[]; types?: string[]; branches?: string[] }>;
    env: Record<string, string>;
    jobs: Record<
      string,
      {
        if?: string;
        needs?: string | string[];
        environment?: string;
        permissions?: Record<string, string>;
        steps: { uses?: string; with?: Record<string, string>; run?: string; if?: string }[];
      }
    >;
  };
  const ci = parse(readFileSync(join(root, '.github', 'workflows', 'ci.yml'), 'utf8')) as {
    name: string;
  };

  it('when a commit reaches main, then CD runs only after CI passed on it, and deploys the very commit CI tested', () => {
    expect(Object.keys(cd.on)).toEqual(['workflow_run']);
    expect(cd.on.workflow_run).toEqual({
      workflows: [ci.name],
      types: ['completed'],
      branches: ['main'],
    });
    expect(cd.jobs.images!.if).toContain("github.event.workflow_run.conclusion == 'success'");
    expect(cd.env.TAG).toBe('${{ github.event.workflow_run.head_sha }}');
    for (const job of Object.values(cd.jobs))
      for (const step of job.steps.filter((s) => s.uses?.startsWith('actions/checkout')))
        expect(step.with?.ref).toBe('${{ github.event.workflow_run.head_sha }}');
  });

  it('when it deploys, then each environment goes through deploy.sh with the smoke key, production after staging', () => {
    for (const env of ['staging', 'production']) {
      const job = cd.jobs[env]!;
      expect(job.environment).toBe(env);
      const roll = job.steps.find((s) => s.run?.includes('deploy.sh'))!;
      expect(roll.run).toBe(`bash .github/deploy.sh ${env}`);
      expect((roll as { env?: Record<string, string> }).env?.API_KEY).toBe(
        '${{ secrets.SMOKE_API_KEY }}',
      );
    }
    expect(cd.jobs.production!.needs).toBe('staging');
  });

  it('when a deployment fails, then someone is told: an issue is opened and the webhook hears it', () => {
    const notify = cd.jobs.notify!;
    expect(notify.needs).toEqual(['images', 'staging', 'production']);
    expect(notify.if).toContain('always()');
    expect(notify.permissions).toEqual({ issues: 'write' });
    const issue = notify.steps.find((s) => s.run?.includes('gh issue create'))!;
    expect(issue.if).toBe(
      "contains(needs.*.result, 'failure') || contains(needs.*.result, 'cancelled')",
    );
    expect(
      notify.steps.some(
        (s) => s.run?.includes('DEPLOY_WEBHOOK_URL') || s.run?.includes('$WEBHOOK'),
      ),
    ).toBe(true);
  });
});
