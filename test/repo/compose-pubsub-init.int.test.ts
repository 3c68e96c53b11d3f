import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { PubSub } from '@google-cloud/pubsub';
import { describeWithEmulator, uniqueName } from '@eventpipe/testing';

/** deploy/compose/pubsub-init.sh (compose's one-shot init) run with the real gcloud CLI against
 * the emulator: it creates the topology as the services do (no subscription policies on the
 * emulator, or both when asked), and running it again changes nothing. */
const script = join(__dirname, '..', '..', 'deploy', 'compose', 'pubsub-init.sh');
const run = promisify(execFile);

describeWithEmulator('compose pubsub-init', (host) => {
  it('when run on the emulator, then the worker subscription has no policies (the emulator loses messages with them)', async () => {
    const project = uniqueName('init');
    const env = {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '/tmp',
      PUBSUB_EMULATOR_HOST: host,
      GOOGLE_CLOUD_PROJECT: project,
    };
    const out = await run('sh', [script], { env });
    expect(out.stdout).toContain('policies off');
    const client = new PubSub({ projectId: project, apiEndpoint: host, emulatorMode: true });
    const [worker] = await client.subscription('events-worker').getMetadata();
    expect(worker.ackDeadlineSeconds).toBe(60);
    expect(worker.deadLetterPolicy).toBeFalsy();
    expect(worker.retryPolicy).toBeFalsy();
    await client.close();
  }, 60_000);

  it('when run twice with the policies on (as on Google Cloud), then topics and subscriptions exist with the dead-letter and retry policies', async () => {
    const project = uniqueName('init');
    const env = {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '/tmp',
      PUBSUB_EMULATOR_HOST: host,
      GOOGLE_CLOUD_PROJECT: project,
      PUBSUB_SUBSCRIPTION_POLICIES: 'on',
    };
    await run('sh', [script], { env });
    const second = await run('sh', [script], { env });
    expect(second.stdout).toContain('ready');

    const client = new PubSub({ projectId: project, apiEndpoint: host, emulatorMode: true });
    const [topics] = await client.getTopics();
    expect(topics.map((t) => t.name.split('/').pop()).sort()).toEqual(['events', 'events-dlq']);
    const [worker] = await client.subscription('events-worker').getMetadata();
    expect(worker.topic).toBe(`projects/${project}/topics/events`);
    expect(worker.ackDeadlineSeconds).toBe(60);
    expect(worker.deadLetterPolicy).toMatchObject({
      deadLetterTopic: `projects/${project}/topics/events-dlq`,
      maxDeliveryAttempts: 5,
    });
    expect(Number(worker.retryPolicy?.minimumBackoff?.seconds)).toBe(1);
    expect(Number(worker.retryPolicy?.maximumBackoff?.seconds)).toBe(60);
    const [dlq] = await client.subscription('events-dlq').getMetadata();
    expect(dlq.topic).toBe(`projects/${project}/topics/events-dlq`);
    expect(Number(dlq.messageRetentionDuration?.seconds)).toBe(7 * 24 * 3600);
    await client.close();
  }, 60_000);
});
