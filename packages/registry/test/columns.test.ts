import fc from 'fast-check';
import { EVENT_COLUMNS } from '@eventpipe/schema';
import { MAX_COLUMN_NAME, columnName, viewColumns } from '../src/columns';

const RESERVED = ['id', 'source', 'type', 'time', 'data'];

describe('viewColumns', () => {
  it('when properties have scalar types, then each gets its kind, in properties order', () => {
    const columns = viewColumns(
      {
        type: 'object',
        properties: {
          qty: { type: 'integer' },
          price: { type: 'number' },
          name: { type: 'string' },
          paid: { type: 'boolean' },
        },
      },
      RESERVED,
    );
    expect(columns).toEqual([
      { name: 'qty', property: 'qty', kind: 'integer' },
      { name: 'price', property: 'price', kind: 'number' },
      { name: 'name', property: 'name', kind: 'string' },
      { name: 'paid', property: 'paid', kind: 'boolean' },
    ]);
  });

  it('when a type is a union with null, then the non-null type is used', () => {
    const columns = viewColumns(
      {
        properties: { a: { type: ['null', 'integer'] }, b: { type: ['string', 'null', 'string'] } },
      },
      [],
    );
    expect(columns.map((c) => c.kind)).toEqual(['integer', 'string']);
  });

  it('when arrays hold one scalar type, then the kind is that type with []', () => {
    const columns = viewColumns(
      {
        properties: {
          s: { type: 'array', items: { type: 'string' } },
          i: { type: ['array', 'null'], items: { type: ['integer', 'null'] } },
          n: { type: 'array', items: { type: 'number' } },
          b: { type: 'array', items: { type: 'boolean' } },
        },
      },
      [],
    );
    expect(columns.map((c) => c.kind)).toEqual(['string[]', 'integer[]', 'number[]', 'boolean[]']);
  });

  it('when a property is anything else, then its kind is json', () => {
    const columns = viewColumns(
      {
        properties: {
          obj: { type: 'object' },
          union: { type: ['string', 'integer'] },
          objects: { type: 'array', items: { type: 'object' } },
          untypedArray: { type: 'array' },
          tuple: { type: 'array', prefixItems: [{ type: 'string' }] },
          nested: { type: 'array', items: { type: 'array', items: { type: 'string' } } },
          untyped: {},
          enumOnly: { enum: ['a'] },
          onlyNull: { type: 'null' },
          bool: true,
          ref: { $ref: '#/$defs/x' },
        },
      },
      [],
    );
    expect(columns.every((c) => c.kind === 'json')).toBe(true);
    expect(columns).toHaveLength(11);
  });

  it('when a schema has no properties, then there are no columns', () => {
    expect(viewColumns({ type: 'string' }, RESERVED)).toEqual([]);
    expect(viewColumns({ properties: [] as unknown as object }, RESERVED)).toEqual([]);
  });

  it('when names need cleaning, then they are lower-cased with runs of other characters as _', () => {
    expect(columnName('Order ID')).toBe('order_id');
    expect(columnName('customer.e-mail!!')).toBe('customer_e_mail');
    expect(columnName('__x__y__')).toBe('x_y');
    expect(columnName('2fa')).toBe('p_2fa');
    expect(columnName('')).toBe('p_');
    expect(columnName('***')).toBe('p_');
    expect(columnName('Ünïcode')).toBe('n_code');
  });

  it('when a name collides with a reserved column, then it is prefixed data_', () => {
    const columns = viewColumns({ properties: { ID: {}, Type: {}, data: {} } }, RESERVED);
    expect(columns.map((c) => c.name)).toEqual(['data_id', 'data_type', 'data_data']);
    expect(columns.map((c) => c.property)).toEqual(['ID', 'Type', 'data']);
  });

  it('when the envelope columns are reserved, then no column takes their names', () => {
    const reserved: string[] = EVENT_COLUMNS.map((c) => c.name);
    const properties = Object.fromEntries(reserved.map((n) => [n, { type: 'string' }]));
    const names = viewColumns({ properties }, reserved).map((c) => c.name);
    expect(names.filter((n) => reserved.includes(n))).toEqual([]);
  });

  it('when names collide with earlier columns, then data_ and then _2, _3… make them unique', () => {
    const columns = viewColumns(
      {
        properties: {
          'a b': {},
          'a-b': {},
          'A.B': {},
          data_a_b: {},
          id: {},
          ID: {},
          'data id': {},
        },
      },
      ['id'],
    );
    expect(columns.map((c) => c.name)).toEqual([
      'a_b',
      'data_a_b',
      'data_a_b_2',
      'data_data_a_b',
      'data_id',
      'data_id_2',
      'data_data_id',
    ]);
  });

  it('when a property is very long, then the column is at most 128 characters', () => {
    const long = 'x'.repeat(300);
    const columns = viewColumns(
      { properties: { [long]: {}, [`${long}y`]: {}, [`${long}z`]: {} } },
      [],
    );
    expect(columns.map((c) => c.name.length)).toEqual([128, 128, 128]);
    expect(new Set(columns.map((c) => c.name)).size).toBe(3);
    expect(columns[2]!.name.endsWith('_2')).toBe(true);
  });

  it('when properties are arbitrary, then names are unique, valid identifiers, not reserved', () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.string({ maxLength: 200 }), { maxLength: 30 }), (props) => {
        const properties = Object.fromEntries(props.map((p) => [p, {}]));
        const columns = viewColumns({ properties }, RESERVED);
        const names = columns.map((c) => c.name);
        return (
          columns.length === Object.keys(properties).length &&
          new Set(names).size === names.length &&
          names.every((n) => /^[a-z_][a-z0-9_]*$/.test(n) && n.length <= MAX_COLUMN_NAME) &&
          names.every((n) => !RESERVED.includes(n))
        );
      }),
    );
  });
});
