import { appendFileSync, readFileSync } from 'node:fs';
import { type IncomingMessage } from '@eventpipe/bus';
import { MemoryBus } from '@eventpipe/bus/adapters';
import { tempDuckDbPath, waitFor } from '@eventpipe/testing';

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
