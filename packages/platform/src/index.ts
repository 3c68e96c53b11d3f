export { AppError, isAppError, errors, PROBLEMS } from './errors';
export type { ProblemItem, AppErrorOptions, ProblemCode } from './errors';
export {
  requestContext,
  requestScope,
  currentRequestId,
  currentTraceparent,
  parseTraceparent,
} from './context';
export type { RequestContext, TraceContext, TraceParts } from './context';
export { createLogger, traceFields } from './logger';
export type { Logger, LoggerOptions } from './logger';
export {
  createRegistry,
  httpDurationHistogram,
  Counter,
  Gauge,
  Histogram,
  Registry,
} from './metrics';
export {
  createBaseApp,
  finishApp,
  listen,
  operationalRoutes,
  problemHandler,
  problemCodeOf,
  sendProblem,
  notFound,
  requestId,
  PROBLEM_JSON,
  problemType,
  REQUEST_ID_HEADER,
} from './http';
export { withTimeout } from './timeout';
export { retry, backoffDelay, abortableSleep, systemClock } from './retry';
export type { Backoff, Clock, RetryOptions } from './retry';
export type { ReadinessCheck, RunningServer } from './http';
export { envInt, envPort, envOptionalBool, googleCloudEnvShape } from './env';
export {
  serviceEnvShape,
  authEnvShape,
  loadConfig,
  loadConfigOrExit,
  runMain,
  ConfigError,
} from './config';
export { onShutdownSignal } from './lifecycle';
export { runHttpService } from './service';
export type { HttpService } from './service';
export { requireScope, loadApiKeys, hashKey, SCOPES } from './auth';
export type { ApiKey, Scope } from './auth';
export { resolveApiKeys } from './auth-config';
export type { AuthEnv } from './auth-config';
export { securityHeaders, perConsumerLimit, authFailureLimit } from './security';
export type { AccessOptions } from './security';
export { problemSchema } from './errors';
export {
  OpenApiBuilder,
  openApiPath,
  describeOperationalRoutes,
  AUTH_PROBLEMS,
  SERVER_PROBLEMS,
  DOC_ASSETS,
} from './openapi';
export type { OpenApiDocument, OperationSpec } from './openapi';
export { apiDocsRoutes } from './docs';
