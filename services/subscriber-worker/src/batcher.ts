/** Batch bounds, as @google-cloud/pubsub's publisher batches: rows, bytes and age. */
export interface BatchOptions {
  maxRows: number;
  maxBytes: number;
  maxWaitMs: number;
}

/** One open batch. Pure: it knows its size, not time or I/O. */
export class Batch<T> {
  readonly items: T[] = [];
  bytes = 0;

  constructor(private readonly opts: BatchOptions) {}

  /** Whether an item of `bytes` fits. An empty batch takes any item, so an item larger than
   * maxBytes still travels (alone) instead of blocking the stream. */
  canFit(bytes: number): boolean {
    if (this.items.length === 0) return true;
    return this.items.length < this.opts.maxRows && this.bytes + bytes <= this.opts.maxBytes;
  }

  isFull(): boolean {
    return this.items.length >= this.opts.maxRows || this.bytes >= this.opts.maxBytes;
  }

  add(item: T, bytes: number): void {
    this.items.push(item);
    this.bytes += bytes;
  }
}

/**
 * Collects items into batches and hands each closed batch to `flush`, one at a time, in order.
 * A batch closes when it is full, when the next item does not fit, or `maxWaitMs` after its first
 * item arrived. `flush` must settle its items itself (ack / nack); the batcher never drops one.
 */
export class Batcher<T> {
  private current: Batch<T>;
  private timer: NodeJS.Timeout | undefined;
  private chain: Promise<void> = Promise.resolve();
  private pending = 0;

  constructor(
    private readonly opts: BatchOptions,
    private readonly flushBatch: (items: T[], bytes: number) => Promise<void>,
  ) {
    this.current = new Batch<T>(opts);
  }

  add(item: T, bytes: number): void {
    if (!this.current.canFit(bytes)) this.close();
    this.current.add(item, bytes);
    if (this.current.isFull()) this.close();
    else if (!this.timer) {
      this.timer = setTimeout(() => this.close(), this.opts.maxWaitMs);
    }
  }

  /** Closes the open batch (if any) and resolves when every closed batch has been flushed. */
  flush(): Promise<void> {
    this.close();
    return this.chain;
  }

  /** Items held in batches not yet flushed (open and queued). */
  get size(): number {
    return this.pending + this.current.items.length;
  }

  private close(): void {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    const batch = this.current;
    if (batch.items.length === 0) return;
    this.current = new Batch<T>(this.opts);
    this.pending += batch.items.length;
    this.chain = this.chain.then(async () => {
      try {
        await this.flushBatch(batch.items, batch.bytes);
      } catch {
        // flushBatch settles its own items; an escaped error must not stall later batches.
      } finally {
        this.pending -= batch.items.length;
      }
    });
  }
}
