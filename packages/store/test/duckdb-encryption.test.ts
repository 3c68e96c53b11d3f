import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { z } from 'zod';
import { loadConfig } from '@eventpipe/platform';
import { StoreConfigError, duckdbEncryptionKeyOf, storeEnvShape } from '@eventpipe/store';
import { DuckDbStore, type DuckDbStoreOptions } from '@eventpipe/store/adapters';
import { filesHolding, tempDuckDbPath, waitFor } from '@eventpipe/testing';
import { at, items } from './store-contract';

// DUCKDB_ENCRYPTION_KEY: the file, its WAL and DuckDB's temporary files hold no event in clear.
const KEY = "a key with a ' quote, 32 chars.";
const OTHER_KEY = 'another key of 16 or more chars';
const marker = () => `secret-marker-${Math.random().toString(36).slice(2)}-${Date.now()}`;

/** An event whose data holds the marker, as the publisher hands it on. */
const eventWith = (mark: string, id = 'e1') =>
  items([{ id, source: '/enc', type: 'com.example.secret', time: at(1), data: { note: mark } }]);

/** Opens and inits; the caller closes (or does not, as a crash). */
async function opened(opts: DuckDbStoreOptions): Promise<DuckDbStore> {
  const store = await DuckDbStore.open(opts);
  await store.init();
  return store;
}

/** What opening fails with. */
const openError = (opts: DuckDbStoreOptions) =>
  opened(opts).then(
    async (s) => {
      await s.close();
      throw new Error('opened');
    },
    (e: unknown) => e as Error,
  );

/** Runs `fn` on a connection of a throw-away in-memory DuckDB, as an operator's script would. */
async function withDuckDb(fn: (c: DuckDBConnection) => Promise<void>): Promise<void> {
  const instance = await DuckDBInstance.create(':memory:');
  const c = await instance.connect();
  try {
    await fn(c);
  } finally {
    c.closeSync();
    instance.closeSync();
  }
}

/** Whether this machine has DuckDB's httpfs extension (OpenSSL) installed, or can install it. */
async function httpfsAvailable(): Promise<boolean> {
  const instance = await DuckDBInstance.create(':memory:');
  const c = await instance.connect();
  try {
    await c
      .run('LOAD httpfs')
      .catch(() => c.run('INSTALL httpfs').then(() => c.run('LOAD httpfs')));
    return true;
  } catch {
    return false;
  } finally {
    c.closeSync();
    instance.closeSync();
  }
}

describe('DuckDbStore with an encryption key', () => {
  it('when an event is written and the process dies before a checkpoint, then neither the file nor its WAL holds the marker, in clear or base64', async () => {
    const path = tempDuckDbPath();
    const mark = marker();
    const store = await opened({ path, encryptionKey: KEY });
    await store.insert(eventWith(mark));
    // Still open and never closed: what a SIGKILL leaves (the rows are in the WAL).
    expect(existsSync(`${path}.wal`)).toBe(true);
    const files: string[] = [];
    expect(filesHolding(dirname(path), mark, files)).toEqual([]);
    expect(files).toEqual(expect.arrayContaining([path, `${path}.wal`]));
    await store.close();
    expect(filesHolding(dirname(path), mark)).toEqual([]);
  });

  it('when the same is done without a key, then the scan finds the marker (the check can fail)', async () => {
    const path = tempDuckDbPath();
    const mark = marker();
    const store = await opened({ path });
    await store.insert(eventWith(mark));
    expect(filesHolding(dirname(path), mark).map((h) => h.path)).toContain(`${path}.wal`);
    await store.close();
    expect(filesHolding(dirname(path), mark).map((h) => h.path)).toContain(path);
  });

  it('when it is opened again with the key, then the event reads back byte for byte, read-write and read-only', async () => {
    const path = tempDuckDbPath();
    const mark = marker();
    const first = await opened({ path, encryptionKey: KEY });
    await first.insert(eventWith(mark));
    const [written] = await first.get('e1');
    await first.close();
    expect(written!.data).toBe(`{"note":"${mark}"}`);

    const again = await opened({ path, encryptionKey: KEY });
    expect(await again.get('e1')).toEqual([written]);
    // More writes after a reopen, through the appender and the staging table.
    await again.insert(eventWith(marker(), 'e2'));
    expect((await again.list({ limit: 10 })).map((r) => r.id)).toEqual(['e2', 'e1']);
    await again.close();

    const reader = await opened({ path, encryptionKey: KEY, readOnly: true });
    expect(await reader.get('e1')).toEqual([written]);
    // Readers are pooled connections: each must be on the attached file.
    const lists = await Promise.all([1, 2, 3, 4, 5].map(() => reader.list({ limit: 10 })));
    for (const l of lists) expect(l.map((r) => r.id)).toEqual(['e2', 'e1']);
    await reader.close();
  });

  it('when DuckDB spills to temporary files, then they hold no marker either (and without a key they do)', async () => {
    // 20 000 events of ~1 KB in one batch under a 64 MB memory limit: the staging table and the
    // INSERT spill to <file>.tmp, which DuckDB removes when done, so the files are read meanwhile.
    const spill = async (encryptionKey?: string) => {
      const path = tempDuckDbPath();
      const mark = marker();
      const store = await opened({ path, encryptionKey, memoryLimit: '64MB', threads: 1 });
      const batch = items(
        Array.from({ length: 20_000 }, (_, i) => ({
          id: `s${i}`,
          source: '/spill',
          type: 'a',
          time: at(1),
          data: { note: `${mark}-${i}`, pad: 'x'.repeat(1000) },
        })),
      );
      const seen = new Set<string>();
      const hits: string[] = [];
      const timer = setInterval(() => {
        if (!existsSync(`${path}.tmp`)) return;
        const files: string[] = [];
        hits.push(...filesHolding(`${path}.tmp`, mark, files).map((h) => h.path));
        for (const f of files) seen.add(f);
      }, 5);
      try {
        expect((await store.insert(batch)).inserted).toBe(20_000);
      } finally {
        clearInterval(timer);
      }
      await store.close();
      return { seen: seen.size, hits: hits.length, final: filesHolding(dirname(path), mark) };
    };
    const plain = await spill();
    expect(plain.seen).toBeGreaterThan(0);
    expect(plain.hits).toBeGreaterThan(0);
    const encrypted = await spill(KEY);
    expect(encrypted.seen).toBeGreaterThan(0); // it did spill
    expect(encrypted.hits).toBe(0);
    expect(encrypted.final).toEqual([]);
  }, 120_000);

  it('when the path holds a single quote, then it is attached all the same', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'eventpipe-test-')), "it's", 'events.duckdb');
    const store = await opened({ path, encryptionKey: KEY });
    await store.insert(eventWith(marker()));
    await store.close();
    const again = await opened({ path, encryptionKey: KEY });
    expect(await again.get('e1')).toHaveLength(1);
    await again.close();
  });

  it('when a plain file is copied into an encrypted one and that into one with a new key (docs/OPERATIONS.md), then the store opens the last with its key and everything is there', async () => {
    const plain = tempDuckDbPath();
    const mark = marker();
    const before = await opened({ path: plain });
    await before.insert(eventWith(mark));
    const [row] = await before.get('e1');
    await before.close();
    // A typed view, as the schema registry makes them: its text names the table unqualified.
    const direct = await DuckDBInstance.create(plain);
    const dc = await direct.connect();
    await dc.run('CREATE VIEW events_secret AS SELECT id, data FROM events');
    dc.closeSync();
    direct.closeSync();

    // The procedure of docs/OPERATIONS.md: ATTACH both, COPY FROM DATABASE, point DUCKDB_PATH.
    const copy = async (from: string, fromKey: string | undefined, to: string, toKey: string) =>
      withDuckDb(async (c) => {
        await c.run('SET force_mbedtls_unsafe = true'); // or LOAD httpfs, where it is installed
        await c.run(
          `ATTACH '${from}' AS src (READ_ONLY${fromKey ? ', ENCRYPTION_KEY $key' : ''})`,
          fromKey ? { key: fromKey } : {},
        );
        await c.run(`ATTACH '${to}' AS dst (ENCRYPTION_KEY $key)`, { key: toKey });
        await c.run('COPY FROM DATABASE src TO dst');
      });
    const encrypted = join(dirname(plain), 'encrypted.duckdb');
    await copy(plain, undefined, encrypted, KEY);
    const rotated = join(dirname(plain), 'rotated.duckdb');
    await copy(encrypted, KEY, rotated, OTHER_KEY);

    expect((await openError({ path: rotated, encryptionKey: KEY })).message).toMatch(/another key/);
    const after = await opened({ path: rotated, encryptionKey: OTHER_KEY });
    expect(await after.get('e1')).toEqual([row]);
    // The primary key came along: the same event again is a redelivery, not a second row.
    expect((await after.insert(eventWith(mark))).inserted).toBe(0);
    await after.close();
    await withDuckDb(async (c) => {
      await c.run(`ATTACH '${rotated}' AS other (ENCRYPTION_KEY $key, READ_ONLY)`, {
        key: OTHER_KEY,
      });
      await c.run('USE other');
      const view = await c.runAndReadAll('SELECT id, data FROM events_secret');
      expect(view.getRowObjectsJS()).toEqual([{ id: 'e1', data: row!.data }]);
    });
    expect(filesHolding(dirname(rotated), mark).map((h) => h.path)).toEqual([plain]);
  });

  describe('refusals', () => {
    let encrypted: string;
    let plain: string;
    beforeAll(async () => {
      encrypted = tempDuckDbPath();
      await (await opened({ path: encrypted, encryptionKey: KEY })).close();
      plain = tempDuckDbPath();
      await (await opened({ path: plain })).close();
    });

    it('when the key is another, then opening fails saying so, without either key', async () => {
      for (const readOnly of [false, true]) {
        const err = await openError({ path: encrypted, encryptionKey: OTHER_KEY, readOnly });
        expect(err).toBeInstanceOf(StoreConfigError);
        expect(err.message).toMatch(/was encrypted with another key: DUCKDB_ENCRYPTION_KEY/);
        expect(err.message).not.toContain(OTHER_KEY);
        expect(err.message).not.toContain(KEY);
      }
    });

    it('when no key is given for an encrypted file, then opening fails naming the variables', async () => {
      for (const readOnly of [false, true]) {
        const err = await openError({ path: encrypted, readOnly });
        expect(err).toBeInstanceOf(StoreConfigError);
        expect(err.message).toMatch(
          /is encrypted: set DUCKDB_ENCRYPTION_KEY or DUCKDB_ENCRYPTION_KEY_FILE/,
        );
      }
    });

    it('when a key is given for a file that is not encrypted, then opening fails saying how to migrate', async () => {
      const err = await openError({ path: plain, encryptionKey: KEY });
      expect(err).toBeInstanceOf(StoreConfigError);
      expect(err.message).toMatch(/is not encrypted, but DUCKDB_ENCRYPTION_KEY .*is set/);
      expect(err.message).toMatch(/COPY FROM DATABASE/);
      expect(err.message).toMatch(/docs\/OPERATIONS\.md/);
      expect(err.message).not.toContain(KEY);
    });

    it('when another process holds the encrypted file, then opening fails with the message that says what to do', async () => {
      const holder = spawn(
        process.execPath,
        [
          '-e',
          `const { DuckDBInstance } = require('@duckdb/node-api');
           DuckDBInstance.create(':memory:').then((i) => i.connect()).then(async (c) => {
             await c.run(${JSON.stringify(`ATTACH '${encrypted}' AS f (ENCRYPTION_KEY $key, READ_ONLY)`)}, { key: ${JSON.stringify(KEY)} });
             console.log('held');
             setInterval(() => {}, 1000);
           });`,
        ],
        { stdio: ['ignore', 'pipe', 'inherit'] },
      );
      try {
        let out = '';
        holder.stdout.on('data', (d: Buffer) => (out += d.toString()));
        await waitFor(() => (out.includes('held') ? true : undefined), {
          what: 'holder process',
          timeoutMs: 20_000,
        });
        const err = await openError({ path: encrypted, encryptionKey: KEY });
        expect(err).toBeInstanceOf(StoreConfigError);
        expect(err.message).toMatch(/held by another process.*npm start.*STORE=bigquery/);
        expect(err.message).not.toContain(KEY);
      } finally {
        holder.kill('SIGKILL');
      }
    });

    it('when a key is given for :memory:, then it is refused', async () => {
      expect((await openError({ path: ':memory:', encryptionKey: KEY })).message).toMatch(
        /needs a DuckDB file/,
      );
    });
  });

  describe('the crypto module', () => {
    it('when httpfs is missing, then auto warns that the built-in module is used and how to get OpenSSL, and openssl refuses; with it, neither', async () => {
      const available = await httpfsAvailable();
      const warnings: string[] = [];
      const store = await opened({
        path: tempDuckDbPath(),
        encryptionKey: KEY,
        onWarning: (m) => warnings.push(m),
      });
      await store.close();
      const strict = await opened({
        path: tempDuckDbPath(),
        encryptionKey: KEY,
        crypto: 'openssl',
      }).then(
        async (s) => {
          await s.close();
          return undefined;
        },
        (e: unknown) => e as Error,
      );
      if (available) {
        expect(warnings).toEqual([]);
        expect(strict).toBeUndefined();
      } else {
        expect(warnings).toHaveLength(1);
        expect(warnings[0]).toMatch(/built-in MbedTLS module, which DuckDB calls unsafe/);
        expect(warnings[0]).toMatch(/httpfs/);
        expect(warnings[0]).toMatch(/DUCKDB_EXTENSION_DIRECTORY/);
        expect(warnings[0]).toMatch(/DUCKDB_ENCRYPTION_CRYPTO=openssl/);
        expect(warnings[0]).not.toContain(KEY);
        expect(strict).toBeInstanceOf(StoreConfigError);
        expect(strict!.message).toMatch(/DUCKDB_ENCRYPTION_CRYPTO=openssl, but .*httpfs/);
      }
    });

    it('when DUCKDB_EXTENSION_DIRECTORY is set, then DuckDB looks for httpfs there', async () => {
      const dir = join(mkdtempSync(join(tmpdir(), 'eventpipe-ext-')), 'extensions');
      const warnings: string[] = [];
      const store = await opened({
        path: tempDuckDbPath(),
        encryptionKey: KEY,
        extensionDirectory: dir,
        onWarning: (m) => warnings.push(m),
      });
      await store.close();
      // Either httpfs was installed there (network), or the warning names the directory.
      if (warnings.length) expect(warnings[0]).toContain(dir);
      else expect(existsSync(dir)).toBe(true);
    });
  });
});

describe('DUCKDB_ENCRYPTION_KEY and DUCKDB_ENCRYPTION_KEY_FILE', () => {
  const schema = z.object(storeEnvShape);
  const keyFile = (text: string) => {
    const dir = mkdtempSync(join(tmpdir(), 'eventpipe-key-'));
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'key'), text, { mode: 0o600 });
    return join(dir, 'key');
  };

  it('when the key is shorter than 16 characters, then the config is refused without echoing it', () => {
    expect(schema.safeParse({ DUCKDB_ENCRYPTION_KEY: 'short-key-15chr' }).success).toBe(false);
    expect(schema.parse({ DUCKDB_ENCRYPTION_KEY: 'sixteen-chars-ok' }).DUCKDB_ENCRYPTION_KEY).toBe(
      'sixteen-chars-ok',
    );
    let message = '';
    try {
      loadConfig(schema, { DUCKDB_ENCRYPTION_KEY: 'short-key-15chr' });
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toMatch(/DUCKDB_ENCRYPTION_KEY=<hidden, 15 characters>: must be at least 16/);
    expect(message).not.toContain('short-key-15chr');
  });

  it('when the key is in a file, then one trailing newline is dropped', () => {
    const env = schema.parse({ DUCKDB_ENCRYPTION_KEY_FILE: keyFile(`${KEY}\n`) });
    expect(duckdbEncryptionKeyOf(env)).toBe(KEY);
    expect(duckdbEncryptionKeyOf(schema.parse({ DUCKDB_ENCRYPTION_KEY_FILE: keyFile(KEY) }))).toBe(
      KEY,
    );
    expect(duckdbEncryptionKeyOf(schema.parse({}))).toBeUndefined();
  });

  it('when both are set, the file cannot be read, or it holds a short key, then it says which, without the key', () => {
    const both = schema.parse({ DUCKDB_ENCRYPTION_KEY: KEY, DUCKDB_ENCRYPTION_KEY_FILE: '/x' });
    expect(() => duckdbEncryptionKeyOf(both)).toThrow(
      /set DUCKDB_ENCRYPTION_KEY or DUCKDB_ENCRYPTION_KEY_FILE, not both/,
    );
    const missing = schema.parse({ DUCKDB_ENCRYPTION_KEY_FILE: '/nonexistent/duckdb-key' });
    expect(() => duckdbEncryptionKeyOf(missing)).toThrow(
      /DUCKDB_ENCRYPTION_KEY_FILE \/nonexistent\/duckdb-key cannot be read \(ENOENT\)/,
    );
    const short = schema.parse({ DUCKDB_ENCRYPTION_KEY_FILE: keyFile('tiny-key\n') });
    let message = '';
    try {
      duckdbEncryptionKeyOf(short);
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toMatch(/holds a key of 8 characters: it must have at least 16/);
    expect(message).not.toContain('tiny-key');
  });
});
