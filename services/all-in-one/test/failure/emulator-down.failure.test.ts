import { PubSubBus } from '@eventpipe/bus/adapters';
import {
  findGcloudEmulator,
  sampleEvent,
  spawnGcloudEmulator,
  uniqueName,
  waitFor,
  type RunningEmulator,
} from '@eventpipe/testing';
import { killAll, pubsubEnv, startPublisher } from './harness';

afterEach(killAll);

// This test stops and restarts its own emulator, so it needs the one the Google Cloud CLI installs.
const bin = findGcloudEmulator();
if (!bin && process.env.EVENTPIPE_REQUIRE_EMULATOR === '1') {
  throw new Error(
    'the emulator-down failure test needs the Google Cloud CLI pubsub-emulator component',
  );
}
const maybe = bin ? describe : describe.skip;

maybe('failure: Pub/Sub goes away while the publisher is under load', () => {
  it('when the emulator stops, then the publisher answers 503 with Retry-After, stays up, and serves again when it is back', async () => {
    let emulator: RunningEmulator = await spawnGcloudEmulator(bin!);
    const port = Number(emulator.host.split(':')[1]);
    const base = uniqueName('down');
    const env: Record<string, string> = {
      ...pubsubEnv(emulator.host, base),
      PUBLISH_TIMEOUT_MS: '2000',
    };
    const busOptions = {
      projectId: env.GOOGLE_CLOUD_PROJECT!,
      topic: env.PUBSUB_TOPIC!,
      subscription: env.PUBSUB_SUBSCRIPTION!,
      deadLetterTopic: env.PUBSUB_DLQ_TOPIC!,
      deadLetterSubscription: env.PUBSUB_DLQ_SUBSCRIPTION!,
      autoCreate: true,
      subscriptionPolicies: false,
      maxDeliveryAttempts: 5,
      publishTimeoutMs: 5000,
    };
    try {
      const publisher = await startPublisher(env);
      const statuses = new Map<number, number>();
      let retryAfterOn503 = true;
      let stop = false;
      let n = 0;
      // Load: four concurrent clients posting small batches until told to stop.
      const client = async () => {
        while (!stop) {
          const res = await fetch(`${publisher.url}/v1/events`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify([
              sampleEvent({ id: `d-${n++}` }),
              sampleEvent({ id: `d-${n++}` }),
            ]),
          });
          await res.arrayBuffer();
          statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
          if (res.status === 503 && res.headers.get('retry-after') !== '5') retryAfterOn503 = false;
        }
      };
      const load = Promise.all([client(), client(), client(), client()]);
      await waitFor(() => ((statuses.get(202) ?? 0) > 20 ? true : undefined), {
        what: 'accepted load',
      });

      await emulator.stop();
      await waitFor(() => ((statuses.get(503) ?? 0) > 3 ? true : undefined), {
        what: '503s while Pub/Sub is down',
        timeoutMs: 30_000,
      });
      expect((await fetch(`${publisher.url}/healthz`)).status).toBe(200);
      expect((await fetch(`${publisher.url}/readyz`)).status).toBe(503);

      // Back on the same port. The emulator keeps nothing, so the topics are created again, as
      // an operator's init job would.
      emulator = await spawnGcloudEmulator(bin!, 60_000, port);
      const admin = new PubSubBus({ ...busOptions, emulatorHost: emulator.host });
      await admin.init();
      await admin.close();
      const acceptedBefore = statuses.get(202) ?? 0;
      await waitFor(() => ((statuses.get(202) ?? 0) > acceptedBefore + 20 ? true : undefined), {
        what: 'the publisher to accept again',
        timeoutMs: 60_000,
      });
      stop = true;
      await load;
      expect((await fetch(`${publisher.url}/readyz`)).status).toBe(200);
      expect(retryAfterOn503).toBe(true);
      expect([...statuses.keys()].filter((s) => s !== 202 && s !== 503)).toEqual([]);
      expect(publisher.proc.child.exitCode).toBeNull();
    } finally {
      await emulator.stop();
    }
  });
});
