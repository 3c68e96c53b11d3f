import { createStack, type Stack, type StackDeps } from '@eventpipe/all-in-one';
import type { EventBus } from '@eventpipe/bus';
import { listen, type RunningServer } from '@eventpipe/platform';
import { type EventStore } from '@eventpipe/store';
import { DuckDbStore } from '@eventpipe/store/adapters';
import { memoryLogger, tempDuckDbPath } from '@eventpipe/testing';

/** The three services on the given bus and store, with quiet loggers and small batches;
 * override any dependency. */
export function testStack(deps: Pick<StackDeps, 'bus' | 'store'> & Partial<StackDeps>): Stack {
  return createStack({
    loggers: {
      publisher: memoryLogger().logger,
      worker: memoryLogger().logger,
      query: memoryLogger().logger,
    },
    cursorSecret: Buffer.from('test-stack-cursor-secret-0123456'),
    batch: { maxRows: 100, maxBytes: 1 << 20, maxWaitMs: 20 },
    flowControl: { maxMessages: 100, maxBytes: 1 << 24 },
    shutdownTimeoutMs: 1000,
    ...deps,
  });
}

export interface Served {
  stack: Stack;
  /** The publisher and query APIs listening on loopback, on free ports. */
  publisher: RunningServer;
  query: RunningServer;
  /** Stops the servers, the worker, the bus and the store. */
  close(): Promise<void>;
}

/** Starts the stack's worker and serves both APIs over real HTTP on 127.0.0.1 (for clients that
 * need a URL: browsers, SDK transports, the typed client). */
export async function serve(stack: Stack, bus: EventBus, store: EventStore): Promise<Served> {
  stack.worker.start();
  const [publisher, query] = await Promise.all([
    listen(stack.publisher, 0, '127.0.0.1'),
    listen(stack.query, 0, '127.0.0.1'),
  ]);
  return {
    stack,
    publisher,
    query,
    close: async () => {
      await Promise.all([publisher.close(1000), query.close(1000)]);
      await stack.worker.stop();
      await bus.close();
      await store.close();
    },
  };
}

export type ServedStack = Served & { store: DuckDbStore };

/** The test stack on `bus` and a fresh DuckDB file, served (see serve()). */
export async function serveStack(bus: EventBus): Promise<ServedStack> {
  const store = await DuckDbStore.open({ path: tempDuckDbPath() });
  await store.init();
  return { ...(await serve(testStack({ bus, store }), bus, store)), store };
}
