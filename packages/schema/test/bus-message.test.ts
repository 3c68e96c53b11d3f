import { ATTR, busMessageOf, decodeBusMessage, parseInputEvents } from '@eventpipe/schema';

const event = () => {
  const r = parseInputEvents({ type: 't', source: '/s', id: '1' });
  if (!r.ok) throw new Error('fixture');
  return r.events[0]!;
};
const receivedAt = '2026-11-28T05:00:00.000000Z';

describe('the producer attribute', () => {
  it('when the publisher names the key, then the subscriber reads the same name', () => {
    const m = busMessageOf(event(), receivedAt, undefined, undefined, 'partner-a');
    expect(m.attributes[ATTR.producer]).toBe('partner-a');
    const decoded = decodeBusMessage({ ...m, publishTime: new Date() });
    expect(decoded).toMatchObject({ ok: true, producer: 'partner-a' });
  });

  it.each(['bad\r\nheader: x', 'a'.repeat(65), 'naïve', ''])(
    'when a message put on the topic another way says %j, then it is not a producer (null)',
    (value) => {
      const m = busMessageOf(event(), receivedAt);
      const decoded = decodeBusMessage({
        ...m,
        attributes: { ...m.attributes, [ATTR.producer]: value },
        publishTime: new Date(),
      });
      expect(decoded).toMatchObject({ ok: true, producer: null });
    },
  );
});
