import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { renderConfigDoc } from '@eventpipe/platform';
import { auditConfigSchema } from '@eventpipe/audit';
import { publisherConfigSchema } from '@eventpipe/publisher-api';
import { queryConfigSchema } from '@eventpipe/query-api';
import { replayConfigSchema } from '@eventpipe/replay';
import { schemasCliConfigSchema } from '@eventpipe/schemas-cli';
import { workerConfigSchema } from '@eventpipe/subscriber-worker';
import { stackConfigSchema } from './config';

const PREAMBLE = `
# Configuration

<!-- Generated from the zod schemas' .describe() texts by \`npm run docs:config\`; edit those, not this file. A test fails when it is stale. -->

Every variable is optional. A bad value stops the program at start with every bad variable named
and described (exit code 78). \`.env-example\` lists the services' variables with their defaults.
Where programs differ, a cell gives each program's value: \`npm start\` is the one-process mode,
\`publisher\`, \`worker\` and \`query\` are the services run alone (their containers).
`;

/** The configuration reference (docs/CONFIGURATION.md) as the schemas describe it. */
export function configurationDoc(): string {
  return renderConfigDoc(
    [
      {
        title: 'Services',
        intro:
          'Read by `npm start` and by the publisher API, the worker and the query API run alone.',
        readers: [
          { name: 'npm start', schema: stackConfigSchema },
          { name: 'publisher', schema: publisherConfigSchema },
          { name: 'worker', schema: workerConfigSchema },
          { name: 'query', schema: queryConfigSchema },
        ],
      },
      {
        title: 'npm run replay',
        intro:
          'Moves dead-lettered messages back to the topic, lists or discards them (docs/OPERATIONS.md). Flags override the variables.',
        readers: [{ name: 'replay', schema: replayConfigSchema }],
      },
      {
        title: 'npm run audit',
        intro:
          'Compares what the publisher accepted with what the query API returns (docs/OPERATIONS.md). Flags override the variables.',
        readers: [{ name: 'audit', schema: auditConfigSchema }],
      },
      {
        title: 'npm run schemas',
        intro:
          'Registers, lists and applies data schemas through the query API, and generates TypeScript types (docs/SCHEMAS.md). Flags override the variables.',
        readers: [{ name: 'schemas', schema: schemasCliConfigSchema }],
      },
    ],
    PREAMBLE,
  );
}

export const CONFIGURATION_MD = join(__dirname, '..', '..', '..', 'docs', 'CONFIGURATION.md');

// `npm run docs:config` writes the file; `--check` exits 1 when it is stale.
if (require.main === module) {
  const doc = configurationDoc();
  if (process.argv.includes('--check')) {
    const current = readFileSync(CONFIGURATION_MD, 'utf8');
    if (current !== doc) {
      console.error('docs/CONFIGURATION.md is stale: run npm run docs:config');
      process.exit(1);
    }
  } else {
    writeFileSync(CONFIGURATION_MD, doc);
    console.log(`wrote ${CONFIGURATION_MD}`);
  }
}
