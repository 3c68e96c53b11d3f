import { parseArgs } from 'node:util';
import { createBus } from '@eventpipe/bus/adapters';
import { ErasureBook, type EventStore } from '@eventpipe/store';
import { openErasureLog, openStore } from '@eventpipe/store/adapters';
import { isProduction, loadConfigOrExit, runMain } from '@eventpipe/platform';
import { progressLine, replayDeadLetters } from './app';
import { replayConfigSchema } from './config';

const USAGE = `usage: npm run replay -- --from-dlq [--dry-run] [--limit N] [--reason R] [--list] [--discard]

Pulls dead-lettered messages from PUBSUB_DLQ_SUBSCRIPTION, validates each again, republishes the
ones that now pass to PUBSUB_TOPIC and keeps the rest on the dead-letter subscription.
Conflicting duplicates (another event holds their source and id) are never republished.
  --from-dlq   replay from the dead-letter subscription (the only source)
  --dry-run    report what would be replayed; change nothing
  --limit N    look at N messages at most (default: all)
  --reason R   only messages dead-lettered for R (e.g. conflicting-duplicate); others untouched
  --list       print each message looked at as a JSON line (id, source, reason, digests, action)
               on stdout, the summary on stderr; alone, changes nothing
  --discard    with --reason: remove those messages instead (after --list, say)
Reads the same variables as the services (BUS=pubsub, GOOGLE_CLOUD_PROJECT, PUBSUB_*).`;

runMain('replay', async () => {
  let args;
  try {
    args = parseArgs({
      options: {
        'from-dlq': { type: 'boolean', default: false },
        'dry-run': { type: 'boolean', default: false },
        limit: { type: 'string' },
        reason: { type: 'string' },
        list: { type: 'boolean', default: false },
        discard: { type: 'boolean', default: false },
        help: { type: 'boolean', default: false },
      },
    }).values;
  } catch (e) {
    process.stderr.write(`${(e as Error).message}\n${USAGE}\n`);
    process.exit(2);
  }
  if (args.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const limit = args.limit === undefined ? undefined : Number(args.limit);
  if (
    !args['from-dlq'] ||
    (limit !== undefined && (!Number.isInteger(limit) || limit < 1)) ||
    (args.discard && args.reason === undefined)
  ) {
    process.stderr.write(`${USAGE}\n`);
    process.exit(2);
  }
  const config = loadConfigOrExit(replayConfigSchema, process.env);
  // Against the emulator there are no credentials to find: no probe for a metadata server.
  if (config.PUBSUB_EMULATOR_HOST) process.env.METADATA_SERVER_DETECTION ??= 'none';
  const bus = createBus(
    { ...config, MEMORY_BUS_JOURNAL: '' },
    { production: isProduction(config.NODE_ENV) },
  );
  // Erasures: what one covers is removed from the dead-letter subscription. With DuckDB the
  // file is read when no other process holds it; otherwise the worker drops such events when
  // they are republished.
  let book: ErasureBook | undefined;
  let store: EventStore | undefined;
  try {
    const log =
      config.STORE === 'bigquery'
        ? openErasureLog(config, { production: isProduction(config.NODE_ENV) })
        : (store = await openStore(config, { readOnly: true })).erasures;
    if (log) {
      book = new ErasureBook(log, { refreshMs: 3_600_000 });
      await book.refresh();
    }
  } catch (e) {
    book = undefined;
    process.stderr.write(
      `erasures not checked (${(e as Error).message.split('\n')[0]}): republished events an erasure covers are dropped by the worker\n`,
    );
  }
  await store?.close();
  const tty = process.stderr.isTTY;
  let lastPrinted = 0;
  const out = args.list ? process.stderr : process.stdout;
  const summary = await replayDeadLetters(bus, {
    limit,
    // A listing alone changes nothing.
    dryRun: args['dry-run'] || (args.list && !args.discard),
    reason: args.reason,
    discard: args.discard,
    erased:
      book &&
      ((event, receivedAt) => book.erased({ ...event, receivedAt }) || book.suppressed(event)),
    onMessage: args.list ? (e) => process.stdout.write(`${JSON.stringify(e)}\n`) : undefined,
    onProgress: (p) => {
      if (tty) process.stderr.write(`\r${progressLine(p)}`);
      else if (p.seen - lastPrinted >= 100) {
        lastPrinted = p.seen;
        process.stderr.write(`${progressLine(p)}\n`);
      }
    },
  });
  if (tty) process.stderr.write('\n');
  await bus.close();
  const verb = summary.dryRun ? 'would republish' : 'republished';
  const reasons = Object.entries(summary.keptByReason)
    .map(([r, n]) => `${r}: ${n}`)
    .join(', ');
  out.write(
    [
      `replay from ${config.PUBSUB_DLQ_SUBSCRIPTION} to ${config.PUBSUB_TOPIC}${summary.dryRun ? ' (dry run: nothing changed)' : ''}${args.reason ? ` (reason ${args.reason} only)` : ''}`,
      `  seen         ${summary.seen}`,
      `  ${verb.padEnd(12)} ${summary.republished}`,
      `  kept         ${summary.kept}${reasons ? `  (${reasons})` : ''}`,
      ...(args.discard ? [`  discarded    ${summary.discarded}`] : []),
      `  erased       ${summary.erased}`,
      '',
    ].join('\n'),
  );
});
