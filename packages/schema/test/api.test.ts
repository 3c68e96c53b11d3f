import type { z } from 'zod';
import {
  eventPageSchema,
  fromStoredRow,
  listParamsSchema,
  parseInputEvents,
  storedEventSchema,
  toStoredRow,
  type StoredEvent,
} from '@eventpipe/schema';

// The response schemas describe the types the services build. These two assignments fail to
// compile (npm run typecheck) when StoredEvent and the schema drift apart in either direction.
type SchemaEvent = z.output<typeof storedEventSchema>;
const fromSchema = (e: SchemaEvent): StoredEvent => e;
const toSchema = (e: StoredEvent): SchemaEvent => e;

describe('the API contract', () => {
  const stored = () => {
    const parsed = parseInputEvents({
      type: 't',
      source: '/s',
      id: 'a',
      subject: 'x',
      data: { n: 1 },
      tenant: 'acme',
      n: 7,
    });
    if (!parsed.ok) throw new Error('fixture invalid');
    const meta = {
      receivedAt: '2026-11-28T00:00:00.000000Z',
      publishedAt: '2026-11-28T00:00:00.100000Z',
      messageId: 'm-1',
    };
    return fromStoredRow(toStoredRow(parsed.events[0]!, meta, '2026-11-28T00:00:00.200000Z'));
  };

  it('when an event is stored and read back, then it is what the response schema describes', () => {
    const event = stored();
    expect(toSchema(fromSchema(storedEventSchema.parse(event)))).toEqual(event);
    expect(eventPageSchema.parse({ data: [event], nextCursor: null }).data[0]).toEqual(event);
  });

  it('when a body breaks the response schema, then parsing says so', () => {
    const { messageId: _, ...withoutMeta } = stored();
    expect(storedEventSchema.safeParse(withoutMeta).success).toBe(false);
    expect(eventPageSchema.safeParse({ data: [stored()] }).success).toBe(false);
  });

  it('when a resume key is given, then it needs all three parts and no cursor', () => {
    const key = {
      afterTime: '2026-11-28T00:00:00Z',
      afterSource: '/s',
      afterId: 'a',
    };
    const ok = listParamsSchema.parse(key);
    expect(ok.afterTime).toBe('2026-11-28T00:00:00.000000Z');
    expect(listParamsSchema.safeParse({ afterTime: key.afterTime }).success).toBe(false);
    expect(listParamsSchema.safeParse({ ...key, cursor: 'c.s' }).success).toBe(false);
    expect(listParamsSchema.safeParse({ ...key, afterTime: 'yesterday' }).success).toBe(false);
  });
});
