import { randomBytes } from 'node:crypto';
import { createRegistry, resolveApiKeys, runHttpService } from '@eventpipe/platform';
import { startRegistry } from '@eventpipe/registry';
import { ErasureBook } from '@eventpipe/store';
import { openStore } from '@eventpipe/store/adapters';
import { createQueryApp } from './app';
import { queryConfigSchema, streamOptionsOf } from './config';

runHttpService(
  'query-api',
  queryConfigSchema,
  process.env,
  async ({ config, logger, production }) => {
    const auth = resolveApiKeys(config, production);
    for (const w of auth.warnings) logger.warn(w);
    // Alone, the query API only reads: with DuckDB it opens the file read-only, which fails with a
    // clear message while a worker process holds it (DuckDB admits one writing process).
    const store = await openStore(config, {
      readOnly: true,
      production,
      warn: (m) => logger.warn(m),
    });
    if (!config.CURSOR_SECRET) {
      logger.warn(
        'CURSOR_SECRET is unset: cursors are signed with a random key and expire on restart',
      );
    }
    const schemas = await startRegistry(store.schemas, config, logger);
    const erasures = await new ErasureBook(store.erasures, {
      refreshMs: config.ERASURE_REFRESH_SECONDS * 1000,
      onError: (err) => logger.warn({ err }, 'erasures not reloaded; tried again'),
    }).start();
    const app = createQueryApp({
      erasures,
      store,
      schemas,
      logger,
      registry: createRegistry('query-api'),
      apiKeys: auth.keys,
      access: {
        corsOrigins: config.CORS_ORIGINS,
        rateLimitPerMinute: config.RATE_LIMIT_READ,
        authFailuresPerMinute: config.RATE_LIMIT_AUTH_FAILURES,
        trustProxy: config.TRUST_PROXY,
      },
      cursorSecret: config.CURSOR_SECRET ? Buffer.from(config.CURSOR_SECRET) : randomBytes(32),
      maxConcurrentExports: config.EXPORT_MAX_CONCURRENT,
      pageMaxBytes: config.PAGE_MAX_BYTES,
      pageMaxConcurrent: config.PAGE_MAX_CONCURRENT,
      stream: streamOptionsOf(config),
    });
    return {
      servers: [
        { app, port: config.PORT, listening: 'query-api listening', fields: { store: store.kind } },
      ],
      stop: async ([server]) => {
        await server!.close(config.SHUTDOWN_TIMEOUT_MS - 500);
        schemas.stop();
        erasures.stop();
        await store.close();
      },
    };
  },
);
