import { createBus } from '@eventpipe/bus/adapters';
import { createRegistry, resolveApiKeys, runHttpService } from '@eventpipe/platform';
import { startRegistry } from '@eventpipe/registry';
import { ErasureBook } from '@eventpipe/store';
import { openErasureLog, openSchemaStore } from '@eventpipe/store/adapters';
import { acceptedLogOf } from './accepted-log';
import { createPublisherApp } from './app';
import { publisherConfigSchema } from './config';

runHttpService(
  'publisher-api',
  publisherConfigSchema,
  process.env,
  async ({ config, logger, production }) => {
    const auth = resolveApiKeys(config, production);
    for (const w of auth.warnings) logger.warn(w);
    const bus = createBus(config, { production });
    await bus.init();
    const acceptedLog = acceptedLogOf(config.ACCEPTED_LOG, logger);
    const schemaStore = openSchemaStore(config, { production });
    const schemas = schemaStore && (await startRegistry(schemaStore, config, logger));
    if (!schemas) {
      logger.warn(
        'STORE=duckdb: a publisher alone cannot read the schema registry (the worker holds the file); data is checked by the worker, which dead-letters what does not match (docs/SCHEMAS.md)',
      );
    }
    const erasureLog = openErasureLog(config, { production });
    const erasures =
      erasureLog &&
      (await new ErasureBook(erasureLog, {
        refreshMs: config.ERASURE_REFRESH_SECONDS * 1000,
        onError: (err) => logger.warn({ err }, 'erasures not reloaded; tried again'),
      }).start());
    const app = createPublisherApp({
      erasures,
      schemas,
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
        trustProxy: config.TRUST_PROXY,
      },
    });
    return {
      servers: [{ app, port: config.PORT, listening: 'publisher-api listening' }],
      stop: async ([server]) => {
        await server!.close(config.SHUTDOWN_TIMEOUT_MS - 500);
        schemas?.stop();
        erasures?.stop();
        await acceptedLog?.close();
        await bus.close();
      },
    };
  },
);
