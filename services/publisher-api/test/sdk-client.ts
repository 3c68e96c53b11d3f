import request from 'supertest';
import { CloudEvent, emitterFor, HTTP, Mode, type Message } from 'cloudevents';
import { type EventBus, type OutgoingMessage } from '@eventpipe/bus';
import { MemoryBus } from '@eventpipe/bus/adapters';
import { createRegistry } from '@eventpipe/platform';
import { createPublisherApp } from '@eventpipe/publisher-api';
import { memoryLogger } from '@eventpipe/testing';

// Helpers for the publisher's tests with the official CloudEvents SDK (npm `cloudevents`) as the
// client: a publisher app on a bus that records what it published, a transport that posts an SDK
// message's bytes as they are, and three SDK events (JSON, text and binary data).

export class RecordingBus extends MemoryBus {
  readonly published: OutgoingMessage[] = [];
  override async publish(messages: OutgoingMessage[]): Promise<string[]> {
    this.published.push(...messages);
    return super.publish(messages);
  }
}

export function setup() {
  const bus = new RecordingBus();
  const app = createPublisherApp({
    bus: bus as EventBus,
    logger: memoryLogger('publisher-api').logger,
    registry: createRegistry('publisher-api'),
  });
  return { bus, app };
}

export type App = ReturnType<typeof setup>['app'];

/** Sends an SDK message (headers and body) as an HTTP client would, the body's bytes as they are. */
export function send(app: App, message: Message) {
  const req = request(app).post('/v1/events');
  for (const [name, value] of Object.entries(message.headers)) {
    if (value !== undefined) req.set(name, String(value));
  }
  const body = message.body as string | Uint8Array | undefined;
  return req
    .serialize((b: Buffer) => b as unknown as string)
    .send(body === undefined ? Buffer.alloc(0) : Buffer.from(body));
}

/** An SDK emitter whose transport posts to the app; it resolves to the HTTP response. */
export const emitter = (app: App, mode: Mode) =>
  emitterFor((message) => send(app, message), { binding: HTTP, mode });

export const wireOf = (m: OutgoingMessage) =>
  JSON.parse(m.data.toString()) as Record<string, unknown>;

/** Each published message, read back into an SDK event (strict: it must pass the SDK's checks). */
export const storedEvents = (bus: RecordingBus) =>
  bus.published.map((m) => new CloudEvent<unknown>(wireOf(m)));

/** Every attribute and extension of an SDK event, its time as an instant, and its data (bytes as
 * a Uint8Array), so a sent and a stored event compare with one toEqual. */
export function attributesOf(event: CloudEvent<unknown>) {
  const { time: _time, data: _data, ...rest } = event.toJSON();
  return { ...rest, time: new Date(event.time!).toISOString(), data: event.data };
}

export const jsonEvent = new CloudEvent<unknown>({
  id: 'sdk-json',
  source: '/tests/sdk',
  type: 'com.example.order.created',
  subject: 'order/42',
  time: '2026-03-04T05:06:07.890Z',
  datacontenttype: 'application/json',
  dataschema: 'https://example.com/schemas/order.json',
  data: { orderId: 42, items: ['a', 'b'], nested: { ok: true, none: null } },
  tenant: 'acme',
  region: 'eu1',
});
export const textEvent = new CloudEvent<unknown>({
  id: 'sdk-text',
  source: '/tests/sdk',
  type: 'com.example.note.added',
  time: '2026-03-04T05:06:08.000Z',
  datacontenttype: 'text/plain; charset=utf-8',
  data: 'héllo wörld ✓ "quoted", 100% {not json}',
  tenant: 'acme',
});
export const bytes = Uint8Array.from([
  0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0xff, 0xfe,
]);
export const binaryEvent = new CloudEvent<unknown>({
  id: 'sdk-bytes',
  source: '/tests/sdk',
  type: 'com.example.image.uploaded',
  time: '2026-03-04T05:06:09.123Z',
  datacontenttype: 'image/png',
  data: bytes,
  tenant: 'acme',
});
