import type { RunningEmulator } from '../src/pubsub-emulator';

export default async function globalTeardown(): Promise<void> {
  const emulator = (globalThis as { __EVENTPIPE_EMULATOR__?: RunningEmulator })
    .__EVENTPIPE_EMULATOR__;
  await emulator?.stop();
  const bigquery = (globalThis as { __EVENTPIPE_BIGQUERY__?: { stop(): Promise<void> } })
    .__EVENTPIPE_BIGQUERY__;
  await bigquery?.stop();
}
