import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { EventpipeClient } from '@eventpipe/client';
import { canonicalTime } from '@eventpipe/schema';
import { acceptedIds, compare, recordsIn, reportText } from './app';
import { auditConfigSchema } from './config';

const USAGE = `usage: npm run audit -- --source S --from T --to T [--accepted FILE] [--query-url URL] [--show N]

Compares the events the publisher accepted (its accepted record: ACCEPTED_LOG) with the events
the query API returns for one source and event-time range, and prints the gap both ways.
  --source S       the CloudEvents source
  --from, --to     RFC 3339 event times, from inclusive, to exclusive
  --accepted FILE  the accepted record: the ACCEPTED_LOG file, or log lines / Cloud Logging
                   entries holding "accepted" (gcloud logging read --format=json); - for stdin
                   (default: $ACCEPTED_LOG, else ./data/accepted.ndjson)
  --query-url URL  the query API (default: $QUERY_URL, else http://127.0.0.1:8081); an API key
                   with events:read comes from $EVENTPIPE_API_KEY
  --show N         ids shown per list (default 20)
Exit code 0 when nothing is missing or repeated, 1 when something is, 2 on a usage error.`;

async function main(): Promise<number> {
  let args;
  try {
    args = parseArgs({
      options: {
        source: { type: 'string' },
        from: { type: 'string' },
        to: { type: 'string' },
        accepted: { type: 'string' },
        'query-url': { type: 'string' },
        show: { type: 'string', default: '20' },
        help: { type: 'boolean', default: false },
      },
    }).values;
  } catch (e) {
    process.stderr.write(`${(e as Error).message}\n${USAGE}\n`);
    return 2;
  }
  if (args.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const from = canonicalTime(args.from ?? '');
  const to = canonicalTime(args.to ?? '');
  const show = Number(args.show);
  if (!args.source || !from || !to || from > to || !Number.isInteger(show) || show < 0) {
    process.stderr.write(`${USAGE}\n`);
    return 2;
  }
  const env = auditConfigSchema.safeParse(process.env);
  if (!env.success) {
    process.stderr.write(
      `${env.error.issues.map((i) => `${String(i.path[0])}: ${i.message}`).join('\n')}\n`,
    );
    return 2;
  }
  const scope = { source: args.source, from, to };
  const file = args.accepted ?? env.data.ACCEPTED_LOG;
  const text = readFileSync(file === '-' ? 0 : file, 'utf8');
  const accepted = acceptedIds(recordsIn(text), scope);
  const client = new EventpipeClient({
    queryUrl: args['query-url'] ?? env.data.QUERY_URL,
    apiKey: env.data.EVENTPIPE_API_KEY,
  });
  const stored: string[] = [];
  for await (const e of client.export({ source: scope.source, from, to })) stored.push(e.id);
  const report = compare(accepted, stored);
  process.stdout.write(reportText(scope, report, show));
  return report.missing.length || report.repeated.length ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    process.stderr.write(`audit failed: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(2);
  },
);
