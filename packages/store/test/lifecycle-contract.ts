import {
  erasureMatch,
  foldErasures,
  requestedSteps,
  type ErasureRequest,
  type EventStore,
  type InsertItem,
} from '@eventpipe/store';
import { formatMicros, nowTime, parseRfc3339 } from '@eventpipe/schema';
import { at, items } from './store-contract';

/**
 * Retention and erasure, the same on every store: reads leave out erased and expired events at
 * once, and erase() deletes exactly what the erasure matches.
 */
export interface LifecycleUnderTest {
  store: EventStore;
  close(): Promise<void>;
}

const ids = (rows: { id: string }[]) => rows.map((r) => r.id).sort();
const shift = (t: string, ms: number) => formatMicros(parseRfc3339(t)! + BigInt(ms) * 1000n);

/** Events received at `receivedAt`. */
const received = (list: InsertItem[], receivedAt: string): InsertItem[] =>
  list.map((i) => ({ ...i, meta: { ...i.meta, receivedAt } }));

async function request(store: EventStore, id: string, req: ErasureRequest, cut = nowTime()) {
  await store.erasures.appendSteps(requestedSteps(id, req, cut, 'ops'));
  const erasure = foldErasures(await store.erasures.readSteps()).find((e) => e.id === id)!;
  return erasure;
}

async function everyRead(store: EventStore) {
  const filter = { from: at(0), to: shift(nowTime(), 3_600_000) };
  const page = await store.list({ ...filter, limit: 100 });
  const stored = await store.listStored({ filter, until: shift(nowTime(), 60_000), limit: 100 });
  const stats = await store.stats({ ...filter, interval: 'day' });
  return {
    page: ids(page),
    stored: ids(stored),
    count: stats.reduce((n, b) => n + b.count, 0),
  };
}

export function describeLifecycleContract(
  name: string,
  open: (opts: { retentionMs?: number }) => Promise<LifecycleUnderTest>,
): void {
  describe(`EventStore lifecycle: ${name}`, () => {
    let sut: LifecycleUnderTest;
    afterEach(() => sut?.close());

    describe('erase by subject', () => {
      it('when an erasure is requested, then every read leaves its events out before the delete, and the delete removes exactly them', async () => {
        sut = await open({});
        const { store } = sut;
        await store.insert(
          items([
            { id: 'a1', source: '/s1', type: 't', time: at(1), subject: 'alice' },
            { id: 'a2', source: '/s2', type: 't', time: at(2), subject: 'alice' },
            { id: 'b1', source: '/s1', type: 't', time: at(3), subject: 'bob' },
            { id: 'n1', source: '/s1', type: 't', time: at(4) },
          ]),
        );
        const erasure = await request(store, 'e1', { subject: 'alice' });
        expect(erasure.state).toBe('pending');
        expect(await everyRead(store)).toEqual({
          page: ['b1', 'n1'],
          stored: ['b1', 'n1'],
          count: 2,
        });
        expect(await store.get('a1')).toEqual([]);

        expect(await store.erase(erasureMatch(erasure))).toEqual({ deleted: 2 });
        expect(await store.erase(erasureMatch(erasure))).toEqual({ deleted: 0 });
        expect((await everyRead(store)).page).toEqual(['b1', 'n1']);
        expect(await store.get('b1')).toHaveLength(1);
      });

      it('when an event for the subject is received after the cut-off, then it is kept and read', async () => {
        sut = await open({});
        const { store } = sut;
        const cut = nowTime();
        await store.insert(
          received(
            items([{ id: 'later', source: '/s1', type: 't', time: at(5), subject: 'alice' }]),
            shift(cut, 1000),
          ),
        );
        await store.insert(
          items([{ id: 'before', source: '/s1', type: 't', time: at(5), subject: 'alice' }]),
        );
        const erasure = await request(store, 'e2', { subject: 'alice' }, cut);
        expect((await everyRead(store)).page).toEqual(['later']);
        expect(await store.erase(erasureMatch(erasure))).toEqual({ deleted: 1 });
        expect((await everyRead(store)).page).toEqual(['later']);
      });

      it('when it is limited to sources (exact and prefix), then other sources keep the subject', async () => {
        sut = await open({});
        const { store } = sut;
        await store.insert(
          items([
            { id: 'x1', source: '/app/web', type: 't', time: at(1), subject: 'carol' },
            { id: 'x2', source: '/app/ios', type: 't', time: at(1), subject: 'carol' },
            { id: 'x3', source: '/billing', type: 't', time: at(1), subject: 'carol' },
            { id: 'x4', source: '/crm', type: 't', time: at(1), subject: 'carol' },
          ]),
        );
        const erasure = await request(store, 'e3', {
          subject: 'carol',
          sources: ['/app/*', '/billing'],
        });
        expect((await everyRead(store)).page).toEqual(['x4']);
        expect(await store.erase(erasureMatch(erasure))).toEqual({ deleted: 3 });
        expect((await everyRead(store)).page).toEqual(['x4']);
      });
    });

    describe('erase by source and id', () => {
      it('when one event is erased, then only that (source, id) goes, not the same id elsewhere', async () => {
        sut = await open({});
        const { store } = sut;
        await store.insert(
          items([
            { id: 'same', source: '/one', type: 't', time: at(1) },
            { id: 'same', source: '/two', type: 't', time: at(1) },
          ]),
        );
        const erasure = await request(store, 'e4', { source: '/one', id: 'same' });
        expect((await store.get('same')).map((r) => r.source)).toEqual(['/two']);
        expect(await store.erase(erasureMatch(erasure))).toEqual({ deleted: 1 });
        expect((await store.get('same')).map((r) => r.source)).toEqual(['/two']);
      });
    });

    describe('retention', () => {
      it('when events are older than the retention, then no read returns them, before any delete', async () => {
        sut = await open({ retentionMs: 2 * 86_400_000 });
        const { store } = sut;
        const old = shift(nowTime(), -5 * 86_400_000);
        await store.insert(
          items([
            { id: 'old', source: '/s', type: 't', time: old },
            { id: 'new', source: '/s', type: 't', time: at(1) },
          ]),
        );
        const filter = { from: shift(old, -3_600_000), to: shift(nowTime(), 3_600_000) };
        expect(ids(await store.list({ ...filter, limit: 10 }))).toEqual(['new']);
        expect(
          ids(await store.listStored({ filter, until: shift(nowTime(), 60_000), limit: 10 })),
        ).toEqual(['new']);
        const stats = await store.stats({ ...filter, interval: 'day' });
        expect(stats.reduce((n, b) => n + b.count, 0)).toBe(1);
        expect(await store.get('old')).toEqual([]);
        if (store.expire) {
          const cutoff = shift(nowTime(), -2 * 86_400_000);
          expect(await store.expire(cutoff, 1000)).toBe(1);
          expect(await store.expire(cutoff, 1000)).toBe(0);
        }
      });
    });
  });
}
