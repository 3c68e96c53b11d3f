// The worker as its main.ts builds it, with one difference: it SIGKILLs itself at a chosen point
// of its KILL_ON_INSERT-th insert (default 2), so the failure suite can crash it exactly there:
//   KILL_AT=staged      the batch is in DuckDB's staging table, the INSERT that commits it not run
//   KILL_AT=committed   the INSERT committed, the batch's messages not yet acked
// Every other variable is the worker's own (services/subscriber-worker/src/config.ts).
import { createBus } from '@eventpipe/bus/adapters';
import { createLogger, createRegistry, listen, loadConfigOrExit } from '@eventpipe/platform';
import { DuckDbStore } from '@eventpipe/store/adapters';
import { Worker, workerConfigSchema, workerOptions } from '@eventpipe/subscriber-worker';

const killAt = process.env.KILL_AT;
const onInsert = Number(process.env.KILL_ON_INSERT ?? '2');
if (killAt !== 'staged' && killAt !== 'committed') throw new Error('KILL_AT: staged or committed');
const die = (where) => {
  process.stdout.write(`${JSON.stringify({ message: 'killing myself', where })}\n`);
  process.kill(process.pid, 'SIGKILL');
};

const config = loadConfigOrExit(workerConfigSchema, process.env);
const logger = createLogger({ service: 'subscriber-worker', level: config.LOG_LEVEL });
const bus = createBus(config, { production: false });
await bus.init();
let inserts = 0;
const store = await DuckDbStore.open({
  path: config.DUCKDB_PATH,
  onStaged: () => {
    if (killAt === 'staged' && inserts === onInsert) die('staged');
  },
});
await store.init();
const port = Object.assign(Object.create(store), {
  insert: async (items) => {
    inserts += 1;
    const result = await store.insert(items);
    if (killAt === 'committed' && inserts === onInsert) die('committed');
    return result;
  },
});
const worker = new Worker({
  bus,
  store: port,
  logger,
  registry: createRegistry('subscriber-worker'),
  ...workerOptions(config),
  shutdownTimeoutMs: config.SHUTDOWN_TIMEOUT_MS - 1000,
});
const server = await listen(worker.app, config.PORT, config.HOST);
worker.start();
logger.info({ url: server.url, store: store.kind }, 'subscriber-worker running');
