import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { MemoryBus, createBus } from '@eventpipe/bus/adapters';
import { createLogger, resolveApiKeys, runHttpService } from '@eventpipe/platform';
import { acceptedLogOf } from '@eventpipe/publisher-api';
import { startRegistry } from '@eventpipe/registry';
import { ErasureBook, duckdbEncryptionKeyOf } from '@eventpipe/store';
import { openStore } from '@eventpipe/store/adapters';
import { streamOptionsOf } from '@eventpipe/query-api';
import { lifecycleOptions, workerOptions } from '@eventpipe/subscriber-worker';
import { createStack } from './app';
import { stackConfigSchema } from './config';

runHttpService(
  'eventpipe',
  stackConfigSchema,
  process.env,
  async ({ config, logger, production }) => {
    const serviceLogger = (service: string) =>
      createLogger({ service, level: config.LOG_LEVEL, project: config.GOOGLE_CLOUD_PROJECT });
    const auth = resolveApiKeys(config, production);
    // Open is npm start's everyday default; said out loud only where it is a decision.
    for (const w of auth.warnings) if (!auth.open || production) logger.warn(w);
    // One key encrypts the DuckDB file and the bus journal, so ./data holds no event in clear.
    const encryptionKey = duckdbEncryptionKeyOf(config);
    const bus = createBus(config, { production, journalEncryptionKey: encryptionKey });
    await bus.init();
    if (bus instanceof MemoryBus && bus.recovered > 0) {
      logger.info(
        { recovered: bus.recovered, journal: config.MEMORY_BUS_JOURNAL },
        'in-process bus: accepted events not yet stored at the last stop are delivered again',
      );
    }
    const store = await openStore(config, { production, warn: (m) => logger.warn(m) });
    const schemas = await startRegistry(store.schemas, config, logger);
    const erasures = await new ErasureBook(store.erasures, {
      refreshMs: config.ERASURE_REFRESH_SECONDS * 1000,
      onError: (err) => logger.warn({ err }, 'erasures not reloaded; tried again'),
    }).start();
    const loggers = {
      publisher: serviceLogger('publisher-api'),
      worker: serviceLogger('subscriber-worker'),
      query: serviceLogger('query-api'),
    };
    const acceptedLog = acceptedLogOf(config.ACCEPTED_LOG, loggers.publisher);
    const stack = createStack({
      schemas,
      erasures,
      lifecycle: lifecycleOptions(config),
      acceptedLog,
      bus,
      store,
      loggers,
      cursorSecret: config.CURSOR_SECRET
        ? Buffer.from(config.CURSOR_SECRET)
        : keptSecret(join(dirname(config.DUCKDB_PATH), 'cursor-secret')),
      ...workerOptions(config),
      maxInFlightEvents: config.PUBLISH_MAX_IN_FLIGHT_EVENTS,
      maxConcurrentExports: config.EXPORT_MAX_CONCURRENT,
      pageMaxBytes: config.PAGE_MAX_BYTES,
      pageMaxConcurrent: config.PAGE_MAX_CONCURRENT,
      stream: streamOptionsOf(config),
      apiKeys: auth.keys,
      access: {
        write: {
          corsOrigins: config.CORS_ORIGINS,
          rateLimitPerMinute: config.RATE_LIMIT_WRITE,
          authFailuresPerMinute: config.RATE_LIMIT_AUTH_FAILURES,
          trustProxy: config.TRUST_PROXY,
        },
        read: {
          corsOrigins: config.CORS_ORIGINS,
          rateLimitPerMinute: config.RATE_LIMIT_READ,
          authFailuresPerMinute: config.RATE_LIMIT_AUTH_FAILURES,
          trustProxy: config.TRUST_PROXY,
        },
      },
      shutdownTimeoutMs: config.SHUTDOWN_TIMEOUT_MS - 1000,
    });
    return {
      servers: [
        { app: stack.publisher, port: config.PUBLISHER_PORT, listening: 'publisher-api listening' },
        { app: stack.query, port: config.QUERY_PORT, listening: 'query-api listening' },
        { app: stack.worker.app, port: config.WORKER_PORT, listening: 'subscriber-worker running' },
      ],
      started: ([publisher, query, worker]) => {
        stack.worker.start();
        stack.lifecycle?.start();
        const bar = '-'.repeat(72);
        // A self-signed certificate (npm run certs) is trusted by naming it.
        const curl = config.TLS_CERT_FILE
          ? `curl -sS --cacert ${config.TLS_CERT_FILE}`
          : 'curl -sS';
        process.stdout.write(
          [
            bar,
            `eventpipe is running in one process (BUS=${bus.kind}, STORE=${store.kind} at ${config.DUCKDB_PATH})`,
            `  publisher API  ${publisher!.url}   POST /v1/events`,
            `  query API      ${query!.url}   GET /v1/events, /v1/events/{id}, /v1/stats`,
            `  worker         ${worker!.url}   /healthz /readyz /metrics`,
            auth.open
              ? '  AUTH: OPEN — no API keys are configured, anyone who can reach these ports can read and write'
              : `  AUTH: API keys required (${auth.keys.length} configured); send Authorization: Bearer <key>`,
            'Try:',
            `  ${curl} -X POST ${publisher!.url}/v1/events -H 'Content-Type: application/json' \\`,
            `    -d '{"type":"com.example.order.created","source":"/shop","data":{"orderId":42}}'`,
            `  ${curl} '${query!.url}/v1/events?type=com.example.order.created'`,
            'Stop with Ctrl-C.',
            bar,
            '',
          ].join('\n'),
        );
      },
      stop: async ([publisher, query, worker]) => {
        // Intake first, so nothing new is accepted; then drain the worker; then reads.
        await publisher!.close(2000);
        await stack.lifecycle?.stop();
        await stack.worker.stop();
        schemas.stop();
        erasures.stop();
        await Promise.all([query!.close(1000), worker!.close(500)]);
        await acceptedLog?.close();
        await bus.close();
        await store.close();
      },
    };
  },
);

/**
 * Without CURSOR_SECRET, npm start signs cursors and stream resume tokens with a random key kept
 * beside its DuckDB file (mode 600), made on the first start: a restart does not break the
 * cursors and Last-Event-IDs clients hold.
 */
function keptSecret(path: string): Buffer {
  try {
    const kept = readFileSync(path);
    if (kept.length >= 32) return kept;
  } catch {
    // not made yet
  }
  mkdirSync(dirname(path), { recursive: true });
  const secret = randomBytes(32);
  try {
    writeFileSync(path, secret, { mode: 0o600, flag: 'wx' });
    return secret;
  } catch {
    return readFileSync(path); // another process made it first
  }
}
