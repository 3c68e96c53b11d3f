import { appendFileSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { type IncomingMessage } from '@eventpipe/bus';
import { MemoryBus } from '@eventpipe/bus/adapters';
import { filesHolding, markerForms, tempDuckDbPath, waitFor } from '@eventpipe/testing';

// The journal of the in-process bus (npm start): what was published and not acked comes back
// when the process starts again. A bus that is dropped without close() is a crash.
const journalPath = () => tempDuckDbPath().replace(/events\.duckdb$/, 'bus.journal');
const msg = (n: number) => ({ data: Buffer.from(`m${n}`), attributes: { n: String(n) } });

function collect(bus: MemoryBus, ack: (m: IncomingMessage) => boolean) {
  const got: IncomingMessage[] = [];
  const sub = bus.subscribe(
    (m) => {
      got.push(m);
      if (ack(m)) m.ack();
    },
    () => {},
    { maxMessages: 100, maxBytes: 1 << 20, closeTimeoutMs: 10 },
  );
  return { got, sub };
}

describe('MemoryBus with a journal', () => {
  it('when the process dies, then every published message not acked comes back, and acked ones do not', async () => {
    const path = journalPath();
    const first = new MemoryBus({ journalPath: path });
    await first.init();
    await first.publish([msg(1), msg(2), msg(3)]);
    await first.publish([msg(4)]);
    const { got } = collect(first, (m) => m.attributes.n === '2' || m.attributes.n === '4');
    await waitFor(() => (got.length === 4 ? true : undefined));
    // Acks are written without waiting: give them a moment to reach the file.
    await waitFor(() =>
      (readFileSync(path, 'utf8').match(/"k"/g) ?? []).length === 2 ? true : undefined,
    );

    const second = new MemoryBus({ journalPath: path }); // the first is never closed: a crash
    await second.init();
    expect(second.recovered).toBe(2);
    const again = collect(second, () => true);
    await waitFor(() => (again.got.length === 2 ? true : undefined));
    expect(again.got.map((m) => [m.id, m.data.toString()])).toEqual([
      ['1', 'm1'],
      ['3', 'm3'],
    ]);
    // New ids continue after the old ones.
    expect(await second.publish([msg(5)])).toEqual(['5']);
    await again.sub.close();
    await second.close();

    const third = new MemoryBus({ journalPath: path });
    await third.init();
    expect(third.recovered).toBe(0);
    await third.close();
  });

  it('when the last line was torn by a crash mid-write, then it is skipped and the rest is read', async () => {
    const path = journalPath();
    const bus = new MemoryBus({ journalPath: path });
    await bus.init();
    await bus.publish([msg(1)]);
    appendFileSync(path, '{"p":"2","t":1,"d":"bTI=","a":{'); // never acknowledged
    const next = new MemoryBus({ journalPath: path });
    await next.init();
    expect(next.recovered).toBe(1);
    await next.close();
  });

  it('when messages are dead-lettered, then they survive a crash until taken off the list', async () => {
    const path = journalPath();
    const bus = new MemoryBus({ journalPath: path });
    await bus.init();
    await bus.deadLetter({ data: Buffer.from('poison-1'), attributes: { r: 'x' } });
    await bus.deadLetter({ data: Buffer.from('poison-2'), attributes: { r: 'y' } });
    const [first] = await bus.pullDeadLetters(1);
    await first!.ack();
    // The removal line ({"x": key}) is appended without waiting for the disk: wait until it is there.
    await waitFor(() => (readFileSync(path, 'utf8').includes('{"x":') ? true : undefined));

    const after = new MemoryBus({ journalPath: path });
    await after.init();
    expect(after.deadLettered.map((m) => m.data.toString())).toEqual(['poison-2']);
    await after.close();
  });

  it('when many publishes wait at once, then they share writes and all are kept', async () => {
    const path = journalPath();
    const bus = new MemoryBus({ journalPath: path });
    await bus.init();
    const ids = (
      await Promise.all(Array.from({ length: 200 }, (_, i) => bus.publish([msg(i), msg(i + 1000)])))
    ).flat();
    expect(new Set(ids).size).toBe(400);
    const next = new MemoryBus({ journalPath: path });
    await next.init();
    expect(next.recovered).toBe(400);
    await next.close();
  });
});

// npm start with DUCKDB_ENCRYPTION_KEY: the journal holds accepted event bodies until they are
// stored, so their data and attributes are encrypted too.
describe('MemoryBus with an encrypted journal', () => {
  const KEY = 'journal-test-key-0123456789';
  const marker = () => `journal-marker-${Math.random().toString(36).slice(2)}`;
  const secretMsg = (mark: string, n: number) => ({
    data: Buffer.from(JSON.stringify({ specversion: '1.0', id: `e${n}`, data: { note: mark } })),
    attributes: { n: String(n), note: mark },
  });
  const refusal = async (path: string, journalEncryptionKey?: string) => {
    const bus = new MemoryBus({ journalPath: path, journalEncryptionKey });
    return bus.init().then(
      async () => {
        await bus.close();
        throw new Error('opened');
      },
      (e: unknown) => e as Error,
    );
  };

  it('when messages are published and dead-lettered, then no line holds the marker in clear or base64, and a restart with the key brings them back exactly', async () => {
    const path = journalPath();
    const mark = marker();
    const first = new MemoryBus({ journalPath: path, journalEncryptionKey: KEY });
    await first.init();
    const sent = [secretMsg(mark, 1), secretMsg(mark, 2)];
    await first.publish(sent);
    await first.deadLetter(secretMsg(mark, 3));
    const text = readFileSync(path, 'utf8');
    expect(text.trim().split('\n')).toHaveLength(4); // {"n": 0} from the compaction at open, then 3
    for (const form of markerForms(mark)) expect(text).not.toContain(form);
    expect(filesHolding(dirname(path), mark)).toEqual([]);

    // The first is never closed: a crash.
    const second = new MemoryBus({ journalPath: path, journalEncryptionKey: KEY });
    await second.init();
    expect(second.recovered).toBe(2);
    const again = collect(second, () => true);
    await waitFor(() => (again.got.length === 2 ? true : undefined));
    expect(again.got.map((m) => [m.id, m.data, m.attributes])).toEqual([
      ['1', sent[0]!.data, sent[0]!.attributes],
      ['2', sent[1]!.data, sent[1]!.attributes],
    ]);
    expect(second.deadLettered).toEqual([secretMsg(mark, 3)]);
    await again.sub.close();
    await second.close();
    // Compaction rewrote the file: still nothing in clear.
    expect(filesHolding(dirname(path), mark)).toEqual([]);
  });

  it('when the same is done without a key, then the marker is there in base64 (the check can fail)', async () => {
    const path = journalPath();
    const mark = marker();
    const bus = new MemoryBus({ journalPath: path });
    await bus.init();
    await bus.publish([secretMsg(mark, 1)]);
    expect(filesHolding(dirname(path), mark).length).toBeGreaterThan(0);
    await bus.close();
  });

  it('when it is opened with another key, without a key, or a plain journal with a key, then it is refused and left as it was', async () => {
    const encrypted = journalPath();
    const bus = new MemoryBus({ journalPath: encrypted, journalEncryptionKey: KEY });
    await bus.init();
    await bus.publish([secretMsg(marker(), 1)]);
    const plain = journalPath();
    const plainBus = new MemoryBus({ journalPath: plain });
    await plainBus.init();
    await plainBus.publish([msg(1)]);
    const before = [readFileSync(encrypted, 'utf8'), readFileSync(plain, 'utf8')];

    const wrong = await refusal(encrypted, 'another-key-0123456789');
    expect(wrong.message).toMatch(
      /bus journal .* was encrypted with another key, or altered: DUCKDB_ENCRYPTION_KEY/,
    );
    expect(wrong.message).not.toContain('another-key-0123456789');
    expect((await refusal(encrypted)).message).toMatch(
      /holds encrypted messages not yet stored: set DUCKDB_ENCRYPTION_KEY/,
    );
    expect((await refusal(plain, KEY)).message).toMatch(
      /holds messages not yet stored that were written without encryption.*start once without the key/,
    );
    expect([readFileSync(encrypted, 'utf8'), readFileSync(plain, 'utf8')]).toEqual(before);
  });

  it('when a sealed payload is moved to another message id, then it does not open', async () => {
    const path = journalPath();
    const bus = new MemoryBus({ journalPath: path, journalEncryptionKey: KEY });
    await bus.init();
    await bus.publish([secretMsg(marker(), 1)]);
    const line = JSON.parse(readFileSync(path, 'utf8').trim().split('\n').pop()!) as { p: string };
    appendFileSync(path, `${JSON.stringify({ ...line, p: '7' })}\n`);
    expect((await refusal(path, KEY)).message).toMatch(/encrypted with another key/);
  });

  it('when everything was settled, then a journal written with the key opens without it, and the other way round', async () => {
    for (const [write, read] of [
      [KEY, undefined],
      [undefined, KEY],
    ]) {
      const path = journalPath();
      const bus = new MemoryBus({ journalPath: path, journalEncryptionKey: write });
      await bus.init();
      await bus.publish([msg(1)]);
      const { got, sub } = collect(bus, () => true);
      await waitFor(() => (got.length === 1 ? true : undefined));
      await sub.close();
      await bus.close();
      const next = new MemoryBus({ journalPath: path, journalEncryptionKey: read });
      await next.init();
      expect(next.recovered).toBe(0);
      expect(await next.publish([msg(2)])).toEqual(['2']);
      await next.close();
    }
  });
});
