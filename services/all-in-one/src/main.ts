import { randomBytes } from 'node:crypto';
import { createBus } from '@eventpipe/bus';
import {
  createLogger,
  exitOnConfigError,
  listen,
  loadConfig,
  onShutdownSignal,
} from '@eventpipe/platform';
import { openStore } from '@eventpipe/store';
import { createStack } from './app';
import { stackConfigSchema, type StackConfig } from './config';

async function main(): Promise<void> {
  let config: StackConfig;
  try {
    config = loadConfig(stackConfigSchema, process.env);
  } catch (e) {
    exitOnConfigError(e);
  }
  const logger = (service: string) => createLogger({ service, level: config.LOG_LEVEL });
  const root = logger('all-in-one');
  const bus = createBus(config, {
    production: config.NODE_ENV === 'production',
    autoCreateSet: process.env.PUBSUB_AUTO_CREATE !== undefined,
  });
  await bus.init();
  const store = await openStore(config);
  const stack = createStack({
    bus,
    store,
    loggers: {
      publisher: logger('publisher-api'),
      worker: logger('subscriber-worker'),
      query: logger('query-api'),
    },
    cursorSecret: config.CURSOR_SECRET ? Buffer.from(config.CURSOR_SECRET) : randomBytes(32),
    batch: {
      maxRows: config.BATCH_MAX_ROWS,
      maxBytes: config.BATCH_MAX_BYTES,
      maxWaitMs: config.BATCH_MAX_WAIT_MS,
    },
    flowControl: {
      maxMessages: config.WORKER_MAX_OUTSTANDING_MESSAGES,
      maxBytes: config.WORKER_MAX_OUTSTANDING_BYTES,
    },
    shutdownTimeoutMs: config.SHUTDOWN_TIMEOUT_MS - 1000,
  });
  const publisher = await listen(stack.publisher, config.PUBLISHER_PORT, config.HOST);
  const query = await listen(stack.query, config.QUERY_PORT, config.HOST);
  const worker = await listen(stack.worker.app, config.WORKER_PORT, config.HOST);
  stack.worker.start();

  const bar = '-'.repeat(72);
  process.stdout.write(
    [
      bar,
      `eventpipe is running in one process (BUS=${bus.kind}, STORE=${store.kind} at ${config.DUCKDB_PATH})`,
      `  publisher API  ${publisher.url}   POST /v1/events`,
      `  query API      ${query.url}   GET /v1/events, /v1/events/{id}, /v1/stats`,
      `  worker         ${worker.url}   /healthz /readyz /metrics`,
      'Try:',
      `  curl -sS -X POST ${publisher.url}/v1/events -H 'Content-Type: application/json' \\`,
      `    -d '{"type":"com.example.order.created","source":"/shop","data":{"orderId":42}}'`,
      `  curl -sS '${query.url}/v1/events?type=com.example.order.created'`,
      'Stop with Ctrl-C.',
      bar,
      '',
    ].join('\n'),
  );

  onShutdownSignal(root, config.SHUTDOWN_TIMEOUT_MS, async () => {
    // Intake first, so nothing new is accepted; then drain the worker; then reads.
    await publisher.close(2000);
    await stack.worker.stop();
    await Promise.all([query.close(1000), worker.close(500)]);
    await bus.close();
    await store.close();
  });
}

main().catch((e: unknown) => {
  process.stderr.write(
    `eventpipe failed to start: ${e instanceof Error ? e.message : String(e)}\n`,
  );
  process.exit(1);
});
