import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { dirname } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { duckdbCreateTable } from '@eventpipe/store/adapters';
import { TYPES } from './events';

/** Bumped whenever the generated data changes shape, so an old file is rebuilt. */
const GENERATOR_VERSION = 3;
/** The generated events span 30 days from this instant, evenly, in time order (as ingested). */
export const DATA_FROM = '2026-10-01T00:00:00.000000Z';
export const DATA_TO = '2026-10-31T00:00:00.000000Z';
const SPAN_US = 30n * 24n * 3600n * 1_000_000n;

export interface Dataset {
  path: string;
  rows: number;
  from: string;
  to: string;
  types: string[];
}

/**
 * A DuckDB file of `rows` events in the store's own table (schema from packages/schema, primary
 * key included), made inside DuckDB by one INSERT … SELECT per million rows, the bulk path
 * (faster than the appender, which needs a JS call per value). Reused while its size and
 * version match.
 */
export async function ensureDataset(
  path: string,
  rows: number,
  log: (m: string) => void,
): Promise<Dataset> {
  const dataset = { path, rows, from: DATA_FROM, to: DATA_TO, types: TYPES };
  if (existsSync(path)) {
    const instance = await DuckDBInstance.create(path, { access_mode: 'READ_ONLY' });
    const conn = await instance.connect();
    const meta = await conn
      .runAndReadAll('SELECT rows, version FROM bench_meta')
      .then((r) => r.getRowObjects()[0])
      .catch(() => undefined);
    conn.closeSync();
    instance.closeSync();
    if (meta && Number(meta.rows) === rows && Number(meta.version) === GENERATOR_VERSION) {
      log(`reusing ${path} (${rows} events)`);
      return dataset;
    }
    rmSync(path, { force: true });
    rmSync(`${path}.wal`, { force: true });
  }
  mkdirSync(dirname(path), { recursive: true });
  const started = Date.now();
  const instance = await DuckDBInstance.create(path);
  const conn = await instance.connect();
  await conn.run(duckdbCreateTable('events'));
  const step = SPAN_US / BigInt(rows); // microseconds between events
  const types = `[${TYPES.map((t) => `'${t}'`).join(', ')}]`;
  const chunk = 1_000_000;
  for (let start = 0; start < rows; start += chunk) {
    const end = Math.min(rows, start + chunk);
    await conn.run(`
      INSERT INTO events
      SELECT
        'evt-' || lpad(i::VARCHAR, 10, '0') AS id,
        '/shops/' || (i % 50) AS source,
        ${types}[(i % ${TYPES.length}) + 1] AS type,
        '1.0' AS specversion,
        TIMESTAMP '2026-10-01 00:00:00' + to_microseconds(i * ${step}) AS time,
        'customer-' || (i % 1000) AS subject,
        'application/json' AS datacontenttype,
        NULL AS dataschema,
        json_object('orderId', i, 'amount', (i % 997) + 0.5, 'currency', 'EUR',
                    'items', ['sku-1', 'sku-2'])::JSON AS data,
        NULL AS data_base64,
        '{}'::JSON AS extensions,
        TIMESTAMP '2026-10-01 00:00:00' + to_microseconds(i * ${step} + 40000) AS received_at,
        TIMESTAMP '2026-10-01 00:00:00' + to_microseconds(i * ${step} + 60000) AS published_at,
        TIMESTAMP '2026-10-01 00:00:00' + to_microseconds(i * ${step} + 900000) AS stored_at,
        i::VARCHAR AS message_id,
        NULL AS time_text,
        sha256(i::VARCHAR) AS digest,
        NULL AS producer
      FROM range(${start}, ${end}) t(i)`);
    log(`generated ${end} / ${rows} events (${Math.round((Date.now() - started) / 1000)} s)`);
  }
  await conn.run(
    `CREATE TABLE bench_meta AS SELECT ${rows} AS rows, ${GENERATOR_VERSION} AS version`,
  );
  await conn.run('CHECKPOINT');
  conn.closeSync();
  instance.closeSync();
  log(`dataset ready: ${rows} events in ${Math.round((Date.now() - started) / 1000)} s`);
  return dataset;
}
