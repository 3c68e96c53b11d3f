import fc from 'fast-check';
import { COMPATIBILITY_RULES, checkCompatibility } from '../src/compatibility';
import type { Compatibility, CompatibilityBreak, JsonSchema } from '../src/model';
import { compileDataValidator } from '../src/validate';

/** Every rule any test saw emitted: each must be documented in COMPATIBILITY_RULES. */
const emitted = new Set<string>();
function check(
  previous: JsonSchema,
  next: JsonSchema,
  mode: Compatibility = 'BACKWARD',
): CompatibilityBreak[] {
  const breaks = checkCompatibility(previous, next, mode);
  for (const b of breaks) emitted.add(b.rule);
  return breaks;
}
const rules = (breaks: CompatibilityBreak[]) => breaks.map((b) => `${b.rule} ${b.pointer}`).sort();
const obj = (properties: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
  type: 'object',
  properties,
  ...extra,
});

afterAll(() => {
  for (const rule of emitted) expect(COMPATIBILITY_RULES).toHaveProperty([rule]);
});

describe('checkCompatibility: modes', () => {
  const prev = obj({ a: { type: 'string' } });
  const next = obj({ a: { type: 'string' }, b: { type: 'integer' } }, { required: ['b'] });

  it('when the mode is NONE, then nothing is checked', () => {
    expect(check(prev, next, 'NONE')).toEqual([]);
    expect(check({ type: 'string' }, { type: 'integer' }, 'NONE')).toEqual([]);
  });

  it('when a required property is added, then BACKWARD breaks and FORWARD does not', () => {
    expect(rules(check(prev, next, 'BACKWARD'))).toEqual(['required-added /b']);
    expect(check(prev, next, 'FORWARD')).toEqual([]);
    expect(rules(check(prev, next, 'FULL'))).toEqual(['required-added /b']);
  });

  it('when a required property is dropped, then FORWARD breaks with the rule named for it', () => {
    expect(check(next, prev, 'BACKWARD')).toEqual([]);
    const forward = check(next, prev, 'FORWARD');
    expect(rules(forward)).toEqual(['required-removed /b']);
    expect(forward[0]!.message).toMatch(/previous requires "b", which next did not/);
  });

  it('when the schemas are identical, then every mode is compatible', () => {
    for (const mode of ['BACKWARD', 'FORWARD', 'FULL', 'NONE'] as const) {
      expect(check(next, structuredClone(next), mode)).toEqual([]);
    }
  });

  it('when only annotations change, then every mode is compatible', () => {
    const a = obj({ x: { type: 'string', description: 'one', examples: ['a'] } }, { title: 'A' });
    const b = obj(
      { x: { type: 'string', description: 'two', deprecated: true } },
      { $comment: 'c', 'x-owner': 't' },
    );
    expect(check(a, b, 'FULL')).toEqual([]);
  });

  it('when a type is widened, then BACKWARD passes, FORWARD breaks, FULL lists it once', () => {
    const a = { type: 'integer' };
    const b = { type: 'number' };
    expect(check(a, b, 'BACKWARD')).toEqual([]);
    expect(rules(check(a, b, 'FORWARD'))).toEqual(['type-widened ']);
    expect(rules(check(b, a, 'BACKWARD'))).toEqual(['type-narrowed ']);
    expect(rules(check(a, b, 'FULL'))).toEqual(['type-widened ']);
  });

  it('when a const changes, then FULL lists const-changed once', () => {
    const breaks = check({ const: 'a' }, { const: 'b' }, 'FULL');
    expect(rules(breaks)).toEqual(['const-changed ']);
  });
});

describe('checkCompatibility: BACKWARD rules', () => {
  it.each<[string, JsonSchema, JsonSchema, string[]]>([
    ['type narrowed', { type: ['string', 'null'] }, { type: 'string' }, ['type-narrowed ']],
    ['number → integer', { type: 'number' }, { type: 'integer' }, ['type-narrowed ']],
    ['type added', {}, { type: 'object' }, ['type-narrowed ']],
    ['enum narrowed', { enum: ['a', 'b'] }, { enum: ['a'] }, ['enum-narrowed ']],
    ['enum added', { type: 'string' }, { type: 'string', enum: ['a'] }, ['enum-narrowed ']],
    ['const added', { type: 'string' }, { type: 'string', const: 'a' }, ['enum-narrowed ']],
    ['const changed', { const: 1 }, { const: 2 }, ['const-changed ']],
    [
      'minimum raised',
      { type: 'number', minimum: 0 },
      { type: 'number', minimum: 1 },
      ['minimum-raised '],
    ],
    ['minimum added', { type: 'number' }, { type: 'number', minimum: 1 }, ['minimum-raised ']],
    [
      'maximum lowered',
      { type: 'number', maximum: 9 },
      { type: 'number', maximum: 8 },
      ['maximum-lowered '],
    ],
    [
      'exclusiveMinimum at the old minimum',
      { type: 'number', minimum: 1 },
      { type: 'number', exclusiveMinimum: 1 },
      ['exclusive-minimum-raised '],
    ],
    [
      'exclusiveMaximum added',
      { type: 'number' },
      { type: 'number', exclusiveMaximum: 1 },
      ['exclusive-maximum-lowered '],
    ],
    [
      'multipleOf added',
      { type: 'number' },
      { type: 'number', multipleOf: 2 },
      ['multiple-of-changed '],
    ],
    [
      'multipleOf not a divisor',
      { type: 'number', multipleOf: 2 },
      { type: 'number', multipleOf: 4 },
      ['multiple-of-changed '],
    ],
    [
      'minLength raised',
      { type: 'string', minLength: 1 },
      { type: 'string', minLength: 2 },
      ['min-length-raised '],
    ],
    [
      'maxLength lowered',
      { type: 'string' },
      { type: 'string', maxLength: 5 },
      ['max-length-lowered '],
    ],
    ['pattern added', { type: 'string' }, { type: 'string', pattern: '^a' }, ['pattern-added ']],
    [
      'pattern changed',
      { type: 'string', pattern: '^a' },
      { type: 'string', pattern: '^b' },
      ['pattern-changed '],
    ],
    ['format added', { type: 'string' }, { type: 'string', format: 'email' }, ['format-added ']],
    [
      'format changed',
      { type: 'string', format: 'date' },
      { type: 'string', format: 'date-time' },
      ['format-changed '],
    ],
    ['minItems raised', { type: 'array' }, { type: 'array', minItems: 1 }, ['min-items-raised ']],
    [
      'maxItems lowered',
      { type: 'array', maxItems: 3 },
      { type: 'array', maxItems: 2 },
      ['max-items-lowered '],
    ],
    [
      'uniqueItems added',
      { type: 'array' },
      { type: 'array', uniqueItems: true },
      ['unique-items-added '],
    ],
    [
      'minProperties raised',
      { type: 'object' },
      { type: 'object', minProperties: 1 },
      ['min-properties-raised '],
    ],
    [
      'maxProperties lowered',
      { type: 'object', maxProperties: 4 },
      { type: 'object', maxProperties: 3 },
      ['max-properties-lowered '],
    ],
    [
      'nested type narrowed',
      obj({ c: obj({ age: { type: 'number' } }) }),
      obj({ c: obj({ age: { type: 'integer' } }) }),
      ['type-narrowed /c/age'],
    ],
    [
      'nested required added',
      obj({ c: obj({ email: { type: 'string' } }) }),
      obj({ c: obj({ email: { type: 'string' } }, { required: ['email'] }) }),
      ['required-added /c/email'],
    ],
    [
      'items narrowed',
      { type: 'array', items: { type: 'number' } },
      { type: 'array', items: { type: 'integer' } },
      ['type-narrowed /*'],
    ],
    [
      'array of objects',
      { type: 'array', items: obj({ sku: { type: 'string' } }) },
      { type: 'array', items: obj({ sku: { type: 'string', minLength: 3 } }) },
      ['min-length-raised /*/sku'],
    ],
    [
      'prefixItems narrowed',
      { type: 'array', prefixItems: [{ type: 'string' }, { type: 'number' }] },
      { type: 'array', prefixItems: [{ type: 'string' }, { type: 'integer' }] },
      ['type-narrowed /1'],
    ],
    [
      'prefixItems added over items',
      { type: 'array', items: { type: 'string' } },
      {
        type: 'array',
        prefixItems: [{ type: 'string', format: 'uuid' }],
        items: { type: 'string' },
      },
      ['format-added /0'],
    ],
    [
      'items closed after prefixItems',
      { type: 'array', prefixItems: [{ type: 'string' }] },
      { type: 'array', prefixItems: [{ type: 'string' }], items: false },
      ['items-closed '],
    ],
    [
      'property removed, closed',
      obj({ a: {}, b: {} }),
      obj({ a: {} }, { additionalProperties: false }),
      ['additional-properties-closed ', 'property-removed-closed /b'],
    ],
    [
      'additionalProperties closed',
      obj({ a: {} }),
      obj({ a: {} }, { additionalProperties: false }),
      ['additional-properties-closed '],
    ],
    [
      'additionalProperties narrowed',
      { type: 'object', additionalProperties: { type: 'number' } },
      { type: 'object', additionalProperties: { type: 'integer' } },
      ['type-narrowed /*'],
    ],
    [
      'property removed into narrower additionalProperties',
      obj({ a: { type: 'string' } }),
      obj({}, { additionalProperties: { type: 'integer' } }),
      ['type-narrowed /*', 'type-narrowed /a'],
    ],
    [
      'new property narrows the old additionalProperties',
      obj({}, { additionalProperties: { type: 'string' } }),
      obj({ a: { type: 'string', maxLength: 3 } }, { additionalProperties: { type: 'string' } }),
      ['max-length-lowered /a'],
    ],
    [
      'property becomes false',
      obj({ a: { type: 'string' } }),
      obj({ a: false }),
      ['value-forbidden /a'],
    ],
  ])('when %s, then it breaks', (_, previous, next, expected) => {
    expect(rules(check(previous, next))).toEqual(expected);
  });

  it.each<[string, JsonSchema, JsonSchema]>([
    ['integer → number', { type: 'integer' }, { type: 'number' }],
    ['type union widened', { type: 'string' }, { type: ['string', 'null'] }],
    ['type removed', { type: 'string', minLength: 1 }, {}],
    ['enum widened', { enum: ['a'] }, { enum: ['a', 'b'] }],
    ['enum removed', { type: 'string', enum: ['a'] }, { type: 'string' }],
    ['enum → its type', { enum: ['a', 'b'] }, { type: 'string' }],
    [
      'enum values within new bounds',
      { enum: [2, 4] },
      { type: 'integer', minimum: 2, maximum: 4, multipleOf: 2 },
    ],
    ['const kept in new enum', { const: 'a' }, { enum: ['a', 'b'] }],
    ['minimum lowered', { type: 'number', minimum: 2 }, { type: 'number', minimum: 1 }],
    [
      'exclusiveMinimum → same minimum',
      { type: 'number', exclusiveMinimum: 1 },
      { type: 'number', minimum: 1 },
    ],
    [
      'integer exclusiveMinimum 4 ≡ minimum 5',
      { type: 'integer', exclusiveMinimum: 4 },
      { type: 'integer', minimum: 5 },
    ],
    [
      'multipleOf an integer divisor',
      { type: 'number', multipleOf: 6 },
      { type: 'number', multipleOf: 3 },
    ],
    ['integers and multipleOf 1', { type: 'integer' }, { type: 'integer', multipleOf: 1 }],
    ['maxLength raised', { type: 'string', maxLength: 3 }, { type: 'string', maxLength: 4 }],
    ['pattern removed', { type: 'string', pattern: '^a' }, { type: 'string' }],
    ['uniqueItems removed', { type: 'array', uniqueItems: true }, { type: 'array' }],
    [
      'string keywords on a non-string',
      { type: 'integer' },
      { type: 'integer', minLength: 3, pattern: 'x' },
    ],
    ['required removed', obj({ a: {} }, { required: ['a'] }), obj({ a: {} })],
    [
      'optional property added (open content model)',
      obj({ a: {} }),
      obj({ a: {}, b: { type: 'integer', minimum: 3 } }),
    ],
    [
      'property added to a closed object',
      obj({ a: {} }, { additionalProperties: false }),
      obj({ a: {}, b: { type: 'string' } }, { additionalProperties: false }),
    ],
    [
      'additionalProperties opened',
      obj({ a: {} }, { additionalProperties: false }),
      obj({ a: {} }),
    ],
    [
      'new property matches old additionalProperties',
      obj({}, { additionalProperties: { type: 'string' } }),
      obj({ a: { type: ['string', 'null'] } }, { additionalProperties: { type: 'string' } }),
    ],
    [
      'prefixItems dropped',
      { type: 'array', prefixItems: [{ type: 'string' }], items: false },
      { type: 'array', items: { type: 'string' } },
    ],
    ['boolean schema true', obj({ a: { type: 'string' } }), obj({ a: true })],
    ['writer false', obj({ a: false }), obj({ a: { type: 'string' } })],
    [
      'identical oneOf beside a compatible change',
      { oneOf: [{ type: 'string' }, { type: 'integer' }], maxLength: 3 },
      { oneOf: [{ type: 'string' }, { type: 'integer' }], maxLength: 4 },
    ],
  ])('when %s, then it is compatible', (_, previous, next) => {
    expect(check(previous, next)).toEqual([]);
  });

  it.each<[string, JsonSchema, JsonSchema]>([
    [
      'oneOf changed',
      { oneOf: [{ type: 'string' }] },
      { oneOf: [{ type: 'string' }, { type: 'null' }] },
    ],
    ['anyOf added', {}, { anyOf: [{ type: 'string' }] }],
    ['allOf changed', { allOf: [{ minimum: 1 }] }, { allOf: [{ minimum: 0 }] }],
    ['not added', {}, { not: { type: 'null' } }],
    [
      'if changed',
      { if: { type: 'string' }, then: { minLength: 1 } },
      { if: { type: 'number' }, then: { minLength: 1 } },
    ],
    [
      'dependentRequired added',
      { type: 'object' },
      { type: 'object', dependentRequired: { a: ['b'] } },
    ],
    [
      'patternProperties added',
      obj({}),
      obj({}, { patternProperties: { '^x': { type: 'string' } } }),
    ],
    [
      'properties change beside patternProperties',
      obj({ a: {} }, { patternProperties: { '^x': {} } }),
      obj({ a: {}, b: {} }, { patternProperties: { '^x': {} } }),
    ],
    [
      'unevaluatedProperties present',
      obj({ a: {} }, { unevaluatedProperties: false }),
      obj({ a: {}, b: {} }, { unevaluatedProperties: false }),
    ],
    ['unknown keyword changed', { type: 'string', foo: 1 }, { type: 'string', foo: 2 }],
    ['malformed keyword', { type: 'string', minLength: 'x' }, { type: 'string', minLength: 'y' }],
    [
      '$ref beside other keywords, target changed',
      { properties: { a: { $ref: '#/$defs/x', minimum: 1 } }, $defs: { x: { type: 'number' } } },
      { properties: { a: { $ref: '#/$defs/x', minimum: 1 } }, $defs: { x: { type: 'integer' } } },
    ],
    [
      '$ref changed to another target',
      { properties: { a: { $ref: '#/$defs/x', minimum: 1 } }, $defs: { x: {}, y: {} } },
      { properties: { a: { $ref: '#/$defs/y', minimum: 1 } }, $defs: { x: {}, y: {} } },
    ],
    [
      '$ref unresolvable',
      { properties: { a: { $ref: '#/$defs/x' } } },
      { properties: { a: { $ref: '#/$defs/y' } } },
    ],
  ])('when %s, then it is an unanalysable change', (_, previous, next) => {
    const breaks = check(previous, next);
    expect(breaks.map((b) => b.rule)).toContain('unanalysable-change');
  });

  it('when a $ref keeps its text but its target narrows, then the break is found through it', () => {
    const prev = { properties: { a: { $ref: '#/$defs/x' } }, $defs: { x: { type: 'number' } } };
    const next = { properties: { a: { $ref: '#/$defs/x' } }, $defs: { x: { type: 'integer' } } };
    expect(rules(check(prev, next))).toEqual(['type-narrowed /a']);
    expect(check(next, prev)).toEqual([]);
  });

  it('when a $ref inside an unanalysable keyword keeps its text but its target changes, then it is not called identical', () => {
    const prev = { anyOf: [{ $ref: '#/$defs/x' }], $defs: { x: { type: 'number' } } };
    const next = { anyOf: [{ $ref: '#/$defs/x' }], $defs: { x: { type: 'integer' } } };
    expect(check(prev, next).map((b) => b.rule)).toEqual(['unanalysable-change']);
  });

  it('when a schema is recursive, then the checker terminates and still finds breaks', () => {
    const tree = (leaf: string) => ({
      $defs: {
        node: obj({
          value: { type: leaf },
          children: { type: 'array', items: { $ref: '#/$defs/node' } },
        }),
      },
      $ref: '#/$defs/node',
    });
    expect(check(tree('number'), tree('number'))).toEqual([]);
    expect(check(tree('integer'), tree('number'))).toEqual([]);
    expect(rules(check(tree('number'), tree('integer')))).toEqual(['type-narrowed /value']);
    const loop = { $defs: { a: { $ref: '#/$defs/a' } }, properties: { x: { $ref: '#/$defs/a' } } };
    expect(() => check(loop, { properties: { x: { type: 'string' } } })).not.toThrow();
  });

  it('when pointers cross names with / and ~, then they are escaped', () => {
    const breaks = check(
      obj({ 'a/b': obj({ 'c~d': { type: 'number' } }) }),
      obj({ 'a/b': obj({ 'c~d': { type: 'integer' } }) }),
    );
    expect(rules(breaks)).toEqual(['type-narrowed /a~1b/c~0d']);
  });

  it('when previous allows no objects, then object keywords in next do not matter', () => {
    expect(
      check(
        { type: 'string' },
        { type: ['string', 'object'], required: ['x'], additionalProperties: false },
      ),
    ).toEqual([]);
  });

  it('when an enum value fails a new bound, then the break names the value and the rule', () => {
    const breaks = check({ enum: [1, 5] }, { type: 'integer', maximum: 4 });
    expect(rules(breaks)).toEqual(['maximum-lowered ']);
    expect(breaks[0]!.message).toContain('5');
  });

  it('when messages are produced, then they name both versions and the place', () => {
    const [b] = check(
      obj({ c: obj({ n: { type: 'number' } }) }),
      obj({ c: obj({ n: { type: 'integer' } }) }),
    );
    expect(b!.message).toMatch(/next does not accept number at \/c\/n, which previous accepted/);
  });
});

describe('checkCompatibility: FORWARD rules', () => {
  it.each<[string, JsonSchema, JsonSchema, string]>([
    ['enum widened', { enum: ['a'] }, { enum: ['a', 'b'] }, 'enum-widened '],
    [
      'minimum lowered',
      { type: 'number', minimum: 2 },
      { type: 'number', minimum: 1 },
      'minimum-lowered ',
    ],
    [
      'maximum raised',
      { type: 'number', maximum: 2 },
      { type: 'number', maximum: 3 },
      'maximum-raised ',
    ],
    ['pattern removed', { type: 'string', pattern: 'a' }, { type: 'string' }, 'pattern-removed '],
    ['format removed', { type: 'string', format: 'uuid' }, { type: 'string' }, 'format-removed '],
    [
      'maxLength raised',
      { type: 'string', maxLength: 1 },
      { type: 'string' },
      'max-length-raised ',
    ],
    [
      'minItems lowered',
      { type: 'array', minItems: 2 },
      { type: 'array', minItems: 1 },
      'min-items-lowered ',
    ],
    [
      'uniqueItems removed',
      { type: 'array', uniqueItems: true },
      { type: 'array' },
      'unique-items-removed ',
    ],
    [
      'additionalProperties opened',
      { type: 'object', additionalProperties: false },
      { type: 'object' },
      'additional-properties-opened ',
    ],
    [
      'property added to a closed object',
      obj({}, { additionalProperties: false }),
      obj({ a: {} }, { additionalProperties: false }),
      'property-added-closed /a',
    ],
    [
      'items opened',
      { type: 'array', prefixItems: [{}], items: false },
      { type: 'array', prefixItems: [{}] },
      'items-opened ',
    ],
    ['property allowed again', obj({ a: false }), obj({ a: {} }), 'value-allowed /a'],
  ])('when %s, then FORWARD breaks', (_, previous, next, expected) => {
    expect(rules(check(previous, next, 'FORWARD'))).toContain(expected);
    expect(check(previous, next, 'BACKWARD')).toEqual([]);
  });
});

describe('checkCompatibility: soundness against the validator', () => {
  // Small schemas over a small value space, so that random values are often valid.
  const leaf = fc.oneof(
    fc.record(
      {
        type: fc.constantFrom<unknown>(
          'integer',
          'number',
          'string',
          'boolean',
          'null',
          ['string', 'null'],
          ['integer', 'string'],
        ),
        minimum: fc.integer({ min: -2, max: 2 }),
        maximum: fc.integer({ min: -2, max: 2 }),
        exclusiveMinimum: fc.integer({ min: -2, max: 2 }),
        minLength: fc.integer({ min: 0, max: 2 }),
        maxLength: fc.integer({ min: 0, max: 2 }),
        multipleOf: fc.constantFrom(1, 2, 0.5),
        pattern: fc.constantFrom('^a', 'b'),
        format: fc.constantFrom('date', 'email'),
        enum: fc.uniqueArray(fc.constantFrom<unknown>(0, 1, 2, 'a', 'ab', null, true), {
          minLength: 1,
          maxLength: 3,
        }),
        const: fc.constantFrom<unknown>(1, 'a', null),
      },
      { requiredKeys: [] },
    ),
    fc.constant({}),
  );
  /** `closed`: every object sets additionalProperties to false or a schema, so that the open
   * content model convention (an optional property added over an open object) never applies. */
  const schemaArb = (closed: boolean) =>
    fc.letrec<{ node: Record<string, unknown> }>((tie) => ({
      node: fc.oneof(
        { depthSize: 'small', withCrossShrink: true },
        leaf,
        fc.record(
          {
            type: fc.constant('object'),
            properties: fc.dictionary(fc.constantFrom('a', 'b', 'c'), tie('node'), { maxKeys: 3 }),
            required: fc.subarray(['a', 'b', 'c']),
            additionalProperties: closed
              ? fc.oneof(
                  fc.constant(false),
                  tie('node').filter((n) => Object.keys(n).length > 0),
                )
              : fc.oneof(fc.constant(false), fc.constant(true), tie('node')),
            minProperties: fc.integer({ min: 0, max: 2 }),
          },
          { requiredKeys: closed ? ['type', 'additionalProperties'] : ['type'] },
        ),
        fc.record(
          {
            type: fc.constant('array'),
            items: fc.oneof(tie('node'), fc.constant(false)),
            prefixItems: fc.array(tie('node'), { minLength: 1, maxLength: 2 }),
            maxItems: fc.integer({ min: 0, max: 3 }),
            uniqueItems: fc.boolean(),
          },
          { requiredKeys: ['type'] },
        ),
      ),
    })).node;
  const schema = schemaArb(false);
  const closedSchema = schemaArb(true);
  const value = fc
    .letrec<{ v: unknown }>((tie) => ({
      v: fc.oneof(
        { depthSize: 'small', withCrossShrink: true },
        fc.constantFrom<unknown>(
          -2,
          -1,
          0,
          1,
          1.5,
          2,
          3,
          '',
          'a',
          'ab',
          'b',
          '2024-01-02',
          'x@y.io',
          null,
          true,
          false,
        ),
        fc.dictionary(fc.constantFrom('a', 'b', 'c', 'd'), tie('v'), { maxKeys: 4 }),
        fc.array(tie('v'), { maxLength: 3 }),
      ),
    }))
    .v.map((v) => JSON.parse(JSON.stringify(v)) as unknown); // plain objects, as parsed data is

  it('when BACKWARD says compatible, then every value valid under previous is valid under next', () => {
    let compatiblePairs = 0;
    fc.assert(
      fc.property(
        closedSchema,
        schema,
        fc.array(value, { minLength: 20, maxLength: 20 }),
        (prev, next, values) => {
          if (check(prev, next, 'BACKWARD').length > 0) return;
          compatiblePairs++;
          const vp = compileDataValidator(prev);
          const vn = compileDataValidator(next);
          for (const v of values) {
            if (vp(v).length === 0)
              expect({ value: v, violations: vn(v) }).toEqual({ value: v, violations: [] });
          }
        },
      ),
      { numRuns: 400 },
    );
    expect(compatiblePairs).toBeGreaterThan(20);
  });

  it('when FORWARD says compatible, then every value valid under next is valid under previous', () => {
    fc.assert(
      fc.property(
        schema,
        closedSchema,
        fc.array(value, { minLength: 20, maxLength: 20 }),
        (prev, next, values) => {
          if (check(prev, next, 'FORWARD').length > 0) return;
          const vp = compileDataValidator(prev);
          const vn = compileDataValidator(next);
          for (const v of values) {
            if (vn(v).length === 0) expect(vp(v)).toEqual([]);
          }
        },
      ),
      { numRuns: 200 },
    );
  });

  it('when a schema is compared with a copy of itself, then it is compatible in every mode', () => {
    fc.assert(
      fc.property(schema, (s) => check(s, structuredClone(s), 'FULL').length === 0),
      { numRuns: 200 },
    );
  });

  it('when FULL is checked, then it is the deduplicated union of BACKWARD and FORWARD', () => {
    fc.assert(
      fc.property(schema, schema, (a, b) => {
        const key = (x: CompatibilityBreak) => `${x.rule} ${x.pointer}`;
        const full = new Set(check(a, b, 'FULL').map(key));
        const union = new Set([...check(a, b, 'BACKWARD'), ...check(a, b, 'FORWARD')].map(key));
        expect([...full].sort()).toEqual([...union].sort());
        expect(check(a, b, 'FULL')).toHaveLength(full.size);
      }),
      { numRuns: 200 },
    );
  });
});

describe('COMPATIBILITY_RULES', () => {
  it('when listed, then every rule has a one-line explanation', () => {
    for (const [rule, text] of Object.entries(COMPATIBILITY_RULES)) {
      expect(rule).toMatch(/^[a-z]+(-[a-z]+)*$/);
      expect(text.length).toBeGreaterThan(10);
      expect(text).not.toContain('\n');
    }
    for (const rule of [
      'required-added',
      'required-removed',
      'type-narrowed',
      'unanalysable-change',
      'property-removed-closed',
    ]) {
      expect(COMPATIBILITY_RULES).toHaveProperty([rule]);
    }
  });
});

describe('checkCompatibility: what the validator does, not what arithmetic says', () => {
  it.each<[string, JsonSchema, JsonSchema, unknown]>([
    ['a decimal multipleOf step', { multipleOf: 0.01 }, { multipleOf: 0.001 }, 0.35],
    ['another decimal step', { multipleOf: 0.3 }, { multipleOf: 0.1 }, 0.3],
    ['a number format added', { type: 'integer' }, { type: 'integer', format: 'int32' }, 3e9],
  ])(
    'when %s would refuse a value the previous version allowed, then BACKWARD refuses it',
    (_, previous, next, value) => {
      // The value proves the break: valid under previous, invalid under next.
      expect(compileDataValidator(previous)(value)).toEqual([]);
      expect(compileDataValidator(next)(value)).not.toEqual([]);
      expect(checkCompatibility(previous, next, 'BACKWARD')).not.toEqual([]);
    },
  );
});
