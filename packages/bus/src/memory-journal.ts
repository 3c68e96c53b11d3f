import { createCipheriv, createDecipheriv, randomBytes, scryptSync } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { open, readFile, rename, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';

/** A message as the journal keeps it. */
export interface JournalMessage {
  id: string;
  data: Buffer;
  attributes: Record<string, string>;
  publishTime: Date;
}

/** What a journal held when it was opened: the messages not yet settled, in publish order, and
 * the dead-lettered ones not yet removed. */
export interface JournalState {
  /** The highest message id the journal has seen (ids are never reused). */
  lastId: number;
  messages: JournalMessage[];
  deadLettered: { key: string; data: Buffer; attributes: Record<string, string> }[];
}

/** How a journal is opened. */
export interface JournalOptions {
  /** Encrypts what each message carries, its data and attributes (see JournalCipher); npm start
   * passes the DuckDB encryption key, so its data directory holds no event in clear. */
  encryptionKey?: string;
}

// One JSON object per line:
//   {"p": id, "t": publishTimeMs, "d": base64, "a": attributes}   published
//   {"k": id}                                                     settled (acked or dead-lettered)
//   {"q": key, "d": base64, "a": attributes}                     dead-lettered
//   {"x": key}                                                    taken off the dead-letter list
//   {"n": lastId}                                                 the highest id yet (compaction)
// With an encryption key, "c" (base64 of IV, ciphertext, tag) takes the place of "d" and "a".
type Payload = { d: string; a: Record<string, string> } | { c: string };
type Line =
  | { n: number }
  | ({ p: string; t: number } & Payload)
  | { k: string }
  | ({ q: string } & Payload)
  | { x: string };

/**
 * AES-256-GCM over a message's attributes and data, with a random 12-byte IV per record and the
 * record's id as associated data (a sealed payload moved to another record does not open). The
 * key is derived from the secret with scrypt and a fixed salt: the secret may be a passphrase,
 * and one derivation per start costs ~60 ms.
 */
class JournalCipher {
  private readonly key: Buffer;

  constructor(secret: string) {
    this.key = scryptSync(secret, 'eventpipe memory-bus journal v1', 32, {
      N: 2 ** 15,
      r: 8,
      p: 1,
      maxmem: 64 * 1024 * 1024,
    });
  }

  seal(record: string, data: Buffer, attributes: Record<string, string>): string {
    const attrs = Buffer.from(JSON.stringify(attributes));
    const length = Buffer.alloc(4);
    length.writeUInt32BE(attrs.length);
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    cipher.setAAD(Buffer.from(record));
    const body = Buffer.concat([
      cipher.update(Buffer.concat([length, attrs, data])),
      cipher.final(),
    ]);
    return Buffer.concat([iv, body, cipher.getAuthTag()]).toString('base64');
  }

  /** Throws when the key is not the one the record was sealed with (or the record was altered). */
  open(record: string, sealed: string): { data: Buffer; attributes: Record<string, string> } {
    const raw = Buffer.from(sealed, 'base64');
    const decipher = createDecipheriv('aes-256-gcm', this.key, raw.subarray(0, 12));
    decipher.setAAD(Buffer.from(record));
    decipher.setAuthTag(raw.subarray(raw.length - 16));
    const plain = Buffer.concat([
      decipher.update(raw.subarray(12, raw.length - 16)),
      decipher.final(),
    ]);
    const length = plain.readUInt32BE(0);
    return {
      attributes: JSON.parse(plain.subarray(4, 4 + length).toString()) as Record<string, string>,
      data: plain.subarray(4 + length),
    };
  }
}

/** Rewrite the file when it holds this many lines and four times as many as are live. */
const COMPACT_LINES = 100_000;

/**
 * The in-process bus's write-ahead log, so `npm start` keeps its promise across a crash: a
 * publish resolves (and the publisher answers 202) only once its messages are on disk
 * (fdatasync); an ack is appended without waiting (a lost ack costs a redelivery, which the
 * store's dedup absorbs). Writes are grouped: every publish waiting while one write runs goes
 * into the next, so one fdatasync serves many requests. Opening replays the file and rewrites it
 * with only what is live; a line torn by a crash mid-write was never acknowledged and is
 * skipped.
 */
export class MemoryJournal {
  private pending: {
    text: string;
    durable: boolean;
    done: () => void;
    fail: (e: Error) => void;
  }[] = [];
  private writing: Promise<void> | undefined;
  /** Live lines by message id or dead-letter key, for compaction. */
  private readonly live = new Map<string, string>();
  private lines = 0;
  private closed = false;
  private lastId = 0;

  private constructor(
    private readonly path: string,
    private file: FileHandle,
    private readonly cipher: JournalCipher | undefined,
  ) {}

  /** Opens the journal at `path` and replays it. With an encryption key, a journal that holds
   * messages not yet settled that were written without the key, or with another, is refused (and
   * without one, a journal whose messages were encrypted), before anything is written to it. */
  static async open(
    path: string,
    opts: JournalOptions = {},
  ): Promise<{ journal: MemoryJournal; state: JournalState }> {
    mkdirSync(dirname(path), { recursive: true });
    const text = await readFile(path, 'utf8').catch((e: NodeJS.ErrnoException) => {
      if (e.code === 'ENOENT') return '';
      throw e;
    });
    const live = new Map<string, string>();
    let lastId = 0;
    for (const raw of text.split('\n')) {
      if (!raw) continue;
      let line: Line;
      try {
        line = JSON.parse(raw) as Line;
      } catch {
        continue; // torn by a crash mid-write: that write was never acknowledged
      }
      if ('n' in line) lastId = Math.max(lastId, line.n);
      else if ('p' in line) {
        live.set(`p:${line.p}`, raw);
        lastId = Math.max(lastId, Number(line.p) || 0);
      } else if ('k' in line) live.delete(`p:${line.k}`);
      else if ('q' in line) live.set(`q:${line.q}`, raw);
      else live.delete(`q:${line.x}`);
    }
    const cipher =
      opts.encryptionKey === undefined ? undefined : new JournalCipher(opts.encryptionKey);
    const payload = (record: string, line: Payload) => {
      if ('c' in line) {
        if (!cipher) {
          throw new Error(
            `the bus journal ${path} holds encrypted messages not yet stored: set DUCKDB_ENCRYPTION_KEY (or DUCKDB_ENCRYPTION_KEY_FILE) to the key they were written with`,
          );
        }
        try {
          return cipher.open(record, line.c);
        } catch {
          throw new Error(
            `the bus journal ${path} was encrypted with another key, or altered: DUCKDB_ENCRYPTION_KEY (or DUCKDB_ENCRYPTION_KEY_FILE) must be the key it was written with`,
          );
        }
      }
      if (cipher) {
        throw new Error(
          `the bus journal ${path} holds messages not yet stored that were written without encryption, and an encryption key is set: ` +
            'start once without the key, on the DuckDB file they were accepted for, so they are stored; stop (SIGTERM); then start with the key',
        );
      }
      return { data: Buffer.from(line.d, 'base64'), attributes: line.a };
    };
    // Read before anything is written, so a refused journal is left as it was.
    const state: JournalState = { lastId, messages: [], deadLettered: [] };
    for (const raw of live.values()) {
      const line = JSON.parse(raw) as Line;
      if ('p' in line) {
        state.messages.push({
          id: line.p,
          ...payload(`p:${line.p}`, line),
          publishTime: new Date(line.t),
        });
      } else if ('q' in line) {
        state.deadLettered.push({ key: line.q, ...payload(`q:${line.q}`, line) });
      }
    }
    const journal = new MemoryJournal(path, await open(path, 'a'), cipher);
    for (const [key, raw] of live) journal.live.set(key, raw);
    journal.lastId = lastId;
    await journal.compact();
    return { journal, state };
  }

  /** A message's data and attributes as a line holds them: sealed with a key, else base64. */
  private payload(record: string, data: Buffer, attributes: Record<string, string>): Payload {
    return this.cipher
      ? { c: this.cipher.seal(record, data, attributes) }
      : { d: data.toString('base64'), a: attributes };
  }

  /** Records published messages; resolves once they are on disk. */
  published(messages: JournalMessage[]): Promise<void> {
    const lines = messages.map((m) => {
      const raw = JSON.stringify({
        p: m.id,
        t: m.publishTime.getTime(),
        ...this.payload(`p:${m.id}`, m.data, m.attributes),
      });
      this.live.set(`p:${m.id}`, raw);
      this.lastId = Math.max(this.lastId, Number(m.id) || 0);
      return raw;
    });
    return this.append(lines, true);
  }

  /** Records that a message was settled (acked, or moved to the dead-letter list). */
  settled(id: string): void {
    this.live.delete(`p:${id}`);
    void this.append([JSON.stringify({ k: id })], false).catch(() => undefined);
  }

  /** Records a dead-lettered message; resolves once it is on disk. */
  deadLettered(key: string, data: Buffer, attributes: Record<string, string>): Promise<void> {
    const raw = JSON.stringify({ q: key, ...this.payload(`q:${key}`, data, attributes) });
    this.live.set(`q:${key}`, raw);
    return this.append([raw], true);
  }

  /** Records that a dead-lettered message was taken off the list. */
  removedDeadLetter(key: string): void {
    this.live.delete(`q:${key}`);
    void this.append([JSON.stringify({ x: key })], false).catch(() => undefined);
  }

  private append(lines: string[], durable: boolean): Promise<void> {
    if (this.closed) return Promise.reject(new Error('the bus journal is closed'));
    return new Promise<void>((done, fail) => {
      this.pending.push({ text: lines.map((l) => `${l}\n`).join(''), durable, done, fail });
      this.lines += lines.length;
      this.writing ??= this.drain();
    });
  }

  /** Writes what is pending, in rounds, until nothing is. */
  private async drain(): Promise<void> {
    while (this.pending.length) {
      const round = this.pending;
      this.pending = [];
      try {
        await this.file.write(round.map((r) => r.text).join(''));
        if (round.some((r) => r.durable)) await this.file.datasync();
        for (const r of round) r.done();
      } catch (e) {
        for (const r of round) r.fail(e as Error);
      }
      if (this.lines > COMPACT_LINES && this.lines > 4 * this.live.size) {
        await this.compact().catch(() => undefined); // a failed rewrite leaves the full file
      }
    }
    this.writing = undefined;
  }

  /** Rewrites the file with the live lines only: to a temporary file, synced, then renamed. */
  private async compact(): Promise<void> {
    const tmp = `${this.path}.tmp`;
    const out = await open(tmp, 'w');
    try {
      const lines = [JSON.stringify({ n: this.lastId }), ...this.live.values()];
      await out.write(lines.map((l) => `${l}\n`).join(''));
      await out.datasync();
    } finally {
      await out.close();
    }
    await rename(tmp, this.path);
    await this.file.close();
    this.file = await open(this.path, 'a');
    const dir = await open(dirname(this.path), 'r');
    await dir.sync().finally(() => dir.close());
    this.lines = this.live.size;
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.writing;
    await this.file.close();
  }
}
