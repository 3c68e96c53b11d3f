import { fullFormats } from 'ajv-formats/dist/formats';
import { JSON_SCHEMA_2020_12, type JsonSchema } from './model';

type Obj = Record<string, unknown>;

/** Formats given to strings when every sampled string at a place has one; the first in this
 * order wins. Checked with ajv-formats' own validators, so samples stay valid under the schema. */
const FORMATS = ['date-time', 'date', 'uuid', 'email', 'uri'] as const;

function formatCheck(name: (typeof FORMATS)[number]): (text: string) => boolean {
  const format: unknown = fullFormats[name];
  if (format instanceof RegExp) return (text) => format.test(text);
  if (typeof format === 'function') return (text) => Boolean(format(text));
  const validate = (format as { validate: RegExp | ((text: string) => boolean) }).validate;
  return validate instanceof RegExp ? (text) => validate.test(text) : (text) => validate(text);
}
const CHECKS = FORMATS.map((name) => [name, formatCheck(name)] as const);

function formatsOf(text: string): Set<string> {
  return new Set(CHECKS.filter(([, check]) => check(text)).map(([name]) => name));
}

/** What the samples at one place have shown. */
interface Shape {
  types: Set<string>;
  /** Formats every string so far matched (undefined until a string is seen). */
  formats?: Set<string>;
  /** Object samples: property → its shape, and in how many objects it appeared. */
  properties?: Map<string, { shape: Shape; count: number }>;
  objects: number;
  items?: Shape;
}

const emptyShape = (): Shape => ({ types: new Set(), objects: 0 });

function add(shape: Shape, value: unknown): void {
  if (value === null) shape.types.add('null');
  else if (typeof value === 'boolean') shape.types.add('boolean');
  else if (typeof value === 'number')
    shape.types.add(Number.isInteger(value) ? 'integer' : 'number');
  else if (typeof value === 'string') {
    shape.types.add('string');
    const found = formatsOf(value);
    shape.formats = shape.formats ? new Set([...shape.formats].filter((f) => found.has(f))) : found;
  } else if (Array.isArray(value)) {
    shape.types.add('array');
    shape.items ??= emptyShape();
    for (const item of value) add(shape.items, item);
  } else if (typeof value === 'object') {
    shape.types.add('object');
    shape.objects++;
    shape.properties ??= new Map();
    for (const [key, v] of Object.entries(value as Obj)) {
      let entry = shape.properties.get(key);
      if (!entry) {
        entry = { shape: emptyShape(), count: 0 };
        shape.properties.set(key, entry);
      }
      entry.count++;
      add(entry.shape, v);
    }
  }
  // undefined, functions, symbols, bigints: not JSON, nothing to describe
}

const TYPE_ORDER = ['object', 'array', 'string', 'integer', 'number', 'boolean', 'null'];

function toSchema(shape: Shape): Obj {
  const types = new Set(shape.types);
  if (types.has('number')) types.delete('integer');
  const list = TYPE_ORDER.filter((t) => types.has(t));
  const schema: Obj = {};
  if (list.length === 1) schema.type = list[0];
  else if (list.length > 1) schema.type = list;
  if (types.has('string') && shape.formats) {
    const format = FORMATS.find((f) => shape.formats!.has(f));
    if (format) schema.format = format;
  }
  if (types.has('object') && shape.properties) {
    const properties: Obj = {};
    const required: string[] = [];
    for (const [key, { shape: sub, count }] of shape.properties) {
      // defineProperty: a property named "__proto__" stays a property.
      Object.defineProperty(properties, key, {
        value: toSchema(sub),
        enumerable: true,
        writable: true,
        configurable: true,
      });
      if (count === shape.objects) required.push(key);
    }
    schema.properties = properties;
    if (required.length > 0) schema.required = required;
  }
  if (types.has('array') && shape.items && shape.items.types.size > 0) {
    schema.items = toSchema(shape.items);
  }
  return schema;
}

/**
 * A draft 2020-12 schema describing `samples` (the `data` of stored events): the union of their
 * types (integer and number merge to number; null adds "null"), objects' `properties` merged with
 * `required` = the properties every sampled object had, arrays' `items` merged, and a string
 * `format` (date-time, date, uuid, email, uri) when every sampled string at that place has it.
 * No enums, no bounds. Every sample is valid under the result.
 */
export function inferSchema(samples: unknown[]): JsonSchema {
  if (samples.length === 0) {
    return {
      $schema: JSON_SCHEMA_2020_12,
      description: 'Nothing was sampled: no stored event of this type to infer from.',
    };
  }
  const shape = emptyShape();
  for (const sample of samples) add(shape, sample);
  return { $schema: JSON_SCHEMA_2020_12, ...toSchema(shape) };
}
