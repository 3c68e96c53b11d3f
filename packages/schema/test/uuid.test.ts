import { uuidv7 } from '../src/uuid';

const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const millisOf = (id: string) => parseInt(id.replaceAll('-', '').slice(0, 12), 16);

describe('uuidv7 layout', () => {
  it('when many ids are made, then no two share their random bits', () => {
    const ids = Array.from({ length: 20_000 }, () => uuidv7());
    expect(new Set(ids.map((id) => id.slice(19))).size).toBe(ids.length);
  });

  it('when an id is made, then its first 48 bits are the milliseconds (rising), then version 7 and the variant', () => {
    for (const now of [2_000_000_000_000, 0x123456789abc, 2 ** 47 + 5]) {
      const id = uuidv7(now);
      expect(id).toMatch(UUID_V7);
      expect(millisOf(id)).toBe(now);
    }
  });

  it('when 4 096 ids are made in one millisecond, then the counter borrows the next millisecond', () => {
    // Later than every id before (tests run in order; the clock is the module's).
    const now = 2 ** 47 + 1_000;
    const ids = Array.from({ length: 5000 }, () => uuidv7(now));
    expect(new Set(ids).size).toBe(ids.length);
    expect([...ids].sort()).toEqual(ids);
    expect(millisOf(ids[0]!)).toBe(now);
    expect(millisOf(ids.at(-1)!)).toBeGreaterThan(now);
  });

  it('when the clock goes back, then ids keep the last millisecond and still sort in order', () => {
    const first = uuidv7(2 ** 48 - 2);
    const later = Array.from({ length: 100 }, () => uuidv7(1_000));
    expect(later.every((id) => millisOf(id) === 2 ** 48 - 2)).toBe(true);
    expect([first, ...later]).toEqual([first, ...later].sort());
  });
});
