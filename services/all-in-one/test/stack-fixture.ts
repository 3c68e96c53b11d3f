import { createStack, type Stack, type StackDeps } from '@eventpipe/all-in-one';
import { memoryLogger } from '@eventpipe/testing';

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
