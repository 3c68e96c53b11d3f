import { Batch, Batcher } from '@eventpipe/subscriber-worker';

describe('Batch', () => {
  const opts = { maxRows: 3, maxBytes: 100, maxWaitMs: 1000 };

  it('when empty, then it takes any item, even one larger than maxBytes', () => {
    expect(new Batch(opts).canFit(1000)).toBe(true);
  });

  it('when an item would pass maxBytes or maxRows, then it does not fit', () => {
    const b = new Batch<number>(opts);
    b.add(1, 60);
    expect(b.canFit(40)).toBe(true);
    expect(b.canFit(41)).toBe(false);
    b.add(2, 10);
    b.add(3, 10);
    expect(b.canFit(1)).toBe(false);
    expect(b.isFull()).toBe(true);
  });
});

describe('Batcher', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  function setup(opts = { maxRows: 3, maxBytes: 100, maxWaitMs: 1000 }) {
    const flushed: number[][] = [];
    const batcher = new Batcher<number>(opts, async (items) => {
      flushed.push(items);
    });
    return { batcher, flushed };
  }

  it('when maxRows items arrive, then the batch is flushed at once', async () => {
    const { batcher, flushed } = setup();
    [1, 2, 3, 4].forEach((n) => batcher.add(n, 1));
    await Promise.resolve();
    await Promise.resolve();
    expect(flushed).toEqual([[1, 2, 3]]);
    expect(batcher.size).toBe(1);
  });

  it('when the next item would pass maxBytes, then the open batch is flushed first', async () => {
    const { batcher, flushed } = setup();
    batcher.add(1, 70);
    batcher.add(2, 70);
    await batcher.flush();
    expect(flushed).toEqual([[1], [2]]);
  });

  it('when an item alone is larger than maxBytes, then it travels in a batch of its own', async () => {
    const { batcher, flushed } = setup();
    batcher.add(1, 10);
    batcher.add(2, 500);
    batcher.add(3, 10);
    await batcher.flush();
    expect(flushed).toEqual([[1], [2], [3]]);
  });

  it('when maxWaitMs passes after the first item, then a partial batch is flushed', async () => {
    const { batcher, flushed } = setup();
    batcher.add(1, 1);
    jest.advanceTimersByTime(999);
    batcher.add(2, 1);
    await Promise.resolve();
    expect(flushed).toEqual([]);
    jest.advanceTimersByTime(1);
    await Promise.resolve();
    await Promise.resolve();
    expect(flushed).toEqual([[1, 2]]);
  });

  it('when flush() is called, then every queued batch has been handed over in order', async () => {
    const order: string[] = [];
    const batcher = new Batcher<number>(
      { maxRows: 2, maxBytes: 100, maxWaitMs: 1000 },
      async (items) => {
        order.push(`start ${items.join(',')}`);
        await Promise.resolve();
        order.push(`end ${items.join(',')}`);
      },
    );
    [1, 2, 3, 4, 5].forEach((n) => batcher.add(n, 1));
    await batcher.flush();
    expect(order).toEqual(['start 1,2', 'end 1,2', 'start 3,4', 'end 3,4', 'start 5', 'end 5']);
    expect(batcher.size).toBe(0);
  });

  it('when a flush throws, then later batches still flush', async () => {
    const seen: number[][] = [];
    const batcher = new Batcher<number>(
      { maxRows: 1, maxBytes: 100, maxWaitMs: 1000 },
      async (items) => {
        seen.push(items);
        if (items[0] === 1) throw new Error('boom');
      },
    );
    batcher.add(1, 1);
    batcher.add(2, 1);
    await batcher.flush();
    expect(seen).toEqual([[1], [2]]);
  });
});
