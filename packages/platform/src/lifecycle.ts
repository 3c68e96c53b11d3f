import type { Logger } from 'pino';

/**
 * Runs `stop` once on SIGTERM or SIGINT, bounded by `timeoutMs`; exits 0 when it finished in
 * time, 1 otherwise. A second signal (more than a second after the first) exits at once.
 */
export function onShutdownSignal(
  logger: Logger,
  timeoutMs: number,
  stop: () => Promise<void>,
): void {
  let stopping = false;
  let startedAt = 0;
  let done = false;
  const handler = (signal: NodeJS.Signals) => {
    if (stopping) {
      // Ctrl-C under `npm start` reaches node twice: from the terminal (the process group) and
      // forwarded by npm. A repeat within a second, or after shutdown finished, is that echo.
      if (done || Date.now() - startedAt < 1000) return;
      logger.warn({ signal }, 'second signal: exiting now');
      process.exit(1);
    }
    stopping = true;
    startedAt = Date.now();
    logger.info({ signal, timeoutMs }, 'shutting down');
    const timer = setTimeout(() => {
      logger.error({ timeoutMs }, 'shutdown did not finish in time');
      logger.flush?.();
      process.exit(1);
    }, timeoutMs);
    stop().then(
      () => {
        clearTimeout(timer);
        done = true;
        logger.info('shutdown complete');
        logger.flush?.();
        process.exitCode = 0;
        setImmediate(() => process.exit(0));
      },
      (err: unknown) => {
        logger.error({ err }, 'shutdown failed');
        logger.flush?.();
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', handler);
  process.on('SIGINT', handler);
}
