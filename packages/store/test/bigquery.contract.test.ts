import { BigQueryStore } from '@eventpipe/store';
import { BIGQUERY_EMULATOR_PROJECT, BigQueryFake, uniqueName } from '@eventpipe/testing';
import { describeStoreContract } from './store-contract';

// The BigQuery REST fake (DuckDB underneath) stands in where no BigQuery emulator runs.
let fake: BigQueryFake;
beforeAll(async () => {
  fake = await BigQueryFake.start();
});
afterAll(() => fake.stop());

export const DAY_MS = 86_400_000;

describeStoreContract('BigQuery (REST fake)', async () => {
  const store = new BigQueryStore({
    projectId: 'eventpipe-test',
    dataset: uniqueName('ds').replaceAll('-', '_'),
    table: 'events',
    apiEndpoint: fake.endpoint,
    autoCreate: true,
    maximumBytesBilled: 1024 ** 3,
    range: { defaultRangeMs: 30 * DAY_MS, maxRangeMs: 400 * DAY_MS },
    retry: { maxAttempts: 3, initialDelayMs: 1, maxDelayMs: 5 },
  });
  await store.init();
  return { store, close: () => store.close() };
});

// With Docker (GitHub Actions), the same contract runs against goccy/bigquery-emulator.
const emulator = process.env.EVENTPIPE_BIGQUERY_EMULATOR;
if (emulator) {
  describeStoreContract('BigQuery (goccy/bigquery-emulator)', async () => {
    const store = new BigQueryStore({
      projectId: BIGQUERY_EMULATOR_PROJECT,
      dataset: uniqueName('ds').replaceAll('-', '_'),
      table: 'events',
      apiEndpoint: emulator,
      autoCreate: true,
      maximumBytesBilled: 1024 ** 3,
      range: { defaultRangeMs: 30 * DAY_MS, maxRangeMs: 400 * DAY_MS },
      retry: { maxAttempts: 3, initialDelayMs: 1, maxDelayMs: 5 },
    });
    await store.init();
    return { store, close: () => store.close() };
  });
}
