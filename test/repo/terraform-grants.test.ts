import { eventDataTexts, parseInputEvents } from '@eventpipe/schema';
import { queryConfigSchema } from '@eventpipe/query-api';
import type { EventStore, InsertItem } from '@eventpipe/store';
import {
  BigQueryStore,
  openErasureLog,
  openSchemaStore,
  openStore,
} from '@eventpipe/store/adapters';
import { publisherConfigSchema } from '@eventpipe/publisher-api';
import { startRegistry } from '@eventpipe/registry';
import { workerConfigSchema } from '@eventpipe/subscriber-worker';
import { BigQueryFake, uniqueName } from '@eventpipe/testing';
import { grantsByMember, loadModule, terraformDir, type Module } from './terraform-hcl';

/**
 * Each call a service makes to Google, and the Terraform grant that allows it. The BigQuery calls
 * are recorded: the store is opened as each service's main.ts opens it (production rules, so no
 * auto-create) against the REST fake, and used as the service uses it. Each call is then matched
 * to the permission Google checks for it and to a role the service account holds on that resource
 * or one above it. A call no grant allows fails here before it fails on Cloud Run (the worker's
 * start-up `datasets.get` did); a grant no call needs fails too.
 */

type Scope = 'project' | 'dataset' | 'table' | 'topic' | 'dlq-topic' | 'subscription' | string;
interface Need {
  call: string;
  permission: string;
  on: Scope;
}

// What each role holds, of the permissions these services use (Google's IAM role reference).
const ROLE_PERMISSIONS: Record<string, string[]> = {
  // The custom role's permissions are read from the Terraform (beforeAll).
  'roles/bigquery.dataEditor': [
    'bigquery.tables.get',
    'bigquery.tables.getData',
    'bigquery.tables.updateData',
    'bigquery.tables.create',
    'bigquery.tables.update',
  ],
  'roles/bigquery.dataViewer': ['bigquery.tables.get', 'bigquery.tables.getData'],
  'roles/bigquery.jobUser': ['bigquery.jobs.create'],
  'roles/pubsub.publisher': ['pubsub.topics.publish'],
  'roles/pubsub.subscriber': ['pubsub.subscriptions.consume'],
  'roles/secretmanager.secretAccessor': ['secretmanager.versions.access'],
};

// Where a Terraform grant sits, as a scope; a grant on a scope covers the scopes under it.
const SCOPE_OF_GRANT: Record<string, Scope> = {
  project: 'project',
  '${google_bigquery_dataset.events.dataset_id}': 'dataset',
  '${google_bigquery_table.events.table_id}': 'table:events',
  '${google_bigquery_table.schemas.table_id}': 'table:schemas',
  '${google_bigquery_table.erasures.table_id}': 'table:erasures',
  '${google_pubsub_topic.events.name}': 'topic',
  '${google_pubsub_topic.dead_letter.name}': 'dlq-topic',
  '${google_pubsub_subscription.worker.name}': 'subscription',
  '${google_secret_manager_secret.api_keys.id}': 'secret:api_keys',
  '${google_secret_manager_secret.cursor_secret.id}': 'secret:cursor_secret',
};
const parents = (scope: Scope): Scope[] =>
  scope.startsWith('table:') ? ['dataset', 'project'] : scope === 'dataset' ? ['project'] : [];

/** The permission BigQuery checks for each REST call the fake saw; tables are scopes of their
 * own (`table:<name>`), under the dataset. */
function bigQueryNeeds(requests: { method: string; path: string; body: unknown }[]): Need[] {
  return requests.flatMap(({ method, path, body }): Need[] => {
    const call = `${method} ${path.replace(/^\/projects\/[^/]+/, '')}`;
    const table = /\/tables\/([^/]+)/.exec(path)?.[1];
    if (method === 'GET' && /\/datasets\/[^/]+$/.test(path))
      return [{ call, permission: 'bigquery.datasets.get', on: 'dataset' }];
    if (method === 'POST' && /\/datasets$/.test(path))
      return [{ call, permission: 'bigquery.datasets.create', on: 'project' }];
    if (method === 'POST' && /\/tables$/.test(path))
      return [{ call, permission: 'bigquery.tables.create', on: 'dataset' }];
    if (method === 'GET' && /\/tables\/[^/]+$/.test(path))
      return [{ call, permission: 'bigquery.tables.get', on: `table:${table}` }];
    if ((method === 'PATCH' || method === 'PUT') && /\/tables\/[^/]+$/.test(path))
      return [{ call, permission: 'bigquery.tables.update', on: `table:${table}` }];
    if (method === 'POST' && /\/insertAll$/.test(path))
      return [{ call, permission: 'bigquery.tables.updateData', on: `table:${table}` }];
    if (method === 'POST' && /\/queries$/.test(path)) {
      // A query job, and reading every table its SQL names; DML (an erasure's DELETE) also
      // writes the table it names first.
      const sql = String((body as { query?: string }).query ?? '');
      const read = [...sql.matchAll(/`[^`.]+\.[^`.]+\.([^`.]+)`/g)].map((m) => m[1]!);
      const dml = /^\s*(?:DELETE|UPDATE|INSERT|MERGE|TRUNCATE)\b/i.test(sql);
      const job = dml ? `${call} (DML)` : call;
      return [
        { call: job, permission: 'bigquery.jobs.create', on: 'project' },
        ...(dml
          ? [{ call: job, permission: 'bigquery.tables.updateData', on: `table:${read[0]}` }]
          : []),
        ...read.map((t) => ({
          call: job,
          permission: 'bigquery.tables.getData',
          on: `table:${t}`,
        })),
      ];
    }
    // Reading the results of one's own query job needs no further permission.
    if (method === 'GET' && /\/queries\/[^/]+$/.test(path)) return [];
    throw new Error(`no permission known for ${method} ${path}: add it to this table`);
  });
}

function allowed(module: Module, account: string, need: Need): string | undefined {
  const grants =
    grantsByMember(tf).get(`serviceAccount:\${google_service_account.${account}.email}`) ?? [];
  return grants.find((g) => {
    const [, role, on] = /^(\S+) on (\S+) /.exec(g)!;
    const scope = SCOPE_OF_GRANT[on!];
    return (
      ROLE_PERMISSIONS[role!]?.includes(need.permission) &&
      (scope === need.on || parents(need.on).includes(scope!))
    );
  });
}

const project = 'eventpipe-grants';
const day = () => new Date(Date.now() - 3_600_000).toISOString();
function itemsOf(events: Record<string, unknown>[], prefix: string): InsertItem[] {
  const text = JSON.stringify(events);
  const r = parseInputEvents(JSON.parse(text), { dataTexts: eventDataTexts(text) });
  if (!r.ok) throw new Error(JSON.stringify(r.issues));
  return r.events.map((event, i) => ({
    event,
    meta: { receivedAt: day(), publishedAt: day(), messageId: `${prefix}${i}` },
  }));
}

type ErasureStep = Parameters<EventStore['erasures']['appendSteps']>[0][number];
/** A step of the erasures log, as the query API (requested) or the worker (done) appends it. */
const erasureStep = (action: 'requested' | 'done'): ErasureStep => ({
  erasureId: 'grants-erasure',
  at: new Date().toISOString(),
  action,
  keyName: action === 'requested' ? 'privacy' : null,
  subject: action === 'requested' ? 'user-1' : null,
  eventId: null,
  source: null,
  sourcePrefix: null,
  suppress: action === 'requested' ? true : null,
  rows: action === 'done' ? 0 : null,
  detail: null,
});

let fake: BigQueryFake;
let tf: Module;
const needs: Record<'worker' | 'query' | 'publisher', Need[]> = {
  worker: [],
  query: [],
  publisher: [],
};
const registryConfig = { SCHEMA_REFRESH_SECONDS: 60, SCHEMA_URI_BASE: 'https://q.example' };
const quiet = { info: () => undefined, warn: () => undefined };

beforeAll(async () => {
  tf = await loadModule(terraformDir);
  // The custom role's permissions, as Terraform defines them.
  for (const [name, [role]] of Object.entries(tf.resources.google_project_iam_custom_role ?? {}))
    ROLE_PERMISSIONS[`\${google_project_iam_custom_role.${name}.name}`] = role!
      .permissions as string[];
  fake = await BigQueryFake.start();
  const env = {
    NODE_ENV: 'production',
    STORE: 'bigquery',
    GOOGLE_CLOUD_PROJECT: project,
    BIGQUERY_DATASET: uniqueName('grants').replaceAll('-', '_'),
    BIGQUERY_EMULATOR_HOST: fake.endpoint,
    // As Terraform passes it when retention_days is set: retention asks for nothing more.
    RETENTION_DAYS: '30',
  };
  // The table as Terraform makes it (the operator's apply, not the service).
  const operator = await openStore(workerConfigSchema.parse({ ...env, NODE_ENV: 'development' }));
  await operator.close();

  const record = async (run: () => Promise<void>) => {
    const before = fake.requests.length;
    await run();
    return bigQueryNeeds(fake.requests.slice(before));
  };
  let store: EventStore | undefined;
  needs.worker = await record(async () => {
    store = await openStore(workerConfigSchema.parse(env), { production: true });
    const time = day();
    await store.insert(itemsOf([{ id: 'a', source: '/s', type: 't', time, data: 1 }], 'm'));
    // A resend with other content: the conflict lookup reads the table.
    const conflict = await store.insert(
      itemsOf([{ id: 'a', source: '/s', type: 't', time, data: 2 }], 'n'),
    );
    expect(conflict.conflicts).toHaveLength(1);
    await store.check();
    // The worker reads the schema registry.
    (await startRegistry(store.schemas, registryConfig, quiet)).stop();
    // Erasures: it reads the log, deletes the events an erasure matches (DML DELETE on the
    // events table) and appends the erasure's steps.
    await store.erasures.readSteps();
    await store.erase({
      subject: 'user-1',
      exact: [],
      prefixes: [],
      receivedUpTo: new Date().toISOString(),
    });
    await store.erasures.appendSteps([erasureStep('done')]);
    await store.close();
  });
  expect(store).toBeInstanceOf(BigQueryStore);
  needs.query = await record(async () => {
    const reader = await openStore(queryConfigSchema.parse(env), {
      readOnly: true,
      production: true,
    });
    await reader.list({ limit: 10 });
    await reader.get('a', '/s');
    await reader.stats({
      from: new Date(Date.now() - 86_400_000).toISOString(),
      to: new Date().toISOString(),
      interval: 'hour',
    });
    await reader.check();
    // The query API serves and registers schemas: reads the registry, adds a version, replaces
    // the type's typed view, and drafts a schema from stored events.
    const registry = await startRegistry(reader.schemas, registryConfig, quiet);
    const created = await registry.register('t', {
      schema: { type: 'object', properties: { n: { type: 'integer' } } },
    });
    expect(created.outcome).toBe('created');
    await registry.register('t', {
      schema: { type: 'object', properties: { n: { type: 'integer' }, m: { type: 'string' } } },
    });
    registry.stop();
    await reader.schemas.sampleData('t', 10);
    // Erasures: it records requests (insertAll on the log) and reads the log back.
    await reader.erasures.appendSteps([erasureStep('requested')]);
    await reader.erasures.readSteps();
    await reader.close();
  });
  // The publisher reads the registry alone, from the schemas table.
  const publisherNeeds = await record(async () => {
    const schemas = openSchemaStore(publisherConfigSchema.parse(env), { production: true });
    (await startRegistry(schemas!, registryConfig, quiet)).stop();
  });
  // ... and the erasures log, for the subjects whose new events it drops (suppress), opened as
  // its main.ts opens it.
  const publisherErasureNeeds = await record(async () => {
    const log = openErasureLog(publisherConfigSchema.parse(env), { production: true });
    await log!.readSteps();
  });
  // Pub/Sub: the calls of the bus adapter per role (the emulator has no IAM to record them).
  // testIamPermissions, which readiness uses on Google Cloud, needs no permission.
  needs.publisher = [
    ...publisherNeeds,
    ...publisherErasureNeeds,
    { call: 'topics.publish', permission: 'pubsub.topics.publish', on: 'topic' },
  ];
  needs.worker.push(
    { call: 'subscriptions.pull', permission: 'pubsub.subscriptions.consume', on: 'subscription' },
    {
      call: 'subscriptions.acknowledge',
      permission: 'pubsub.subscriptions.consume',
      on: 'subscription',
    },
    { call: 'topics.publish (dead letter)', permission: 'pubsub.topics.publish', on: 'dlq-topic' },
  );
  // Cloud Run reads the secrets a service mounts as that service's account.
  for (const account of ['publisher', 'query'] as const) {
    const service = JSON.stringify(tf.resources.google_cloud_run_v2_service![account]);
    for (const secret of Object.keys(tf.resources.google_secret_manager_secret!)) {
      if (service.includes(`google_secret_manager_secret.${secret}.secret_id`))
        needs[account].push({
          call: `secret ${secret}`,
          permission: 'secretmanager.versions.access',
          on: `secret:${secret}`,
        });
    }
  }
});
afterAll(() => fake.stop());

describe('IAM grants (infra/terraform) against the calls each service makes', () => {
  it('when the worker starts without auto-create, then it asks for the table and never for the dataset', () => {
    expect(needs.worker.map((n) => n.permission)).toContain('bigquery.tables.get');
    expect(needs.worker.map((n) => n.permission)).not.toContain('bigquery.datasets.get');
    expect(needs.query.map((n) => n.permission)).not.toContain('bigquery.datasets.get');
  });

  it("when erasures run, then their calls are among those checked: the worker's DELETE on the events table and its appends, the query API's appends, and every service reading the log", () => {
    const on = (account: keyof typeof needs, table: string) =>
      [...new Set(needs[account].filter((n) => n.on === table).map((n) => n.permission))].sort();
    expect(
      needs.worker.filter((n) => n.call.endsWith('(DML)')).map((n) => `${n.permission} on ${n.on}`),
    ).toEqual([
      'bigquery.jobs.create on project',
      'bigquery.tables.updateData on table:events',
      'bigquery.tables.getData on table:events',
    ]);
    for (const account of ['worker', 'query'] as const)
      expect(on(account, 'table:erasures')).toEqual(
        expect.arrayContaining(['bigquery.tables.getData', 'bigquery.tables.updateData']),
      );
    expect(on('publisher', 'table:erasures')).toContain('bigquery.tables.getData');
  });

  it.each(['worker', 'query', 'publisher'] as const)(
    'when %s makes each of its calls, then a Terraform grant allows it',
    (account) => {
      expect(needs[account].length).toBeGreaterThan(0);
      const refused = needs[account]
        .filter((n) => !allowed(tf, account, n))
        .map((n) => `${n.call}: ${n.permission} on ${n.on}`);
      expect(refused).toEqual([]);
    },
  );

  it.each(['worker', 'query', 'publisher'] as const)(
    'when %s holds a grant, then some call needs it (nothing more than the calls)',
    (account) => {
      const grants =
        grantsByMember(tf).get(`serviceAccount:\${google_service_account.${account}.email}`) ?? [];
      const used = new Set(needs[account].map((n) => allowed(tf, account, n)));
      expect(grants.filter((g) => !used.has(g))).toEqual([]);
    },
  );
});
