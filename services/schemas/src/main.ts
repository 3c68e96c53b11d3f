import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { EventpipeClient, type SchemaCompatibility, type SchemaMode } from '@eventpipe/client';
import { applyDir, putFile, refusalText, typesSource } from './app';
import { schemasCliConfigSchema } from './config';

const USAGE = `usage: npm run schemas -- COMMAND [--query-url URL]

  put TYPE FILE [--mode enforce|warn|off] [--compatibility BACKWARD|FORWARD|FULL|NONE]
        registers FILE (a JSON Schema, or {"schema", "mode", "compatibility"}) as the next
        version of TYPE's schema
  apply DIR
        registers every <type>.json of DIR, in name order (what SCHEMAS_DIR does at start)
  list  every type with a schema
  get TYPE
        a type's settings and every version, as JSON
  types [--out FILE]
        TypeScript declarations for the newest schema of every type (stdout, or FILE)

The query API is $QUERY_URL (default http://127.0.0.1:8081) or --query-url; an API key comes
from $EVENTPIPE_API_KEY (schemas:write to put and apply, events:read for the rest).
Exit code 0 on success, 1 when the API refused (the reasons are printed), 2 on a usage error.`;

async function main(): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      allowPositionals: true,
      options: {
        'query-url': { type: 'string' },
        mode: { type: 'string' },
        compatibility: { type: 'string' },
        out: { type: 'string' },
      },
    });
  } catch (e) {
    process.stderr.write(`${(e as Error).message}\n${USAGE}\n`);
    return 2;
  }
  const { values, positionals } = parsed;
  const config = schemasCliConfigSchema.parse(process.env);
  const client = new EventpipeClient({
    queryUrl: values['query-url'] ?? config.QUERY_URL,
    apiKey: config.EVENTPIPE_API_KEY,
  });
  const [command, ...rest] = positionals;
  const usage = () => {
    process.stderr.write(`${USAGE}\n`);
    return 2;
  };
  try {
    switch (command) {
      case 'put': {
        if (rest.length !== 2) return usage();
        if (values.mode && !['enforce', 'warn', 'off'].includes(values.mode)) return usage();
        if (
          values.compatibility &&
          !['BACKWARD', 'FORWARD', 'FULL', 'NONE'].includes(values.compatibility)
        )
          return usage();
        process.stdout.write(
          `${await putFile(client, rest[0]!, rest[1]!, {
            ...(values.mode ? { mode: values.mode as SchemaMode } : {}),
            ...(values.compatibility
              ? { compatibility: values.compatibility as SchemaCompatibility }
              : {}),
          })}\n`,
        );
        return 0;
      }
      case 'apply':
        if (rest.length !== 1) return usage();
        for (const line of await applyDir(client, rest[0]!)) process.stdout.write(`${line}\n`);
        return 0;
      case 'list':
        for (const t of await client.listSchemas()) {
          process.stdout.write(
            `${t.type}\tversion ${t.latestVersion}\t${t.mode}\t${t.compatibility}\t${t.view}\n`,
          );
        }
        return 0;
      case 'get':
        if (rest.length !== 1) return usage();
        process.stdout.write(`${JSON.stringify(await client.getSchema(rest[0]!), null, 2)}\n`);
        return 0;
      case 'types': {
        const source = await typesSource(client);
        if (values.out) writeFileSync(values.out, source);
        else process.stdout.write(source);
        return 0;
      }
      default:
        return usage();
    }
  } catch (e) {
    process.stderr.write(`${refusalText(e)}\n`);
    return 1;
  }
}

void main().then((code) => {
  process.exitCode = code;
});
