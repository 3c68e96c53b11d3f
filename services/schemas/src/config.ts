import { z } from 'zod';

/** The schemas command's environment (flags override each). */
export const schemasCliConfigSchema = z.object({
  QUERY_URL: z
    .string()
    .url()
    .default('http://127.0.0.1:8081')
    .describe('The query API the schemas command talks to (--query-url)'),
  EVENTPIPE_API_KEY: z
    .string()
    .optional()
    .describe(
      'An API key sent to the query API: schemas:write to put or apply, events:read to list, get or generate types',
    ),
});
