export {
  ensurePubSubEmulator,
  findGcloudEmulator,
  spawnGcloudEmulator,
  freePort,
  startBigQueryEmulator,
  BIGQUERY_EMULATOR_PROJECT,
} from './pubsub-emulator';
export type { RunningEmulator, EmulatorResult, EmulatorSource } from './pubsub-emulator';
export { waitFor, waitForCount } from './wait';
export { uniqueName, tempDuckDbPath, memoryLogger, sampleEvent } from './fixtures';
export { markerForms, filesHolding } from './plaintext';
export { emulatorHost, describeWithEmulator } from './jest-emulator';
export { allInOneEnv, bannerUrl, startCommand, startService, urlFromLog } from './process';
export type { ServiceProcess } from './process';
export { BigQueryFake } from './bigquery-fake';
export type { BigQueryFakeOptions } from './bigquery-fake';
export { testBusOptions, testBigQueryStore } from './factories';
export { metricValue } from './metrics';
export { routesOf, documentedRoutes } from './routes';
