import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import { JSON_SCHEMA_2020_12, pointerToken, type DataViolation, type JsonSchema } from './model';
import safeRegex from 'safe-regex2';

/** At most this many violations are reported for one `data` value. */
export const MAX_DATA_VIOLATIONS = 20;
/** At most this many problems are reported for one schema document. */
const MAX_SCHEMA_PROBLEMS = 50;

/** Keywords whose value is one subschema (draft 2020-12, plus draft-07's `additionalItems`). */
const SCHEMA_KEYWORDS = [
  'additionalProperties',
  'items',
  'additionalItems',
  'contains',
  'propertyNames',
  'not',
  'if',
  'then',
  'else',
  'unevaluatedItems',
  'unevaluatedProperties',
  'contentSchema',
] as const;
/** Keywords whose value is an array of subschemas. */
const SCHEMA_ARRAY_KEYWORDS = ['allOf', 'anyOf', 'oneOf', 'prefixItems'] as const;
/** Keywords whose value is a map of name → subschema. */
const SCHEMA_MAP_KEYWORDS = [
  'properties',
  'patternProperties',
  'dependentSchemas',
  '$defs',
  'definitions',
] as const;

/** A fresh Ajv for draft 2020-12 with the ajv-formats formats: `allErrors`, not strict (unknown
 * keywords are annotations), silent, own properties only. One instance per compiled schema, so `$id`s never clash. */
export function createAjv(options: { validateSchema?: boolean } = {}): Ajv2020 {
  const ajv = new Ajv2020({
    allErrors: true,
    strict: false,
    logger: false,
    // Without it, `properties: { valueOf: … }` would check the inherited Object.prototype member.
    ownProperties: true,
    validateSchema: options.validateSchema ?? true,
  });
  addFormats(ajv);
  return ajv;
}

let metaAjv: Ajv2020 | undefined;
/** The shared instance that checks documents against the meta-schema (compiled once). */
function metaValidator(): Ajv2020 {
  metaAjv ??= createAjv();
  return metaAjv;
}

let formatNamesCache: Set<string> | undefined;
/** The formats the data validator checks (those of ajv-formats). */
export function knownFormats(): ReadonlySet<string> {
  formatNamesCache ??= new Set(Object.keys(createAjv().formats));
  return formatNamesCache;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
}

/** Where `value` is not plain JSON (cycles, undefined, functions, non-finite numbers, class
 * instances), one message naming the pointer; undefined when it is JSON. */
function notJson(value: unknown, pointer: string, ancestors: Set<object>): string | undefined {
  const at = pointer || '(root)';
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return undefined;
    case 'number':
      return Number.isFinite(value) ? undefined : `${at}: ${String(value)} is not a JSON number`;
    case 'object': {
      if (value === null) return undefined;
      if (ancestors.has(value)) return `${at}: the document is cyclic, not JSON`;
      if (!Array.isArray(value) && !isPlainObject(value)) return `${at}: not a JSON value`;
      ancestors.add(value);
      try {
        const entries: [string, unknown][] = Array.isArray(value)
          ? value.map((v, i) => [String(i), v])
          : Object.entries(value);
        for (const [key, child] of entries) {
          const problem = notJson(child, `${pointer}/${pointerToken(key)}`, ancestors);
          if (problem) return problem;
        }
        return undefined;
      } finally {
        ancestors.delete(value);
      }
    }
    default:
      return `${at}: a ${typeof value} is not a JSON value`;
  }
}

/** Calls `visit` on every subschema of `schema` that is an object (the root included), with its
 * JSON pointer in the document; follows only schema keywords, so property names and `const`,
 * `enum`, `default`, `examples` values are never mistaken for keywords. */
export function forEachSubschema(
  schema: unknown,
  visit: (subschema: Record<string, unknown>, pointer: string) => void,
  pointer = '',
): void {
  if (!isPlainObject(schema)) return;
  visit(schema, pointer);
  for (const keyword of SCHEMA_KEYWORDS) {
    if (keyword in schema) forEachSubschema(schema[keyword], visit, `${pointer}/${keyword}`);
  }
  for (const keyword of SCHEMA_ARRAY_KEYWORDS) {
    const list = schema[keyword];
    if (Array.isArray(list)) {
      list.forEach((sub, i) => forEachSubschema(sub, visit, `${pointer}/${keyword}/${i}`));
    }
  }
  for (const keyword of SCHEMA_MAP_KEYWORDS) {
    const map = schema[keyword];
    if (isPlainObject(map)) {
      for (const [name, sub] of Object.entries(map)) {
        forEachSubschema(sub, visit, `${pointer}/${keyword}/${pointerToken(name)}`);
      }
    }
  }
  // Draft-07 tuple form (`items: [...]`) is refused by the meta-schema; still walk it.
  if (Array.isArray(schema.items)) {
    schema.items.forEach((sub, i) => forEachSubschema(sub, visit, `${pointer}/items/${i}`));
  }
}

function isDraft202012(uri: unknown): boolean {
  return uri === JSON_SCHEMA_2020_12 || uri === `${JSON_SCHEMA_2020_12}#`;
}

function schemaErrorMessage(error: ErrorObject): string {
  const at = error.instancePath || '(root)';
  const params = error.params as Record<string, unknown>;
  let message = error.message ?? `fails ${error.keyword}`;
  if (error.keyword === 'enum' && Array.isArray(params.allowedValues)) {
    message = `must be one of: ${params.allowedValues.map(show).join(', ')}`;
  } else if (error.keyword === 'additionalProperties') {
    message = `must not have "${String(params.additionalProperty)}"`;
  }
  return `${at}: ${message}`;
}

/**
 * Problems that keep `schema` from being registered: it must be a JSON object that is a valid
 * JSON Schema draft 2020-12 document (`$schema`, when given, names 2020-12), whose every `$ref`
 * is local (`#…`), whose formats are ones the data validator knows, and that Ajv compiles
 * (references resolve, patterns are valid `u`-flag regular expressions). Empty when it can be.
 * Each message starts with the JSON pointer, inside the schema, of what it is about.
 */
export function checkSchemaDocument(schema: unknown): string[] {
  if (!isPlainObject(schema)) {
    const what = Array.isArray(schema)
      ? 'an array'
      : schema === null
        ? 'null'
        : typeof schema === 'boolean'
          ? `the boolean schema ${String(schema)}`
          : `a ${typeof schema}`;
    return [`(root): a schema must be a JSON object, not ${what}`];
  }
  // Depth first, iteratively: a deeply nested document must be a 400, not a stack overflow in
  // the checks below (or in the validator later).
  const depth = maxDepth(schema);
  if (depth > MAX_SCHEMA_DEPTH) {
    return [`(root): the schema nests ${depth} levels; at most ${MAX_SCHEMA_DEPTH} are allowed`];
  }
  const nonJson = notJson(schema, '', new Set());
  if (nonJson) return [nonJson];

  const problems: string[] = [];
  forEachSubschema(schema, (sub, pointer) => {
    if ('$schema' in sub && !isDraft202012(sub.$schema)) {
      problems.push(
        `${pointer}/$schema: only JSON Schema draft 2020-12 (${JSON_SCHEMA_2020_12}) is supported, not ${show(sub.$schema)}`,
      );
    }
    for (const keyword of ['$ref', '$dynamicRef'] as const) {
      const ref = sub[keyword];
      if (typeof ref === 'string' && !ref.startsWith('#')) {
        problems.push(
          `${pointer}/${keyword}: only local references ("#…") are allowed, not "${ref}"`,
        );
      }
    }
    // A pattern whose matching time can grow exponentially with the input (nested quantifiers,
    // as in ^(a+)+$) would let one event stall the service: refused.
    const patterns: [string, unknown][] = [
      ['pattern', sub.pattern],
      ...Object.keys(isPlainObject(sub.patternProperties) ? sub.patternProperties : {}).map(
        (k): [string, unknown] => [`patternProperties/${pointerToken(k)}`, k],
      ),
    ];
    for (const [where, pattern] of patterns) {
      if (typeof pattern === 'string' && !safeRegex(pattern)) {
        problems.push(
          `${pointer}/${where}: the pattern "${pattern}" can take exponential time to match (nested or overlapping repetition); write it without a repeated group that itself repeats`,
        );
      }
    }
    if (typeof sub.format === 'string' && !knownFormats().has(sub.format)) {
      problems.push(
        `${pointer}/format: unknown format "${sub.format}" (known: ${[...knownFormats()].join(', ')})`,
      );
    }
  });
  if (problems.length > 0) return problems.slice(0, MAX_SCHEMA_PROBLEMS);

  const meta = metaValidator();
  if (!meta.validateSchema(schema)) {
    const messages = (meta.errors ?? []).map(schemaErrorMessage);
    return [...new Set(messages)].slice(0, MAX_SCHEMA_PROBLEMS);
  }
  let validate: ValidateFunction;
  try {
    validate = createAjv({ validateSchema: false }).compile(schema);
  } catch (error) {
    return [`(root): the schema does not compile: ${(error as Error).message}`];
  }
  // A schema that refers to itself without consuming the data ({"allOf":[{"$ref":"#"}]}) loops
  // for ever on any value: tried on a few values here, so it is refused instead of failing
  // every event of its type.
  for (const probe of [null, {}, [], '', 0, true, { a: { b: [1] } }]) {
    try {
      validate(probe);
    } catch (error) {
      return [
        `(root): the schema cannot be checked (${(error as Error).message}): does it refer to itself without going deeper into the data?`,
      ];
    }
  }
  return [];
}

/** Deepest nesting of objects and arrays in a JSON value, counted without recursion. */
function maxDepth(value: unknown): number {
  let deepest = 0;
  const stack: [unknown, number][] = [[value, 1]];
  while (stack.length) {
    const [v, d] = stack.pop()!;
    if (v === null || typeof v !== 'object') continue;
    deepest = Math.max(deepest, d);
    if (deepest > MAX_SCHEMA_DEPTH) return deepest;
    for (const child of Object.values(v as object)) stack.push([child, d + 1]);
  }
  return deepest;
}

/** A value in a message: strings as written, anything else as JSON. */
function show(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}

function typeNames(type: unknown): string {
  const list = Array.isArray(type) ? type.map(String) : String(type).split(',');
  return list.length <= 1
    ? list.join('')
    : `${list.slice(0, -1).join(', ')} or ${list[list.length - 1]}`;
}

function violation(error: ErrorObject): DataViolation {
  const params = error.params as Record<string, unknown>;
  const at = `/data${error.instancePath}`;
  switch (error.keyword) {
    case 'required':
      return {
        pointer: `${at}/${pointerToken(String(params.missingProperty))}`,
        message: 'is required',
      };
    case 'dependentRequired':
      return {
        pointer: `${at}/${pointerToken(String(params.missingProperty))}`,
        message: `is required when "${String(params.property)}" is present`,
      };
    case 'additionalProperties':
      return {
        pointer: `${at}/${pointerToken(String(params.additionalProperty))}`,
        message: 'is not allowed',
      };
    case 'unevaluatedProperties':
      return {
        pointer: `${at}/${pointerToken(String(params.unevaluatedProperty))}`,
        message: 'is not allowed',
      };
    case 'type':
      return { pointer: at, message: `must be ${typeNames(params.type)}` };
    case 'enum':
      return {
        pointer: at,
        message: `must be one of: ${(params.allowedValues as unknown[]).map(show).join(', ')}`,
      };
    case 'const':
      return { pointer: at, message: `must be ${JSON.stringify(params.allowedValue)}` };
    case 'format':
      return { pointer: at, message: `must be a valid ${String(params.format)}` };
    case 'pattern':
      return { pointer: at, message: `must match the pattern ${String(params.pattern)}` };
    default:
      return { pointer: at, message: error.message ?? `fails ${error.keyword}` };
  }
}

const VALIDATOR_CACHE_SIZE = 256;
/** Deepest nesting a schema document may have (as JSON: objects and arrays). */
export const MAX_SCHEMA_DEPTH = 64;
const validatorCache = new Map<string, ValidateFunction>();

function compiled(schema: JsonSchema): ValidateFunction {
  const key = JSON.stringify(schema);
  const hit = validatorCache.get(key);
  if (hit) {
    // Most recently used last.
    validatorCache.delete(key);
    validatorCache.set(key, hit);
    return hit;
  }
  const meta = metaValidator();
  if (!meta.validateSchema(schema)) {
    throw new Error(`invalid schema: ${meta.errorsText(meta.errors)}`);
  }
  const validate = createAjv({ validateSchema: false }).compile(schema);
  validatorCache.set(key, validate);
  if (validatorCache.size > VALIDATOR_CACHE_SIZE) {
    validatorCache.delete(validatorCache.keys().next().value as string);
  }
  return validate;
}

/**
 * Compiles `schema` (once: validators are cached by the schema's JSON text) into a function
 * listing how a `data` value fails it: `[]` when it is valid, else at most
 * {@link MAX_DATA_VIOLATIONS} violations, each with a pointer inside the event (`/data/items/0/sku`;
 * for a missing or disallowed property, that property's pointer) and a human message.
 * Throws when the schema does not compile (check it with {@link checkSchemaDocument} first).
 */
export function compileDataValidator(schema: JsonSchema): (data: unknown) => DataViolation[] {
  const validate = compiled(schema);
  return (data) => {
    let valid: boolean;
    try {
      valid = validate(data) as boolean;
    } catch (error) {
      // Registration refuses schemas that fail so; should one still throw (stack depth on deep
      // data), the event is not valid rather than a 500.
      return [{ pointer: '/data', message: `could not be checked: ${(error as Error).message}` }];
    }
    if (valid) return [];
    const seen = new Set<string>();
    const out: DataViolation[] = [];
    for (const error of validate.errors ?? []) {
      const v = violation(error);
      const key = `${v.pointer}\u0000${v.message}`;
      if (seen.has(key)) continue;
      seen.add(key);
      out.push(v);
      if (out.length >= MAX_DATA_VIOLATIONS) break;
    }
    return out;
  };
}
