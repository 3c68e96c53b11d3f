import type { IncomingMessage } from '@eventpipe/bus';
import {
  ATTR,
  LIMITS,
  canonicalTime,
  nowTime,
  parseCompleteEvent,
  type DeadLetterReason,
  type Envelope,
} from '@eventpipe/schema';

const utf8 = new TextDecoder('utf-8', { fatal: true });

export type Decoded =
  | { ok: true; event: Envelope; receivedAt: string }
  | { ok: false; reason: DeadLetterReason; detail: string };

/**
 * The worker's entry-point validation: the message data must be one complete CloudEvent in JSON
 * format within the size limit. Anything else is poison and gets a bounded reason.
 */
export function decodeMessage(message: IncomingMessage): Decoded {
  if (message.data.length > LIMITS.maxEventBytes) {
    return {
      ok: false,
      reason: 'too-large',
      detail: `message is ${message.data.length} bytes; the limit is ${LIMITS.maxEventBytes}`,
    };
  }
  let text: string;
  try {
    text = utf8.decode(message.data);
  } catch {
    return { ok: false, reason: 'invalid-encoding', detail: 'message data is not valid UTF-8' };
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    return { ok: false, reason: 'invalid-json', detail: (e as Error).message.slice(0, 200) };
  }
  const parsed = parseCompleteEvent(value);
  if (!parsed.ok) {
    return {
      ok: false,
      reason: 'schema-invalid',
      detail: parsed.issues.map((i) => `${i.pointer || '/'}: ${i.message}`).join('; '),
    };
  }
  const received = canonicalTime(message.attributes[ATTR.receivedAt] ?? '');
  return {
    ok: true,
    event: parsed.event,
    // Messages published straight to the topic have no (or a bad) receive time; the publish time
    // stands in, so every stored row has one.
    receivedAt: received ?? nowTime(message.publishTime),
  };
}
