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
});
