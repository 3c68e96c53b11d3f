import { createBus } from '@eventpipe/bus/adapters';
import { createRegistry, runHttpService } from '@eventpipe/platform';
import { startRegistry } from '@eventpipe/registry';
import { ErasureBook } from '@eventpipe/store';
import { openStore } from '@eventpipe/store/adapters';
import { workerConfigSchema, workerOptions } from './config';
import { LifecycleRunner, lifecycleOptions } from './lifecycle';
import { Worker } from './worker';

runHttpService(
  'subscriber-worker',
  workerConfigSchema,
  process.env,
  async ({ config, logger, production }) => {
    const bus = createBus(config, { production });
    await bus.init();
    const store = await openStore(config, { production, warn: (m) => logger.warn(m) });
    const schemas = await startRegistry(store.schemas, config, logger);
    const erasures = await new ErasureBook(store.erasures, {
      refreshMs: config.ERASURE_REFRESH_SECONDS * 1000,
      onError: (err) => logger.warn({ err }, 'erasures not reloaded; tried again'),
    }).start();
    const registry = createRegistry('subscriber-worker');
    const lifecycle = new LifecycleRunner({
      store,
      book: erasures,
      logger,
      registry,
      options: lifecycleOptions(config),
    });
    const worker = new Worker({
      schemas,
      erasures,
      bus,
      store,
      logger,
      registry,
      ...workerOptions(config),
      shutdownTimeoutMs: config.SHUTDOWN_TIMEOUT_MS - 1000,
    });
    return {
      // Health and metrics only: the subscription is the worker's entry point.
      servers: [
        {
          app: worker.app,
          port: config.PORT,
          listening: 'subscriber-worker running',
          fields: { store: store.kind },
        },
      ],
      started: () => {
        worker.start();
        lifecycle.start();
      },
      stop: async ([server]) => {
        await lifecycle.stop();
        await worker.stop();
        erasures.stop();
        schemas.stop();
        await server!.close(500);
        await store.close();
        await bus.close();
      },
    };
  },
);
