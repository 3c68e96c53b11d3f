import { BIGQUERY_EMULATOR_PROJECT, BigQueryFake, testBigQueryStore } from '@eventpipe/testing';
import { describeStoreContract } from './store-contract';
import { describeLifecycleContract } from './lifecycle-contract';

// The BigQuery REST fake (DuckDB underneath) stands in where no BigQuery emulator runs.
let fake: BigQueryFake;
beforeAll(async () => {
  fake = await BigQueryFake.start();
});
afterAll(() => fake.stop());

describeStoreContract('BigQuery (REST fake)', async () => {
  const store = testBigQueryStore(fake.endpoint);
  await store.init();
  return { store, close: () => store.close() };
});

describeLifecycleContract('BigQuery (REST fake)', async ({ retentionMs }) => {
  const store = testBigQueryStore(fake.endpoint, { retentionMs });
  await store.init();
  return { store, close: () => store.close() };
});

// With Docker (GitHub Actions), the same contract runs against goccy/bigquery-emulator.
const emulator = process.env.EVENTPIPE_BIGQUERY_EMULATOR;
if (emulator) {
  describeStoreContract('BigQuery (goccy/bigquery-emulator)', async () => {
    const store = testBigQueryStore(emulator, { projectId: BIGQUERY_EMULATOR_PROJECT });
    await store.init();
    return { store, close: () => store.close() };
  });
}
