import { DuckDBInstance, timestampValue, type DuckDBValue } from '@duckdb/node-api';
import { viewName } from '@eventpipe/registry';
import { parseRfc3339 } from '@eventpipe/schema';
import { DuckDbStore } from '@eventpipe/store/adapters';
import { tempDuckDbPath } from '@eventpipe/testing';
import { describeSchemaStoreContract } from './schema-store-contract';

/** A row as the contract compares it: BIGINT as a number, a NULL list as the empty one (as
 * BigQuery returns a NULL array). */
function plain(row: Record<string, unknown>, arrays: Set<string>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(row)) {
    const value = (x: unknown): unknown => (typeof x === 'bigint' ? Number(x) : x);
    out[k] = Array.isArray(v) ? v.map(value) : v === null && arrays.has(k) ? [] : value(v);
  }
  return out;
}

// Also on an encrypted file (DUCKDB_ENCRYPTION_KEY): the typed views live in the attached file.
describe.each([
  ['DuckDB file', undefined],
  ['DuckDB file, encrypted', 'schema-contract-key-0123456789'],
])('%s', (name, encryptionKey) => {
  describeSchemaStoreContract(name, async () => {
    const path = tempDuckDbPath();
    const store = await DuckDbStore.open({ path, encryptionKey });
    await store.init();
    return {
      schemas: store.schemas,
      insert: async (batch) => {
        const r = await store.insert(batch);
        if (r.rejected.length) throw new Error(JSON.stringify(r.rejected));
      },
      // DuckDbStore reads only events; a second, read-only instance on the file reads the view.
      readView: async (type, columns, from) => {
        const instance = encryptionKey
          ? await DuckDBInstance.create(':memory:')
          : await DuckDBInstance.create(path, { access_mode: 'READ_ONLY' });
        try {
          const c = await instance.connect();
          if (encryptionKey) {
            await c.run(`ATTACH '${path}' AS f (ENCRYPTION_KEY $key, READ_ONLY)`, {
              key: encryptionKey,
            });
            await c.run('USE f');
          }
          const params: Record<string, DuckDBValue> = { from: timestampValue(parseRfc3339(from)!) };
          const reader = await c.runAndReadAll(
            `SELECT ${columns.join(', ')} FROM ${viewName(type)} WHERE time >= $from ORDER BY id`,
            params,
          );
          const arrays = new Set(
            reader.columnNames().filter((_, i) => String(reader.columnTypes()[i]).endsWith('[]')),
          );
          const rows = reader.getRowObjectsJS();
          c.closeSync();
          return rows.map((r) => plain(r as Record<string, unknown>, arrays));
        } finally {
          instance.closeSync();
        }
      },
      close: () => store.close(),
    };
  });
});
