export { AppError, errors } from './errors';
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
export { createRegistry, Counter, Gauge, Histogram, Registry } from './metrics';
export {
  createBaseApp,
  finishApp,
  listen,
  operationalRoutes,
  problemCodeOf,
  notFound,
  requestId,
} from './http';
export { withTimeout } from './timeout';
export { retry, backoffDelay, abortableSleep } from './retry';
export type { Backoff, Clock, RetryOptions } from './retry';
export type { ListenTls, ReadinessCheck, RunningServer } from './http';
export type { TlsFiles } from './tls';
export { envInt, envPort, envOptionalBool, googleCloudEnvShape, isProduction } from './env';
export {
  serviceEnvShape,
  authEnvShape,
  loadConfig,
  loadConfigOrExit,
  runMain,
  ConfigError,
} from './config';
export { renderConfigDoc } from './config-doc';
export type { ConfigReader, ConfigSection } from './config-doc';
export { runHttpService } from './service';
export type { HttpService } from './service';
export { requireScope, loadApiKeys, hashKey, grantOf } from './auth';
export type { ApiKey, Scope } from './auth';
export { resolveApiKeys } from './auth-config';
export type { AuthEnv } from './auth-config';
export { perConsumerLimit, authFailureLimit } from './security';
export type { AccessOptions } from './security';
export {
  OpenApiBuilder,
  openApiPath,
  describeOperationalRoutes,
  describePageRoutes,
} from './openapi';
export type { OpenApiDocument, OperationSpec } from './openapi';
export { apiDocsRoutes } from './docs';
