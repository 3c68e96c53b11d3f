// Finds or starts one Pub/Sub emulator for the whole run and hands its address to the test
// workers through PUBSUB_EMULATOR_HOST (workers inherit this process's environment).
// EVENTPIPE_REQUIRE_EMULATOR=1 turns "no emulator" into a failed run instead of skipped suites.
import { ensurePubSubEmulator, startBigQueryEmulator } from '../src/pubsub-emulator';

export default async function globalSetup(): Promise<void> {
  // No GCE metadata server here: tell google-auth-library not to probe for one (it only warns).
  process.env.METADATA_SERVER_DETECTION ??= 'none';
  // BigQuery: the REST fake always runs in the suites; where Docker answers, goccy's emulator
  // runs too and the store contract suite is repeated against it.
  const bigquery = await startBigQueryEmulator();
  if (bigquery.ok) {
    process.env.EVENTPIPE_BIGQUERY_EMULATOR = bigquery.endpoint;
    (globalThis as { __EVENTPIPE_BIGQUERY__?: unknown }).__EVENTPIPE_BIGQUERY__ = bigquery;
    process.stderr.write(`\nBigQuery emulator (testcontainers) at ${bigquery.endpoint}\n`);
  } else {
    process.stderr.write(
      `\nNo BigQuery emulator (${bigquery.reason}): BigQuery suites use the REST fake only\n`,
    );
  }
  const result = await ensurePubSubEmulator(process.env);
  if (result.ok) {
    process.env.PUBSUB_EMULATOR_HOST = result.emulator.host;
    (globalThis as { __EVENTPIPE_EMULATOR__?: unknown }).__EVENTPIPE_EMULATOR__ = result.emulator;
    process.stderr.write(
      `\nPub/Sub emulator (${result.emulator.source}) at ${result.emulator.host}\n`,
    );
    return;
  }
  if (process.env.EVENTPIPE_REQUIRE_EMULATOR === '1') {
    throw new Error(
      `EVENTPIPE_REQUIRE_EMULATOR=1 but no Pub/Sub emulator could be had: ${result.reason}`,
    );
  }
  process.env.EVENTPIPE_EMULATOR_SKIP_REASON = result.reason;
  process.stderr.write(
    `\nNo Pub/Sub emulator: integration suites are SKIPPED (${result.reason})\n`,
  );
}
