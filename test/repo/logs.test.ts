import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import request from 'supertest';
import { parse } from 'yaml';
import {
  AppError,
  createBaseApp,
  createLogger,
  createRegistry,
  finishApp,
} from '@eventpipe/platform';

/** Aggregated logs as code (docker compose --profile logs): Loki's config, the two compose
 * services, Alloy's pipeline and Grafana's Loki datasource and dashboards. Neither Loki nor Alloy
 * has a validator here, so what can drift is checked against the real thing: the fields Alloy
 * reads and the ids the datasource links are looked up in lines the platform logger writes. */
const root = join(__dirname, '..', '..');
const deploy = join(root, 'deploy');
const read = (...parts: string[]) => readFileSync(join(root, ...parts), 'utf8');

interface ComposeService {
  image?: string;
  profiles?: string[];
  command?: string | string[];
  volumes?: string[];
  depends_on?: Record<string, unknown> | string[];
}
const compose = parse(read('docker-compose.yml')) as {
  services: Record<string, ComposeService>;
  volumes?: Record<string, unknown>;
};
const loki = parse(read('deploy', 'loki', 'loki.yml')) as {
  auth_enabled: boolean;
  server: { http_listen_port: number };
  common: {
    path_prefix: string;
    replication_factor: number;
    storage: { filesystem: { chunks_directory: string; rules_directory: string } };
    ring: { kvstore: { store: string } };
  };
  schema_config: {
    configs: { from: string; store: string; object_store: string; schema: string }[];
  };
  limits_config: { allow_structured_metadata?: boolean; retention_period?: string };
  compactor?: { retention_enabled?: boolean; delete_request_store?: string };
};
interface DerivedField {
  name: string;
  matcherRegex: string;
  datasourceUid?: string;
  url: string;
}
const lokiDatasource = (
  parse(read('deploy', 'grafana', 'provisioning', 'datasources', 'loki.yml')) as {
    apiVersion: number;
    datasources: {
      uid: string;
      type: string;
      url: string;
      jsonData: { derivedFields: DerivedField[] };
    }[];
  }
).datasources[0]!;
const alloyText = read('deploy', 'alloy', 'config.alloy');

// ---------------------------------------------------------------------------------------------
// Just enough of the Alloy syntax to read the blocks and attributes this config uses.

/** Comments blanked out (not inside strings), so braces and quotes in them never count. */
function stripComments(text: string): string {
  let out = '';
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === '"') {
      const end = stringEnd(text, i);
      out += text.slice(i, end);
      i = end - 1;
    } else if (c === '/' && text[i + 1] === '/') {
      while (i < text.length && text[i] !== '\n') i++;
      out += '\n';
    } else out += c;
  }
  return out;
}

/** The index just past the string literal starting at `start`. */
function stringEnd(text: string, start: number): number {
  let i = start + 1;
  while (i < text.length && text[i] !== '"') i += text[i] === '\\' ? 2 : 1;
  return i + 1;
}

/** The bodies of every block whose header is `header` (e.g. `stage.json`, `rule`). */
function blocks(text: string, header: string): string[] {
  const found: string[] = [];
  const re = new RegExp(`(^|[\\s{])${header.replace(/\./g, '\\.')}(\\s+"[^"]*")?\\s*\\{`, 'g');
  for (const m of text.matchAll(re)) {
    const open = m.index + m[0].length;
    let depth = 1;
    let i = open;
    while (depth > 0 && i < text.length) {
      if (text[i] === '"') {
        i = stringEnd(text, i);
        continue;
      }
      if (text[i] === '{') depth++;
      if (text[i] === '}') depth--;
      i++;
    }
    found.push(text.slice(open, i - 1));
  }
  return found;
}

const STRING = '"(?:[^"\\\\]|\\\\.)*"';

/** A string attribute of a block body (its value unescaped), or undefined. */
function stringAttr(body: string, name: string): string | undefined {
  const m = new RegExp(`(?:^|\\s)${name}\\s*=\\s*(${STRING})`).exec(body);
  return m ? (JSON.parse(m[1]!) as string) : undefined;
}

/** An object attribute `name = { key = "value", … }` of a block body. */
function mapAttr(body: string, name: string): Record<string, string> {
  const m = new RegExp(`(?:^|\\s)${name}\\s*=\\s*\\{([^}]*)\\}`).exec(body);
  if (!m) throw new Error(`no ${name} = { … } in ${body}`);
  const out: Record<string, string> = {};
  for (const kv of m[1]!.matchAll(new RegExp(`([A-Za-z_][A-Za-z0-9_]*)\\s*=\\s*(${STRING})`, 'g')))
    out[kv[1]!] = JSON.parse(kv[2]!) as string;
  return out;
}

const alloy = stripComments(alloyText);
const single = (header: string): string => {
  const found = blocks(alloy, header);
  expect([header, found.length]).toEqual([header, 1]);
  return found[0]!;
};

/** stage.json's JMESPath expressions as the top-level keys they read: a bare identifier or a
 * quoted one ("logging.googleapis.com/trace"); anything fancier the check refuses. */
function jsonKeyOf(expression: string): string {
  if (/^[A-Za-z_][A-Za-z0-9_]*$/.test(expression)) return expression;
  if (/^"(?:[^"\\]|\\.)*"$/.test(expression)) return JSON.parse(expression) as string;
  throw new Error(`stage.json expression ${expression}: only top-level keys are checked`);
}

/** The extracted names whose JSON key is missing from the line. */
function missingFields(
  expressions: Record<string, string>,
  line: Record<string, unknown>,
): string[] {
  return Object.entries(expressions)
    .filter(([, expr]) => !(jsonKeyOf(expr) in line))
    .map(([name]) => name);
}

// ---------------------------------------------------------------------------------------------
// Real lines: the platform logger behind the platform's request middleware, as a service runs it.

const REQUEST_ID = 'req-7f3a9c.1:2';
const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const TRACEPARENT = `00-${TRACE_ID}-00f067aa0ba902b7-01`;

interface Line {
  raw: string;
  json: Record<string, unknown>;
}

async function realLines(): Promise<Line[]> {
  const written: string[] = [];
  const logger = createLogger({
    service: 'publisher-api',
    level: 'debug',
    project: 'eventpipe-local',
    destination: { write: (s: string) => void written.push(s) },
  });
  const app = createBaseApp(logger, createRegistry('publisher-api'));
  app.get('/ok', (_req, res) => {
    logger.debug({ step: 'handler' }, 'handling');
    res.json({ ok: true });
  });
  app.get('/rejected', () => {
    throw new AppError('validation-failed', { detail: 'no' });
  });
  app.get('/broken', () => {
    throw new Error('broken');
  });
  finishApp(app, logger);
  for (const path of ['/ok', '/rejected', '/broken']) {
    await request(app).get(path).set('x-request-id', REQUEST_ID).set('traceparent', TRACEPARENT);
  }
  return written
    .join('')
    .split('\n')
    .filter((l) => l.trim())
    .map((raw) => ({ raw, json: JSON.parse(raw) as Record<string, unknown> }));
}

describe('aggregated logs (docker compose --profile logs)', () => {
  let lines: Line[];
  beforeAll(async () => {
    lines = await realLines();
  });
  const accessLine = () => lines.find((l) => l.json.message === 'request')!;

  it('when the logger serves requests, then it writes the lines this check reads', () => {
    const messages = lines.map((l) => l.json.message);
    expect(messages).toEqual(
      expect.arrayContaining(['handling', 'request', 'request rejected', 'request failed']),
    );
    // The access log line, the one every request writes, is in the request's scope.
    expect(accessLine().json).toMatchObject({ service: 'publisher-api', requestId: REQUEST_ID });
  });

  it('when Loki starts from deploy/loki/loki.yml, then it is one process on the filesystem with structured metadata', () => {
    expect(loki.auth_enabled).toBe(false);
    expect(loki.server.http_listen_port).toEqual(expect.any(Number));
    expect(loki.common.replication_factor).toBe(1);
    expect(loki.common.ring.kvstore.store).toBe('inmemory');
    expect(loki.common.storage.filesystem.chunks_directory).toMatch(/^\/loki\//);
    expect(loki.common.storage.filesystem.rules_directory).toMatch(/^\/loki\//);
    const schema = loki.schema_config.configs.at(-1)!;
    // Structured metadata (the ids Alloy attaches) needs the TSDB index and schema v13.
    expect(schema).toMatchObject({ store: 'tsdb', object_store: 'filesystem', schema: 'v13' });
    expect(loki.limits_config.allow_structured_metadata).toBe(true);
    if (loki.compactor?.retention_enabled) {
      expect(loki.limits_config.retention_period).toMatch(/^\d+[hdw]$/);
      expect(loki.compactor.delete_request_store).toBe('filesystem');
    }
  });

  it('when compose runs with the logs profile, then loki and alloy are in it, pinned, and nothing else needs them', () => {
    const { loki: lokiSvc, alloy: alloySvc } = compose.services;
    expect(lokiSvc?.profiles).toEqual(['logs']);
    expect(alloySvc?.profiles).toEqual(['logs']);
    expect(lokiSvc!.image).toMatch(/^grafana\/loki:\d+\.\d+\.\d+$/);
    expect(alloySvc!.image).toMatch(/^grafana\/alloy:v\d+\.\d+\.\d+$/);
    for (const [name, svc] of Object.entries(compose.services)) {
      if (!svc.image) continue;
      expect([name, svc.image]).toEqual([name, expect.stringMatching(/:[^:/]+$/)]);
      expect([name, svc.image.endsWith(':latest')]).toEqual([name, false]);
    }
    // The default profile starts without them: no service outside the profile depends on them.
    for (const [name, svc] of Object.entries(compose.services)) {
      if (svc.profiles?.includes('logs')) continue;
      const deps = Array.isArray(svc.depends_on)
        ? svc.depends_on
        : Object.keys(svc.depends_on ?? {});
      expect([name, deps.filter((d) => d === 'loki' || d === 'alloy')]).toEqual([name, []]);
    }
    // Each reads the shipped config file it is given.
    const lokiCommand = [lokiSvc!.command ?? []].flat().join(' ');
    const lokiConfig = /-config\.file=(\S+)/.exec(lokiCommand)?.[1];
    expect(lokiSvc!.volumes).toContain(`./deploy/loki/loki.yml:${lokiConfig}:ro`);
    expect(lokiSvc!.volumes).toContain(`loki-data:${loki.common.path_prefix}`);
    expect(compose.volumes).toHaveProperty('loki-data');
    const alloyConfig = [alloySvc!.command ?? []].flat().at(-1);
    expect(alloySvc!.volumes).toContain(`./deploy/alloy/config.alloy:${alloyConfig}:ro`);
    expect(alloySvc!.volumes).toContain('/var/run/docker.sock:/var/run/docker.sock:ro');
  });

  it('when Grafana and Alloy address Loki, then it is the compose service on the port Loki listens on', () => {
    const lokiUrl = `http://loki:${loki.server.http_listen_port}`;
    expect(compose.services.grafana).toBeDefined();
    expect(compose.services.grafana!.volumes).toContain(
      './deploy/grafana/provisioning:/etc/grafana/provisioning:ro',
    );
    expect(lokiDatasource).toMatchObject({ type: 'loki', access: 'proxy', url: lokiUrl });
    expect(stringAttr(single('endpoint'), 'url')).toBe(`${lokiUrl}/loki/api/v1/push`);
    // Both Docker components talk to the socket compose mounts.
    for (const header of ['discovery.docker', 'loki.source.docker'])
      expect(stringAttr(single(header), 'host')).toBe('unix:///var/run/docker.sock');
  });

  it("when Alloy keeps containers, then it keeps docker-compose.yml's services and labels each with its service name", () => {
    const rules = blocks(single('discovery.relabel'), 'rule');
    const serviceLabel = '"__meta_docker_container_label_com_docker_compose_service"';
    const onService = rules.filter((r) => r.includes(serviceLabel));
    const keep = onService.find((r) => stringAttr(r, 'action') === 'keep');
    const kept = /^\((.+)\)$/.exec(stringAttr(keep!, 'regex')!)![1]!.split('|');
    expect(kept.sort()).toEqual(Object.keys(compose.services).sort());
    const relabel = onService.find((r) => stringAttr(r, 'target_label') === 'service');
    expect(relabel).toBeDefined();
    expect(stringAttr(relabel!, 'action') ?? 'replace').toBe('replace');
    expect(
      rules.some((r) => r.includes('"__meta_docker_container_label_com_docker_compose_project"')),
    ).toBe(true);
    // The compose service name is the name the service logs and Prometheus labels with, so
    // the dashboards' `service` means the same thing in Loki and in Prometheus.
    for (const name of ['publisher-api', 'subscriber-worker', 'query-api']) {
      expect(read('services', name, 'src', 'main.ts')).toContain(`runHttpService(\n  '${name}',`);
      expect(kept).toContain(name);
    }
  });

  it('when Alloy parses a line, then every field its stage.json reads is in the lines the logger writes', () => {
    const expressions = mapAttr(single('stage.json'), 'expressions');
    expect(Object.keys(expressions).length).toBeGreaterThanOrEqual(3);
    // Every line inside a request carries them all: the handler's, the access log's, the errors'.
    const inRequest = lines.filter((l) => l.json.requestId !== undefined);
    expect(inRequest.length).toBeGreaterThanOrEqual(4);
    for (const line of inRequest)
      expect([line.json.message, missingFields(expressions, line.json)]).toEqual([
        line.json.message,
        [],
      ]);
    // And the timestamp stage reads one of them, in the format the logger writes.
    const timestamp = single('stage.timestamp');
    const source = stringAttr(timestamp, 'source')!;
    const time = accessLine().json[jsonKeyOf(expressions[source]!)];
    expect(stringAttr(timestamp, 'format')).toMatch(/^RFC3339(Nano)?$/);
    expect(time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/);
  });

  it('when a logged field is renamed, then the check names it', () => {
    const expressions = mapAttr(single('stage.json'), 'expressions');
    const { requestId, ...renamed } = accessLine().json;
    expect(missingFields(expressions, { ...renamed, reqId: requestId })).toEqual(['requestId']);
    expect(() => jsonKeyOf('httpRequest.status')).toThrow(/only top-level keys/);
  });

  it('when Alloy sets labels and metadata, then labels are bounded fields and ids are metadata', () => {
    const extracted = mapAttr(single('stage.json'), 'expressions');
    const sourceOf = (values: Record<string, string>) =>
      Object.entries(values).map(([name, from]) => [name, from || name] as const);
    const labels = sourceOf(mapAttr(single('stage.labels'), 'values'));
    // Only names with a handful of values become labels (a stream per value).
    expect(labels.map(([name]) => name)).toEqual(['level']);
    const PINO_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal'];
    for (const [, from] of labels) {
      expect(Object.keys(extracted)).toContain(from);
      const values = new Set(lines.map((l) => l.json[jsonKeyOf(extracted[from]!)]));
      for (const v of values) expect(PINO_LEVELS).toContain(v);
    }
    const metadata = sourceOf(mapAttr(single('stage.structured_metadata'), 'values'));
    expect(metadata.map(([name]) => name)).toEqual(expect.arrayContaining(['requestId']));
    for (const [, from] of metadata) expect(Object.keys(extracted)).toContain(from);
  });

  it('when a line carries a request id or a trace, then the Loki datasource links it to a search for it', () => {
    const fields = lokiDatasource.jsonData.derivedFields;
    const byName = new Map(fields.map((f) => [f.name, f]));
    const expected: Record<string, string> = { requestId: REQUEST_ID, traceId: TRACE_ID };
    expect([...byName.keys()].sort()).toEqual(Object.keys(expected).sort());
    for (const line of lines.filter((l) => l.json.requestId !== undefined)) {
      for (const [name, value] of Object.entries(expected)) {
        // Grafana runs matcherRegex in the browser: JavaScript regular expressions.
        const m = new RegExp(byName.get(name)!.matcherRegex).exec(line.raw);
        expect([name, line.json.message, m?.[1]]).toEqual([name, line.json.message, value]);
      }
    }
    // A line without a request scope links nothing.
    const outside = JSON.stringify({ level: 'info', message: 'listening' });
    for (const f of fields) expect(new RegExp(f.matcherRegex).exec(outside)).toBeNull();
    for (const f of fields) {
      // Internal links: a query on this same datasource for the matched value ($$ survives
      // Grafana's environment expansion of provisioning files as a literal $).
      expect(f.datasourceUid).toBe(lokiDatasource.uid);
      expect(f.url).toContain('$${__value.raw}');
      expect(f.url).toMatch(/^\{service=~"[^"]+"\}/);
    }
  });

  it('when an operator looks at a service on the overview, then a link opens its logs', () => {
    const dashboards = join(deploy, 'grafana', 'dashboards');
    interface Panel {
      id: number;
      type: string;
      title: string;
      datasource?: { type: string; uid: string };
      fieldConfig?: { defaults?: { links?: { title: string; url: string }[] } };
      targets?: { expr: string; datasource: { uid: string } }[];
    }
    interface Dashboard {
      uid: string;
      links?: { url: string }[];
      templating: { list: { name: string; datasource?: { uid: string } }[] };
      panels: Panel[];
    }
    const logs = JSON.parse(
      readFileSync(join(dashboards, 'eventpipe-logs.json'), 'utf8'),
    ) as Dashboard;
    const overview = JSON.parse(
      readFileSync(join(dashboards, 'eventpipe.json'), 'utf8'),
    ) as Dashboard;
    expect(logs.uid).not.toBe(overview.uid);
    const ids = logs.panels.map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    const logPanel = logs.panels.find((p) => p.type === 'logs');
    expect(logPanel?.datasource?.uid).toBe(lokiDatasource.uid);
    expect(logPanel?.targets?.[0]?.expr).toMatch(/^\{service=~"\$service"[^}]*\}.*\| json/);
    expect(logs.templating.list.find((v) => v.name === 'service')?.datasource?.uid).toBe(
      lokiDatasource.uid,
    );
    // Every stream selector uses labels Alloy sets, and every target queries Loki.
    const alloyLabels = new Set([
      'service',
      ...Object.keys(mapAttr(single('stage.labels'), 'values')),
    ]);
    for (const p of logs.panels) {
      expect([p.title, p.datasource?.uid]).toEqual([p.title, lokiDatasource.uid]);
      for (const t of p.targets ?? []) {
        expect(t.datasource.uid).toBe(lokiDatasource.uid);
        for (const sel of t.expr.matchAll(/\{([^}]*)\}/g))
          for (const m of sel[1]!.matchAll(/([a-zA-Z_]\w*)\s*=~?/g))
            expect([t.expr, alloyLabels.has(m[1]!)]).toEqual([t.expr, true]);
      }
    }

    const target = `/d/${logs.uid}/`;
    expect(overview.links?.some((l) => l.url.startsWith(target))).toBe(true);
    const perService = overview.panels.filter((p) =>
      p.targets?.some((t) => /\bby \(service\)/.test(t.expr)),
    );
    expect(perService.length).toBeGreaterThanOrEqual(3);
    for (const p of perService) {
      const link = p.fieldConfig?.defaults?.links?.find((l) => l.url.startsWith(target));
      expect([p.title, link?.url]).toEqual([
        p.title,
        expect.stringContaining('var-service=${__field.labels.service}'),
      ]);
    }
  });
});
