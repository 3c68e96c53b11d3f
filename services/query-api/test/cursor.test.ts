import { CursorCodec } from '../src/cursor';

const secret = Buffer.from('0123456789abcdef0123456789abcdef');

describe('CursorCodec', () => {
  it('when a cursor is decoded with the filters it was made for, then the key comes back', () => {
    const codec = new CursorCodec(secret);
    const key = { time: '2026-11-28T01:00:00.000000Z', source: '/a', id: '1' };
    const filter = { type: 'x', from: '2026-11-28T00:00:00.000000Z' };
    expect(codec.decode(codec.encode(key, filter), filter)).toEqual(key);
  });

  it('when a cursor was signed with another secret, then it is refused', () => {
    const a = new CursorCodec(secret);
    const b = new CursorCodec(Buffer.from('another-secret-of-32-bytes-long!'));
    const cursor = a.encode({ time: '2026-11-28T01:00:00.000000Z', source: '/a', id: '1' }, {});
    expect(() => b.decode(cursor, {})).toThrow(/signature/);
  });

  describe('stream resume tokens shared across streams', () => {
    const key = { storedAt: '2026-11-28T01:00:00.000000Z', source: '/a', id: '1' };
    const filter = { source: '/a' };

    it('when two streams have the same filters and reader, then they share one scope and token', () => {
      const codec = new CursorCodec(secret);
      const a = codec.positions(filter, 'reader-a');
      const b = codec.positions({ source: '/a' }, 'reader-a');
      expect(a.scope).toBe(b.scope);
      expect(a.encode(key)).toBe(b.encode(key));
      expect(codec.decodePosition(a.encode(key), filter, 'reader-a')).toEqual(key);
    });

    it('when the reader or the filters differ, then the scope differs and the token is refused there', () => {
      const codec = new CursorCodec(secret);
      const a = codec.positions(filter, 'reader-a');
      for (const [otherFilter, reader] of [
        [filter, 'reader-b'],
        [{ source: '/b' }, 'reader-a'],
        [{ source: '/a', type: 't' }, 'reader-a'],
      ] as const) {
        expect(codec.positions(otherFilter, reader).scope).not.toBe(a.scope);
        expect(() => codec.decodePosition(a.encode(key), otherFilter, reader)).toThrow(
          /other filters/,
        );
      }
    });
  });
});
