import { z } from 'zod';

/**
 * The one error model. Every failure a caller can see is an AppError with a stable kebab-case
 * `code` (documented in docs/API.md, "Contract and errors") and an HTTP status; the problem middleware turns it
 * into RFC 9457 application/problem+json.
 */
/**
 * Every problem code, with the status and title it always has: the one table `AppError`, the
 * `errors.*` helpers and the OpenAPI documents take codes from, so a misspelled code does not
 * compile. docs/API.md describes each.
 */
export const PROBLEMS = {
  'validation-failed': { status: 400, title: 'Request is not valid' },
  'malformed-json': { status: 400, title: 'Body is not valid JSON' },
  'invalid-encoding': { status: 400, title: 'Body is not valid UTF-8' },
  'json-too-deep': { status: 400, title: 'JSON nesting too deep' },
  'forbidden-key': { status: 400, title: 'Forbidden object key' },
  'invalid-cursor': { status: 400, title: 'Cursor is not valid' },
  'range-too-large': { status: 400, title: 'Time range too large' },
  'request-aborted': { status: 400, title: 'Request aborted' },
  'bad-request': { status: 400, title: 'Bad request' },
  'data-schema-invalid': { status: 400, title: 'Event data does not match its schema' },
  'invalid-schema': { status: 400, title: 'Not a valid JSON Schema' },
  unauthenticated: { status: 401, title: 'API key missing or not valid' },
  'insufficient-scope': { status: 403, title: 'API key lacks the scope' },
  'source-not-allowed': { status: 403, title: 'API key may not write this source' },
  'not-found': { status: 404, title: 'Not found' },
  'route-not-found': { status: 404, title: 'Not found' },
  'not-acceptable': { status: 406, title: 'No acceptable representation' },
  'ambiguous-id': { status: 409, title: 'Id is used by more than one source' },
  'schema-incompatible': { status: 409, title: 'Schema breaks compatibility' },
  'not-suppressing': { status: 409, title: 'Erasure holds no suppression' },
  'payload-too-large': { status: 413, title: 'Payload exceeds a limit' },
  'unsupported-media-type': { status: 415, title: 'Content type not supported' },
  'rate-limited': { status: 429, title: 'Too many requests' },
  'too-many-in-flight': { status: 429, title: 'Too many events in flight' },
  'too-many-exports': { status: 429, title: 'Too many exports at once' },
  'too-many-streams': { status: 429, title: 'Too many event streams at once' },
  'too-many-pending-erasures': { status: 429, title: 'Too many erasures pending' },
  internal: { status: 500, title: 'Internal error' },
  unavailable: { status: 503, title: 'Service temporarily unavailable' },
} as const satisfies Record<string, { status: number; title: string }>;

export type ProblemCode = keyof typeof PROBLEMS;

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
  /** Only for `bad-request`: the 4xx status a body parser reported. */
  status?: number;
}

export class AppError extends Error {
  readonly status: number;
  readonly title: string;
  readonly detail: string | undefined;
  readonly errors: ProblemItem[] | undefined;
  readonly headers: Record<string, string>;

  constructor(
    readonly code: ProblemCode,
    opts: AppErrorOptions = {},
  ) {
    const { title } = PROBLEMS[code];
    super(opts.detail ? `${title}: ${opts.detail}` : title, { cause: opts.cause });
    this.name = 'AppError';
    this.status = opts.status ?? PROBLEMS[code].status;
    this.title = title;
    this.detail = opts.detail;
    this.errors = opts.errors;
    this.headers = opts.headers ?? {};
  }
}

export const isAppError = (e: unknown): e is AppError => e instanceof AppError;

/** Constructors for the codes more than one place raises. */
export const errors = {
  validation: (detail: string, items?: ProblemItem[]) =>
    new AppError('validation-failed', { detail, errors: items }),
  badJson: (detail: string) => new AppError('malformed-json', { detail }),
  tooLarge: (detail: string, items?: ProblemItem[]) =>
    new AppError('payload-too-large', { detail, errors: items }),
  unsupportedMediaType: (detail: string) => new AppError('unsupported-media-type', { detail }),
  notFound: (detail: string) => new AppError('not-found', { detail }),
  unavailable: (detail: string, retryAfterSeconds: number, cause?: unknown) =>
    new AppError('unavailable', {
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
    code: z.string().meta({
      description: 'Stable kebab-case problem code; see docs/API.md, "Contract and errors".',
    }),
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
