import { DuckDbStore } from '@eventpipe/store/adapters';
import { tempDuckDbPath } from '@eventpipe/testing';
import { describeStoreContract } from './store-contract';

describeStoreContract('DuckDB file', async () => {
  const store = await DuckDbStore.open({ path: tempDuckDbPath() });
  await store.init();
  return { store, close: () => store.close() };
});
