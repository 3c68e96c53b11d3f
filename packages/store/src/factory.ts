import { BigQueryStore } from './bigquery.adapter';
import type { StoreEnv } from './config';
import { DuckDbStore } from './duckdb.adapter';
import { StoreConfigError, type EventStore } from './event-store.port';

const DAY_MS = 86_400_000;

/** Opens the configured store and ensures its table. */
export async function openStore(
  env: StoreEnv,
  opts: { readOnly?: boolean; production?: boolean } = {},
): Promise<EventStore> {
  if (env.STORE === 'duckdb') {
    const store = await DuckDbStore.open({
      path: env.DUCKDB_PATH,
      readOnly: opts.readOnly,
      memoryLimit: env.DUCKDB_MEMORY_LIMIT,
      threads: env.DUCKDB_THREADS,
    });
    await store.init();
    return store;
  }
  const projectId =
    env.GOOGLE_CLOUD_PROJECT ?? (env.BIGQUERY_EMULATOR_HOST ? 'eventpipe-local' : undefined);
  if (!projectId)
    throw new StoreConfigError(
      'GOOGLE_CLOUD_PROJECT is required with STORE=bigquery outside an emulator',
    );
  if (env.BIGQUERY_DEFAULT_RANGE_DAYS > env.BIGQUERY_MAX_RANGE_DAYS) {
    throw new StoreConfigError(
      'BIGQUERY_DEFAULT_RANGE_DAYS must not exceed BIGQUERY_MAX_RANGE_DAYS',
    );
  }
  const store = new BigQueryStore({
    projectId,
    dataset: env.BIGQUERY_DATASET,
    table: env.BIGQUERY_TABLE,
    location: env.BIGQUERY_LOCATION,
    apiEndpoint: env.BIGQUERY_EMULATOR_HOST,
    autoCreate: env.BIGQUERY_AUTO_CREATE ?? !opts.production,
    readOnly: opts.readOnly,
    maximumBytesBilled: env.BIGQUERY_MAX_BYTES_BILLED,
    duplicateWindowMs: env.BIGQUERY_DUPLICATE_WINDOW_HOURS * 3_600_000,
    range: {
      defaultRangeMs: env.BIGQUERY_DEFAULT_RANGE_DAYS * DAY_MS,
      maxRangeMs: env.BIGQUERY_MAX_RANGE_DAYS * DAY_MS,
    },
    retry: { maxAttempts: env.BIGQUERY_INSERT_MAX_ATTEMPTS, initialDelayMs: 200, maxDelayMs: 5000 },
  });
  await store.init();
  return store;
}
