import { CloudEvent, CONSTANTS, emitterFor, httpTransport, Mode } from 'cloudevents';
import { PubSubBus } from '@eventpipe/bus/adapters';
import { EventpipeClient, type StoredEvent } from '@eventpipe/client';
import type { RunningServer } from '@eventpipe/platform';
import { describeWithEmulator, testBusOptions, uniqueName, waitFor } from '@eventpipe/testing';
import { serveStack, type ServedStack } from './stack-fixture';

// Producers use the official CloudEvents SDK, in each content mode, over real HTTP to the
// publisher, through the Pub/Sub emulator and the worker into DuckDB; the events come back
// through the query API (typed client) and are compared, attribute by attribute, as SDK events.
describeWithEmulator('CloudEvents SDK round trips through the whole pipeline', (host) => {
  let served: ServedStack;
  let publisher: RunningServer;
  let client: EventpipeClient;

  beforeAll(async () => {
    const bus = new PubSubBus(testBusOptions(host, 'sdk'));
    await bus.init();
    served = await serveStack(bus);
    publisher = served.publisher;
    client = new EventpipeClient({ queryUrl: served.query.url });
  });
  afterAll(() => served?.close());

  /** The stored event as an SDK CloudEvent: the pipeline's metadata removed. */
  const asSdkEvent = (stored: StoredEvent) => {
    const { receivedAt, publishedAt, storedAt, messageId, producer, ...wire } = stored;
    for (const meta of [receivedAt, publishedAt, storedAt, messageId]) expect(meta).toBeTruthy();
    expect(producer).toBeNull(); // the stack runs without keys
    return new CloudEvent<unknown>(wire, true);
  };
  const readBack = async (source: string, count: number) =>
    waitFor(
      async () => {
        const events: StoredEvent[] = [];
        for await (const e of client.list({ source })) events.push(e);
        return events.length === count ? events : undefined;
      },
      { what: `${count} events from ${source}` },
    );
  /** What the pipeline keeps of an event: time in microseconds, UTC. */
  const sameEvent = (back: CloudEvent<unknown>, sent: CloudEvent<unknown>) => {
    const { time: backTime, data: backData, ...backRest } = back.toJSON();
    const { time: sentTime, data: sentData, ...sentRest } = sent.toJSON();
    expect(backRest).toEqual(sentRest);
    expect(Date.parse(String(backTime))).toBe(Date.parse(String(sentTime)));
    expect(backData ?? back.data).toEqual(sentData ?? sent.data);
  };

  const emit = (mode: Mode) => emitterFor(httpTransport(`${publisher.url}/v1/events`), { mode });

  it.each([
    ['binary', Mode.BINARY],
    ['structured', Mode.STRUCTURED],
  ] as const)('%s mode: JSON data, text data and extensions come back equal', async (_, mode) => {
    const source = `/sdk/${uniqueName(String(mode))}`;
    const sent: CloudEvent<unknown>[] = [
      new CloudEvent({
        type: 'com.example.sdk.json',
        source,
        subject: 'orders/42',
        time: '2026-11-28T10:15:30.123Z',
        datacontenttype: 'application/json',
        data: { orderId: 42, lines: [{ sku: 'a', qty: 2 }], note: 'ünïcödé' },
        region: 'eu-west1',
        priority: 'high',
      }),
      new CloudEvent({
        type: 'com.example.sdk.text',
        source,
        datacontenttype: 'text/plain',
        data: 'plain text, with commas and "quotes"',
      }),
    ];
    for (const e of sent) await emit(mode)(e);
    const back = await readBack(source, sent.length);
    for (const e of sent) sameEvent(asSdkEvent(back.find((b) => b.id === e.id)!), e);
  });

  it('binary mode: binary data is kept byte for byte (data_base64)', async () => {
    const source = `/sdk/${uniqueName('bytes')}`;
    const bytes = new Uint8Array([0, 1, 2, 250, 251, 252, 253, 254, 255, 10, 13]);
    const sent = new CloudEvent({
      type: 'com.example.sdk.bytes',
      source,
      datacontenttype: 'application/octet-stream',
      data: bytes,
    });
    await emit(Mode.BINARY)(sent);
    const [stored] = await readBack(source, 1);
    expect(stored!.data_base64).toBe(Buffer.from(bytes).toString('base64'));
    const back = asSdkEvent(stored!);
    expect(new Uint8Array(back.data as Uint8Array)).toEqual(bytes);
    expect(back.datacontenttype).toBe('application/octet-stream');
  });

  it('batch mode: the SDK events as one application/cloudevents-batch+json request', async () => {
    // The SDK reads batch mode but does not emit it: the body is its events' JSON format.
    const source = `/sdk/${uniqueName('batch')}`;
    const sent = [1, 2, 3].map(
      (n) =>
        new CloudEvent({
          type: 'com.example.sdk.batch',
          source,
          data: { n },
          sequence: String(n),
        }),
    );
    await httpTransport(`${publisher.url}/v1/events`)({
      headers: { 'content-type': CONSTANTS.MIME_CE_BATCH },
      body: JSON.stringify(sent.map((e) => e.toJSON())),
    });
    const back = await readBack(source, 3);
    for (const e of sent) sameEvent(asSdkEvent(back.find((b) => b.id === e.id)!), e);
  });
});
