import type { SchemaStore } from '@eventpipe/registry';
import { BigQueryStore, type BigQueryStoreOptions } from './bigquery.adapter';
import type { StoreEnv } from './config';
import { DuckDbStore } from './duckdb.adapter';
import { duckdbEncryptionKeyOf } from './encryption-key';
import { StoreConfigError, type EventStore } from './event-store.port';
import type { ErasureLog } from './erasures';

const DAY_MS = 86_400_000;

const retentionMs = (env: StoreEnv) =>
  env.RETENTION_DAYS === undefined ? undefined : env.RETENTION_DAYS * DAY_MS;

/** Opens the configured store and ensures its table. `warn` receives what the operator must be
 * told at start (DuckDB encrypting with its built-in crypto module). */
export async function openStore(
  env: StoreEnv,
  opts: { readOnly?: boolean; production?: boolean; warn?: (message: string) => void } = {},
): Promise<EventStore> {
  if (env.STORE === 'duckdb') {
    const store = await DuckDbStore.open({
      path: env.DUCKDB_PATH,
      readOnly: opts.readOnly,
      memoryLimit: env.DUCKDB_MEMORY_LIMIT,
      threads: env.DUCKDB_THREADS,
      retentionMs: retentionMs(env),
      encryptionKey: duckdbEncryptionKeyOf(env),
      crypto: env.DUCKDB_ENCRYPTION_CRYPTO,
      extensionDirectory: env.DUCKDB_EXTENSION_DIRECTORY,
      onWarning: opts.warn,
    });
    await store.init();
    return store;
  }
  const store = new BigQueryStore(bigQueryOptions(env, opts));
  await store.init();
  return store;
}

function bigQueryOptions(
  env: StoreEnv,
  opts: { readOnly?: boolean; production?: boolean },
): BigQueryStoreOptions {
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
  return {
    projectId,
    dataset: env.BIGQUERY_DATASET,
    table: env.BIGQUERY_TABLE,
    location: env.BIGQUERY_LOCATION,
    apiEndpoint: env.BIGQUERY_EMULATOR_HOST,
    autoCreate: env.BIGQUERY_AUTO_CREATE ?? !opts.production,
    readOnly: opts.readOnly,
    maximumBytesBilled: env.BIGQUERY_MAX_BYTES_BILLED,
    retentionMs: retentionMs(env),
    duplicateWindowMs: env.BIGQUERY_DUPLICATE_WINDOW_HOURS * 3_600_000,
    range: {
      defaultRangeMs: env.BIGQUERY_DEFAULT_RANGE_DAYS * DAY_MS,
      maxRangeMs: env.BIGQUERY_MAX_RANGE_DAYS * DAY_MS,
    },
    retry: { maxAttempts: env.BIGQUERY_INSERT_MAX_ATTEMPTS, initialDelayMs: 200, maxDelayMs: 5000 },
  };
}

/**
 * The schema registry's table alone, for a service that checks data but keeps no events (the
 * publisher API). With BigQuery: the `schemas` table of the configured dataset, read-only. With
 * DuckDB: undefined, as a process alone cannot share the file the worker writes (one process
 * per file); in `npm start` the three services share one store instead.
 */
export function openSchemaStore(
  env: StoreEnv,
  opts: { production?: boolean } = {},
): SchemaStore | undefined {
  if (env.STORE === 'duckdb') return undefined;
  return new BigQueryStore(bigQueryOptions(env, { ...opts, readOnly: true })).schemas;
}

/**
 * The erasures table alone, for the publisher API (its suppressions). With BigQuery: the table in
 * the configured dataset, read-only. With DuckDB: undefined (one process per file); in
 * `npm start` the three services share one store instead.
 */
export function openErasureLog(
  env: StoreEnv,
  opts: { production?: boolean } = {},
): ErasureLog | undefined {
  if (env.STORE === 'duckdb') return undefined;
  return new BigQueryStore(bigQueryOptions(env, { ...opts, readOnly: true })).erasures;
}
