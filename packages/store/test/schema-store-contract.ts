import {
  viewName,
  type SchemaStore,
  type SchemaVersion,
  type ViewColumn,
} from '@eventpipe/registry';
import type { InsertItem } from '@eventpipe/store';
import { at, items } from './store-contract';

/**
 * The one SchemaStore contract: the DuckDB file and BigQuery both keep the registry's versions
 * and make the same typed views. Event times are yesterday's, inside every default read range.
 */
export interface SchemaStoreUnderTest {
  schemas: SchemaStore;
  insert(items: InsertItem[]): Promise<void>;
  /** The given columns of the typed view of `type`, its rows with `time >= from`, ordered by id:
   * integers as numbers, JSON as its text, arrays as arrays (a NULL array as the empty one, as
   * BigQuery returns it). */
  readView(type: string, columns: string[], from: string): Promise<Record<string, unknown>[]>;
  close(): Promise<void>;
}

export const ORDER_TYPE = 'com.example.order.created';

export const version = (
  type: string,
  n: number,
  schema: Record<string, unknown>,
  createdAt = at(1, n),
): SchemaVersion => ({
  type,
  version: n,
  schema,
  mode: 'enforce',
  compatibility: 'BACKWARD',
  createdAt,
});

export const ORDER_COLUMNS: ViewColumn[] = [
  { name: 'qty', property: 'qty', kind: 'integer' },
  { name: 'price', property: 'price', kind: 'number' },
  { name: 'paid', property: 'paid', kind: 'boolean' },
  { name: 'note', property: 'note', kind: 'string' },
  { name: 'customer', property: 'customer', kind: 'json' },
  { name: 'tags', property: 'tags', kind: 'string[]' },
  { name: 'counts', property: 'counts', kind: 'integer[]' },
  { name: 'ratios', property: 'ratios', kind: 'number[]' },
  { name: 'flags', property: 'flags', kind: 'boolean[]' },
  { name: 'ship_to', property: 'ship-to', kind: 'string' },
];

const order = (id: string, data: Record<string, unknown>, type = ORDER_TYPE) => ({
  id,
  source: '/shop',
  type,
  time: at(2, Number(id.replace(/\D/g, '')) || 0),
  data,
});

/** Events whose data fits the columns, misses them, or holds other types. */
export const ORDER_EVENTS = items([
  order('o1', {
    qty: 3,
    price: 9.5,
    paid: true,
    note: 'hi',
    customer: { name: 'Ann', vip: false, tags: ['x'] },
    tags: ['a', 'b'],
    counts: [1, 2, -7],
    ratios: [0.5, 2, -1.25e3],
    flags: [true, false],
    'ship-to': 'Oslo',
  }),
  // wrongly typed: a number where a string is wanted reads as its text (JSON_VALUE)
  order('o2', {
    qty: 'three',
    price: 'cheap',
    paid: 'maybe',
    note: 5,
    customer: 'not an object',
    tags: 'x',
    counts: { a: 1 },
    ratios: 2,
    flags: null,
  }),
  order('o3', {}), // every property missing
  order('o4', { qty: '12', price: '1e2', note: null, customer: null }), // strings of numbers
  order('o5', { qty: 1 }, 'com.example.other'), // another type: not in the view
]);

const EXPECTED_ROWS = [
  {
    id: 'o1',
    qty: 3,
    price: 9.5,
    paid: true,
    note: 'hi',
    customer: { name: 'Ann', vip: false, tags: ['x'] },
    tags: ['a', 'b'],
    counts: [1, 2, -7],
    ratios: [0.5, 2, -1250],
    flags: [true, false],
    ship_to: 'Oslo',
  },
  {
    id: 'o2',
    qty: null,
    price: null,
    paid: null,
    note: '5',
    customer: 'not an object',
    tags: [],
    counts: [],
    ratios: [],
    flags: [],
    ship_to: null,
  },
  {
    id: 'o3',
    qty: null,
    price: null,
    paid: null,
    note: null,
    customer: null,
    tags: [],
    counts: [],
    ratios: [],
    flags: [],
    ship_to: null,
  },
  {
    id: 'o4',
    qty: 12,
    price: 100,
    paid: null,
    note: null,
    customer: null, // JSON null: JSON 'null' text, parsed below
    tags: [],
    counts: [],
    ratios: [],
    flags: [],
    ship_to: null,
  },
];

/** JSON columns come back as text; compared as values. */
const parsed = (rows: Record<string, unknown>[]) =>
  rows.map((r) => ({
    ...r,
    ...(typeof r.customer === 'string' ? { customer: JSON.parse(r.customer) as unknown } : {}),
  }));

export function describeSchemaStoreContract(
  name: string,
  open: () => Promise<SchemaStoreUnderTest>,
): void {
  describe(`SchemaStore contract: ${name}`, () => {
    let sut: SchemaStoreUnderTest;
    beforeEach(async () => {
      sut = await open();
    });
    afterEach(() => sut.close());

    it('when nothing is registered, then the list is empty', async () => {
      expect(await sut.schemas.listSchemaVersions()).toEqual([]);
    });

    it('when versions are added, then they are listed back exactly, ordered by type then version', async () => {
      const added = [
        version('b.type', 1, { type: 'object' }),
        version('a.type', 2, {
          type: 'object',
          properties: { n: { type: 'integer', description: "naïve “quotes” \\ ' 𝄞" } },
        }),
        {
          ...version('a.type', 1, { type: 'object', required: [] }, at(0, 0, 123_456)),
          mode: 'warn' as const,
          compatibility: 'NONE' as const,
        },
      ];
      for (const v of added) expect(await sut.schemas.addSchemaVersion(v)).toBe('added');
      expect(await sut.schemas.listSchemaVersions()).toEqual([added[2], added[1], added[0]]);
    });

    it('when the (type, version) is taken, then adding it again says exists and keeps the first', async () => {
      const first = version('t', 1, { type: 'object' });
      expect(await sut.schemas.addSchemaVersion(first)).toBe('added');
      expect(await sut.schemas.addSchemaVersion(version('t', 1, { type: 'string' }, at(3)))).toBe(
        'exists',
      );
      expect(await sut.schemas.listSchemaVersions()).toEqual([first]);
    });

    it('when two registrations of one (type, version) race, then exactly one is added and it is the one listed', async () => {
      const a = version('race', 1, { type: 'object', title: 'a' }, at(1, 0, 1));
      const b = version('race', 1, { type: 'object', title: 'b' }, at(1, 0, 2));
      const outcomes = await Promise.all([
        sut.schemas.addSchemaVersion(a),
        sut.schemas.addSchemaVersion(b),
      ]);
      expect([...outcomes].sort()).toEqual(['added', 'exists']);
      const winner = outcomes[0] === 'added' ? a : b;
      expect(await sut.schemas.listSchemaVersions()).toEqual([winner]);
    });

    it('when a typed view is made, then it reads the typed properties of the events of its type', async () => {
      await sut.insert(ORDER_EVENTS);
      await sut.schemas.replaceTypedView(ORDER_TYPE, ORDER_COLUMNS);
      const rows = await sut.readView(
        ORDER_TYPE,
        ['id', ...ORDER_COLUMNS.map((c) => c.name)],
        at(0),
      );
      expect(parsed(rows)).toEqual(EXPECTED_ROWS);
      // the envelope comes first: the whole data is there too
      const [first] = await sut.readView(ORDER_TYPE, ['id', 'source', 'type', 'data'], at(0));
      expect(first).toMatchObject({ id: 'o1', source: '/shop', type: ORDER_TYPE });
      expect(JSON.parse(String(first!.data))).toMatchObject({ qty: 3, note: 'hi' });
    });

    it('when the columns change, then the view is replaced', async () => {
      await sut.insert(ORDER_EVENTS);
      await sut.schemas.replaceTypedView(ORDER_TYPE, ORDER_COLUMNS.slice(0, 1));
      expect(await sut.readView(ORDER_TYPE, ['id', 'qty'], at(0))).toHaveLength(4);
      await expect(sut.readView(ORDER_TYPE, ['id', 'note'], at(0))).rejects.toThrow();
      await sut.schemas.replaceTypedView(ORDER_TYPE, [
        { name: 'note', property: 'note', kind: 'string' },
        { name: 'qty', property: 'qty', kind: 'string' },
      ]);
      expect(await sut.readView(ORDER_TYPE, ['id', 'note', 'qty'], at(0))).toEqual([
        { id: 'o1', note: 'hi', qty: '3' },
        { id: 'o2', note: '5', qty: 'three' },
        { id: 'o3', note: null, qty: null },
        { id: 'o4', note: null, qty: '12' },
      ]);
    });

    it("when a type's name needs quoting, then its view still reads only that type", async () => {
      const type = "it's.a\\type";
      await sut.insert(
        items([
          order('q1', { note: 'mine' }, type),
          order('q2', { note: 'other' }, "it''s.a\\type"),
        ]),
      );
      await sut.schemas.replaceTypedView(type, [
        { name: 'note', property: "it's", kind: 'string' },
        { name: 'note2', property: 'note', kind: 'string' },
      ]);
      expect(viewName(type)).toBe('events_it_s_a_type');
      expect(await sut.readView(type, ['id', 'note', 'note2'], at(0))).toEqual([
        { id: 'q1', note: null, note2: 'mine' },
      ]);
    });

    it('when events are stored, then sampleData gives the data texts of that type, newest first', async () => {
      await sut.insert(ORDER_EVENTS);
      const samples = await sut.schemas.sampleData(ORDER_TYPE, 2);
      expect(samples.map((s) => JSON.parse(s) as unknown)).toEqual([
        { qty: '12', price: '1e2', note: null, customer: null },
        {},
      ]);
      expect(await sut.schemas.sampleData(ORDER_TYPE, 10)).toHaveLength(4);
      expect(await sut.schemas.sampleData('no.such.type', 10)).toEqual([]);
    });
  });
}
