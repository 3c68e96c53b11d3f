import { createBus } from '@eventpipe/bus/adapters';
import { createRegistry, runHttpService } from '@eventpipe/platform';
import { startRegistry } from '@eventpipe/registry';
import { openStore } from '@eventpipe/store/adapters';
import { workerConfigSchema, workerOptions } from './config';
import { Worker } from './worker';

runHttpService(
  'subscriber-worker',
  workerConfigSchema,
  process.env,
  async ({ config, logger, production }) => {
    const bus = createBus(config, { production });
    await bus.init();
    const store = await openStore(config, { production });
    const schemas = await startRegistry(store.schemas, config, logger);
    const worker = new Worker({
      schemas,
      bus,
      store,
      logger,
      registry: createRegistry('subscriber-worker'),
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
      started: () => worker.start(),
      stop: async ([server]) => {
        await worker.stop();
        schemas.stop();
        await server!.close(500);
        await store.close();
        await bus.close();
      },
    };
  },
);
