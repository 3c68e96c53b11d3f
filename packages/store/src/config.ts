import { z } from 'zod';
import { envInt, envOptionalBool, googleCloudEnvShape } from '@eventpipe/platform/core';

/** Environment variables of the store, shared by the worker's and query API's config schemas. */
export const storeEnvShape = {
  STORE: z
    .enum(['duckdb', 'bigquery'])
    .default('duckdb')
    .describe('Event store adapter: duckdb or bigquery'),
  DUCKDB_PATH: z
    .string()
    .min(1)
    .default('./data/eventpipe.duckdb')
    .describe('DuckDB database file (created if missing); relative to the working directory'),
  DUCKDB_MEMORY_LIMIT: z
    .string()
    .regex(/^\d+(\.\d+)?\s*(KB|MB|GB|KiB|MiB|GiB)$/i, {
      error: 'must be a size like 256MB or 1GiB',
    })
    .optional()
    .describe(
      "DuckDB buffer pool limit (e.g. 256MB); unset: DuckDB's default, 80% of the machine's memory",
    ),
  DUCKDB_THREADS: z.coerce
    .number()
    .int()
    .min(1)
    .max(256)
    .optional()
    .describe('Threads DuckDB runs a query on; unset: one per core'),
  DUCKDB_ENCRYPTION_KEY: z
    .string()
    .min(16, { error: 'must be at least 16 characters' })
    .optional()
    .describe(
      "Encrypts the DuckDB file, its WAL and temporary files (DuckDB's database encryption, AES-256-GCM) and npm start's bus journal with this key, at least 16 characters; a file written without it, or with another, is refused. Set this or DUCKDB_ENCRYPTION_KEY_FILE; docs/SECURITY.md",
    ),
  DUCKDB_ENCRYPTION_KEY_FILE: z
    .string()
    .min(1)
    .optional()
    .describe(
      'Path of a file holding DUCKDB_ENCRYPTION_KEY (for secret mounts); one trailing newline is dropped',
    ),
  DUCKDB_ENCRYPTION_CRYPTO: z
    .enum(['auto', 'openssl'])
    .default('auto')
    .describe(
      "With an encryption key, what encrypts: auto (OpenSSL from DuckDB's httpfs extension, installed when missing and the network allows; else DuckDB's built-in MbedTLS, which DuckDB calls unsafe, with a warning at start) or openssl (refuse to start without httpfs)",
    ),
  DUCKDB_EXTENSION_DIRECTORY: z
    .string()
    .min(1)
    .optional()
    .describe(
      "DuckDB's extension_directory: where httpfs (OpenSSL, for DUCKDB_ENCRYPTION_KEY) is installed and loaded from; unset: DuckDB's default, ~/.duckdb/extensions",
    ),
  RETENTION_DAYS: z.coerce
    .number()
    .int()
    .min(1)
    .max(36_500)
    .optional()
    .describe(
      'Days events are kept, by event time: older events are left out of every read at once and deleted (DuckDB: by the worker, RETENTION_SWEEP_SECONDS; BigQuery: by partition expiration, set on the table). Unset: kept for ever',
    ),
  ERASURE_REFRESH_SECONDS: envInt(
    'How often each service reloads the erasures table (suppressions at the publisher, late arrivals at the worker) and the worker tries pending erasures again',
    10,
    1,
    3600,
  ),
  ...googleCloudEnvShape,
  BIGQUERY_EMULATOR_HOST: z
    .string()
    .regex(/^https?:\/\/[^\s/]+(:\d+)?\/?$/, { error: 'must be a URL like http://127.0.0.1:9050' })
    .optional()
    .describe(
      'URL of a BigQuery emulator (the official client reads it too); unset for Google Cloud',
    ),
  BIGQUERY_DATASET: z
    .string()
    .regex(/^[A-Za-z0-9_]{1,1024}$/, { error: 'letters, digits and underscores only' })
    .default('eventpipe')
    .describe('BigQuery dataset'),
  BIGQUERY_TABLE: z
    .string()
    .regex(/^[A-Za-z0-9_]{1,1024}$/, { error: 'letters, digits and underscores only' })
    .default('events')
    .describe('BigQuery table'),
  BIGQUERY_LOCATION: z
    .string()
    .min(1)
    .optional()
    .describe('BigQuery dataset location, e.g. US, EU, europe-west1'),
  BIGQUERY_AUTO_CREATE: envOptionalBool(
    'Create the dataset and table when missing and add new NULLABLE columns (default: true unless NODE_ENV asks for production rules)',
  ),
  BIGQUERY_MAX_BYTES_BILLED: z.coerce
    .number()
    .int()
    .min(10 * 1024 * 1024)
    .default(10 * 1024 ** 3)
    .describe('Cost guard: a query that would bill more bytes fails (maximumBytesBilled)'),
  BIGQUERY_DEFAULT_RANGE_DAYS: envInt(
    'Days a list request reaches back when it gives no from',
    30,
    1,
    3660,
  ),
  BIGQUERY_MAX_RANGE_DAYS: envInt('Widest to - from one query may span, in days', 400, 1, 3660),
  BIGQUERY_DUPLICATE_WINDOW_HOURS: envInt(
    'Hours either side of an event time searched for a stored event with its (source, id) before the insert: a resent one is dropped, a different one dead-lettered as conflicting-duplicate. Each batch reads the source, id and digest columns of those day partitions. 0: no lookup (a conflict then goes unnoticed)',
    24,
    0,
    8784,
  ),
  BIGQUERY_INSERT_MAX_ATTEMPTS: envInt(
    'insertAll attempts on 429 / 5xx / quota errors before the batch is nacked',
    5,
    1,
    20,
  ),
};

export type StoreEnv = z.output<z.ZodObject<typeof storeEnvShape>>;
