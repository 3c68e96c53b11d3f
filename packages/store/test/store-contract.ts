import {
  compareStoredKeys,
  storedKeyOf,
  type EventStore,
  type InsertItem,
  type PageKey,
  type StoredKey,
  type StoredQuery,
} from '@eventpipe/store';
import {
  contentDigest,
  eventDataTexts,
  formatMicros,
  fromStoredRow,
  nowTime,
  parseInputEvents,
} from '@eventpipe/schema';

/**
 * The one EventStore contract: every adapter runs these same expectations. Event times are
 * relative to today, so stores that bound reads by time (BigQuery) see them in range.
 */
export interface StoreUnderTest {
  store: EventStore;
  close(): Promise<void>;
}

const HOUR_US = 3_600_000_000n;
const dayStart = ((BigInt(Date.now()) * 1000n) / (24n * HOUR_US) - 1n) * 24n * HOUR_US; // yesterday 00:00Z
/** Yesterday at hh:mm (UTC), canonical. */
export const at = (hours: number, minutes = 0, micros = 0): string =>
  formatMicros(dayStart + BigInt(hours) * HOUR_US + BigInt(minutes) * 60_000_000n + BigInt(micros));

const meta = { receivedAt: at(0), publishedAt: at(0, 0, 1000), messageId: 'm' };

/** Events as the publisher makes them of a JSON body: the text of each data kept as written.
 * Their bus message ids are `${messages}${i}`: the same for a redelivery, others for a resend. */
export function itemsOfText(text: string, messages = 'm'): InsertItem[] {
  const r = parseInputEvents(JSON.parse(text), { dataTexts: eventDataTexts(text) });
  if (!r.ok) throw new Error(JSON.stringify(r.issues));
  return r.events.map((event, i) => ({ event, meta: { ...meta, messageId: `${messages}${i}` } }));
}

export const items = (events: Record<string, unknown>[]): InsertItem[] =>
  itemsOfText(JSON.stringify(events));

const ev = (id: string, time: string, extra: Record<string, unknown> = {}) => ({
  id,
  source: '/s',
  type: 'a',
  time,
  ...extra,
});

export function describeStoreContract(name: string, open: () => Promise<StoreUnderTest>): void {
  describe(`EventStore contract: ${name}`, () => {
    let sut: StoreUnderTest;
    let store: EventStore;
    beforeEach(async () => {
      sut = await open();
      store = sut.store;
    });
    afterEach(() => sut.close());

    const ids = async (q: Parameters<EventStore['list']>[0]) =>
      (await store.list(q)).map((e) => `${e.source}#${e.id}`);
    /** The events stored under an id, as the query API shows them. */
    const read = async (id: string) => (await store.get(id)).map(fromStoredRow);

    it('when the same batch is inserted twice, then each event is stored once', async () => {
      const batch = items([ev('1', at(1)), ev('2', at(2))]);
      const first = await store.insert(batch);
      expect(first.inserted).toBe(2);
      expect(first.rejected).toEqual([]);
      await store.insert(batch);
      expect(await ids({ limit: 10 })).toEqual(['/s#2', '/s#1']);
    });

    it('when batches overlap or repeat a key inside, then each (source, id) is stored once', async () => {
      await store.insert(items([ev('1', at(1)), ev('2', at(2))]));
      await store.insert(items([ev('2', at(2)), ev('3', at(3)), ev('3', at(3))]));
      expect(await ids({ limit: 10 })).toEqual(['/s#3', '/s#2', '/s#1']);
    });

    it('when two sources use the same id, then both are stored and get() finds each', async () => {
      await store.insert(items([ev('same', at(1)), { ...ev('same', at(1)), source: '/other' }]));
      expect((await store.get('same')).map((e) => e.source)).toEqual(['/other', '/s']);
      expect((await store.get('same', '/s')).map((e) => e.source)).toEqual(['/s']);
    });

    it('when an id is missing, then get() finds nothing', async () => {
      await store.insert(items([ev('1', at(1))]));
      expect(await store.get('missing')).toEqual([]);
      expect(await store.get('1', '/elsewhere')).toEqual([]);
    });

    it('when listing with filters and a time range, then only matching events come back newest first', async () => {
      await store.insert(
        items([
          ev('1', at(1), { type: 'a', subject: 'x' }),
          ev('2', at(2), { type: 'b', subject: 'x' }),
          ev('3', at(3), { type: 'a', subject: 'y' }),
          ev('4', at(4), { type: 'a', subject: 'x', source: '/t' }),
        ]),
      );
      expect(await ids({ limit: 10, type: 'a' })).toEqual(['/t#4', '/s#3', '/s#1']);
      expect(await ids({ limit: 10, type: 'a', subject: 'x', source: '/s' })).toEqual(['/s#1']);
      expect(await ids({ limit: 10, from: at(2), to: at(4) })).toEqual(['/s#3', '/s#2']);
      expect(await ids({ limit: 2 })).toEqual(['/t#4', '/s#3']);
    });

    it('when paging while inserts continue, then no event that existed is repeated or skipped', async () => {
      await store.insert(
        items(
          ['a', 'b', 'c', 'd', 'e']
            .map((id) => ev(id, at(5)))
            .concat([ev('f', at(4)), ev('g', at(3))]),
        ),
      );
      const seen: string[] = [];
      let after: PageKey | undefined;
      let round = 0;
      for (;;) {
        const page = await store.list({ limit: 2, after });
        if (page.length === 0) break;
        seen.push(...page.map((e) => e.id));
        const last = page[page.length - 1]!;
        after = { time: last.time, source: last.source, id: last.id };
        round += 1;
        // A newer event, and an older late arrival, land between pages.
        await store.insert(items([ev(`new${round}`, at(9)), ev(`late${round}`, at(0, round))]));
      }
      const original = seen.filter((id) => !id.startsWith('new') && !id.startsWith('late'));
      expect(original).toEqual(['e', 'd', 'c', 'b', 'a', 'f', 'g']);
      expect(seen.filter((id) => id.startsWith('new'))).toEqual([]);
    });

    it('when stats are asked per hour by type and per day, then counts per bucket come back in order', async () => {
      await store.insert(
        items([
          ev('1', at(1, 10), { type: 'a' }),
          ev('2', at(1, 20), { type: 'a' }),
          ev('3', at(1, 30), { type: 'b' }),
          ev('4', at(3), { type: 'a' }),
          ev('5', at(30), { type: 'a' }),
        ]),
      );
      const range = { from: at(0), to: at(24) };
      expect(await store.stats({ ...range, interval: 'hour', groupBy: 'type' })).toEqual([
        { start: at(1), key: 'a', count: 2 },
        { start: at(1), key: 'b', count: 1 },
        { start: at(3), key: 'a', count: 1 },
      ]);
      expect(await store.stats({ ...range, interval: 'day' })).toEqual([
        { start: at(0), count: 4 },
      ]);
      expect(
        await store.stats({ ...range, interval: 'minute', groupBy: 'source', type: 'b' }),
      ).toEqual([{ start: at(1, 30), key: '/s', count: 1 }]);
    });

    it('when the same events are inserted twice, then stats count each once', async () => {
      const batch = items([ev('1', at(1)), ev('2', at(1))]);
      await store.insert(batch);
      await store.insert(batch);
      expect(await store.stats({ from: at(0), to: at(24), interval: 'day' })).toEqual([
        { start: at(0), count: 2 },
      ]);
    });

    it('when timestamps carry microseconds and offsets, then they come back exact in UTC', async () => {
      const local = at(6, 13, 123456).replace(
        /^(.*)T(\d\d)(.*)Z$/,
        (_, d: string, h: string, rest: string) =>
          `${d}T${String(Number(h) + 1).padStart(2, '0')}${rest}+01:00`,
      );
      await store.insert(items([ev('1', local)]));
      const [row] = await store.get('1');
      expect(row!.time).toBe(at(6, 13, 123456));
      expect(row!.time_text).toBe(local);
      const [e] = await read('1');
      expect(e!.time).toBe(local);
      expect(e!.receivedAt).toBe(meta.receivedAt);
      expect(e!.publishedAt).toBe(meta.publishedAt);
      expect(e!.storedAt).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/);
    });

    it('when an event has no time, then the receive time stands in and none is recorded as sent', async () => {
      await store.insert(itemsOfText('{"id":"1","source":"/s","type":"a"}'));
      const [row] = await store.get('1');
      expect(row).toMatchObject({ time: meta.receivedAt, time_text: null });
    });

    it('when data holds numbers no double holds, null, or any layout, then its text comes back exactly', async () => {
      const datas = [
        '{"big":9007199254740993,"u64":12345678901234567890,"pi":3.141592653589793238462643383279}',
        '[1e400, 2.5e-400, -0, 1.0, 1E5]',
        '{ "pretty" : [ 1 ,\n  2 ] , "s" : "\\u00e9\\/" }',
        'null',
        '"text"',
      ];
      await store.insert(
        itemsOfText(
          `[${datas.map((d, i) => `{"id":"x${i}","source":"/s","type":"a","time":"${at(1)}","data":${d}}`).join(',')}]`,
        ),
      );
      for (const [i, data] of datas.entries()) {
        const [row] = await store.get(`x${i}`);
        expect(row!.data).toBe(data);
      }
      const page = await store.list({ limit: 10 });
      expect(page.map((r) => r.data).sort()).toEqual([...datas].sort());
    });

    it('when one (source, id) comes again with the same content, then it is a duplicate; with other content, a conflict', async () => {
      const first = itemsOfText(`{"id":"k","source":"/s","type":"a","data":{"v":1}}`);
      expect(await store.insert(first)).toMatchObject({
        inserted: 1,
        duplicates: 0,
        conflicts: [],
      });
      // The same message delivered again: a redelivery.
      expect(await store.insert(first)).toMatchObject({
        inserted: 0,
        duplicates: 0,
        redelivered: 1,
      });
      // Sent again (another message) without time and laid out otherwise: the same event.
      const again = itemsOfText(
        `{ "source":"/s", "id":"k", "type":"a", "data": { "v": 1 } }`,
        'again',
      );
      expect(await store.insert(again)).toMatchObject({
        inserted: 0,
        duplicates: 1,
        redelivered: 0,
        conflicts: [],
      });
      const other = itemsOfText(
        `[{"id":"new","source":"/s","type":"a"},{"id":"k","source":"/s","type":"a","data":{"v":2}}]`,
        'other',
      );
      const result = await store.insert(other);
      expect(result).toMatchObject({ inserted: 1, duplicates: 0 });
      expect(result.conflicts).toEqual([
        {
          index: 1,
          digest: contentDigest(other[1]!.event),
          storedDigest: contentDigest(first[0]!.event),
        },
      ]);
      expect((await store.get('k'))[0]!.data).toBe('{"v":1}');
    });

    it('when a batch holds one (source, id) twice, then the first is stored and the second is a duplicate or a conflict', async () => {
      const batch = itemsOfText(
        '[{"id":"k","source":"/s","type":"a","data":1},{"id":"k","source":"/s","type":"a","data":1},' +
          '{"id":"k","source":"/s","type":"a","data":2}]',
      );
      const result = await store.insert(batch);
      // Each item is its own message: the second is a resend, the third a conflict.
      expect(result).toMatchObject({ inserted: 1, duplicates: 1, redelivered: 0 });
      expect(result.conflicts.map((c) => c.index)).toEqual([2]);
      expect((await store.get('k'))[0]!.data).toBe('1');
    });

    it('when data is unicode, nested, an empty object or 2^53+1 as a string, then it round-trips', async () => {
      const payloads = [
        { u: 'ü😀\u2028 "quoted" \\ back' },
        { a: { b: { c: [1, null, true, 2.5] } } },
        {},
        { n: '9007199254740993' },
        'plain text',
        0,
        [],
      ];
      await store.insert(items(payloads.map((data, i) => ev(`p${i}`, at(1), { data }))));
      for (const [i, data] of payloads.entries()) {
        const [e] = await read(`p${i}`);
        expect(e!.data).toEqual(data);
      }
    });

    it('when extensions and optional attributes are set, then they round-trip; absent ones stay absent', async () => {
      await store.insert(
        items([
          ev('full', at(1), {
            subject: 's',
            datacontenttype: 'application/json',
            dataschema: 'https://example.com/s.json',
            traceparent: '00-x',
            n: 7,
            ok: true,
          }),
          ev('bin', at(1), { data_base64: 'AAEC' }),
          ev('bare', at(1)),
        ]),
      );
      const [full] = await read('full');
      expect(full).toMatchObject({
        subject: 's',
        datacontenttype: 'application/json',
        dataschema: 'https://example.com/s.json',
        traceparent: '00-x',
        n: 7,
        ok: true,
      });
      expect((await store.get('bin'))[0]!.data_base64).toBe('AAEC');
      const [bare] = await read('bare');
      for (const k of ['subject', 'data', 'data_base64', 'datacontenttype', 'dataschema'])
        expect(bare).not.toHaveProperty(k);
    });

    it('when a filter holds SQL metacharacters, then it is matched as a plain value', async () => {
      await store.insert(items([ev('1', at(1), { type: "a' OR '1'='1" })]));
      expect(await store.list({ limit: 10, type: "x' OR '1'='1" })).toEqual([]);
      expect(await store.list({ limit: 10, type: "a' OR '1'='1" })).toHaveLength(1);
    });

    describe('listStored', () => {
      /** Lets the clock move on, so the next insert is stored at a later instant. */
      const tick = () => new Promise((resolve) => setTimeout(resolve, 3));
      const stored = async (q: Partial<StoredQuery> = {}) =>
        (await store.listStored({ until: nowTime(), filter: {}, limit: 100, ...q })).map(
          (e) => `${e.source}#${e.id}`,
        );

      it('when batches are stored one after another, then rows come in store order, not event time', async () => {
        await store.insert(items([ev('b', at(5)), ev('a', at(6))]));
        await tick();
        await store.insert(items([ev('c', at(1)), { ...ev('0', at(2)), source: '/r' }]));
        const rows = await store.listStored({ until: nowTime(), filter: {}, limit: 10 });
        expect(rows.map((e) => `${e.source}#${e.id}`)).toEqual(['/s#a', '/s#b', '/r#0', '/s#c']);
        expect(rows[0]!.stored_at < rows[2]!.stored_at).toBe(true);
        const keys = rows.map(storedKeyOf);
        for (let i = 1; i < keys.length; i += 1)
          expect(compareStoredKeys(keys[i - 1]!, keys[i]!)).toBeLessThan(0);
        expect(await stored({ limit: 3 })).toEqual(['/s#a', '/s#b', '/r#0']);
      });

      it('when one batch holds several rows, then they share stored_at and come by source, then id', async () => {
        await store.insert(
          items([
            ev('b', at(1)),
            { ...ev('z', at(2)), source: '/r' },
            ev('a', at(3)),
            { ...ev('a', at(0)), source: '/t' },
            ev('B', at(4)),
          ]),
        );
        const rows = await store.listStored({ until: nowTime(), filter: {}, limit: 10 });
        expect(new Set(rows.map((e) => e.stored_at)).size).toBe(1);
        expect(rows.map((e) => `${e.source}#${e.id}`)).toEqual([
          '/r#z',
          '/s#B',
          '/s#a',
          '/s#b',
          '/t#a',
        ]);
      });

      it('when walked with limit 7 after the last row read, then each of 50 rows comes once, in order', async () => {
        for (let b = 0; b < 5; b += 1) {
          await store.insert(
            items(
              Array.from({ length: 10 }, (_, i) => ({
                ...ev(`e${(i * 7 + b) % 10}-${b}`, at(i)),
                source: `/s${i % 3}`,
              })),
            ),
          );
          await tick();
        }
        const all = await store.listStored({ until: nowTime(), filter: {}, limit: 100 });
        expect(all).toHaveLength(50);
        const keys = all.map(storedKeyOf);
        expect([...keys].sort(compareStoredKeys)).toEqual(keys);
        const seen: StoredKey[] = [];
        let after: StoredKey | undefined;
        let pages = 0;
        for (;;) {
          const page = await store.listStored({ after, until: nowTime(), filter: {}, limit: 7 });
          if (page.length === 0) break;
          expect(page.length).toBeLessThanOrEqual(7);
          seen.push(...page.map(storedKeyOf));
          after = storedKeyOf(page.at(-1)!);
          pages += 1;
        }
        expect(pages).toBe(8);
        expect(seen).toEqual(keys);
        // after is exclusive: resuming at a row starts with the one after it.
        const resumed = await store.listStored({
          after: keys[20],
          until: nowTime(),
          filter: {},
          limit: 3,
        });
        expect(resumed.map(storedKeyOf)).toEqual(keys.slice(21, 24));
      });

      it('when rows are stored after until, then they are left out', async () => {
        await store.insert(items([ev('1', at(1)), ev('2', at(2))]));
        const settled = nowTime();
        await tick();
        await store.insert(items([ev('3', at(0))]));
        expect(await stored({ until: settled })).toEqual(['/s#1', '/s#2']);
        const [first] = await store.listStored({ until: settled, filter: {}, limit: 1 });
        // until is inclusive: a row stored at that very instant is in.
        expect(await stored({ until: first!.stored_at })).toEqual(['/s#1', '/s#2']);
        expect(await stored()).toEqual(['/s#1', '/s#2', '/s#3']);
      });

      it('when a filter or a grant is given, then only the rows it admits come', async () => {
        await store.insert(
          items([
            ev('1', at(1), { type: 'a', subject: 'x' }),
            ev('2', at(2), { type: 'b', subject: 'x' }),
            ev('3', at(3), { type: 'a', subject: 'y', source: '/t' }),
            ev('4', at(4), { type: 'a', subject: 'x', source: '/u/1' }),
          ]),
        );
        const only = (filter: StoredQuery['filter']) => stored({ filter });
        expect(await only({ type: 'a' })).toEqual(['/s#1', '/t#3', '/u/1#4']);
        expect(await only({ type: 'a', subject: 'x', source: '/s' })).toEqual(['/s#1']);
        expect(await only({ from: at(2), to: at(4) })).toEqual(['/s#2', '/t#3']);
        expect(await only({ grant: { sources: ['/s'] } })).toEqual(['/s#1', '/s#2']);
        expect(await only({ grant: { sources: ['/u/*', '/t'] } })).toEqual(['/t#3', '/u/1#4']);
        expect(await only({ grant: { sources: ['/s', '/t'], types: ['b'] } })).toEqual(['/s#2']);
        expect(await only({ grant: { sources: ['/elsewhere'] } })).toEqual([]);
        expect(await only({ type: "a' OR '1'='1" })).toEqual([]);
      });

      it('when a batch is delivered again or sent again, then its rows are listed once', async () => {
        const batch = items([ev('1', at(1)), ev('2', at(2))]);
        await store.insert(batch);
        await tick();
        await store.insert(batch); // redelivered
        await tick();
        await store.insert(itemsOfText(JSON.stringify([ev('2', at(2))]), 'again')); // sent again
        const rows = await store.listStored({ until: nowTime(), filter: {}, limit: 10 });
        expect(rows.map((e) => `${e.source}#${e.id}`)).toEqual(['/s#1', '/s#2']);
        expect(rows[0]!.stored_at).toBe(rows[1]!.stored_at);
        expect(await stored({ after: storedKeyOf(rows[1]!), until: nowTime(), limit: 10 })).toEqual(
          [],
        );
      });
    });

    it('when asked, then check() resolves', async () => {
      await expect(store.check()).resolves.toBeUndefined();
    });
  });
}
