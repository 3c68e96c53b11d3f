import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { publisherConfigSchema } from '@eventpipe/publisher-api';
import { queryConfigSchema } from '@eventpipe/query-api';
import {
  bigQueryErasuresFields,
  bigQuerySchemaFields,
  bigQuerySchemasFields,
} from '@eventpipe/store/adapters';
import { workerConfigSchema } from '@eventpipe/subscriber-worker';
import {
  type Block,
  first,
  grantsByMember,
  loadModule,
  resource,
  terraformDir as dir,
  validationPattern,
  type Module,
} from './terraform-hcl';

/** No terraform binary runs here: the HCL is parsed (hcl2json) and checked against what the
 * services read and the least privilege docs/DEPLOY.md promises. What each grant is for, call by
 * call, is in terraform-grants.test.ts. */
let env: Module;
let shared: Module;
beforeAll(async () => {
  env = await loadModule(dir);
  shared = await loadModule(join(dir, 'shared'));
});
const one = (type: string, name: string) => resource(env, type, name);
/** The content of a block's `dynamic "<name>"` blocks. */
const dynamicBlocks = (block: Block, name: string): Block[] =>
  ((block.dynamic as Record<string, Block[]> | undefined)?.[name] ?? []).flatMap(
    (d) => d.content as Block[],
  );
/** The `for_each` of a block's `dynamic "<name>"` block. */
const dynamicForEach = (block: Block, name: string): unknown =>
  (block.dynamic as Record<string, Block[]> | undefined)?.[name]?.[0]?.for_each;

describe('Terraform (infra/terraform)', () => {
  it('when the table is created, then its schema file equals the schema derived from packages/schema', () => {
    const file = JSON.parse(readFileSync(join(dir, 'schema', 'events.json'), 'utf8')) as unknown;
    expect(file).toEqual(bigQuerySchemaFields());
    const table = one('google_bigquery_table', 'events');
    expect(table.schema).toBe('${file("${path.module}/schema/events.json")}');
    expect(first(table, 'time_partitioning')).toMatchObject({ type: 'DAY', field: 'time' });
    expect(table.clustering).toEqual(['type', 'source']);
    expect(table.require_partition_filter).toBe(true);
    // The schema registry's table: its file equals what the BigQuery adapter creates.
    const schemasFile = JSON.parse(
      readFileSync(join(dir, 'schema', 'schemas.json'), 'utf8'),
    ) as unknown;
    expect(schemasFile).toEqual(bigQuerySchemasFields());
    expect(one('google_bigquery_table', 'schemas').schema).toBe(
      '${file("${path.module}/schema/schemas.json")}',
    );
  });

  it('when Pub/Sub is created, then the policies are those of docs/RELIABILITY.md', () => {
    const worker = one('google_pubsub_subscription', 'worker');
    expect(worker.topic).toBe('${google_pubsub_topic.events.id}');
    expect(worker.ack_deadline_seconds).toBe(60);
    expect(first(worker, 'dead_letter_policy')).toEqual({
      dead_letter_topic: '${google_pubsub_topic.dead_letter.id}',
      max_delivery_attempts: '${var.max_delivery_attempts}',
    });
    expect(env.variables.max_delivery_attempts![0]!.default).toBe(5);
    expect(first(worker, 'retry_policy')).toEqual({
      minimum_backoff: '1s',
      maximum_backoff: '60s',
    });
    const dlq = one('google_pubsub_subscription', 'dead_letter');
    expect(dlq.topic).toBe('${google_pubsub_topic.dead_letter.id}');
    expect(dlq.message_retention_duration).toBe('604800s');
  });

  it('when IAM is applied, then each service account holds exactly its least privilege', () => {
    const grants = grantsByMember(env);
    const sa = (s: string) => `serviceAccount:\${google_service_account.${s}.email}`;
    expect(grants.get(sa('publisher'))!.sort()).toEqual([
      'roles/bigquery.dataViewer on ${google_bigquery_table.erasures.table_id} (publisher_reads_erasures)',
      'roles/bigquery.dataViewer on ${google_bigquery_table.schemas.table_id} (publisher_reads_schemas)',
      'roles/bigquery.jobUser on project (publisher_runs_jobs)',
      'roles/pubsub.publisher on ${google_pubsub_topic.events.name} (publisher_publishes)',
      'roles/secretmanager.secretAccessor on ${google_secret_manager_secret.api_keys.id} (publisher_reads_keys)',
    ]);
    expect(grants.get(sa('worker'))!.sort()).toEqual([
      '${google_project_iam_custom_role.erasure_writer.name} on ${google_bigquery_table.erasures.table_id} (worker_appends_erasures)',
      'roles/bigquery.dataEditor on ${google_bigquery_table.events.table_id} (worker_writes)',
      'roles/bigquery.dataViewer on ${google_bigquery_table.schemas.table_id} (worker_reads_schemas)',
      'roles/bigquery.jobUser on project (worker_runs_jobs)',
      'roles/pubsub.publisher on ${google_pubsub_topic.dead_letter.name} (worker_dead_letters)',
      'roles/pubsub.subscriber on ${google_pubsub_subscription.worker.name} (worker_subscribes)',
    ]);
    expect(grants.get(sa('query'))!.sort()).toEqual([
      '${google_project_iam_custom_role.erasure_writer.name} on ${google_bigquery_table.erasures.table_id} (query_appends_erasures)',
      '${google_project_iam_custom_role.view_writer.name} on ${google_bigquery_dataset.events.dataset_id} (query_writes_views)',
      'roles/bigquery.dataEditor on ${google_bigquery_table.schemas.table_id} (query_registers_schemas)',
      'roles/bigquery.dataViewer on ${google_bigquery_dataset.events.dataset_id} (query_reads)',
      'roles/bigquery.jobUser on project (query_runs_jobs)',
      'roles/secretmanager.secretAccessor on ${google_secret_manager_secret.api_keys.id} (query_reads_keys)',
      'roles/secretmanager.secretAccessor on ${google_secret_manager_secret.cursor_secret.id} (query_reads_cursor_secret)',
    ]);
    // The erasures log is appended through a role that can neither change nor delete the table.
    expect(one('google_project_iam_custom_role', 'erasure_writer').permissions).toEqual([
      'bigquery.tables.get',
      'bigquery.tables.getData',
      'bigquery.tables.updateData',
    ]);
    // Pub/Sub's service agent can dead-letter (and, with kms_key_name, use the key); the APIs are
    // invokable, the worker is not.
    expect(grants.get('${local.pubsub_agent}')!.sort()).toEqual([
      'roles/cloudkms.cryptoKeyEncrypterDecrypter on ${var.kms_key_name} (pubsub_agent_uses_key)',
      'roles/pubsub.publisher on ${google_pubsub_topic.dead_letter.name} (agent_dead_letters)',
      'roles/pubsub.subscriber on ${google_pubsub_subscription.worker.name} (agent_acks)',
    ]);
    expect(
      grants.get('serviceAccount:${data.google_bigquery_default_service_account.this[0].email}'),
    ).toEqual([
      'roles/cloudkms.cryptoKeyEncrypterDecrypter on ${var.kms_key_name} (bigquery_uses_key)',
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
      // Variables set only when a Terraform variable is (dynamic blocks), RETENTION_DAYS.
      const optional = dynamicBlocks(container, 'env').map((c) => String(c.name));
      // NODE_OPTIONS is read by Node itself (the worker's heap cap, docs/PERFORMANCE.md).
      const known = [...Object.keys(schema.shape), 'NODE_OPTIONS'];
      expect([...env.map((e) => e.name), ...optional].filter((n) => !known.includes(n))).toEqual(
        [],
      );
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
    expect(Object.keys(env.variables)).toEqual(
      expect.arrayContaining(['project', 'region', 'environment', 'image_tag', 'api_keys_json']),
    );
    expect(one('google_secret_manager_secret', 'api_keys')).toBeDefined();
    expect(Object.keys(env.resources.google_service_account ?? {}).sort()).toEqual([
      'publisher',
      'query',
      'worker',
    ]);
  });

  it('when the first apply runs, then every service starts from a tag that was pushed: image_tag has no default and refuses latest', () => {
    const tag = env.variables.image_tag![0]!;
    expect(tag).not.toHaveProperty('default');
    const pattern = validationPattern(env, 'image_tag');
    expect(pattern.test('0123456789abcdef0123456789abcdef01234567')).toBe(true);
    expect(String(first(tag, 'validation').condition)).toContain('var.image_tag != "latest"');
    expect(pattern.test('')).toBe(false);
    // Nothing deployable names a :latest image (compose, workflows, Terraform, k8s, the guide).
    const files = (d: string): string[] =>
      readdirSync(join(dir, '..', '..', d), { recursive: true, withFileTypes: true })
        .filter((f) => f.isFile())
        .map((f) => join(f.parentPath, f.name));
    const deployable = [
      ...files('infra'),
      ...files('.github'),
      ...files('deploy'),
      join(dir, '..', '..', 'docker-compose.yml'),
      join(dir, '..', '..', 'Dockerfile'),
      join(dir, '..', '..', 'docs', 'DEPLOY.md'),
    ];
    expect(deployable.filter((f) => /:latest\b/.test(readFileSync(f, 'utf8')))).toEqual([]);
  });

  it('when two environments are applied, then they share one registry made by the shared stack and never create it twice', () => {
    expect(env.resources.google_artifact_registry_repository).toBeUndefined();
    const read = env.data.google_artifact_registry_repository!.images![0]!;
    expect(read.repository_id).toBe('${var.registry}');
    const made = resource(shared, 'google_artifact_registry_repository', 'images');
    expect(made.repository_id).toBe('${var.repository}');
    expect(made.format).toBe('DOCKER');
    expect(shared.variables.repository![0]!.default).toBe(env.variables.registry![0]!.default);
  });

  it('when environments are applied, then each has its own state in GCS: one prefix per environment, none local', () => {
    const backend = env.terraform.map((t) => t.backend).find(Boolean) as Record<string, unknown>;
    expect(Object.keys(backend)).toEqual(['gcs']);
    const backends = join(dir, 'backends');
    const prefixes = Object.fromEntries(
      readdirSync(backends).map((f) => [
        f,
        /^prefix\s*=\s*"([^"]+)"/m.exec(readFileSync(join(backends, f), 'utf8'))?.[1],
      ]),
    );
    expect(prefixes).toEqual({
      'production.gcs.tfbackend': 'eventpipe/production',
      'staging.gcs.tfbackend': 'eventpipe/staging',
    });
    const sharedBackend = shared.terraform.map((t) => t.backend).find(Boolean) as {
      gcs: { prefix: string }[];
    };
    expect(sharedBackend.gcs[0]!.prefix).toBe('eventpipe/shared');
  });

  it.each(['publisher', 'worker', 'query'])(
    'when Cloud Run creates %s, then it waits for the secret versions it reads and every grant of its account',
    (name) => {
      const service = one('google_cloud_run_v2_service', name);
      const dependsOn = (service.depends_on as string[] | undefined) ?? [];
      const text = JSON.stringify(service);
      const secretsRead = Object.entries(env.resources.google_secret_manager_secret ?? {})
        .map(([secret]) => secret)
        .filter((secret) => text.includes(`google_secret_manager_secret.${secret}.secret_id`));
      const wanted = [
        ...secretsRead.map((s) => {
          expect(env.resources.google_secret_manager_secret_version?.[s]).toBeDefined();
          return `\${google_secret_manager_secret_version.${s}}`;
        }),
        ...Object.entries(env.resources)
          .filter(([type]) => type.endsWith('_iam_member'))
          .flatMap(([type, byName]) =>
            Object.entries(byName)
              .filter(
                ([, [b]]) =>
                  b!.member === `serviceAccount:\${google_service_account.${name}.email}`,
              )
              .map(([grant]) => `\${${type}.${grant}}`),
          ),
      ];
      expect(wanted.length).toBeGreaterThan(1);
      expect([...dependsOn].sort()).toEqual([...wanted].sort());
    },
  );

  it('when secrets are created, then each has a first version: the API keys from a sensitive variable, the cursor secret random', () => {
    const keys = one('google_secret_manager_secret_version', 'api_keys');
    expect(keys.secret_data).toBe('${var.api_keys_json}');
    expect(env.variables.api_keys_json![0]!.sensitive).toBe(true);
    const cursor = one('google_secret_manager_secret_version', 'cursor_secret');
    expect(cursor.secret_data).toBe('${random_password.cursor_secret.result}');
    expect(Number(one('random_password', 'cursor_secret').length)).toBeGreaterThanOrEqual(32);
  });

  it('when an environment name is accepted, then every resource name made of it is valid, and the longest valid one is accepted', () => {
    const accepted = validationPattern(env, 'environment');
    // Google's rules for the names that embed the environment.
    const rules: [string, RegExp, string[]][] = [
      [
        'service account id',
        /^[a-z][-a-z0-9]{4,28}[a-z0-9]$/,
        Object.values(env.resources.google_service_account!).map((b) => String(b[0]!.account_id)),
      ],
      [
        'Cloud Run service',
        /^[a-z](?:[-a-z0-9]{0,47}[a-z0-9])?$/,
        Object.values(env.resources.google_cloud_run_v2_service!).map((b) => String(b[0]!.name)),
      ],
      [
        'Pub/Sub name',
        /^[a-zA-Z][-._~%+a-zA-Z0-9]{2,254}$/,
        [
          ...Object.values(env.resources.google_pubsub_topic!),
          ...Object.values(env.resources.google_pubsub_subscription!),
        ].map((b) => String(b[0]!.name)),
      ],
      [
        'secret id',
        /^[a-zA-Z0-9_-]{1,255}$/,
        Object.values(env.resources.google_secret_manager_secret!).map((b) =>
          String(b[0]!.secret_id),
        ),
      ],
    ];
    const valid = (name: string) =>
      rules.every(([, rule, templates]) =>
        templates.every((t) => rule.test(t.replaceAll('${local.suffix}', name))),
      );
    const candidates = [
      ...Array.from({ length: 32 }, (_, i) => 'a'.repeat(i + 1)),
      ...Array.from({ length: 20 }, (_, i) => `prod-${'x'.repeat(i)}`),
      'staging',
      'production',
      'eu-west-1',
      'a-',
      '-a',
      '1a',
      'a_b',
      'Prod',
    ];
    const disagreements = candidates.filter((c) => accepted.test(c) && !valid(c));
    expect(disagreements).toEqual([]);
    const longestValid = Math.max(...candidates.filter(valid).map((c) => c.length));
    expect(accepted.test('a'.repeat(longestValid))).toBe(true);
    expect(accepted.test('a'.repeat(longestValid + 1))).toBe(false);
    expect(['staging', 'production'].every((e) => accepted.test(e))).toBe(true);
  });

  // ---- Data lifecycle: retention, customer-managed encryption, the erasures log ----------------
  const KMS_FOR_EACH = '${var.kms_key_name == null ? [] : [var.kms_key_name]}';
  const KMS_COUNT = '${var.kms_key_name == null ? 0 : 1}';
  const BIGQUERY_KEY_GRANT = '${google_kms_crypto_key_iam_member.bigquery_uses_key}';
  const PUBSUB_KEY_GRANT = '${google_kms_crypto_key_iam_member.pubsub_agent_uses_key}';

  it('when retention_days is set, then each day partition of the events table expires after it, in place, and every service is told', () => {
    const variable = env.variables.retention_days![0]!;
    expect(variable.type).toBe('${number}');
    expect(variable.default).toBeNull();
    const table = one('google_bigquery_table', 'events');
    const partitioning = first(table, 'time_partitioning');
    // A day in milliseconds; unset is 0, no expiry (null would keep an expiry set before).
    expect(partitioning.expiration_ms).toBe(
      `\${var.retention_days == null ? 0 : var.retention_days * ${24 * 3600 * 1000}}`,
    );
    // In place: what would replace the table (its partitioning column and type) stays as it was,
    // and nothing ties the table's replacement to the variable.
    expect(partitioning).toMatchObject({ type: 'DAY', field: 'time' });
    expect(JSON.stringify(table.lifecycle ?? [])).not.toContain('replace_triggered_by');
    for (const [name, schema] of [
      ['publisher', publisherConfigSchema],
      ['worker', workerConfigSchema],
      ['query', queryConfigSchema],
    ] as const) {
      const container = first(
        first(one('google_cloud_run_v2_service', name), 'template'),
        'containers',
      );
      expect(dynamicForEach(container, 'env')).toBe(
        '${var.retention_days == null ? [] : [var.retention_days]}',
      );
      expect(dynamicBlocks(container, 'env')).toEqual([
        { name: 'RETENTION_DAYS', value: '${tostring(env.value)}' },
      ]);
      // Every value the variable allows is one the service takes.
      for (const days of ['1', '3650'])
        expect(schema.safeParse({ RETENTION_DAYS: days }).error?.issues ?? []).toEqual([]);
    }
  });

  it('when kms_key_name is set, then the dataset, every table and both topics use the key, each created after the service agent that encrypts it holds the key', () => {
    const dataset = one('google_bigquery_dataset', 'events');
    expect(dynamicForEach(dataset, 'default_encryption_configuration')).toBe(KMS_FOR_EACH);
    expect(dynamicBlocks(dataset, 'default_encryption_configuration')).toEqual([
      { kms_key_name: '${default_encryption_configuration.value}' },
    ]);
    expect(dataset.depends_on).toContain(BIGQUERY_KEY_GRANT);
    const tables = env.resources.google_bigquery_table!;
    expect(Object.keys(tables).sort()).toEqual(['erasures', 'events', 'schemas']);
    for (const [name, [table]] of Object.entries(tables)) {
      expect([name, dynamicForEach(table!, 'encryption_configuration')]).toEqual([
        name,
        KMS_FOR_EACH,
      ]);
      expect(dynamicBlocks(table!, 'encryption_configuration')).toEqual([
        { kms_key_name: '${encryption_configuration.value}' },
      ]);
      expect([name, table!.depends_on]).toEqual([name, [BIGQUERY_KEY_GRANT]]);
    }
    const topics = env.resources.google_pubsub_topic!;
    expect(Object.keys(topics).sort()).toEqual(['dead_letter', 'events']);
    for (const [name, [topic]] of Object.entries(topics)) {
      expect([name, topic!.kms_key_name]).toEqual([name, '${var.kms_key_name}']);
      expect([name, topic!.depends_on]).toEqual([name, [PUBSUB_KEY_GRANT]]);
    }
    // The grants: BigQuery's encryption service account and Pub/Sub's service agent may use
    // the key, nothing more; eventpipe's own accounts are not given it.
    const grant = (name: string) => one('google_kms_crypto_key_iam_member', name);
    expect(grant('bigquery_uses_key')).toEqual({
      count: KMS_COUNT,
      crypto_key_id: '${var.kms_key_name}',
      role: 'roles/cloudkms.cryptoKeyEncrypterDecrypter',
      member: 'serviceAccount:${data.google_bigquery_default_service_account.this[0].email}',
    });
    expect(env.data.google_bigquery_default_service_account!.this![0]).toEqual({
      count: KMS_COUNT,
    });
    expect(grant('pubsub_agent_uses_key')).toEqual({
      count: KMS_COUNT,
      crypto_key_id: '${var.kms_key_name}',
      role: 'roles/cloudkms.cryptoKeyEncrypterDecrypter',
      member: '${local.pubsub_agent}',
    });
    expect(env.files['iam.tf']).toContain(
      'pubsub_agent = "serviceAccount:service-${data.google_project.this.number}@gcp-sa-pubsub.iam.gserviceaccount.com"',
    );
    // BigQuery takes a key in the dataset's location only: refused at plan time otherwise.
    const [precondition] = first(dataset, 'lifecycle').precondition as Block[];
    expect(precondition!.condition).toBe(
      '${var.kms_key_name == null ? true : lower(split("/", var.kms_key_name)[3]) == lower(var.region)}',
    );
  });

  it('when kms_key_name is unset, then nothing refers to a key: every use of it is guarded, or a topic attribute that null leaves unset', () => {
    expect(env.variables.kms_key_name![0]!.default).toBeNull();
    // Every string of every resource and data source, by its path.
    const strings: [string, string][] = [];
    const walk = (value: unknown, path: string): void => {
      if (typeof value === 'string') strings.push([path, value]);
      else if (Array.isArray(value)) value.forEach((v, i) => walk(v, `${path}[${i}]`));
      else if (value && typeof value === 'object')
        for (const [k, v] of Object.entries(value)) walk(v, `${path}.${k}`);
    };
    walk(env.resources, 'resource');
    walk(env.data, 'data');
    /** The block a path lies in (resource.<type>.<name> or data.<type>.<name>). */
    const owner = (path: string): Block => {
      const [, kind, type, name] = /^(resource|data)\.(\w+)\.(\w+)\[0\]/.exec(path)!;
      return (kind === 'resource' ? env.resources : env.data)[type!]![name!]![0]!;
    };
    const counted = (path: string) => owner(path).count === KMS_COUNT;
    const unguarded = strings.filter(
      ([path, value]) =>
        value.includes('var.kms_key_name') &&
        !(
          (/\.dynamic\.\w+\[0\]\.for_each$/.test(path) && value === KMS_FOR_EACH) ||
          (/\.count$/.test(path) && value === KMS_COUNT) ||
          // A topic's kms_key_name: null leaves the topic on Google's encryption.
          (/^resource\.google_pubsub_topic\.\w+\[0\]\.kms_key_name$/.test(path) &&
            value === '${var.kms_key_name}') ||
          (/\.precondition\[0\]\.condition$/.test(path) &&
            value.startsWith('${var.kms_key_name == null ? true : ')) ||
          counted(path)
        ),
    );
    expect(unguarded).toEqual([]);
    // What exists only with a key is named from depends_on (nothing to wait for without it) or
    // by something that exists only with a key too.
    const keyOnly =
      /google_kms_crypto_key_iam_member\.|data\.google_bigquery_default_service_account\./;
    expect(
      strings.filter(
        ([path, value]) =>
          keyOnly.test(value) && !/\.depends_on\[\d+\]$/.test(path) && !counted(path),
      ),
    ).toEqual([]);
    expect(strings.filter(([path, v]) => keyOnly.test(v) && /\.depends_on/.test(path)).length).toBe(
      6,
    );
  });

  it('when retention_days or kms_key_name is given, then a value outside what Google takes is refused at plan time', () => {
    const retention = String(first(env.variables.retention_days![0]!, 'validation').condition);
    expect(retention).toBe(
      '${var.retention_days == null ? true : (var.retention_days >= 1 && var.retention_days <= 3650 && floor(var.retention_days) == var.retention_days)}',
    );
    const kms = String(first(env.variables.kms_key_name![0]!, 'validation').condition);
    expect(kms.startsWith('${var.kms_key_name == null ? true : can(regex(')).toBe(true);
    const pattern = validationPattern(env, 'kms_key_name');
    expect(kms).toContain('"^projects/[^/]+/locations/[^/]+/keyRings/[^/]+/cryptoKeys/[^/]+$"');
    expect(pattern.test('projects/p-1/locations/europe-west1/keyRings/ring/cryptoKeys/key')).toBe(
      true,
    );
    for (const refused of [
      'projects/p/locations/europe-west1/keyRings/ring',
      'projects/p/locations/europe-west1/keyRings/ring/cryptoKeys/key/cryptoKeyVersions/1',
      'p/europe-west1/ring/key',
      'projects//locations/l/keyRings/r/cryptoKeys/k',
      '',
    ])
      expect([refused, pattern.test(refused)]).toEqual([refused, false]);
  });

  it('when the erasures table is created, then its schema file lists the log columns in order, equals what the BigQuery adapter writes, and the table is protected, unpartitioned and in the dataset', () => {
    const file = JSON.parse(readFileSync(join(dir, 'schema', 'erasures.json'), 'utf8')) as Record<
      string,
      unknown
    >[];
    // The step's time is step_at and its row count row_count: AT and ROWS are reserved words in
    // GoogleSQL.
    expect(file.map((f) => [f.name, f.type, f.mode])).toEqual([
      ['erasure_id', 'STRING', 'REQUIRED'],
      ['step_at', 'TIMESTAMP', 'REQUIRED'],
      ['action', 'STRING', 'REQUIRED'],
      ['key_name', 'STRING', 'NULLABLE'],
      ['subject', 'STRING', 'NULLABLE'],
      ['event_id', 'STRING', 'NULLABLE'],
      ['source', 'STRING', 'NULLABLE'],
      ['source_prefix', 'BOOL', 'NULLABLE'],
      ['suppress', 'BOOL', 'NULLABLE'],
      ['row_count', 'INT64', 'NULLABLE'],
      ['detail', 'STRING', 'NULLABLE'],
    ]);
    // The same format as the other schema files, each column described: what the adapter
    // creates and writes (auto-create is off under production rules, so it writes this table).
    for (const f of file) {
      expect(Object.keys(f)).toEqual(['name', 'type', 'mode', 'description']);
      expect(String(f.description).length).toBeGreaterThan(0);
    }
    expect(file).toEqual(bigQueryErasuresFields());
    const table = one('google_bigquery_table', 'erasures');
    expect(table.schema).toBe('${file("${path.module}/schema/erasures.json")}');
    expect(table.dataset_id).toBe('${google_bigquery_dataset.events.dataset_id}');
    expect(table.deletion_protection).toBe(true);
    expect(table.time_partitioning).toBeUndefined();
    expect(table.range_partitioning).toBeUndefined();
    expect(table.require_partition_filter).toBeUndefined();
  });
});
