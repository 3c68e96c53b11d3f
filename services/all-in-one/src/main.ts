import { randomBytes } from 'node:crypto';
import { MemoryBus, createBus } from '@eventpipe/bus';
import {
  createLogger,
  listen,
  loadConfigOrExit,
  onShutdownSignal,
  resolveApiKeys,
  runMain,
} from '@eventpipe/platform';
import { fileAcceptedLog, loggerAcceptedLog } from '@eventpipe/publisher-api';
import { openStore } from '@eventpipe/store';
import { workerOptions } from '@eventpipe/subscriber-worker';
import { createStack } from './app';
import { stackConfigSchema } from './config';

runMain('eventpipe', async () => {
  const config = loadConfigOrExit(stackConfigSchema, process.env);
  const logger = (service: string) =>
    createLogger({ service, level: config.LOG_LEVEL, project: config.GOOGLE_CLOUD_PROJECT });
  const auth = resolveApiKeys(config, config.NODE_ENV === 'production');
  const bus = createBus(config, { production: config.NODE_ENV === 'production' });
  await bus.init();
  if (bus instanceof MemoryBus && bus.recovered > 0) {
    logger('all-in-one').info(
      { recovered: bus.recovered, journal: config.MEMORY_BUS_JOURNAL },
      'in-process bus: accepted events not yet stored at the last stop are delivered again',
    );
  }
  const acceptedLog =
    config.ACCEPTED_LOG === 'off'
      ? undefined
      : config.ACCEPTED_LOG === 'log'
        ? loggerAcceptedLog(logger('publisher-api'))
        : fileAcceptedLog(config.ACCEPTED_LOG);
  const store = await openStore(config, { production: config.NODE_ENV === 'production' });
  const stack = createStack({
    acceptedLog,
    bus,
    store,
    loggers: {
      publisher: logger('publisher-api'),
      worker: logger('subscriber-worker'),
      query: logger('query-api'),
    },
    cursorSecret: config.CURSOR_SECRET ? Buffer.from(config.CURSOR_SECRET) : randomBytes(32),
    ...workerOptions(config),
    maxInFlightEvents: config.PUBLISH_MAX_IN_FLIGHT_EVENTS,
    maxConcurrentExports: config.EXPORT_MAX_CONCURRENT,
    apiKeys: auth.keys,
    access: {
      write: {
        corsOrigins: config.CORS_ORIGINS,
        rateLimitPerMinute: config.RATE_LIMIT_WRITE,
        authFailuresPerMinute: config.RATE_LIMIT_AUTH_FAILURES,
      },
      read: {
        corsOrigins: config.CORS_ORIGINS,
        rateLimitPerMinute: config.RATE_LIMIT_READ,
        authFailuresPerMinute: config.RATE_LIMIT_AUTH_FAILURES,
      },
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
      auth.open
        ? '  AUTH: OPEN — no API keys are configured, anyone who can reach these ports can read and write'
        : `  AUTH: API keys required (${auth.keys.length} configured); send Authorization: Bearer <key>`,
      'Try:',
      `  curl -sS -X POST ${publisher.url}/v1/events -H 'Content-Type: application/json' \\`,
      `    -d '{"type":"com.example.order.created","source":"/shop","data":{"orderId":42}}'`,
      `  curl -sS '${query.url}/v1/events?type=com.example.order.created'`,
      'Stop with Ctrl-C.',
      bar,
      '',
    ].join('\n'),
  );

  onShutdownSignal(logger('all-in-one'), config.SHUTDOWN_TIMEOUT_MS, async () => {
    // Intake first, so nothing new is accepted; then drain the worker; then reads.
    await publisher.close(2000);
    await stack.worker.stop();
    await Promise.all([query.close(1000), worker.close(500)]);
    await acceptedLog?.close();
    await bus.close();
    await store.close();
  });
});
