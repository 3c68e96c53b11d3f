import { PubSub } from '@google-cloud/pubsub';
import { type IncomingMessage } from '@eventpipe/bus';
import { PubSubBus } from '@eventpipe/bus/adapters';
import { describeWithEmulator, testBusOptions, waitFor } from '@eventpipe/testing';

describeWithEmulator('PubSubBus on the Pub/Sub emulator', (host) => {
  const projectId = 'eventpipe-test';
  const make = (policies = true) =>
    new PubSubBus(testBusOptions(host, 'bus', { projectId, subscriptionPolicies: policies }));
  const admin = new PubSub({ projectId, apiEndpoint: host, emulatorMode: true });
  afterAll(() => admin.close());

  it('when init runs twice, then the topics and subscriptions exist with the dead-letter policy', async () => {
    const bus = make();
    await bus.init();
    await bus.init();
    const opts = (bus as unknown as { opts: { subscription: string; deadLetterTopic: string } })
      .opts;
    const [meta] = await admin.subscription(opts.subscription).getMetadata();
    expect(meta.deadLetterPolicy?.deadLetterTopic).toBe(
      `projects/${projectId}/topics/${opts.deadLetterTopic}`,
    );
    expect(meta.deadLetterPolicy?.maxDeliveryAttempts).toBe(5);
    expect(Number(meta.retryPolicy?.maximumBackoff?.seconds)).toBe(60);
    await expect(bus.check('publish')).resolves.toBeUndefined();
    await expect(bus.check('subscribe')).resolves.toBeUndefined();
    await bus.close();
  });

  it('when the policies are off (the emulator default), then the subscription has neither', async () => {
    const bus = make(false);
    await bus.init();
    const opts = (bus as unknown as { opts: { subscription: string } }).opts;
    const [meta] = await admin.subscription(opts.subscription).getMetadata();
    expect(meta.deadLetterPolicy).toBeFalsy();
    expect(meta.retryPolicy).toBeFalsy();
    expect(meta.ackDeadlineSeconds).toBe(60);
    await bus.close();
  });

  it('when messages are published, then the subscriber gets data, attributes and ids', async () => {
    const bus = make();
    await bus.init();
    const got: IncomingMessage[] = [];
    const sub = bus.subscribe(
      (m) => {
        got.push(m);
        m.ack();
      },
      (e) => {
        throw e;
      },
      { maxMessages: 10, maxBytes: 1 << 20, closeTimeoutMs: 1000 },
    );
    const ids = await bus.publish([
      { data: Buffer.from('one'), attributes: { 'ce-id': '1' } },
      { data: Buffer.from('two'), attributes: { 'ce-id': '2' } },
    ]);
    await waitFor(() => (got.length === 2 ? true : undefined));
    expect(got.map((m) => [m.data.toString(), m.attributes['ce-id']]).sort()).toEqual([
      ['one', '1'],
      ['two', '2'],
    ]);
    expect(got.map((m) => m.id).sort()).toEqual([...ids].sort());
    expect(got[0]!.deliveryAttempt).toBe(1);
    await sub.close();
    await bus.close();
  });

  it('when a message is nacked, then Pub/Sub delivers it again with a higher attempt', async () => {
    const bus = make();
    await bus.init();
    const attempts: number[] = [];
    const sub = bus.subscribe(
      (m) => {
        attempts.push(m.deliveryAttempt);
        if (attempts.length === 1) m.nack();
        else m.ack();
      },
      () => {},
      { maxMessages: 10, maxBytes: 1 << 20, closeTimeoutMs: 1000 },
    );
    await bus.publish([{ data: Buffer.from('x'), attributes: {} }]);
    await waitFor(() => (attempts.length === 2 ? true : undefined), { timeoutMs: 30_000 });
    expect(attempts).toEqual([1, 2]);
    await sub.close();
    await bus.close();
  });

  it('when a message is dead-lettered, then the dead-letter subscription holds it with its attributes', async () => {
    const bus = make();
    await bus.init();
    await bus.deadLetter({
      data: Buffer.from('poison'),
      attributes: { 'eventpipe-dlq-reason': 'invalid-json' },
    });
    const opts = (bus as unknown as { opts: { deadLetterSubscription: string } }).opts;
    const dlq = admin.subscription(opts.deadLetterSubscription);
    const got: { data: string; reason: string | undefined }[] = [];
    dlq.on('message', (m) => {
      got.push({ data: m.data.toString(), reason: m.attributes['eventpipe-dlq-reason'] });
      m.ack();
    });
    await waitFor(() => (got.length === 1 ? true : undefined));
    expect(got).toEqual([{ data: 'poison', reason: 'invalid-json' }]);
    await dlq.close();
    await bus.close();
  });
});
