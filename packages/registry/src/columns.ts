import type { JsonSchema, ViewColumn } from './model';

/** Longest column name (BigQuery and DuckDB both accept it). */
export const MAX_COLUMN_NAME = 128;

type Kind = ViewColumn['kind'];
const SCALARS = new Set(['string', 'integer', 'number', 'boolean']);

function isObj(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The one non-null type of a subschema, or undefined (untyped, a union, not an object). */
function singleType(schema: unknown): string | undefined {
  if (!isObj(schema)) return undefined;
  const t = schema.type;
  const list = typeof t === 'string' ? [t] : Array.isArray(t) ? t : [];
  const nonNull = [...new Set(list.filter((x) => x !== 'null'))];
  return nonNull.length === 1 && typeof nonNull[0] === 'string' ? nonNull[0] : undefined;
}

function kindOf(schema: unknown): Kind {
  const type = singleType(schema);
  if (type && SCALARS.has(type)) return type as Kind;
  if (type === 'array' && isObj(schema)) {
    const items = singleType(schema.items);
    if (items && SCALARS.has(items)) return `${items}[]` as Kind;
  }
  return 'json';
}

/** The property made a SQL identifier: lower case, runs of other characters than a–z, 0–9 as
 * `_`, no leading/trailing `_`, `p_` before a leading digit or an empty result. */
export function columnName(property: string): string {
  const base = property
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '_')
    .replace(/^_+|_+$/g, '');
  const name = base === '' || /^[0-9]/.test(base) ? `p_${base}` : base;
  return name.slice(0, MAX_COLUMN_NAME);
}

/** Appends `suffix` keeping the name within {@link MAX_COLUMN_NAME}. */
function withSuffix(name: string, suffix: string): string {
  return `${name.slice(0, MAX_COLUMN_NAME - suffix.length)}${suffix}`;
}

/**
 * The typed-view columns of an object schema: one per top-level property, in `properties` order.
 * Kinds: integer, number, string, boolean (a union with "null" counts as its other type), arrays
 * of one scalar type as `<type>[]`, anything else `json`. A name colliding with `reserved` (the
 * envelope columns) or an earlier column is prefixed `data_`, then suffixed `_2`, `_3`… until
 * unique. A schema without `properties` has no columns.
 */
export function viewColumns(schema: JsonSchema, reserved: readonly string[]): ViewColumn[] {
  const properties = schema.properties;
  if (!isObj(properties)) return [];
  const taken = new Set(reserved.map((r) => r.toLowerCase()));
  const columns: ViewColumn[] = [];
  for (const [property, sub] of Object.entries(properties)) {
    let name = columnName(property);
    if (taken.has(name)) {
      const prefixed = withSuffix(`data_${name}`, '');
      name = prefixed;
      for (let n = 2; taken.has(name); n++) name = withSuffix(prefixed, `_${n}`);
    }
    taken.add(name);
    columns.push({ name, property, kind: kindOf(sub) });
  }
  return columns;
}
