import { z } from 'zod';
import { DuckDbStore } from './duckdb.adapter';
import type { EventStore } from './event-store.port';

/** Environment variables of the store, shared by the worker's and query API's config schemas. */
export const storeEnvShape = {
  STORE: z.enum(['duckdb']).default('duckdb').describe('Event store adapter'),
  DUCKDB_PATH: z
    .string()
    .min(1)
    .default('./data/eventpipe.duckdb')
    .describe('DuckDB database file (created if missing); relative to the working directory'),
};

export type StoreEnv = z.output<z.ZodObject<typeof storeEnvShape>>;

/** Opens the configured store and ensures its table. */
export async function openStore(
  env: StoreEnv,
  opts: { readOnly?: boolean } = {},
): Promise<EventStore> {
  const store = await DuckDbStore.open({ path: env.DUCKDB_PATH, readOnly: opts.readOnly });
  await store.init();
  return store;
}
