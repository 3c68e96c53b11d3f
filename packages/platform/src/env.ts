import { z } from 'zod';

// Environment variable shapes that need nothing but zod, so the bus and store packages can
// declare their variables without loading express, pino or prom-client.

/** Integer variable within [min, max]. */
export const envInt = (description: string, def: number, min: number, max: number) =>
  z.coerce.number().int().min(min).max(max).default(def).describe(description);

export const envPort = (description: string, def: number) => envInt(description, def, 0, 65535);

/** Boolean variable ("true"/"false"/"1"/"0"); undefined when unset, so the caller can tell an
 * explicit choice from a default that depends on something else. */
export const envOptionalBool = (description: string) =>
  z
    .enum(['true', 'false', '1', '0'])
    .optional()
    .transform((v) => (v === undefined ? undefined : v === 'true' || v === '1'))
    .describe(description);

/** The Google Cloud project, shared by the Pub/Sub and BigQuery adapters. */
export const googleCloudEnvShape = {
  GOOGLE_CLOUD_PROJECT: z
    .string()
    .min(1)
    .optional()
    .describe(
      'Google Cloud project of the Pub/Sub and BigQuery resources (default eventpipe-local with an emulator)',
    ),
};

/** Whether NODE_ENV asks for production rules (API keys required, nothing created at start):
 * anything but unset, `development` or `test`, so `Production`, `prod` or a typo fails closed. */
export const isProduction = (nodeEnv: string | undefined): boolean =>
  nodeEnv !== undefined && nodeEnv !== '' && nodeEnv !== 'development' && nodeEnv !== 'test';
