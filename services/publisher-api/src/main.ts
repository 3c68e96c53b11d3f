import { createBus } from '@eventpipe/bus';
import {
  createLogger,
  createRegistry,
  listen,
  loadConfigOrExit,
  onShutdownSignal,
  resolveApiKeys,
  runMain,
} from '@eventpipe/platform';
import { fileAcceptedLog, loggerAcceptedLog } from './accepted-log';
import { createPublisherApp } from './app';
import { publisherConfigSchema } from './config';

runMain('publisher-api', async () => {
  const config = loadConfigOrExit(publisherConfigSchema, process.env);
  const logger = createLogger({
    service: 'publisher-api',
    level: config.LOG_LEVEL,
    project: config.GOOGLE_CLOUD_PROJECT,
  });
  const auth = resolveApiKeys(config, config.NODE_ENV === 'production');
  if (auth.open)
    logger.warn('no API keys: POST /v1/events is open to anyone who can reach it (AUTH_MODE=none)');
  const bus = createBus(config, { production: config.NODE_ENV === 'production' });
  await bus.init();
  const acceptedLog =
    config.ACCEPTED_LOG === 'off'
      ? undefined
      : config.ACCEPTED_LOG === 'log'
        ? loggerAcceptedLog(logger)
        : fileAcceptedLog(config.ACCEPTED_LOG);
  const app = createPublisherApp({
    acceptedLog,
    bus,
    logger,
    registry: createRegistry('publisher-api'),
    maxInFlightEvents: config.PUBLISH_MAX_IN_FLIGHT_EVENTS,
    apiKeys: auth.keys,
    access: {
      corsOrigins: config.CORS_ORIGINS,
      rateLimitPerMinute: config.RATE_LIMIT_WRITE,
      authFailuresPerMinute: config.RATE_LIMIT_AUTH_FAILURES,
    },
  });
  const server = await listen(app, config.PORT, config.HOST);
  logger.info({ url: server.url }, 'publisher-api listening');
  onShutdownSignal(logger, config.SHUTDOWN_TIMEOUT_MS, async () => {
    await server.close(config.SHUTDOWN_TIMEOUT_MS - 500);
    await acceptedLog?.close();
    await bus.close();
  });
});
