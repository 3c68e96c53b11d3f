import pino, { type Logger } from 'pino';
import { requestContext, type TraceParts } from './context';

export type { Logger } from 'pino';

// Cloud Logging reads `severity` and `message`; pino's numeric levels map onto its names.
const SEVERITY: Record<string, string> = {
  trace: 'DEBUG',
  debug: 'DEBUG',
  info: 'INFO',
  warn: 'WARNING',
  error: 'ERROR',
  fatal: 'CRITICAL',
};

export interface LoggerOptions {
  service: string;
  level?: string;
  /** Where lines go; defaults to stdout. Tests pass a stream to read them back. */
  destination?: pino.DestinationStream;
  /** Google Cloud project: trace fields then take Cloud Logging's full form
   * `projects/<project>/traces/<trace-id>`, which links log lines to Cloud Trace. */
  project?: string;
}

/** Cloud Logging's trace fields for a parsed trace context (the trace id alone without a project). */
export function traceFields(
  tp: TraceParts | undefined,
  project: string | undefined,
): Record<string, string | boolean> {
  if (!tp) return {};
  return {
    'logging.googleapis.com/trace': project
      ? `projects/${project}/traces/${tp.traceId}`
      : tp.traceId,
    'logging.googleapis.com/spanId': tp.spanId,
    'logging.googleapis.com/trace_sampled': tp.sampled,
  };
}

export function createLogger(opts: LoggerOptions): Logger {
  return pino(
    {
      level: opts.level ?? 'info',
      messageKey: 'message',
      base: { service: opts.service },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: {
        level: (label) => ({ severity: SEVERITY[label] ?? 'DEFAULT', level: label }),
      },
      mixin: () => {
        const ctx = requestContext.getStore();
        if (!ctx) return {};
        return ctx.trace
          ? { requestId: ctx.requestId, ...traceFields(ctx.trace, opts.project) }
          : { requestId: ctx.requestId };
      },
    },
    opts.destination ?? pino.destination({ sync: false }),
  );
}
