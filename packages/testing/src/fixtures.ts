import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { createLogger, type Logger } from '@eventpipe/platform';

let counter = 0;

/** A name no other test (or earlier run) uses: topics, subscriptions, tables, sources. */
export function uniqueName(prefix: string): string {
  counter += 1;
  return `${prefix}-${process.pid}-${Date.now().toString(36)}-${counter}`;
}

/** A new DuckDB file path in a fresh temporary folder. */
export function tempDuckDbPath(): string {
  return join(mkdtempSync(join(tmpdir(), 'eventpipe-test-')), 'events.duckdb');
}

/** A logger that keeps its JSON lines in memory (and prints nothing). */
export function memoryLogger(service = 'test'): {
  logger: Logger;
  lines: () => Record<string, unknown>[];
} {
  const chunks: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      chunks.push(chunk.toString());
      cb();
    },
  });
  const logger = createLogger({ service, level: 'debug', destination: sink });
  return {
    logger,
    lines: () =>
      chunks
        .join('')
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}

/** A valid producer event; override any field. */
export function sampleEvent(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  counter += 1;
  return {
    type: 'com.example.order.created',
    source: '/tests/shop',
    id: `evt-${process.pid}-${counter}`,
    data: { orderId: counter, items: ['a', 'b'] },
    ...overrides,
  };
}
