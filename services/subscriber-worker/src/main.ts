import { createBus } from '@eventpipe/bus';
import {
  createLogger,
  createRegistry,
  listen,
  loadConfigOrExit,
  onShutdownSignal,
  runMain,
} from '@eventpipe/platform';
import { openStore } from '@eventpipe/store';
import { createWorker } from './app';
import { workerConfigSchema, workerOptions } from './config';

runMain('subscriber-worker', async () => {
  const config = loadConfigOrExit(workerConfigSchema, process.env);
  const logger = createLogger({
    service: 'subscriber-worker',
    level: config.LOG_LEVEL,
    project: config.GOOGLE_CLOUD_PROJECT,
  });
  const bus = createBus(config, { production: config.NODE_ENV === 'production' });
  await bus.init();
  const store = await openStore(config, { production: config.NODE_ENV === 'production' });
  const worker = createWorker({
    bus,
    store,
    logger,
    registry: createRegistry('subscriber-worker'),
    ...workerOptions(config),
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
});
