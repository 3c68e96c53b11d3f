import { join } from 'node:path';
import { type IncomingMessage } from '@eventpipe/bus';
import { PubSubBus } from '@eventpipe/bus/adapters';
import { replayDeadLetters, progressLine } from '@eventpipe/replay';
import { ErasureBook } from '@eventpipe/store';
import { DuckDbStore } from '@eventpipe/store/adapters';
import {
  describeWithEmulator,
  sampleEvent,
  startService,
  tempDuckDbPath,
  testBusOptions,
  waitFor,
} from '@eventpipe/testing';

const valid = (id: string) =>
  Buffer.from(
    JSON.stringify({ specversion: '1.0', time: '2026-11-28T05:00:00Z', ...sampleEvent({ id }) }),
  );

describe('progressLine', () => {
  it('when a limit is known, then it draws a bar; otherwise it counts', () => {
    expect(progressLine({ seen: 5, republished: 4, kept: 1, limit: 10 }, 10)).toBe(
      '[#####.....] 5/10  republished 4  kept 1',
    );
    expect(progressLine({ seen: 5, republished: 4, kept: 1 })).toBe(
      '5 seen  republished 4  kept 1',
    );
  });
});

describeWithEmulator('dead-letter replay on the Pub/Sub emulator', (host) => {
  function makeBus() {
    const opts = testBusOptions(host, 'replay');
    return { bus: new PubSubBus(opts), opts };
  }

  const structured = { 'content-type': 'application/cloudevents+json' };

  async function seedDeadLetters(bus: PubSubBus) {
    // An event dead-lettered by an earlier (stricter) release now passes; the others still fail.
    await bus.deadLetter({
      data: valid('fixed-1'),
      attributes: { ...structured, 'eventpipe-dlq-reason': 'schema-invalid', keep: 'me' },
    });
    await bus.deadLetter({
      data: valid('fixed-2'),
      attributes: { ...structured, 'eventpipe-dlq-reason': 'store-rejected' },
    });
    await bus.deadLetter({
      data: Buffer.from('{not json'),
      attributes: { ...structured, 'eventpipe-dlq-reason': 'invalid-json' },
    });
    await bus.deadLetter({
      data: Buffer.from(JSON.stringify({ type: 't' })),
      attributes: { ...structured, 'eventpipe-dlq-reason': 'schema-invalid' },
    });
  }

  it('when run dry, then it reports what would happen and changes nothing', async () => {
    const { bus } = makeBus();
    await bus.init();
    await seedDeadLetters(bus);
    const summary = await replayDeadLetters(bus, { dryRun: true });
    expect(summary).toEqual({
      seen: 4,
      republished: 2,
      kept: 2,
      limit: undefined,
      dryRun: true,
      keptByReason: { 'invalid-json': 1, 'schema-invalid': 1 },
      discarded: 0,
      erased: 0,
    });
    const again = await replayDeadLetters(bus, { dryRun: true });
    expect(again.seen).toBe(4); // all four still there
    await bus.close();
  });

  it('when run, then passing events go back to the main topic without dead-letter attributes and the rest stay', async () => {
    const { bus } = makeBus();
    await bus.init();
    await seedDeadLetters(bus);
    const received: IncomingMessage[] = [];
    const sub = bus.subscribe(
      (m) => {
        received.push(m);
        m.ack();
      },
      () => {},
      { maxMessages: 10, maxBytes: 1 << 20, closeTimeoutMs: 1000 },
    );
    const progress: number[] = [];
    const summary = await replayDeadLetters(bus, {
      dryRun: false,
      onProgress: (p) => progress.push(p.seen),
    });
    expect(summary).toMatchObject({ seen: 4, republished: 2, kept: 2, dryRun: false });
    expect(progress).toEqual([1, 2, 3, 4]);
    await waitFor(() => (received.length === 2 ? true : undefined), {
      what: 'two replayed messages',
    });
    const ids = received.map((m) => JSON.parse(m.data.toString()).id).sort();
    expect(ids).toEqual(['fixed-1', 'fixed-2']);
    for (const m of received) {
      expect(m.attributes['eventpipe-dlq-reason']).toBeUndefined();
      expect(m.attributes['eventpipe-replayed-from']).toMatch(/.+/);
    }
    expect(
      received.find((m) => JSON.parse(m.data.toString()).id === 'fixed-1')!.attributes.keep,
    ).toBe('me');
    const left = await replayDeadLetters(bus, { dryRun: true });
    expect(left).toMatchObject({ seen: 2, republished: 0, kept: 2 });
    await sub.close();
    await bus.close();
  });

  it('when an erasure covers a dead-lettered event, then the replay removes it instead of republishing or keeping it', async () => {
    const { bus } = makeBus();
    await bus.init();
    await seedDeadLetters(bus);
    const store = await DuckDbStore.open({ path: tempDuckDbPath() });
    await store.init();
    const book = new ErasureBook(store.erasures, { refreshMs: 60_000 });
    const source = String(sampleEvent({ id: 'fixed-1' }).source);
    await book.request({ source, id: 'fixed-1' }, 'dpo');
    const listed: { action: string }[] = [];
    const summary = await replayDeadLetters(bus, {
      dryRun: false,
      erased: (event, receivedAt) => book.erased({ ...event, receivedAt }),
      onMessage: (e) => listed.push(e),
    });
    expect(summary).toMatchObject({ seen: 4, republished: 1, kept: 2, erased: 1 });
    expect(listed.filter((e) => e.action === 'erase')).toHaveLength(1);
    // Gone from the dead-letter subscription: the next run sees the two kept only.
    const left = await replayDeadLetters(bus, { dryRun: true });
    expect(left).toMatchObject({ seen: 2, erased: 0 });
    await store.close();
    await bus.close();
  });

  it('when conflicting duplicates are dead-lettered, then a replay keeps them, a listing finds them and --discard removes them', async () => {
    const { bus } = makeBus();
    await bus.init();
    await seedDeadLetters(bus);
    const conflict = {
      ...structured,
      'ce-id': 'k',
      'ce-source': '/tests/shop',
      'ce-type': 'com.example.order.created',
      'eventpipe-dlq-reason': 'conflicting-duplicate',
      'eventpipe-dlq-digest': 'a'.repeat(64),
      'eventpipe-dlq-stored-digest': 'b'.repeat(64),
      'eventpipe-dlq-message-id': 'm-7',
    };
    await bus.deadLetter({ data: valid('k'), attributes: conflict });
    // A replay never republishes it (it would only conflict again).
    const dry = await replayDeadLetters(bus, { dryRun: true });
    expect(dry).toMatchObject({ seen: 5, republished: 2, kept: 3 });
    expect(dry.keptByReason['conflicting-duplicate']).toBe(1);
    // Listed alone, by reason.
    const listed: unknown[] = [];
    const only = await replayDeadLetters(bus, {
      dryRun: true,
      reason: 'conflicting-duplicate',
      onMessage: (e) => listed.push(e),
    });
    expect(only.seen).toBe(1);
    expect(listed).toEqual([
      {
        messageId: 'm-7',
        reason: 'conflicting-duplicate',
        detail: undefined,
        deadLetteredAt: undefined,
        source: '/tests/shop',
        id: 'k',
        type: 'com.example.order.created',
        digest: 'a'.repeat(64),
        storedDigest: 'b'.repeat(64),
        action: 'keep',
      },
    ]);
    const gone = await replayDeadLetters(bus, {
      dryRun: false,
      reason: 'conflicting-duplicate',
      discard: true,
    });
    expect(gone.discarded).toBe(1);
    expect(await replayDeadLetters(bus, { dryRun: true })).toMatchObject({ seen: 4, kept: 2 });
    await bus.close();
  });

  it('when --limit is given, then it looks at no more than that', async () => {
    const { bus } = makeBus();
    await bus.init();
    await seedDeadLetters(bus);
    expect((await replayDeadLetters(bus, { dryRun: true, limit: 3 })).seen).toBe(3);
    await bus.close();
  });

  it('when run as `npm run replay -- --from-dlq --dry-run`, then it prints the summary; without --from-dlq, the usage', async () => {
    const { bus, opts } = makeBus();
    await bus.init();
    await seedDeadLetters(bus);
    await bus.close();
    const env = {
      PUBSUB_EMULATOR_HOST: host,
      GOOGLE_CLOUD_PROJECT: opts.projectId,
      PUBSUB_TOPIC: opts.topic,
      PUBSUB_SUBSCRIPTION: opts.subscription,
      PUBSUB_DLQ_TOPIC: opts.deadLetterTopic,
      PUBSUB_DLQ_SUBSCRIPTION: opts.deadLetterSubscription,
    };
    const main = join(__dirname, '..', 'dist', 'main.js');
    const usage = startService(main, env, ['--dry-run']);
    expect(await usage.exited).toBe(2);
    expect(usage.lines().join('\n')).toContain('usage: npm run replay -- --from-dlq');
    const dry = startService(main, env, ['--from-dlq', '--dry-run', '--limit', '10']);
    expect(await dry.exited).toBe(0);
    const out = dry.lines().join('\n');
    expect(out).toContain(
      `replay from ${opts.deadLetterSubscription} to ${opts.topic} (dry run: nothing changed)`,
    );
    expect(out).toMatch(/seen\s+4/);
    expect(out).toMatch(/would republish\s+2/);
    expect(out).toMatch(/kept\s+2\s+\(invalid-json: 1, schema-invalid: 1\)/);
  });
});
