/** A registered schema: a JSON Schema (2020-12) for the `data` of one event type, versioned. */

export const SCHEMA_MODES = ['enforce', 'warn', 'off'] as const;
export type SchemaMode = (typeof SCHEMA_MODES)[number];

export const COMPATIBILITIES = ['BACKWARD', 'FORWARD', 'FULL', 'NONE'] as const;
export type Compatibility = (typeof COMPATIBILITIES)[number];

/** A JSON Schema document (an object; the boolean schemas true/false are not registrable). */
export type JsonSchema = Record<string, unknown>;

export interface SchemaVersion {
  type: string;
  /** 1, 2, 3… per type. */
  version: number;
  schema: JsonSchema;
  /** The type's settings as of this version: the newest version's are the type's. */
  mode: SchemaMode;
  compatibility: Compatibility;
  /** Canonical RFC 3339 (microseconds, Z). */
  createdAt: string;
}

/** One rule a proposed version breaks, against the newest version (docs/SCHEMAS.md names them). */
export interface CompatibilityBreak {
  /** Stable rule name, e.g. `required-added`, `type-narrowed`. */
  rule: string;
  /** JSON pointer into the schema's instance (the data), e.g. `/customer/email`; '' for the root. */
  pointer: string;
  message: string;
}

/** One way a `data` value fails its schema. */
export interface DataViolation {
  /** JSON pointer inside the event: `/data/...` ('/data' for data itself). */
  pointer: string;
  message: string;
}

/** A column of a typed view: one top-level property of a schema. */
export interface ViewColumn {
  /** Column name: the property, made a valid SQL identifier (docs/SCHEMAS.md). */
  name: string;
  /** The property as written in the schema (the JSON path is `$."<property>"`). */
  property: string;
  kind:
    | 'string'
    | 'integer'
    | 'number'
    | 'boolean'
    | 'json'
    | 'string[]'
    | 'integer[]'
    | 'number[]'
    | 'boolean[]';
}

/** The view name of a type: `events_` + the type lower-cased, every run of characters other than
 * a–z and 0–9 turned into `_` (`com.example.order.created` → `events_com_example_order_created`). */
export function viewName(type: string): string {
  return `events_${type.toLowerCase().replace(/[^a-z0-9]+/g, '_')}`;
}

/** The `$schema` of every registered schema: JSON Schema draft 2020-12. */
export const JSON_SCHEMA_2020_12 = 'https://json-schema.org/draft/2020-12/schema';

/** Escapes one JSON pointer token (RFC 6901: `~` → `~0`, `/` → `~1`). */
export function pointerToken(token: string | number): string {
  return String(token).replace(/~/g, '~0').replace(/\//g, '~1');
}
