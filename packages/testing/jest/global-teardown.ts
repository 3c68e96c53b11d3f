import type { RunningEmulator } from '../src/pubsub-emulator';

export default async function globalTeardown(): Promise<void> {
  const emulator = (globalThis as { __EVENTPIPE_EMULATOR__?: RunningEmulator })
    .__EVENTPIPE_EMULATOR__;
  await emulator?.stop();
}
