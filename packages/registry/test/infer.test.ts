import fc from 'fast-check';
import { inferSchema } from '../src/infer';
import { JSON_SCHEMA_2020_12 } from '../src/model';
import { checkSchemaDocument, compileDataValidator } from '../src/validate';

describe('inferSchema', () => {
  it('when nothing was sampled, then the schema has $schema and a description only', () => {
    const schema = inferSchema([]);
    expect(Object.keys(schema).sort()).toEqual(['$schema', 'description']);
    expect(schema.$schema).toBe(JSON_SCHEMA_2020_12);
    expect(schema.description).toMatch(/nothing was sampled/i);
    expect(checkSchemaDocument(schema)).toEqual([]);
  });

  it('when integers and numbers mix, then the type is number', () => {
    expect(inferSchema([1, 2.5, 3])).toEqual({ $schema: JSON_SCHEMA_2020_12, type: 'number' });
    expect(inferSchema([1, 2])).toEqual({ $schema: JSON_SCHEMA_2020_12, type: 'integer' });
  });

  it('when null appears, then "null" joins the type union', () => {
    expect(inferSchema([{ a: 'x' }, { a: null }])).toEqual({
      $schema: JSON_SCHEMA_2020_12,
      type: 'object',
      properties: { a: { type: ['string', 'null'] } },
      required: ['a'],
    });
  });

  it('when objects differ, then properties merge and required holds those in every object', () => {
    const schema = inferSchema([
      { id: 1, name: 'a', tags: ['x'] },
      { id: 2, extra: true },
      { id: 3, name: 'c', nested: { deep: 1 } },
    ]);
    expect(schema).toEqual({
      $schema: JSON_SCHEMA_2020_12,
      type: 'object',
      properties: {
        id: { type: 'integer' },
        name: { type: 'string' },
        tags: { type: 'array', items: { type: 'string' } },
        extra: { type: 'boolean' },
        nested: { type: 'object', properties: { deep: { type: 'integer' } }, required: ['deep'] },
      },
      required: ['id'],
    });
  });

  it('when samples are of several kinds, then the type lists each, and no enum appears', () => {
    const schema = inferSchema([{ a: 1 }, [1], 'x', 2, true, null]);
    expect(schema.type).toEqual(['object', 'array', 'string', 'integer', 'boolean', 'null']);
    expect(JSON.stringify(schema)).not.toContain('enum');
  });

  it('when array items differ, then their schemas merge', () => {
    const schema = inferSchema([[{ a: 1 }, { a: 2, b: 'x' }], [], [{ a: 1.5 }]]);
    expect(schema.items).toEqual({
      type: 'object',
      properties: { a: { type: 'number' }, b: { type: 'string' } },
      required: ['a'],
    });
    expect(inferSchema([[], []])).toEqual({ $schema: JSON_SCHEMA_2020_12, type: 'array' });
  });

  it.each([
    ['date-time', ['2024-01-02T03:04:05Z', '2024-12-31T23:59:59.123456+02:00']],
    ['date', ['2024-02-29', '1999-12-31']],
    ['email', ['a@example.com', 'b.c+d@sub.example.org']],
    ['uri', ['https://example.com/x?y=1', 'urn:isbn:0451450523']],
    ['uuid', ['0190a6f2-8b4c-7d1e-9a3b-1c2d3e4f5a6b', '00000000-0000-0000-0000-000000000000']],
  ])('when every string is a %s, then the format is set', (format, values) => {
    expect(inferSchema(values)).toEqual({ $schema: JSON_SCHEMA_2020_12, type: 'string', format });
  });

  it('when strings do not all share a format, then no format is set', () => {
    expect(inferSchema(['2024-01-02', 'a@example.com'])).toEqual({
      $schema: JSON_SCHEMA_2020_12,
      type: 'string',
    });
    expect(inferSchema(['2023-02-30'])).toEqual({ $schema: JSON_SCHEMA_2020_12, type: 'string' });
    expect(inferSchema(['2024-01-02T03:04:05'])).not.toHaveProperty('format');
  });

  it('when a property is named __proto__, then it is kept as a property', () => {
    const sample = JSON.parse('{"__proto__": {"x": 1}, "a": 1}') as unknown;
    const schema = inferSchema([sample]);
    expect(Object.keys(schema.properties as object)).toEqual(['__proto__', 'a']);
    expect(compileDataValidator(schema)(sample)).toEqual([]);
  });

  it('when samples are any JSON values, then each validates and the schema is registrable', () => {
    fc.assert(
      fc.property(fc.array(fc.jsonValue({ maxDepth: 4 }), { maxLength: 8 }), (samples) => {
        // Round-trip: samples are what stored events' JSON text parses to (-0 becomes 0).
        const parsed = samples.map((s) => JSON.parse(JSON.stringify(s)) as unknown);
        const schema = inferSchema(parsed);
        expect(checkSchemaDocument(schema)).toEqual([]);
        const validate = compileDataValidator(schema);
        for (const sample of parsed) expect(validate(sample)).toEqual([]);
      }),
      { numRuns: 150 },
    );
  });

  it('when samples are objects with string values of known formats, then each validates', () => {
    const formatted = fc.oneof(
      fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
      fc.date({ noInvalidDate: true }).map((d) => d.toISOString().slice(0, 10)),
      fc.uuid(),
      fc.emailAddress(),
      fc.webUrl(),
      fc.string(),
    );
    fc.assert(
      fc.property(
        fc.array(fc.dictionary(fc.constantFrom('a', 'b', 'c'), formatted), {
          minLength: 1,
          maxLength: 6,
        }),
        (samples) => {
          const schema = inferSchema(samples);
          expect(checkSchemaDocument(schema)).toEqual([]);
          const validate = compileDataValidator(schema);
          for (const sample of samples) expect(validate(sample)).toEqual([]);
        },
      ),
      { numRuns: 150 },
    );
  });
});
