import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensurePubSubEmulator } from '@eventpipe/testing';
import { ensureDataset } from './generate';
import {
  machineInfo,
  newApiKey,
  startProcess,
  type Bench,
  type BenchContext,
  type BenchResult,
  type Running,
} from './harness';
import { ingestBatch } from './benches/ingest-batch';
import { ingestSingle } from './benches/ingest-single';
import { ingestSchema } from './benches/ingest-schema';
import { streamLatency } from './benches/stream-latency';
import { drain } from './benches/drain';
import { queryPage, queryStats } from './benches/query';
import { exportBench } from './benches/export';
import { workerMemory } from './benches/worker-memory';
import { crashRecovery } from './benches/crash-recovery';
import { renderTable, updatePerformanceDoc } from './report';

const BENCHES: Bench[] = [
  ingestBatch,
  ingestSingle,
  ingestSchema,
  drain,
  queryPage,
  queryStats,
  exportBench,
  streamLatency,
  workerMemory,
  crashRecovery,
];
const benchDir = join(__dirname, '..');
const USAGE = `usage: npm run bench [-- [--smoke] [--rows N] [name ...]]
  names: ${BENCHES.map((b) => b.name).join(', ')} (default: all)
  --smoke   seconds-long run of every path; results go to a temporary directory, docs untouched
  --profile write a V8 CPU profile of every service process to bench/profiles/<time>/
            (summarise with: node bench/dist/profile-summary.js <dir>)
  --report  only rewrite the docs/PERFORMANCE.md table from bench/results/*.json
  --rows N  size of the generated DuckDB dataset for the query benchmarks (default 10000000)`;

function parseArgs(argv: string[]) {
  const names: string[] = [];
  let smoke = false;
  let rows = 10_000_000;
  let profile = false;
  let reportOnly = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--smoke') smoke = true;
    else if (a === '--profile') profile = true;
    else if (a === '--report') reportOnly = true;
    else if (a === '--rows') rows = Number(argv[++i]);
    else if (a === '--help' || a === '-h') {
      console.log(USAGE);
      process.exit(0);
    } else if (BENCHES.some((b) => b.name === a)) names.push(a);
    else {
      console.error(`unknown argument ${a}\n${USAGE}`);
      process.exit(64);
    }
  }
  if (!Number.isInteger(rows) || rows < 1000) {
    console.error('--rows must be a whole number ≥ 1000');
    process.exit(64);
  }
  return { names, smoke, profile, reportOnly, rows: smoke ? 20_000 : rows };
}

async function writeReport(resultsDir: string): Promise<void> {
  const all = BENCHES.map((b) => b.name)
    .filter((n) => readdirSync(resultsDir).includes(`${n}.json`))
    .map((n) => JSON.parse(readFileSync(join(resultsDir, `${n}.json`), 'utf8')) as BenchResult);
  await updatePerformanceDoc(join(benchDir, '..', 'docs', 'PERFORMANCE.md'), renderTable(all));
}

async function main() {
  // Against the emulator there are no credentials; skip google-auth's metadata-server probe.
  process.env.METADATA_SERVER_DETECTION ??= 'none';
  const args = parseArgs(process.argv.slice(2));
  const selected = args.names.length ? BENCHES.filter((b) => args.names.includes(b.name)) : BENCHES;
  if (args.reportOnly) {
    await writeReport(join(benchDir, 'results'));
    return;
  }
  const log = (m: string) =>
    process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${m}\n`);
  const workDir = mkdtempSync(join(tmpdir(), 'eventpipe-bench-'));
  const resultsDir = args.smoke ? join(workDir, 'results') : join(benchDir, 'results');
  mkdirSync(resultsDir, { recursive: true });
  const running: Running[] = [];
  const profileDir = args.profile
    ? join(benchDir, 'profiles', new Date().toISOString().replace(/[:.]/g, '-'))
    : undefined;
  if (profileDir) mkdirSync(profileDir, { recursive: true });
  const emulatorResult = await ensurePubSubEmulator({});
  if (!emulatorResult.ok) throw new Error(`no Pub/Sub emulator: ${emulatorResult.reason}`);
  const emulator = emulatorResult.emulator;
  log(`Pub/Sub emulator on ${emulator.host} (${emulator.source}); scratch in ${workDir}`);
  const cleanup = async () => {
    await Promise.all(running.map((r) => r.stop().catch(() => undefined)));
    await emulator.stop();
  };
  process.once('SIGINT', () => void cleanup().then(() => process.exit(130)));

  const { key, tenantKey, env } = newApiKey();
  let datasetPromise: ReturnType<typeof ensureDataset> | undefined;
  const ctx: BenchContext = {
    smoke: args.smoke,
    emulatorHost: emulator.host,
    workDir,
    size: (full, smoke) => (args.smoke ? smoke : full),
    log,
    apiKey: key,
    tenantKey,
    serviceEnv: (extra) => ({ ...env, ...extra }),
    startProcess: (name, script, procEnv, portVar) =>
      startProcess(workDir, name, script, procEnv, (r) => running.push(r), portVar, profileDir),
    dataset: () =>
      (datasetPromise ??= ensureDataset(
        args.smoke
          ? join(workDir, 'events-smoke.duckdb')
          : join(benchDir, 'data', `events-${args.rows}.duckdb`),
        args.rows,
        log,
      )),
  };

  const failures: string[] = [];
  const results: BenchResult[] = [];
  try {
    for (const bench of selected) {
      log(`── ${bench.name}: ${bench.what}`);
      const started = Date.now();
      try {
        const outcome = await bench.run(ctx);
        const result: BenchResult = {
          name: bench.name,
          what: bench.what,
          date: new Date().toISOString(),
          smoke: args.smoke,
          seconds: Math.round((Date.now() - started) / 1000),
          machine: machineInfo(),
          ...outcome,
        };
        checkResult(result);
        results.push(result);
        writeFileSync(
          join(resultsDir, `${bench.name}.json`),
          `${JSON.stringify(result, null, 2)}\n`,
        );
        for (const f of result.figures) {
          const ref = f.reference
            ? ` | ref ${f.reference.value} (${f.reference.what}) | ratio ${f.ratio}`
            : '';
          const met = f.met === null ? '' : f.met ? ' | goal met' : ' | GOAL MISSED';
          log(`   ${f.metric}: ${f.value} ${f.unit}${ref} | goal ${f.goal}${met}`);
        }
      } catch (e) {
        failures.push(`${bench.name}: ${(e as Error).stack ?? String(e)}`);
        log(`   FAILED: ${(e as Error).message}`);
      } finally {
        await Promise.all(running.splice(0).map((r) => r.stop().catch(() => undefined)));
      }
    }
  } finally {
    await cleanup();
    if (failures.length === 0) rmSync(workDir, { recursive: true, force: true });
    else log(`service logs kept in ${workDir}`);
  }
  if (!args.smoke) {
    await writeReport(resultsDir);
    log('docs/PERFORMANCE.md table updated');
  } else {
    process.stdout.write(renderTable(results));
  }
  if (failures.length) {
    console.error(failures.join('\n\n'));
    process.exit(1);
  }
}

/** A result without a number, or with a reference but no ratio, is a harness defect. */
function checkResult(r: BenchResult): void {
  if (r.figures.length === 0) throw new Error(`${r.name}: no figures`);
  for (const f of r.figures) {
    if (!Number.isFinite(f.value)) throw new Error(`${r.name}: ${f.metric} is ${f.value}`);
    if (f.reference && !Number.isFinite(f.ratio))
      throw new Error(`${r.name}: ${f.metric} has no ratio`);
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
