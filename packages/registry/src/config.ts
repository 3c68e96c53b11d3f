import { z } from 'zod';
import { envInt } from '@eventpipe/platform/core';

/** Variables of the schema registry, read by every service that checks or serves schemas. */
export const registryEnvShape = {
  SCHEMA_REFRESH_SECONDS: envInt(
    'Seconds between reloads of the schema registry from the store: a version registered through any instance is used by every other within this long (docs/SCHEMAS.md)',
    5,
    1,
    3600,
  ),
  SCHEMA_URI_BASE: z
    .string()
    .regex(/^https?:\/\/[^\s]+$/, { error: 'must be an http(s) URL' })
    .default('http://127.0.0.1:8081')
    .describe(
      "The query API's public URL: an event checked against a schema carries dataschema = <SCHEMA_URI_BASE>/v1/schemas/<type>/versions/<n>",
    ),
};

/** Where schemas kept in git are registered from at start (query API and npm start). */
export const schemasDirShape = {
  SCHEMAS_DIR: z
    .string()
    .min(1)
    .optional()
    .describe(
      'Folder of schema files registered at start: <type>.json holding a JSON Schema, or {"schema", "mode", "compatibility"}; an incompatible or invalid file stops the start (docs/SCHEMAS.md)',
    ),
};
