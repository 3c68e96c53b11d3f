import type { Response } from 'express';
import { errors } from '@eventpipe/platform';

/**
 * Bounds what the query API holds in memory at once: at most `maxConcurrent` page reads run
 * together, each from its store query until its response has left (a page is bounded by
 * PAGE_MAX_BYTES); later ones wait their turn in arrival order. When `maxWaiting` already wait,
 * or one consumer (API key, or address without keys) has `maxConcurrent` running or waiting, a
 * read is refused with 503 + Retry-After instead of queueing without end: one tenant cannot
 * take every slot and the whole queue.
 */
export class ReadGate {
  private active = 0;
  private readonly waiting: (() => void)[] = [];
  private readonly perOwner = new Map<string, number>();

  constructor(
    private readonly maxConcurrent: number,
    private readonly maxWaiting: number = maxConcurrent * 4,
  ) {}

  /** Runs `read` for `owner` once a slot is free. */
  async run<T>(owner: string, read: () => Promise<T>): Promise<T> {
    const held = this.perOwner.get(owner) ?? 0;
    if (held >= this.maxConcurrent) {
      throw busy(`one consumer may have at most ${this.maxConcurrent} pages read at once`);
    }
    this.perOwner.set(owner, held + 1);
    try {
      await this.acquire();
      try {
        return await read();
      } finally {
        this.release();
      }
    } finally {
      const left = (this.perOwner.get(owner) ?? 1) - 1;
      if (left === 0) this.perOwner.delete(owner);
      else this.perOwner.set(owner, left);
    }
  }

  private acquire(): Promise<void> {
    if (this.active < this.maxConcurrent) {
      this.active += 1;
      return Promise.resolve();
    }
    if (this.waiting.length >= this.maxWaiting) {
      return Promise.reject(
        busy(
          `this service reads at most ${this.maxConcurrent} pages at a time and ${this.maxWaiting} wait already`,
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

const busy = (detail: string) => errors.unavailable(`${detail}; retry shortly`, 1);

/** Resolves once the response has left (or the connection closed); a reader that takes nothing
 * for `stallMs` is cut, so a stalled client cannot hold a slot. */
export function responseDone(res: Response, stallMs: number): Promise<void> {
  if (res.writableFinished || res.destroyed) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => res.destroy(), stallMs);
    const done = () => {
      clearTimeout(timer);
      resolve();
    };
    res.once('finish', done);
    res.once('close', done);
  });
}
