import { readFileSync } from 'node:fs';
import type { StoreEnv } from './config';
import { StoreConfigError } from './event-store.port';

/** The shortest key accepted (DUCKDB_ENCRYPTION_KEY and the file DUCKDB_ENCRYPTION_KEY_FILE names). */
export const ENCRYPTION_KEY_MIN_LENGTH = 16;

/**
 * The DuckDB encryption key, from DUCKDB_ENCRYPTION_KEY or the file DUCKDB_ENCRYPTION_KEY_FILE
 * names (one trailing newline dropped, as `echo` and secret mounts leave one); undefined when
 * neither is set. The messages name the variables and the file, never the key.
 */
export function duckdbEncryptionKeyOf(
  env: Pick<StoreEnv, 'DUCKDB_ENCRYPTION_KEY' | 'DUCKDB_ENCRYPTION_KEY_FILE'>,
): string | undefined {
  const { DUCKDB_ENCRYPTION_KEY: key, DUCKDB_ENCRYPTION_KEY_FILE: file } = env;
  if (key !== undefined && file !== undefined) {
    throw new StoreConfigError('set DUCKDB_ENCRYPTION_KEY or DUCKDB_ENCRYPTION_KEY_FILE, not both');
  }
  if (file === undefined) return key;
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? String(e);
    throw new StoreConfigError(`DUCKDB_ENCRYPTION_KEY_FILE ${file} cannot be read (${code})`);
  }
  const fromFile = text.replace(/\r?\n$/, '');
  if (fromFile.length < ENCRYPTION_KEY_MIN_LENGTH) {
    throw new StoreConfigError(
      `DUCKDB_ENCRYPTION_KEY_FILE ${file} holds a key of ${fromFile.length} characters: it must have at least ${ENCRYPTION_KEY_MIN_LENGTH}`,
    );
  }
  return fromFile;
}
