import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { StoreConfigError } from './event-store.port';

/** Which crypto module writes an encrypted file: `auto` takes OpenSSL (DuckDB's httpfs extension)
 * when it can be loaded or installed and otherwise DuckDB's built-in MbedTLS, with a warning;
 * `openssl` refuses to open without httpfs. */
export type DuckDbCrypto = 'auto' | 'openssl';

/** The name an encrypted file is attached under; every connection `USE`s it. */
export const ENCRYPTED_CATALOG = 'eventpipe';

export interface DuckDbOpenOptions {
  path: string;
  readOnly?: boolean;
  memoryLimit?: string;
  threads?: number;
  encryptionKey: string;
  crypto?: DuckDbCrypto;
  extensionDirectory?: string;
  onWarning?: (message: string) => void;
}

/**
 * Opens an encrypted DuckDB file. DuckDB encrypts a database only when it is ATTACHed with an
 * ENCRYPTION_KEY, so the instance itself is an empty in-memory database and the file is attached
 * beside it; each connection must then `USE` it. The key is a bound parameter: it never appears in
 * a statement's text, and so in no error message DuckDB builds from one.
 *
 * Writing needs a crypto module that DuckDB deems safe: OpenSSL, which comes with the httpfs
 * extension. Without it DuckDB refuses to write unless `force_mbedtls_unsafe` is set: its built-in
 * MbedTLS then encrypts with nonces from a random generator that is not cryptographically secure.
 * The WAL is encrypted with the file; temporary (spill) files only with `temp_file_encryption`,
 * which DuckDB leaves off even for an encrypted database (without it a spilled insert leaves the
 * events in clear in <file>.tmp: duckdb-encryption.test.ts), hence set here.
 */
export async function openEncryptedDuckDb(
  opts: DuckDbOpenOptions,
): Promise<{ instance: DuckDBInstance; writer: DuckDBConnection }> {
  if (opts.path === ':memory:') {
    throw new StoreConfigError('an encryption key needs a DuckDB file, not :memory:');
  }
  const instance = await DuckDBInstance.create(':memory:', {
    ...(opts.memoryLimit ? { memory_limit: opts.memoryLimit } : {}),
    ...(opts.threads ? { threads: String(opts.threads) } : {}),
    // Where DuckDB spills when it opens the file itself (an in-memory instance would use ./.tmp).
    temp_directory: `${opts.path}.tmp`,
    temp_file_encryption: 'true',
    ...(opts.extensionDirectory ? { extension_directory: opts.extensionDirectory } : {}),
  });
  let writer: DuckDBConnection | undefined;
  try {
    writer = await instance.connect();
    await chooseCrypto(writer, opts);
    try {
      await writer.run(
        `ATTACH '${opts.path.replaceAll("'", "''")}' AS ${ENCRYPTED_CATALOG} ` +
          `(ENCRYPTION_KEY $key${opts.readOnly ? ', READ_ONLY' : ''})`,
        { key: opts.encryptionKey },
      );
    } catch (e) {
      throw duckdbOpenError(e, opts.path, opts.encryptionKey);
    }
    await writer.run(`USE ${ENCRYPTED_CATALOG}`);
    return { instance, writer };
  } catch (e) {
    writer?.closeSync();
    instance.closeSync();
    throw e;
  }
}

/** Why installing httpfs failed, by extension directory: one attempt per process (offline it
 * costs ~0.5 s, or the network's timeout). */
const installFailures = new Map<string, string>();

/** Loads httpfs (installing it first when it is missing and the network allows) for OpenSSL;
 * otherwise falls back to MbedTLS with a warning, or refuses with `openssl`. */
async function chooseCrypto(c: DuckDBConnection, opts: DuckDbOpenOptions): Promise<void> {
  const dirKey = opts.extensionDirectory ?? '';
  let problem = installFailures.get(dirKey);
  try {
    await c.run('LOAD httpfs');
    return;
  } catch {
    if (problem === undefined) {
      try {
        await c.run('INSTALL httpfs');
        await c.run('LOAD httpfs');
        return;
      } catch (e) {
        problem = firstLine(e);
        installFailures.set(dirKey, problem);
      }
    }
  }
  const dir =
    String(
      (
        await c.runAndReadAll("SELECT current_setting('extension_directory') AS d")
      ).getRowObjects()[0]?.d ?? '',
    ) || '~/.duckdb/extensions';
  const howTo =
    `start once with network access (httpfs is then installed into ${dir}), ` +
    `or put DuckDB's httpfs extension there or in DUCKDB_EXTENSION_DIRECTORY (docs/SECURITY.md)`;
  if (opts.crypto === 'openssl') {
    throw new StoreConfigError(
      `DUCKDB_ENCRYPTION_CRYPTO=openssl, but DuckDB's httpfs extension, which brings OpenSSL, ` +
        `cannot be loaded or installed (${problem}). To get it, ${howTo}.`,
    );
  }
  await c.run('SET GLOBAL force_mbedtls_unsafe = true');
  opts.onWarning?.(
    `DuckDB file ${opts.path} is encrypted with DuckDB's built-in MbedTLS module, which DuckDB calls unsafe ` +
      '(its nonces do not come from a cryptographically secure random generator): ' +
      `the httpfs extension, which brings OpenSSL, cannot be loaded or installed (${problem}). ` +
      `For OpenSSL, ${howTo}; DUCKDB_ENCRYPTION_CRYPTO=openssl refuses to start without it.`,
  );
}

const firstLine = (e: unknown) =>
  (e instanceof Error ? e.message : String(e)).split('\n')[0]!.trim();

/** A StoreConfigError that says what to do, for a failure to open or attach a DuckDB file. The
 * key, when one is given, is masked out of the message (DuckDB's messages do not hold it, since it
 * is bound; this keeps it so). */
export function duckdbOpenError(e: unknown, path: string, key?: string): StoreConfigError {
  let message = e instanceof Error ? e.message : String(e);
  if (key) message = message.replaceAll(key, '<DUCKDB_ENCRYPTION_KEY>');
  // DuckDB's own error goes along as the cause only when no key could be in it.
  const cause = key ? {} : { cause: e };
  if (/wrong encryption key/i.test(message)) {
    return new StoreConfigError(
      `DuckDB file ${path} was encrypted with another key: DUCKDB_ENCRYPTION_KEY ` +
        '(or DUCKDB_ENCRYPTION_KEY_FILE) must be the key it was written with',
    );
  }
  if (/key is explicitly specified.*not encrypted/i.test(message)) {
    return new StoreConfigError(
      `DuckDB file ${path} is not encrypted, but DUCKDB_ENCRYPTION_KEY (or DUCKDB_ENCRYPTION_KEY_FILE) is set. ` +
        'Unset the key, or encrypt the file: stop eventpipe, copy it into a new encrypted file ' +
        "(ATTACH the old file and ATTACH the new one with (ENCRYPTION_KEY '…'), then COPY FROM DATABASE old TO new) " +
        'and point DUCKDB_PATH at the new file (docs/OPERATIONS.md, "Encrypting the DuckDB file")',
    );
  }
  if (/encrypted database.*without a key/i.test(message)) {
    return new StoreConfigError(
      `DuckDB file ${path} is encrypted: set DUCKDB_ENCRYPTION_KEY or DUCKDB_ENCRYPTION_KEY_FILE ` +
        'to the key it was written with',
    );
  }
  if (/lock/i.test(message)) {
    return new StoreConfigError(
      `DuckDB file ${path} is held by another process (DuckDB admits one writing process). ` +
        'Run the worker and query API in one process (npm start), or use STORE=bigquery.',
      cause,
    );
  }
  return new StoreConfigError(`cannot open DuckDB file ${path}: ${message}`, cause);
}
