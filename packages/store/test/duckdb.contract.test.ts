import { DuckDbStore } from '@eventpipe/store/adapters';
import { tempDuckDbPath } from '@eventpipe/testing';
import { describeStoreContract } from './store-contract';
import { describeLifecycleContract } from './lifecycle-contract';

describeStoreContract('DuckDB file', async () => {
  const store = await DuckDbStore.open({ path: tempDuckDbPath() });
  await store.init();
  return { store, close: () => store.close() };
});

describeLifecycleContract('DuckDB file', async ({ retentionMs }) => {
  const store = await DuckDbStore.open({ path: tempDuckDbPath(), retentionMs, deleteBatch: 2 });
  await store.init();
  return { store, close: () => store.close() };
});

// The same contract on an encrypted file (DUCKDB_ENCRYPTION_KEY): attached beside an in-memory
// database, so every connection, the staging table and the appender must find their way to it.
describeStoreContract('DuckDB file, encrypted', async () => {
  const store = await DuckDbStore.open({
    path: tempDuckDbPath(),
    encryptionKey: 'contract-test-key-0123456789',
  });
  await store.init();
  return { store, close: () => store.close() };
});
