import { z } from 'zod';

/** Boolean env values: "true"/"false"/"1"/"0". */
export const envBool = (description: string, def: boolean) =>
  z
    .enum(['true', 'false', '1', '0'])
    .default(def ? 'true' : 'false')
    .transform((v) => v === 'true' || v === '1')
    .describe(description);

export const envInt = (description: string, def: number, min: number, max: number) =>
  z.coerce.number().int().min(min).max(max).default(def).describe(description);

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/**
 * Parses the environment once. Every bad variable is reported with its description, so one
 * failed start tells the operator everything to fix. Empty strings count as unset.
 */
export function loadConfig<S extends z.ZodObject>(
  schema: S,
  env: Record<string, string | undefined>,
): z.output<S> {
  const cleaned = Object.fromEntries(
    Object.keys(schema.shape).map((k) => [k, env[k] === '' ? undefined : env[k]]),
  );
  const result = schema.safeParse(cleaned);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => {
    const key = String(issue.path[0] ?? '');
    const field = (schema.shape as Record<string, z.ZodType>)[key];
    const value = cleaned[key];
    const description = field?.description ? ` (${field.description})` : '';
    return `${key}=${value === undefined ? '<unset>' : JSON.stringify(value)}: ${issue.message}${description}`;
  });
  throw new ConfigError(problems);
}

/** Shared by every main.ts: prints a ConfigError and exits non-zero. */
export function exitOnConfigError(e: unknown): never {
  if (e instanceof ConfigError) {
    process.stderr.write(`${e.message}\n`);
    process.exit(78); // EX_CONFIG
  }
  throw e;
}
