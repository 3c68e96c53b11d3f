import { duplicateKeyPointer } from '../src/duplicate-keys';
import fc from 'fast-check';
import { JSON_SCHEMA_2020_12 } from '../src/model';
import { MAX_DATA_VIOLATIONS, checkSchemaDocument, compileDataValidator } from '../src/validate';

const ORDER = {
  type: 'object',
  required: ['orderId', 'customer', 'items'],
  properties: {
    orderId: { type: 'string', format: 'uuid' },
    total: { type: 'integer', minimum: 0 },
    status: { enum: ['a', 'b'] },
    customer: {
      type: 'object',
      required: ['email'],
      properties: { email: { type: 'string', format: 'email' } },
    },
    items: {
      type: 'array',
      items: {
        type: 'object',
        required: ['sku'],
        properties: { sku: { type: 'string' } },
        additionalProperties: false,
      },
    },
  },
};
const VALID_ORDER = {
  orderId: '0190a6f2-8b4c-7d1e-9a3b-1c2d3e4f5a6b',
  total: 3,
  status: 'a',
  customer: { email: 'x@example.com' },
  items: [{ sku: 'A-1' }],
};

describe('checkSchemaDocument', () => {
  it('when the schema is a valid 2020-12 object, then there is no problem', () => {
    expect(checkSchemaDocument(ORDER)).toEqual([]);
    expect(checkSchemaDocument({})).toEqual([]);
    expect(checkSchemaDocument({ $schema: JSON_SCHEMA_2020_12, type: 'string' })).toEqual([]);
    expect(checkSchemaDocument({ $schema: `${JSON_SCHEMA_2020_12}#` })).toEqual([]);
  });

  it.each([
    ['true', true],
    ['false', false],
    ['an array', [{ type: 'string' }]],
    ['null', null],
    ['a string', 'object'],
    ['a number', 1],
    ['undefined', undefined],
  ])('when the schema is %s, then it is refused as not an object', (_, schema) => {
    const problems = checkSchemaDocument(schema);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/must be a JSON object/);
  });

  it('when $schema names another draft, then the problem names the pointer', () => {
    const problems = checkSchemaDocument({ $schema: 'http://json-schema.org/draft-07/schema#' });
    expect(problems).toEqual([
      expect.stringMatching(/^\/\$schema: only JSON Schema draft 2020-12/),
    ]);
  });

  it('when a nested subschema names another draft, then the problem names its pointer', () => {
    const problems = checkSchemaDocument({
      properties: { a: { $schema: 'https://json-schema.org/draft/2019-09/schema' } },
    });
    expect(problems).toEqual([expect.stringMatching(/^\/properties\/a\/\$schema: /)]);
  });

  it('when a $ref is remote, then it is refused and the pointer named, even for the meta-schema', () => {
    for (const ref of ['https://example.com/s.json', 'other.json#/x', JSON_SCHEMA_2020_12]) {
      const problems = checkSchemaDocument({ properties: { 'a/b': { items: { $ref: ref } } } });
      expect(problems).toEqual([
        expect.stringContaining(`/properties/a~1b/items/$ref: only local references`),
      ]);
    }
    expect(checkSchemaDocument({ $dynamicRef: 'https://x/y#meta' })).toEqual([
      expect.stringMatching(/^\/\$dynamicRef: only local/),
    ]);
  });

  it('when "$ref" is only a property name or a const value, then it is not taken for a reference', () => {
    expect(
      checkSchemaDocument({
        properties: { $ref: { const: { $ref: 'https://x' } } },
        examples: [{ $ref: 'http://y' }],
      }),
    ).toEqual([]);
  });

  it('when local references resolve (pointer, anchor, root), then there is no problem', () => {
    expect(
      checkSchemaDocument({
        $defs: { a: { type: 'string' }, b: { $anchor: 'bee', type: 'integer' } },
        properties: {
          a: { $ref: '#/$defs/a' },
          b: { $ref: '#bee' },
          self: { $ref: '#' },
        },
      }),
    ).toEqual([]);
  });

  it('when a local $ref does not resolve, then the compile problem is reported', () => {
    const problems = checkSchemaDocument({ properties: { a: { $ref: '#/$defs/missing' } } });
    expect(problems).toEqual([expect.stringMatching(/does not compile.*#\/\$defs\/missing/)]);
  });

  it('when a pattern is not a valid regular expression, then it is reported', () => {
    expect(checkSchemaDocument({ pattern: '([a-z' })).not.toEqual([]);
    // Valid without the u flag, invalid with it (Ajv compiles patterns with u).
    expect(checkSchemaDocument({ properties: { a: { pattern: '\\-' } } })).toEqual([
      expect.stringMatching(/does not compile.*Invalid/),
    ]);
  });

  it('when a keyword has a wrong value, then the meta-schema problem names the pointer', () => {
    const problems = checkSchemaDocument({ properties: { n: { type: 'strin' } } });
    expect(problems.length).toBeGreaterThan(0);
    expect(problems.every((p) => p.startsWith('/properties/n/type: '))).toBe(true);
    expect(problems.join('\n')).toMatch(/must be one of: array, boolean/);
    expect(checkSchemaDocument({ minLength: -1 })).toEqual([
      expect.stringMatching(/^\/minLength: must be >= 0/),
    ]);
    expect(checkSchemaDocument({ required: 'a' })[0]).toMatch(/^\/required: must be array/);
  });

  it('when a format is unknown, then it is refused (the validator would ignore it)', () => {
    expect(checkSchemaDocument({ properties: { e: { format: 'emial' } } })).toEqual([
      expect.stringMatching(/^\/properties\/e\/format: unknown format "emial"/),
    ]);
    expect(checkSchemaDocument({ format: 'date-time' })).toEqual([]);
  });

  it('when the document is not plain JSON, then it is refused with the pointer', () => {
    const cyclic: Record<string, unknown> = { type: 'object' };
    cyclic.properties = { self: cyclic };
    // Its nesting never ends: refused for its depth before anything walks it recursively.
    expect(checkSchemaDocument(cyclic)).toEqual([expect.stringMatching(/nests 65 levels/)]);
    expect(checkSchemaDocument({ maximum: Number.NaN })).toEqual([
      expect.stringMatching(/^\/maximum: NaN is not a JSON number/),
    ]);
    expect(checkSchemaDocument({ minimum: Infinity })[0]).toMatch(/Infinity is not a JSON number/);
    expect(checkSchemaDocument({ title: undefined })[0]).toMatch(/^\/title: a undefined/);
    expect(checkSchemaDocument({ default: new Date(0) })[0]).toMatch(
      /^\/default: not a JSON value/,
    );
  });

  it('when the same $id is checked twice, then both checks pass (no instance state leaks)', () => {
    const schema = { $id: 'https://eventpipe.invalid/s', type: 'object' };
    expect(checkSchemaDocument(schema)).toEqual([]);
    expect(checkSchemaDocument({ ...schema })).toEqual([]);
  });

  it('when unknown keywords are present, then they are accepted as annotations', () => {
    expect(checkSchemaDocument({ 'x-owner': 'team', someVocabularyKeyword: [1] })).toEqual([]);
  });
});

describe('compileDataValidator', () => {
  const validate = compileDataValidator(ORDER);

  it('when the data is valid, then there is no violation', () => {
    expect(validate(VALID_ORDER)).toEqual([]);
  });

  it('when values are wrong, then each violation has the /data pointer and a human message', () => {
    const violations = validate({
      ...VALID_ORDER,
      total: 1.5,
      status: 'c',
      customer: {},
      items: [{ sku: 7, extra: true }],
    });
    expect(violations).toEqual(
      expect.arrayContaining([
        { pointer: '/data/total', message: 'must be integer' },
        { pointer: '/data/status', message: 'must be one of: a, b' },
        { pointer: '/data/customer/email', message: 'is required' },
        { pointer: '/data/items/0/sku', message: 'must be string' },
        { pointer: '/data/items/0/extra', message: 'is not allowed' },
      ]),
    );
    expect(violations).toHaveLength(5);
  });

  it('when the data itself has the wrong type, then the pointer is /data', () => {
    expect(validate([1])).toEqual([{ pointer: '/data', message: 'must be object' }]);
    expect(compileDataValidator({ type: ['string', 'null'] })(1)).toEqual([
      { pointer: '/data', message: 'must be string or null' },
    ]);
  });

  it('when formats are wrong, then they are checked (ajv-formats is on)', () => {
    const v = validate({ ...VALID_ORDER, orderId: 'nope', customer: { email: 'nope' } });
    expect(v).toEqual([
      { pointer: '/data/orderId', message: 'must be a valid uuid' },
      { pointer: '/data/customer/email', message: 'must be a valid email' },
    ]);
  });

  it('when property names hold / and ~, then pointers escape them', () => {
    const v = compileDataValidator({
      required: ['a/b', 'c~d'],
      properties: { 'e/f': { type: 'string' } },
    });
    expect(v({ 'e/f': 1 })).toEqual(
      expect.arrayContaining([
        { pointer: '/data/a~1b', message: 'is required' },
        { pointer: '/data/c~0d', message: 'is required' },
        { pointer: '/data/e~1f', message: 'must be string' },
      ]),
    );
  });

  it('when a property is named like an Object.prototype member, then only own properties count', () => {
    const v = compileDataValidator({
      properties: { valueOf: { type: 'integer' }, constructor: { type: 'string' } },
    });
    expect(v({})).toEqual([]);
    expect(v({ valueOf: 'x' })).toEqual([{ pointer: '/data/valueOf', message: 'must be integer' }]);
    expect(compileDataValidator({ required: ['toString'] })({})).toEqual([
      { pointer: '/data/toString', message: 'is required' },
    ]);
  });

  it('when const or bounds fail, then the messages say so', () => {
    const v = compileDataValidator({
      properties: { k: { const: 'x' }, n: { minimum: 3 }, s: { pattern: '^a' } },
      dependentRequired: { k: ['n'] },
    });
    expect(v({ k: 'y', s: 'b' })).toEqual(
      expect.arrayContaining([
        { pointer: '/data/k', message: 'must be "x"' },
        { pointer: '/data/s', message: 'must match the pattern ^a' },
        { pointer: '/data/n', message: 'is required when "k" is present' },
      ]),
    );
    expect(v({ n: 1 })).toEqual([{ pointer: '/data/n', message: 'must be >= 3' }]);
  });

  it(`when there are many violations, then at most ${MAX_DATA_VIOLATIONS} are listed`, () => {
    const names = Array.from({ length: 50 }, (_, i) => `p${i}`);
    const v = compileDataValidator({ type: 'object', required: names });
    const violations = v({});
    expect(violations).toHaveLength(MAX_DATA_VIOLATIONS);
    expect(violations[0]).toEqual({ pointer: '/data/p0', message: 'is required' });
  });

  it('when two schemas share an $id, then both compile and each validates by its own rules', () => {
    const a = compileDataValidator({ $id: 'https://eventpipe.invalid/x', type: 'string' });
    const b = compileDataValidator({ $id: 'https://eventpipe.invalid/x', type: 'integer' });
    expect(a('s')).toEqual([]);
    expect(b('s')).toEqual([{ pointer: '/data', message: 'must be integer' }]);
  });

  it('when the schema is invalid, then compiling throws', () => {
    expect(() => compileDataValidator({ type: 'strin' })).toThrow();
    expect(() => compileDataValidator({ $ref: '#/nowhere' })).toThrow();
  });

  it('when a validator is reused, then earlier results do not leak into later ones', () => {
    expect(validate({})).not.toEqual([]);
    expect(validate(VALID_ORDER)).toEqual([]);
    expect(compileDataValidator(ORDER)(VALID_ORDER)).toEqual([]);
  });

  it('when any JSON value is checked against the empty schema, then it is valid', () => {
    const any = compileDataValidator({});
    fc.assert(fc.property(fc.jsonValue(), (value) => any(value).length === 0));
  });

  it('when any JSON value is checked, then violations are capped and all point inside /data', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        const v = validate(value);
        return v.length <= MAX_DATA_VIOLATIONS && v.every((x) => x.pointer.startsWith('/data'));
      }),
    );
  });
});

describe('checkSchemaDocument: schemas that would hurt the service', () => {
  it('when a pattern can take exponential time, then it is refused naming it', () => {
    expect(
      checkSchemaDocument({
        type: 'object',
        properties: { s: { type: 'string', pattern: '^(a+)+$' } },
      }),
    ).toEqual([expect.stringMatching(/^\/properties\/s\/pattern: .*exponential/)]);
    expect(checkSchemaDocument({ type: 'string', pattern: '^sku-[0-9]+$' })).toEqual([]);
  });

  it('when a schema refers to itself without going deeper, then it is refused, not a 500 later', () => {
    expect(checkSchemaDocument({ type: 'object', allOf: [{ $ref: '#' }] })).toEqual([
      expect.stringMatching(/cannot be checked/),
    ]);
    // Recursion that goes deeper into the data is fine.
    expect(checkSchemaDocument({ type: 'object', properties: { child: { $ref: '#' } } })).toEqual(
      [],
    );
  });

  it('when a schema nests 2000 levels, then it is a problem, not a stack overflow', () => {
    let deep: Record<string, unknown> = { type: 'string' };
    for (let i = 0; i < 2000; i++) deep = { properties: { a: deep } };
    expect(checkSchemaDocument(deep)).toEqual([expect.stringMatching(/at most 64/)]);
  });
});

describe('duplicateKeyPointer', () => {
  it.each([
    ['{"a":"x","a":1}', '/a'],
    ['{"a":{"b":1,"c":{"d":[1,{"e":1,"e":2}]}}}', '/a/c/d/1/e'],
    ['[{"a":1},{"a":2}]', undefined],
    ['{"a":"\\"a\\"","b":{"a":1}}', undefined],
    ['{"\\u0061":1,"a":2}', '/a'],
    ['{"x/y":1,"x/y":2}', '/x~1y'],
    ['1', undefined],
    ['{"a/b":[0,{"é":1,"\\u00e9":2}]}', '/a~1b/1/é'],
    ['[[1],[{"k":{"x":1}},{"k":2,"k":3}]]', '/1/1/k'],
    ['{ "a" : [ { } , { "s" : "\\"k\\":1,\\"k\\"" , "t" : 1 } ] , "t" : 2 }', undefined],
  ])('when the JSON is %s, then the first name given twice is at %s', (text, pointer) => {
    expect(duplicateKeyPointer(text)).toBe(pointer);
  });
});
