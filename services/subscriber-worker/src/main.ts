import { createBus } from '@eventpipe/bus';
import {
  createLogger,
  createRegistry,
  exitOnConfigError,
  listen,
  loadConfig,
  onShutdownSignal,
} from '@eventpipe/platform';
import { openStore } from '@eventpipe/store';
import { createWorker } from './app';
import { workerConfigSchema, type WorkerConfig } from './config';

async function main(): Promise<void> {
  let config: WorkerConfig;
  try {
    config = loadConfig(workerConfigSchema, process.env);
  } catch (e) {
    exitOnConfigError(e);
  }
  const logger = createLogger({ service: 'subscriber-worker', level: config.LOG_LEVEL });
  const bus = createBus(config, {
    production: config.NODE_ENV === 'production',
    autoCreateSet: process.env.PUBSUB_AUTO_CREATE !== undefined,
  });
  await bus.init();
  const store = await openStore(config);
  const worker = createWorker({
    bus,
    store,
    logger,
    registry: createRegistry('subscriber-worker'),
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
  const server = await listen(worker.app, config.PORT, config.HOST);
  worker.start();
  logger.info({ url: server.url, store: store.kind }, 'subscriber-worker running');
  onShutdownSignal(logger, config.SHUTDOWN_TIMEOUT_MS, async () => {
    await worker.stop();
    await server.close(500);
    await store.close();
    await bus.close();
  });
}

main().catch((e: unknown) => {
  process.stderr.write(
    `subscriber-worker failed to start: ${e instanceof Error ? e.message : String(e)}\n`,
  );
  process.exit(1);
});
