// @eventpipe/platform/core: what the port packages (bus, store) may use of the platform. It
// depends on zod alone; the rest of the platform (express, pino, prom-client) stays out of them.
export { envInt, envPort, envOptionalBool, googleCloudEnvShape, isProduction } from './env';
export { withTimeout } from './timeout';
export { retry, backoffDelay, abortableSleep } from './retry';
export type { Backoff, Clock, RetryOptions } from './retry';
