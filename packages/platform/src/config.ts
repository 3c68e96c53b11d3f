import { z } from 'zod';
import { envInt } from './env';

/** Variables every service reads. */
export const serviceEnvShape = {
  NODE_ENV: z
    .string()
    .default('development')
    .describe(
      'Deployment environment. Anything but development (the default, also when unset or empty) or test follows production rules: API keys required unless AUTH_MODE=none, PUBSUB_AUTO_CREATE and BIGQUERY_AUTO_CREATE off unless set',
    ),
  HOST: z.string().default('0.0.0.0').describe('Interface to listen on'),
  LOG_LEVEL: z
    .enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'])
    .default('info')
    .describe('pino log level'),
  SHUTDOWN_TIMEOUT_MS: envInt(
    "Longest graceful shutdown after SIGTERM/SIGINT (below Cloud Run's 10 s)",
    8000,
    100,
    600_000,
  ),
  TLS_CERT_FILE: z
    .string()
    .optional()
    .describe(
      'PEM certificate (chain) file; with TLS_KEY_FILE the service serves HTTPS only, sends HSTS, and serves a replaced pair within about 2 s without a restart (npm run certs makes a self-signed one; docs/SECURITY.md). Unset: plain HTTP, e.g. behind Cloud Run, whose front end ends TLS',
    ),
  TLS_KEY_FILE: z
    .string()
    .optional()
    .describe('PEM private key file of TLS_CERT_FILE; set both or neither'),
};

/** Variables that only work together: a schema holding both takes both or neither. */
const PAIRED: [string, string][] = [['TLS_CERT_FILE', 'TLS_KEY_FILE']];

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/** Variables whose values are secrets (DUCKDB_ENCRYPTION_KEY, CURSOR_SECRET). */
const SECRET_NAME = /_(KEY|SECRET)$/;

/**
 * Parses the environment once. Every bad variable is reported with its description, so one
 * failed start tells the operator everything to fix, a variable missing its pair included
 * (TLS_CERT_FILE without TLS_KEY_FILE). Empty strings count as unset.
 */
export function loadConfig<S extends z.ZodObject>(
  schema: S,
  env: Record<string, string | undefined>,
): z.output<S> {
  const cleaned = Object.fromEntries(
    Object.keys(schema.shape).map((k) => [k, env[k] === '' ? undefined : env[k]]),
  );
  const result = schema.safeParse(cleaned);
  const issues: { path: PropertyKey[]; message: string }[] = result.success
    ? []
    : [...result.error.issues];
  for (const [a, b] of PAIRED) {
    if (!(a in schema.shape && b in schema.shape)) continue;
    if (cleaned[a] !== undefined && cleaned[b] === undefined)
      issues.push({ path: [b], message: `must be set when ${a} is` });
    if (cleaned[b] !== undefined && cleaned[a] === undefined)
      issues.push({ path: [a], message: `must be set when ${b} is` });
  }
  if (result.success && issues.length === 0) return result.data;
  const problems = issues.map((issue) => {
    const key = String(issue.path[0] ?? '');
    const field = (schema.shape as Record<string, z.ZodType>)[key];
    const value = cleaned[key];
    const description = field?.description ? ` (${field.description})` : '';
    // A secret (…_KEY, …_SECRET) is never echoed, even a bad one: this line reaches the logs.
    const shown =
      value === undefined
        ? '<unset>'
        : SECRET_NAME.test(key)
          ? `<hidden, ${value.length} characters>`
          : JSON.stringify(value);
    return `${key}=${shown}: ${issue.message}${description}`;
  });
  throw new ConfigError(problems);
}

/** For main.ts: loadConfig, or print every problem and exit 78 (EX_CONFIG). */
export function loadConfigOrExit<S extends z.ZodObject>(
  schema: S,
  env: Record<string, string | undefined>,
): z.output<S> {
  try {
    return loadConfig(schema, env);
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(`${e.message}\n`);
      process.exit(78);
    }
    throw e;
  }
}

/** For main.ts: runs the start-up and turns a failure into one line on stderr and exit 1. */
export function runMain(service: string, main: () => Promise<void>): void {
  main().catch((e: unknown) => {
    process.stderr.write(
      `${service} failed to start: ${e instanceof Error ? e.message : String(e)}\n`,
    );
    process.exit(1);
  });
}

/** API key variables, shared by every HTTP service. */
export const authEnvShape = {
  API_KEYS: z
    .string()
    .optional()
    .describe(
      'JSON array of {"name","scopes","sha256"} with optional "sources" and "types" (exact values or prefixes ending in *): hex SHA-256 of each key (never the key); docs/SECURITY.md',
    ),
  API_KEYS_FILE: z
    .string()
    .optional()
    .describe('Path of a file holding the API_KEYS JSON (for secret mounts)'),
  TRUST_PROXY: envInt(
    'Proxies in front of the service whose X-Forwarded-For is believed (Cloud Run: 1); the client address of the rate limits and logs comes from it. 0: the socket address',
    0,
    0,
    10,
  ),
  RATE_LIMIT_WRITE: envInt(
    'Ingest requests per minute per API key (per IP without one); 0: off',
    6000,
    0,
    10_000_000,
  ),
  RATE_LIMIT_READ: envInt(
    'Read requests per minute per API key (per IP without one); 0: off',
    6000,
    0,
    10_000_000,
  ),
  RATE_LIMIT_AUTH_FAILURES: envInt(
    'Failed authentications per minute per IP before 429',
    30,
    1,
    100_000,
  ),
  CORS_ORIGINS: z
    .string()
    .default('')
    .transform((v) =>
      v
        .split(',')
        .map((o) => o.trim())
        .filter(Boolean),
    )
    .describe('Comma-separated origins allowed to call the APIs from a browser (none by default)'),
  AUTH_MODE: z
    .enum(['keys', 'none'])
    .optional()
    .describe(
      'keys: require API keys; none: run open (must be explicit under production rules, see NODE_ENV, and logs a warning at every start)',
    ),
};
