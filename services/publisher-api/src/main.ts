import { createBus } from '@eventpipe/bus';
import {
  createLogger,
  createRegistry,
  exitOnConfigError,
  listen,
  loadConfig,
  onShutdownSignal,
} from '@eventpipe/platform';
import { createPublisherApp } from './app';
import { publisherConfigSchema, type PublisherConfig } from './config';

async function main(): Promise<void> {
  let config: PublisherConfig;
  try {
    config = loadConfig(publisherConfigSchema, process.env);
  } catch (e) {
    exitOnConfigError(e);
  }
  const logger = createLogger({ service: 'publisher-api', level: config.LOG_LEVEL });
  const bus = createBus(config, {
    production: config.NODE_ENV === 'production',
    autoCreateSet: process.env.PUBSUB_AUTO_CREATE !== undefined,
  });
  await bus.init();
  const app = createPublisherApp({ bus, logger, registry: createRegistry('publisher-api') });
  const server = await listen(app, config.PORT, config.HOST);
  logger.info({ url: server.url }, 'publisher-api listening');
  onShutdownSignal(logger, config.SHUTDOWN_TIMEOUT_MS, async () => {
    await server.close(config.SHUTDOWN_TIMEOUT_MS - 500);
    await bus.close();
  });
}

main().catch((e: unknown) => {
  process.stderr.write(
    `publisher-api failed to start: ${e instanceof Error ? e.message : String(e)}\n`,
  );
  process.exit(1);
});
