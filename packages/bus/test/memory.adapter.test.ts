import { type IncomingMessage } from '@eventpipe/bus';
import { MemoryBus } from '@eventpipe/bus/adapters';
import { waitFor } from '@eventpipe/testing';

const msg = (text: string) => ({ data: Buffer.from(text), attributes: { k: text } });
const opts = { maxMessages: 100, maxBytes: 1 << 20, closeTimeoutMs: 1000 };

describe('MemoryBus', () => {
  it('when a message is acked, then it is delivered once and leaves the backlog', async () => {
    const bus = new MemoryBus();
    const got: IncomingMessage[] = [];
    bus.subscribe(
      (m) => {
        got.push(m);
        m.ack();
      },
      () => {},
      opts,
    );
    const ids = await bus.publish([msg('a'), msg('b')]);
    await waitFor(() => (got.length === 2 ? true : undefined));
    expect(got.map((m) => [m.id, m.data.toString(), m.attributes.k, m.deliveryAttempt])).toEqual([
      [ids[0], 'a', 'a', 1],
      [ids[1], 'b', 'b', 1],
    ]);
    expect(bus.backlog).toBe(0);
    await bus.close();
  });

  it('when a message is nacked, then it comes back with the next delivery attempt', async () => {
    const bus = new MemoryBus({ nackDelayMs: 1 });
    const attempts: number[] = [];
    bus.subscribe(
      (m) => {
        attempts.push(m.deliveryAttempt);
        if (m.deliveryAttempt < 3) m.nack();
        else m.ack();
      },
      () => {},
      opts,
    );
    await bus.publish([msg('a')]);
    await waitFor(() => (attempts.length === 3 ? true : undefined));
    expect(attempts).toEqual([1, 2, 3]);
    await bus.close();
  });

  it('when a delivery is never settled, then it is redelivered once the lease runs out', async () => {
    const bus = new MemoryBus({ maxExtensionMs: 30 });
    const attempts: number[] = [];
    bus.subscribe(
      (m) => {
        attempts.push(m.deliveryAttempt);
        if (m.deliveryAttempt === 2) m.ack();
      },
      () => {},
      opts,
    );
    await bus.publish([msg('a')]);
    await waitFor(() => (attempts.length === 2 && bus.backlog === 0 ? true : undefined));
    expect(attempts).toEqual([1, 2]);
    await bus.close();
  });

  it('when deliveries fail past the attempt limit, then the message moves to the dead-letter list', async () => {
    const bus = new MemoryBus({ nackDelayMs: 1, maxDeliveryAttempts: 5 });
    let deliveries = 0;
    bus.subscribe(
      (m) => {
        deliveries += 1;
        m.nack();
      },
      () => {},
      opts,
    );
    await bus.publish([msg('poison')]);
    await waitFor(() => (bus.deadLettered.length === 1 ? true : undefined));
    expect(deliveries).toBe(5);
    expect(bus.deadLettered[0]!.attributes['eventpipe-dlq-reason']).toBe('max-delivery-attempts');
    await bus.close();
  });

  it('when flow control allows 2 outstanding, then no more than 2 are delivered until some settle', async () => {
    const bus = new MemoryBus();
    const held: IncomingMessage[] = [];
    bus.subscribe(
      (m) => held.push(m),
      () => {},
      { ...opts, maxMessages: 2 },
    );
    await bus.publish([msg('a'), msg('b'), msg('c'), msg('d')]);
    await waitFor(() => (held.length === 2 ? true : undefined));
    await new Promise((r) => setImmediate(r));
    expect(held).toHaveLength(2);
    held.shift()!.ack();
    await waitFor(() => (held.length === 2 && held[1]!.data.toString() === 'c' ? true : undefined));
    await bus.close();
  });

  it('when the subscription closes with deliveries outstanding, then they go back for the next subscriber', async () => {
    const bus = new MemoryBus();
    const first = bus.subscribe(
      () => {},
      () => {},
      { ...opts, closeTimeoutMs: 10 },
    );
    await bus.publish([msg('a')]);
    await first.close();
    const got: number[] = [];
    bus.subscribe(
      (m) => {
        got.push(m.deliveryAttempt);
        m.ack();
      },
      () => {},
      opts,
    );
    await waitFor(() => (got.length === 1 ? true : undefined));
    expect(got).toEqual([2]);
    await bus.close();
  });
});
