import { z } from 'zod';

/**
 * The one error model. Every failure a caller can see is an AppError with a stable kebab-case
 * `code` (documented in README.md "Errors") and an HTTP status; the problem middleware turns it
 * into RFC 9457 application/problem+json.
 */
export interface ProblemItem {
  /** JSON Pointer into the request body, or the query parameter name. */
  pointer: string;
  detail: string;
  index?: number;
}

export interface AppErrorOptions {
  detail?: string;
  errors?: ProblemItem[];
  headers?: Record<string, string>;
  cause?: unknown;
}

export class AppError extends Error {
  readonly detail: string | undefined;
  readonly errors: ProblemItem[] | undefined;
  readonly headers: Record<string, string>;

  constructor(
    readonly code: string,
    readonly status: number,
    readonly title: string,
    opts: AppErrorOptions = {},
  ) {
    super(opts.detail ? `${title}: ${opts.detail}` : title, { cause: opts.cause });
    this.name = 'AppError';
    this.detail = opts.detail;
    this.errors = opts.errors;
    this.headers = opts.headers ?? {};
  }
}

export const isAppError = (e: unknown): e is AppError => e instanceof AppError;

/** Constructors for the codes more than one place raises. */
export const errors = {
  validation: (detail: string, items?: ProblemItem[]) =>
    new AppError('validation-failed', 400, 'Request is not valid', { detail, errors: items }),
  badJson: (detail: string) =>
    new AppError('malformed-json', 400, 'Body is not valid JSON', { detail }),
  tooLarge: (detail: string, items?: ProblemItem[]) =>
    new AppError('payload-too-large', 413, 'Payload exceeds a limit', { detail, errors: items }),
  unsupportedMediaType: (detail: string) =>
    new AppError('unsupported-media-type', 415, 'Content type not supported', { detail }),
  notFound: (detail: string) => new AppError('not-found', 404, 'Not found', { detail }),
  unavailable: (detail: string, retryAfterSeconds: number, cause?: unknown) =>
    new AppError('unavailable', 503, 'Service temporarily unavailable', {
      detail,
      cause,
      headers: { 'Retry-After': String(retryAfterSeconds) },
    }),
};

/** The body of every error response (RFC 9457 application/problem+json), as the OpenAPI
 * documents describe it; sendProblem() writes exactly these keys. */
export const problemSchema = z
  .object({
    type: z.string().meta({ description: 'urn:eventpipe:problem:<code>' }),
    title: z.string(),
    status: z.number().int(),
    detail: z.string().optional().meta({ description: 'What was wrong, for a person.' }),
    instance: z.string().meta({ description: 'The request path.' }),
    code: z.string().meta({ description: 'Stable kebab-case problem code; see README "Errors".' }),
    requestId: z.string(),
    errors: z
      .array(
        z.object({
          pointer: z.string().meta({
            description: 'JSON Pointer into the request body, or the query parameter name.',
          }),
          detail: z.string(),
          index: z.number().int().optional(),
        }),
      )
      .optional()
      .meta({ description: 'One item per problem found, when there are several.' }),
  })
  .meta({ id: 'Problem', description: 'An RFC 9457 problem.' });
