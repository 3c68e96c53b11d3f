import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from '@cdktf/hcl2json';
import { publisherConfigSchema } from '@eventpipe/publisher-api';
import { queryConfigSchema } from '@eventpipe/query-api';
import { bigQuerySchemaFields } from '@eventpipe/store/adapters';
import { workerConfigSchema } from '@eventpipe/subscriber-worker';

/** No terraform binary runs here: the HCL is parsed (hcl2json) and checked against what the
 * services read and the least privilege docs/DEPLOY.md promises. */
const dir = join(__dirname, '..', '..', 'infra', 'terraform');
type Block = Record<string, unknown>;
type Resources = Record<string, Record<string, Block[]>>;

const resources: Resources = {};
let variables: Record<string, Block[]> = {};
beforeAll(async () => {
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.tf'))) {
    const json = (await parse(file, readFileSync(join(dir, file), 'utf8'))) as {
      resource?: Resources;
      variable?: Record<string, Block[]>;
    };
    for (const [type, byName] of Object.entries(json.resource ?? {})) {
      resources[type] = { ...(resources[type] ?? {}), ...byName };
    }
    variables = { ...variables, ...(json.variable ?? {}) };
  }
});

const one = (type: string, name: string): Block => {
  const block = resources[type]?.[name]?.[0];
  if (!block) throw new Error(`no ${type}.${name}`);
  return block;
};
const first = (b: Block, key: string): Block => (b[key] as Block[])[0]!;

describe('Terraform (infra/terraform)', () => {
  it('when the table is created, then its schema file equals the schema derived from packages/schema', () => {
    const file = JSON.parse(readFileSync(join(dir, 'schema', 'events.json'), 'utf8')) as unknown;
    expect(file).toEqual(bigQuerySchemaFields());
    const table = one('google_bigquery_table', 'events');
    expect(table.schema).toBe('${file("${path.module}/schema/events.json")}');
    expect(first(table, 'time_partitioning')).toMatchObject({ type: 'DAY', field: 'time' });
    expect(table.clustering).toEqual(['type', 'source']);
    expect(table.require_partition_filter).toBe(true);
  });

  it('when Pub/Sub is created, then the policies are those of docs/RELIABILITY.md', () => {
    const worker = one('google_pubsub_subscription', 'worker');
    expect(worker.topic).toBe('${google_pubsub_topic.events.id}');
    expect(worker.ack_deadline_seconds).toBe(60);
    expect(first(worker, 'dead_letter_policy')).toEqual({
      dead_letter_topic: '${google_pubsub_topic.dead_letter.id}',
      max_delivery_attempts: '${var.max_delivery_attempts}',
    });
    expect(variables.max_delivery_attempts![0]!.default).toBe(5);
    expect(first(worker, 'retry_policy')).toEqual({
      minimum_backoff: '1s',
      maximum_backoff: '60s',
    });
    const dlq = one('google_pubsub_subscription', 'dead_letter');
    expect(dlq.topic).toBe('${google_pubsub_topic.dead_letter.id}');
    expect(dlq.message_retention_duration).toBe('604800s');
  });

  it('when IAM is applied, then each service account holds exactly its least privilege', () => {
    const grants = new Map<string, string[]>();
    for (const [type, byName] of Object.entries(resources)) {
      if (!type.endsWith('_iam_member')) continue;
      for (const [name, [block]] of Object.entries(byName)) {
        const member = String(block!.member);
        const on =
          block!.topic ??
          block!.subscription ??
          block!.table_id ??
          (type === 'google_bigquery_dataset_iam_member' ? block!.dataset_id : undefined) ??
          block!.secret_id ??
          (type === 'google_project_iam_member' ? 'project' : block!.name);
        grants.set(member, [
          ...(grants.get(member) ?? []),
          `${block!.role} on ${String(on)} (${name})`,
        ]);
      }
    }
    const sa = (s: string) => `serviceAccount:\${google_service_account.${s}.email}`;
    expect(grants.get(sa('publisher'))!.sort()).toEqual([
      'roles/pubsub.publisher on ${google_pubsub_topic.events.name} (publisher_publishes)',
      'roles/secretmanager.secretAccessor on ${google_secret_manager_secret.api_keys.id} (publisher_reads_keys)',
    ]);
    expect(grants.get(sa('worker'))!.sort()).toEqual([
      'roles/bigquery.dataEditor on ${google_bigquery_table.events.table_id} (worker_writes)',
      'roles/pubsub.publisher on ${google_pubsub_topic.dead_letter.name} (worker_dead_letters)',
      'roles/pubsub.subscriber on ${google_pubsub_subscription.worker.name} (worker_subscribes)',
    ]);
    expect(grants.get(sa('query'))!.sort()).toEqual([
      'roles/bigquery.dataViewer on ${google_bigquery_dataset.events.dataset_id} (query_reads)',
      'roles/bigquery.jobUser on project (query_runs_jobs)',
      'roles/secretmanager.secretAccessor on ${google_secret_manager_secret.api_keys.id} (query_reads_keys)',
      'roles/secretmanager.secretAccessor on ${google_secret_manager_secret.cursor_secret.id} (query_reads_cursor_secret)',
    ]);
    // Pub/Sub's service agent can dead-letter; the APIs are invokable, the worker is not.
    expect(grants.get('${local.pubsub_agent}')!.sort()).toEqual([
      'roles/pubsub.publisher on ${google_pubsub_topic.dead_letter.name} (agent_dead_letters)',
      'roles/pubsub.subscriber on ${google_pubsub_subscription.worker.name} (agent_acks)',
    ]);
    expect(grants.get('allUsers')!.sort()).toEqual([
      'roles/run.invoker on ${google_cloud_run_v2_service.publisher.name} (publisher_public)',
      'roles/run.invoker on ${google_cloud_run_v2_service.query.name} (query_public)',
    ]);
  });

  it.each([
    ['publisher', 'publisher-api', publisherConfigSchema],
    ['worker', 'subscriber-worker', workerConfigSchema],
    ['query', 'query-api', queryConfigSchema],
  ] as const)(
    'when Cloud Run starts %s, then it runs as its own account, on its port, with variables its config reads',
    (name, image, schema) => {
      const service = one('google_cloud_run_v2_service', name);
      const template = first(service, 'template');
      expect(template.service_account).toBe(`\${google_service_account.${name}.email}`);
      const container = first(template, 'containers');
      expect(container.image).toBe(`\${local.registry}/${image}:\${var.image_tag}`);
      expect(first(container, 'ports').container_port).toBe(schema.parse({}).PORT);
      const env = (container.env as { name: string; value?: string }[]) ?? [];
      // NODE_OPTIONS is read by Node itself (the worker's heap cap, docs/PERFORMANCE.md).
      const known = [...Object.keys(schema.shape), 'NODE_OPTIONS'];
      expect(env.map((e) => e.name).filter((n) => !known.includes(n))).toEqual([]);
      // Literal values must pass the config as they are.
      const literal = Object.fromEntries(
        env.filter((e) => e.value && !e.value.includes('${')).map((e) => [e.name, e.value]),
      );
      expect(schema.safeParse({ NODE_ENV: 'production', ...literal }).error?.issues ?? []).toEqual(
        [],
      );
      // Streamed exports run long: the query service gets Cloud Run's longest request timeout.
      if (name === 'query') expect(template.timeout).toBe('3600s');
      const keysFile = env.find((e) => e.name === 'API_KEYS_FILE')?.value;
      if ('API_KEYS_FILE' in schema.shape) {
        const mount = first(container, 'volume_mounts');
        const item = first(first(first(template, 'volumes'), 'secret'), 'items');
        expect(keysFile).toBe(`${String(mount.mount_path)}/${String(item.path)}`);
      } else {
        expect(keysFile).toBeUndefined();
      }
    },
  );

  it('when variables are given, then project, region and environment configure it', () => {
    expect(Object.keys(variables)).toEqual(
      expect.arrayContaining(['project', 'region', 'environment']),
    );
    expect(one('google_artifact_registry_repository', 'images').format).toBe('DOCKER');
    expect(one('google_secret_manager_secret', 'api_keys')).toBeDefined();
    expect(Object.keys(resources.google_service_account ?? {}).sort()).toEqual([
      'publisher',
      'query',
      'worker',
    ]);
  });
});
