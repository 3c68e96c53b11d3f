import { z } from 'zod';

/** The audit command's environment (flags override each). */
export const auditConfigSchema = z.object({
  ACCEPTED_LOG: z
    .string()
    .default('./data/accepted.ndjson')
    .describe(
      "The accepted record to read (--accepted): the publisher's ACCEPTED_LOG file, or exported log lines",
    ),
  QUERY_URL: z
    .string()
    .url()
    .default('http://127.0.0.1:8081')
    .describe('The query API the audit reads stored events from (--query-url)'),
  EVENTPIPE_API_KEY: z
    .string()
    .optional()
    .describe('An API key with events:read, sent to the query API when keys are configured'),
});
