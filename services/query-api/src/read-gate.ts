import { errors } from '@eventpipe/platform';

/**
 * Bounds what the query API holds in memory at once: at most `maxConcurrent` page reads run
 * together (each bounded by PAGE_MAX_BYTES), later ones wait their turn in arrival order, and
 * when `maxWaiting` already wait a read is refused with 503 + Retry-After instead of queueing
 * without end.
 */
export class ReadGate {
  private active = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(
    private readonly maxConcurrent: number,
    private readonly maxWaiting: number = maxConcurrent * 4,
  ) {}

  /** Runs `read` once a slot is free. */
  async run<T>(read: () => Promise<T>): Promise<T> {
    await this.acquire();
    try {
      return await read();
    } finally {
      this.release();
    }
  }

  private acquire(): Promise<void> {
    if (this.active < this.maxConcurrent) {
      this.active += 1;
      return Promise.resolve();
    }
    if (this.waiting.length >= this.maxWaiting) {
      return Promise.reject(
        errors.unavailable(
          `this service reads at most ${this.maxConcurrent} pages at a time and ${this.maxWaiting} wait already; retry shortly`,
          1,
        ),
      );
    }
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  private release(): void {
    const next = this.waiting.shift();
    if (next)
      next(); // the slot passes on: active stays the same
    else this.active -= 1;
  }
}
