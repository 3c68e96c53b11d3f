import { isDeepStrictEqual } from 'node:util';
import type { ValidateFunction } from 'ajv/dist/2020';
import {
  pointerToken,
  type Compatibility,
  type CompatibilityBreak,
  type JsonSchema,
} from './model';
import { createAjv } from './validate';

/*
 * Structural compatibility between two versions of a schema.
 *
 * Every check is phrased as "writer ⊆ reader": every instance valid under the writer's schema must
 * be valid under the reader's. BACKWARD: the writer is `previous`, the reader `next` (consumers on
 * `next` read data written under `previous`). FORWARD: the same check with the roles swapped, its
 * rules named for that direction (`required-removed` where BACKWARD says `required-added`).
 *
 * The checker is conservative: what it cannot reason about and differs between the two schemas is
 * an `unanalysable-change`; it never calls two schemas compatible when unsure, except for the one
 * documented convention below (the "open content model").
 *
 * Pointers are JSON pointers into the data: `/customer/email`; `/items/0` for a `prefixItems`
 * position; `/*` for "every (other) item" or "every other property" (`items`, `additionalProperties`).
 */

/** Each rule: its name when the writer is `previous` (BACKWARD), its name when the writer is
 * `next` (FORWARD), and one line for each. */
const RULES = {
  'required-added': [
    'required-removed',
    'next requires a property that previous did not require',
    'next no longer requires a property that previous required',
  ],
  'property-removed-closed': [
    'property-added-closed',
    'previous allowed a property (declared, or through additionalProperties) that next forbids with additionalProperties: false',
    'next allows a property (declared, or through additionalProperties) that previous forbade with additionalProperties: false',
  ],
  'additional-properties-closed': [
    'additional-properties-opened',
    'next sets additionalProperties: false where previous allowed undeclared properties',
    'next allows undeclared properties where previous had additionalProperties: false',
  ],
  'items-closed': [
    'items-opened',
    'next forbids array items (items: false after prefixItems) that previous allowed',
    'next allows array items that previous forbade (items: false after prefixItems)',
  ],
  'value-forbidden': [
    'value-allowed',
    'next accepts no value (schema false) where previous accepted some',
    'next accepts values where previous accepted none (schema false)',
  ],
  'type-narrowed': [
    'type-widened',
    'next does not accept a type previous accepted (number → integer narrows)',
    'next accepts a type previous did not (integer → number widens)',
  ],
  'enum-narrowed': [
    'enum-widened',
    "next's enum (or const) lacks a value previous allowed, or next adds an enum/const",
    'next allows a value outside the enum (or const) previous had, or drops the enum/const',
  ],
  'const-changed': [
    'const-changed',
    'the const value differs between the versions',
    'the const value differs between the versions',
  ],
  'minimum-raised': [
    'minimum-lowered',
    "next's minimum is higher than previous's (or new)",
    "next's minimum is lower than previous's (or removed)",
  ],
  'maximum-lowered': [
    'maximum-raised',
    "next's maximum is lower than previous's (or new)",
    "next's maximum is higher than previous's (or removed)",
  ],
  'exclusive-minimum-raised': [
    'exclusive-minimum-lowered',
    "next's exclusiveMinimum is tighter than previous's lower bound (or new)",
    "next's lower bound is looser than previous's exclusiveMinimum (or removed)",
  ],
  'exclusive-maximum-lowered': [
    'exclusive-maximum-raised',
    "next's exclusiveMaximum is tighter than previous's upper bound (or new)",
    "next's upper bound is looser than previous's exclusiveMaximum (or removed)",
  ],
  'multiple-of-changed': [
    'multiple-of-changed',
    'multipleOf was added or changed so that values valid under the writer may not be multiples',
    'multipleOf was added or changed so that values valid under the writer may not be multiples',
  ],
  'min-length-raised': [
    'min-length-lowered',
    "next's minLength is higher than previous's (or new)",
    "next's minLength is lower than previous's (or removed)",
  ],
  'max-length-lowered': [
    'max-length-raised',
    "next's maxLength is lower than previous's (or new)",
    "next's maxLength is higher than previous's (or removed)",
  ],
  'pattern-added': [
    'pattern-removed',
    'next adds a pattern where previous had none',
    'next drops the pattern previous had',
  ],
  'pattern-changed': [
    'pattern-changed',
    'the pattern differs between the versions',
    'the pattern differs between the versions',
  ],
  'format-added': [
    'format-removed',
    'next adds a format where previous had none',
    'next drops the format previous had',
  ],
  'format-changed': [
    'format-changed',
    'the format differs between the versions',
    'the format differs between the versions',
  ],
  'min-items-raised': [
    'min-items-lowered',
    "next's minItems is higher than previous's (or new)",
    "next's minItems is lower than previous's (or removed)",
  ],
  'max-items-lowered': [
    'max-items-raised',
    "next's maxItems is lower than previous's (or new)",
    "next's maxItems is higher than previous's (or removed)",
  ],
  'unique-items-added': [
    'unique-items-removed',
    'next requires uniqueItems where previous did not',
    'next no longer requires uniqueItems',
  ],
  'min-properties-raised': [
    'min-properties-lowered',
    "next's minProperties is higher than previous's (or new)",
    "next's minProperties is lower than previous's (or removed)",
  ],
  'max-properties-lowered': [
    'max-properties-raised',
    "next's maxProperties is lower than previous's (or new)",
    "next's maxProperties is higher than previous's (or removed)",
  ],
  'unanalysable-change': [
    'unanalysable-change',
    'a keyword the checker cannot reason about structurally (allOf, anyOf, oneOf, not, if/then/else, $ref, dependentRequired, patternProperties, unevaluated*, unknown keywords…) differs; assumed incompatible',
    'a keyword the checker cannot reason about structurally (allOf, anyOf, oneOf, not, if/then/else, $ref, dependentRequired, patternProperties, unevaluated*, unknown keywords…) differs; assumed incompatible',
  ],
} as const satisfies Record<string, readonly [string, string, string]>;

type Rule = keyof typeof RULES;

/** Every rule {@link checkCompatibility} can emit → a one-line explanation (for docs). */
export const COMPATIBILITY_RULES: Record<string, string> = Object.fromEntries(
  (Object.entries(RULES) as [Rule, readonly [string, string, string]][]).flatMap(
    ([backward, [forward, backwardText, forwardText]]) =>
      backward === forward
        ? [[backward, backwardText]]
        : [
            [backward, `${backwardText} (BACKWARD).`],
            [forward, `${forwardText} (FORWARD).`],
          ],
  ),
);

/** Keywords that never change which instances are valid (annotations, containers, identifiers). */
const INERT = new Set([
  '$schema',
  '$id',
  '$anchor',
  '$dynamicAnchor',
  '$vocabulary',
  '$comment',
  '$defs',
  'definitions',
  'title',
  'description',
  'default',
  'examples',
  'deprecated',
  'readOnly',
  'writeOnly',
  'contentMediaType',
  'contentEncoding',
  'contentSchema',
]);
/** Assertions that look at the instance alone (no subschemas): checkable on a single value. */
const LOCAL = [
  'type',
  'enum',
  'const',
  'multipleOf',
  'maximum',
  'exclusiveMaximum',
  'minimum',
  'exclusiveMinimum',
  'maxLength',
  'minLength',
  'pattern',
  'format',
  'maxItems',
  'minItems',
  'uniqueItems',
  'maxProperties',
  'minProperties',
  'required',
  'dependentRequired',
] as const;
/** Keywords the checker reasons about (the rest, when they differ, are unanalysable). */
const ANALYSED = new Set<string>([
  ...LOCAL.filter((k) => k !== 'dependentRequired'),
  'properties',
  'additionalProperties',
  'items',
  'prefixItems',
]);

const JSON_TYPES = ['null', 'boolean', 'object', 'array', 'number', 'string'] as const;
const ALL_TYPES = [...JSON_TYPES, 'integer'];

type Obj = Record<string, unknown>;
/** A subschema and the schema resource (root, or nearest `$id`) its `#…` references resolve in. */
interface Side {
  schema: Obj | boolean;
  root: Obj;
}
interface Ctx {
  w: string;
  r: string;
  forward: boolean;
  out: CompatibilityBreak[];
  pairs: WeakMap<object, WeakSet<object>>;
}

function isObj(value: unknown): value is Obj {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function child(parent: Side, schema: unknown): Side {
  if (schema === undefined || schema === true) return { schema: true, root: parent.root };
  if (schema === false) return { schema: false, root: parent.root };
  if (!isObj(schema)) return { schema: {}, root: parent.root }; // shapes are checked before
  return { schema, root: typeof schema.$id === 'string' ? schema : parent.root };
}

function emit(ctx: Ctx, rule: Rule, pointer: string, message: string): void {
  const name = ctx.forward ? RULES[rule][0] : rule;
  if (ctx.out.some((b) => b.rule === name && b.pointer === pointer)) return;
  ctx.out.push({ rule: name, pointer, message });
}

/** Resolves a local reference (`#`, `#/json/pointer`, `#anchor`) in `root`; undefined when it
 * cannot. */
function resolveRef(ref: string, root: Obj): Side | undefined {
  if (!ref.startsWith('#')) return undefined;
  let fragment: string;
  try {
    fragment = decodeURIComponent(ref.slice(1));
  } catch {
    return undefined;
  }
  if (fragment === '') return { schema: root, root };
  if (!fragment.startsWith('/')) {
    const found: Obj[] = [];
    const walk = (node: unknown, depth: number): void => {
      if (depth > 64) return;
      if (Array.isArray(node)) node.forEach((n) => walk(n, depth + 1));
      else if (isObj(node)) {
        if (node.$anchor === fragment || node.$dynamicAnchor === fragment) found.push(node);
        Object.values(node).forEach((n) => walk(n, depth + 1));
      }
    };
    walk(root, 0);
    return found.length === 1 ? child({ schema: root, root }, found[0]) : undefined;
  }
  let node: unknown = root;
  let resource = root;
  for (const raw of fragment.slice(1).split('/')) {
    const token = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (Array.isArray(node) && /^(0|[1-9][0-9]*)$/.test(token)) node = node[Number(token)];
    else if (isObj(node) && Object.prototype.hasOwnProperty.call(node, token)) node = node[token];
    else return undefined;
    if (isObj(node) && typeof node.$id === 'string') resource = node;
  }
  if (typeof node === 'boolean') return { schema: node, root: resource };
  return isObj(node) ? { schema: node, root: resource } : undefined;
}

/** Deep equality where a `$ref` (or `$dynamicRef`) also requires equivalent targets, so two
 * identical texts whose referenced definitions changed are not equivalent. */
function equivalent(
  a: unknown,
  aRoot: Obj,
  b: unknown,
  bRoot: Obj,
  seen: WeakMap<object, WeakSet<object>>,
): boolean {
  if (a === b && aRoot === bRoot) return true;
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
    return a.every((x, i) => equivalent(x, aRoot, b[i], bRoot, seen));
  }
  if (!isObj(a) || !isObj(b)) return isDeepStrictEqual(a, b);
  const done = seen.get(a);
  if (done?.has(b)) return true;
  if (done) done.add(b);
  else seen.set(a, new WeakSet([b]));
  const aRes = typeof a.$id === 'string' ? a : aRoot;
  const bRes = typeof b.$id === 'string' ? b : bRoot;
  const keys = Object.keys(a);
  if (keys.length !== Object.keys(b).length) return false;
  for (const key of keys) {
    if (!Object.prototype.hasOwnProperty.call(b, key)) return false;
    if (!equivalent(a[key], aRes, b[key], bRes, seen)) return false;
    if ((key === '$ref' || key === '$dynamicRef') && typeof a[key] === 'string') {
      if (key === '$dynamicRef') return false; // dynamic scope: never assumed equal
      const ta = resolveRef(a[key], aRes);
      const tb = resolveRef(b[key] as string, bRes);
      if (!ta || !tb || !equivalent(ta.schema, ta.root, tb.schema, tb.root, seen)) return false;
    }
  }
  return true;
}

function activeKeys(schema: Obj): string[] {
  return Object.keys(schema).filter((k) => !INERT.has(k) && !k.startsWith('x-'));
}

/** Follows a schema that is only a `$ref` (plus inert keywords) to its target. */
function deref(side: Side): Side | undefined {
  let current = side;
  for (let hops = 0; hops < 32; hops++) {
    if (typeof current.schema === 'boolean') return current;
    const keys = activeKeys(current.schema);
    if (keys.length !== 1 || keys[0] !== '$ref' || typeof current.schema.$ref !== 'string') {
      return current;
    }
    const target = resolveRef(current.schema.$ref, current.root);
    if (!target) return undefined;
    current = target;
  }
  return undefined;
}

const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const isCount = (v: unknown): v is number => Number.isInteger(v) && (v as number) >= 0;
const SHAPES: Record<string, (v: unknown) => boolean> = {
  type: (v) =>
    typeof v === 'string'
      ? ALL_TYPES.includes(v)
      : Array.isArray(v) &&
        v.length > 0 &&
        v.every((t) => typeof t === 'string' && ALL_TYPES.includes(t)),
  enum: Array.isArray,
  multipleOf: (v) => isNum(v) && v > 0,
  maximum: isNum,
  exclusiveMaximum: isNum,
  minimum: isNum,
  exclusiveMinimum: isNum,
  maxLength: isCount,
  minLength: isCount,
  pattern: (v) => typeof v === 'string',
  format: (v) => typeof v === 'string',
  maxItems: isCount,
  minItems: isCount,
  uniqueItems: (v) => typeof v === 'boolean',
  maxProperties: isCount,
  minProperties: isCount,
  required: (v) => Array.isArray(v) && v.every((x) => typeof x === 'string'),
  properties: (v) => isObj(v) && Object.values(v).every((s) => isObj(s) || typeof s === 'boolean'),
  additionalProperties: (v) => isObj(v) || typeof v === 'boolean',
  items: (v) => isObj(v) || typeof v === 'boolean',
  prefixItems: (v) => Array.isArray(v) && v.every((s) => isObj(s) || typeof s === 'boolean'),
};

function valueType(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  return typeof v;
}

function declaredTypes(schema: Obj): string[] {
  const t = schema.type;
  if (t === undefined) return [...JSON_TYPES];
  return Array.isArray(t) ? (t as string[]) : [t as string];
}

function covers(types: readonly string[], t: string): boolean {
  return types.includes(t) || (t === 'integer' && types.includes('number'));
}

/** The instance types a schema lets through, from `type` and (when finite) `enum`/`const`. */
function admittedTypes(schema: Obj, values: unknown[] | undefined): string[] {
  const declared = declaredTypes(schema);
  if (!values) return declared;
  return [...new Set(values.map(valueType))].filter((t) => covers(declared, t));
}

const LOCAL_CACHE_SIZE = 512;
const localCache = new Map<string, ValidateFunction>();
let localAjv = createAjv();

/** A validator for the single-value assertions of `schema` (no subschemas, no references). */
function localValidator(schema: Obj): ValidateFunction {
  const local: Obj = {};
  for (const k of LOCAL) if (k in schema) local[k] = schema[k];
  const key = JSON.stringify(local);
  let fn = localCache.get(key);
  if (!fn) {
    if (localCache.size >= LOCAL_CACHE_SIZE) {
      localCache.clear();
      localAjv = createAjv();
    }
    fn = localAjv.compile(local);
    localAjv.removeSchema(local);
    localCache.set(key, fn);
  }
  return fn;
}

/** The values an `enum`/`const` schema allows (before its other assertions), or undefined. */
function finiteValues(schema: Obj): unknown[] | undefined {
  const hasConst = 'const' in schema;
  const list = Array.isArray(schema.enum) ? schema.enum : undefined;
  if (hasConst && list)
    return list.some((v) => isDeepStrictEqual(v, schema.const)) ? [schema.const] : [];
  if (hasConst) return [schema.const];
  return list;
}

const show = (v: unknown): string => JSON.stringify(v);
const at = (pointer: string): string => pointer || '(root)';

const KEYWORD_RULES: Partial<Record<string, Rule>> = {
  type: 'type-narrowed',
  enum: 'enum-narrowed',
  minimum: 'minimum-raised',
  maximum: 'maximum-lowered',
  exclusiveMinimum: 'exclusive-minimum-raised',
  exclusiveMaximum: 'exclusive-maximum-lowered',
  multipleOf: 'multiple-of-changed',
  minLength: 'min-length-raised',
  maxLength: 'max-length-lowered',
  minItems: 'min-items-raised',
  maxItems: 'max-items-lowered',
  uniqueItems: 'unique-items-added',
  minProperties: 'min-properties-raised',
  maxProperties: 'max-properties-lowered',
  required: 'required-added',
};

/** Writer finite (enum/const): check each value it allows against the reader's assertions. */
function compareValues(w: Obj, values: unknown[], r: Obj, pointer: string, ctx: Ctx): void {
  let wLocal: ValidateFunction;
  let rLocal: ValidateFunction;
  try {
    wLocal = localValidator(w);
    rLocal = localValidator(r);
  } catch (error) {
    emit(
      ctx,
      'unanalysable-change',
      pointer,
      `cannot compile the assertions at ${at(pointer)}: ${(error as Error).message}`,
    );
    return;
  }
  for (const value of values) {
    if (!wLocal(value) || rLocal(value)) continue;
    for (const error of rLocal.errors ?? []) {
      const k = error.keyword;
      let rule: Rule;
      if (k === 'const') rule = 'const' in w ? 'const-changed' : 'enum-narrowed';
      else if (k === 'pattern') rule = 'pattern' in w ? 'pattern-changed' : 'pattern-added';
      else if (k === 'format') rule = 'format' in w ? 'format-changed' : 'format-added';
      else rule = KEYWORD_RULES[k] ?? 'unanalysable-change';
      const where =
        k === 'required' || k === 'dependentRequired'
          ? `${pointer}/${pointerToken(String((error.params as Obj).missingProperty))}`
          : pointer;
      emit(
        ctx,
        rule,
        where,
        `${ctx.w} allows ${show(value)} at ${at(pointer)}, which ${ctx.r} refuses (${k}: ${error.message ?? 'fails'})`,
      );
    }
  }
}

interface Bound {
  value: number;
  exclusive: boolean;
  keyword: string;
}

function bound(schema: Obj, lower: boolean, intOnly: boolean): Bound | undefined {
  const inclusiveKw = lower ? 'minimum' : 'maximum';
  const exclusiveKw = lower ? 'exclusiveMinimum' : 'exclusiveMaximum';
  const candidates: Bound[] = [];
  const tighter = (a: Bound, b: Bound) =>
    lower
      ? a.value > b.value || (a.value === b.value && a.exclusive && !b.exclusive)
      : a.value < b.value || (a.value === b.value && a.exclusive && !b.exclusive);
  if (isNum(schema[inclusiveKw])) {
    const v = schema[inclusiveKw] as number;
    candidates.push({
      value: intOnly ? (lower ? Math.ceil(v) : Math.floor(v)) : v,
      exclusive: false,
      keyword: inclusiveKw,
    });
  }
  if (isNum(schema[exclusiveKw])) {
    const v = schema[exclusiveKw] as number;
    candidates.push(
      intOnly
        ? {
            value: lower ? Math.floor(v) + 1 : Math.ceil(v) - 1,
            exclusive: false,
            keyword: exclusiveKw,
          }
        : { value: v, exclusive: true, keyword: exclusiveKw },
    );
  }
  return candidates.reduce<Bound | undefined>(
    (best, c) => (!best || tighter(c, best) ? c : best),
    undefined,
  );
}

/** Whether every multiple of `a` is surely a multiple of `b` as the validator tests it
 * (x / b an integer, in floating point): only when they are equal, or integers with b dividing
 * a. Decimal steps (0.01 against 0.001) are not trusted: 0.35 / 0.001 is not an integer in
 * floating point, and the validator would refuse a value the writer allowed. */
function isMultiple(a: number, b: number): boolean {
  return a === b || (Number.isInteger(a) && Number.isInteger(b) && a % b === 0);
}

/** Writer not finite: compare the single-value assertions keyword by keyword. */
function compareAssertions(
  w: Obj,
  r: Obj,
  wTypes: string[],
  rTypes: string[],
  pointer: string,
  ctx: Ctx,
): void {
  const missing = wTypes.filter((t) => !covers(rTypes, t));
  if (missing.length > 0) {
    emit(
      ctx,
      'type-narrowed',
      pointer,
      `${ctx.r} does not accept ${missing.join(', ')} at ${at(pointer)}, which ${ctx.w} accepted`,
    );
  }
  if ('const' in r) {
    emit(
      ctx,
      'enum-narrowed',
      pointer,
      `${ctx.r} allows only ${show(r.const)} at ${at(pointer)}, where ${ctx.w} had no enum or const`,
    );
  } else if (Array.isArray(r.enum)) {
    emit(
      ctx,
      'enum-narrowed',
      pointer,
      `${ctx.r} adds an enum at ${at(pointer)}, where ${ctx.w} had none`,
    );
  }
  const live = wTypes.filter((t) => covers(rTypes, t));
  const has = (t: string) => live.includes(t) || (t === 'number' && live.includes('integer'));

  if (has('number')) {
    const intOnly = !live.includes('number');
    for (const lower of [true, false]) {
      const rb = bound(r, lower, intOnly);
      const wb = bound(w, lower, intOnly);
      if (!rb) continue;
      const tighter = !wb
        ? true
        : lower
          ? rb.value > wb.value || (rb.value === wb.value && rb.exclusive && !wb.exclusive)
          : rb.value < wb.value || (rb.value === wb.value && rb.exclusive && !wb.exclusive);
      if (tighter) {
        const rule = KEYWORD_RULES[rb.keyword]!;
        const was = wb ? `${wb.keyword} ${wb.value}` : 'no bound';
        emit(
          ctx,
          rule,
          pointer,
          `${ctx.r} has ${rb.keyword} ${String(r[rb.keyword])} at ${at(pointer)}, where ${ctx.w} had ${was}`,
        );
      }
    }
    if (isNum(r.multipleOf)) {
      const m = r.multipleOf;
      const ok =
        (isNum(w.multipleOf) && isMultiple(w.multipleOf, m)) || (intOnly && isMultiple(1, m));
      if (!ok) {
        emit(
          ctx,
          'multiple-of-changed',
          pointer,
          `${ctx.r} requires multiples of ${m} at ${at(pointer)}, ${ctx.w} ${isNum(w.multipleOf) ? `multiples of ${w.multipleOf}` : 'any number'}`,
        );
      }
    }
  }
  // Formats constrain numbers too (int32, int64, float, double): checked whatever the type.
  if (typeof r.format === 'string' && r.format !== w.format) {
    emit(
      ctx,
      'format' in w ? 'format-changed' : 'format-added',
      pointer,
      `${ctx.r} has format ${show(r.format)} at ${at(pointer)}, ${ctx.w} ${'format' in w ? show(w.format) : 'no format'}`,
    );
  }
  if (has('string')) {
    countRule(ctx, w, r, 'minLength', true, pointer);
    countRule(ctx, w, r, 'maxLength', false, pointer);
    for (const k of ['pattern'] as const) {
      if (typeof r[k] !== 'string' || r[k] === w[k]) continue;
      const rule: Rule = k in w ? `${k}-changed` : `${k}-added`;
      emit(
        ctx,
        rule,
        pointer,
        `${ctx.r} has ${k} ${show(r[k])} at ${at(pointer)}, ${ctx.w} ${k in w ? show(w[k]) : `no ${k}`}`,
      );
    }
  }
  if (has('array')) {
    countRule(ctx, w, r, 'minItems', true, pointer);
    countRule(ctx, w, r, 'maxItems', false, pointer);
    if (r.uniqueItems === true && w.uniqueItems !== true) {
      emit(
        ctx,
        'unique-items-added',
        pointer,
        `${ctx.r} requires unique items at ${at(pointer)}, ${ctx.w} did not`,
      );
    }
  }
  if (has('object')) {
    countRule(ctx, w, r, 'minProperties', true, pointer);
    countRule(ctx, w, r, 'maxProperties', false, pointer);
    const wRequired = new Set((w.required as string[] | undefined) ?? []);
    for (const name of (r.required as string[] | undefined) ?? []) {
      if (wRequired.has(name)) continue;
      emit(
        ctx,
        'required-added',
        `${pointer}/${pointerToken(name)}`,
        `${ctx.r} requires "${name}", which ${ctx.w} did not: data written under ${ctx.w} may lack it`,
      );
    }
  }
}

function countRule(ctx: Ctx, w: Obj, r: Obj, k: string, isMin: boolean, pointer: string): void {
  const rv = r[k];
  if (!isCount(rv)) return;
  const wv = w[k];
  const tighter = isMin ? rv > (isCount(wv) ? wv : 0) : !isCount(wv) || rv < wv;
  if (tighter) {
    emit(
      ctx,
      KEYWORD_RULES[k]!,
      pointer,
      `${ctx.r} has ${k} ${rv} at ${at(pointer)}, ${ctx.w} ${isCount(wv) ? `${k} ${wv}` : `no ${k}`}`,
    );
  }
}

function compareObjects(
  w: Side & { schema: Obj },
  r: Side & { schema: Obj },
  pointer: string,
  ctx: Ctx,
): void {
  const wProps = (w.schema.properties as Obj | undefined) ?? {};
  const rProps = (r.schema.properties as Obj | undefined) ?? {};
  const has = (o: Obj, k: string) => Object.prototype.hasOwnProperty.call(o, k);
  const wAp = child(w, w.schema.additionalProperties);
  const rAp = child(r, r.schema.additionalProperties);
  for (const name of new Set([...Object.keys(wProps), ...Object.keys(rProps)])) {
    const here = `${pointer}/${pointerToken(name)}`;
    const inW = has(wProps, name);
    const inR = has(rProps, name);
    // Open content model (the convention of Confluent's and most JSON Schema registries): a
    // property the reader declares and the writer left to an open additionalProperties (unset or
    // true) is compatible, although, strictly, writer data could hold that name with any value.
    // When the writer's additionalProperties is a schema, the new property must not narrow it.
    if (!inW && wAp.schema === true) continue;
    const ws = inW ? child(w, wProps[name]) : wAp;
    const rs = inR ? child(r, rProps[name]) : rAp;
    if (!inR && rs.schema === false && ws.schema !== false) {
      emit(
        ctx,
        'property-removed-closed',
        here,
        `${ctx.w} allowed "${name}"${inW ? '' : ' through additionalProperties'}, which ${ctx.r} forbids (additionalProperties: false)`,
      );
      continue;
    }
    compare(ws, rs, here, ctx);
  }
  if (rAp.schema === false && wAp.schema !== false) {
    emit(
      ctx,
      'additional-properties-closed',
      pointer,
      `${ctx.r} sets additionalProperties: false at ${at(pointer)}, where ${ctx.w} allowed undeclared properties`,
    );
  } else {
    compare(wAp, rAp, `${pointer}/*`, ctx);
  }
}

function compareArrays(
  w: Side & { schema: Obj },
  r: Side & { schema: Obj },
  pointer: string,
  ctx: Ctx,
): void {
  const wPre = (w.schema.prefixItems as unknown[] | undefined) ?? [];
  const rPre = (r.schema.prefixItems as unknown[] | undefined) ?? [];
  const wItems = child(w, w.schema.items);
  const rItems = child(r, r.schema.items);
  const closed = (index: number | '*') =>
    emit(
      ctx,
      'items-closed',
      pointer,
      `${ctx.r} allows no item ${index === '*' ? 'beyond its prefixItems' : `at index ${index}`} at ${at(pointer)}, where ${ctx.w} allowed one`,
    );
  for (let i = 0; i < Math.max(wPre.length, rPre.length); i++) {
    const ws = i < wPre.length ? child(w, wPre[i]) : wItems;
    const rs = i < rPre.length ? child(r, rPre[i]) : rItems;
    if (i >= rPre.length && rs.schema === false && ws.schema !== false) {
      closed(i);
      continue;
    }
    compare(ws, rs, `${pointer}/${i}`, ctx);
  }
  if (rItems.schema === false && wItems.schema !== false) closed('*');
  else compare(wItems, rItems, `${pointer}/*`, ctx);
}

function compare(wIn: Side, rIn: Side, pointer: string, ctx: Ctx): void {
  const w = deref(wIn);
  const r = deref(rIn);
  if (!w || !r) {
    if (!equivalent(wIn.schema, wIn.root, rIn.schema, rIn.root, new WeakMap())) {
      emit(
        ctx,
        'unanalysable-change',
        pointer,
        `a $ref at ${at(pointer)} cannot be resolved, and the schemas differ there`,
      );
    }
    return;
  }
  if (w.schema === false) return; // the writer allows nothing here
  if (r.schema === true) return; // the reader allows anything here
  if (typeof r.schema === 'object' && activeKeys(r.schema).length === 0) return;
  if (r.schema === false) {
    emit(
      ctx,
      'value-forbidden',
      pointer,
      `${ctx.r} accepts no value at ${at(pointer)}, where ${ctx.w} accepted some`,
    );
    return;
  }
  const ws: Obj = w.schema === true ? {} : w.schema;
  const rs: Obj = r.schema;
  // Coinduction on references: a pair reached again through $ref (a recursive schema) is
  // assumed compatible.
  if (w !== wIn || r !== rIn) {
    const seen = ctx.pairs.get(ws);
    if (seen?.has(rs)) return;
    if (seen) seen.add(rs);
    else ctx.pairs.set(ws, new WeakSet([rs]));
  }
  if (equivalent(ws, w.root, rs, r.root, new WeakMap())) return;

  const keys = new Set([...activeKeys(ws), ...activeKeys(rs)]);
  // Wrapped in an object so that a `$ref` keyword is compared by its target too.
  const differs = (k: string) =>
    !equivalent({ [k]: ws[k] }, w.root, { [k]: rs[k] }, r.root, new WeakMap());
  for (const k of keys) {
    if (ANALYSED.has(k)) {
      const shape = SHAPES[k];
      const bad = shape && ((k in ws && !shape(ws[k])) || (k in rs && !shape(rs[k])));
      if (bad && differs(k)) {
        emit(
          ctx,
          'unanalysable-change',
          pointer,
          `"${k}" at ${at(pointer)} is malformed and differs`,
        );
        return;
      }
    } else if (k === 'unevaluatedProperties' || k === 'unevaluatedItems') {
      emit(
        ctx,
        'unanalysable-change',
        pointer,
        `"${k}" depends on the whole schema at ${at(pointer)}, which differs`,
      );
      return;
    } else if (differs(k)) {
      emit(
        ctx,
        'unanalysable-change',
        pointer,
        `"${k}" differs at ${at(pointer)}; the checker cannot compare it`,
      );
    }
  }
  const patternProps = 'patternProperties' in ws || 'patternProperties' in rs;

  const values = finiteValues(ws);
  const wTypes = admittedTypes(ws, values);
  const rTypes = declaredTypes(rs);
  if (values) compareValues(ws, values, rs, pointer, ctx);
  else compareAssertions(ws, rs, wTypes, rTypes, pointer, ctx);

  const live = wTypes.filter((t) => covers(rTypes, t));
  if (live.includes('object')) {
    if (patternProps) {
      if (differs('properties') || differs('additionalProperties')) {
        emit(
          ctx,
          'unanalysable-change',
          pointer,
          `properties or additionalProperties differ at ${at(pointer)} beside patternProperties`,
        );
      }
    } else {
      compareObjects({ ...w, schema: ws }, { ...r, schema: rs }, pointer, ctx);
    }
  }
  if (live.includes('array'))
    compareArrays({ ...w, schema: ws }, { ...r, schema: rs }, pointer, ctx);
}

function directional(
  writer: JsonSchema,
  reader: JsonSchema,
  forward: boolean,
): CompatibilityBreak[] {
  const ctx: Ctx = {
    w: forward ? 'next' : 'previous',
    r: forward ? 'previous' : 'next',
    forward,
    out: [],
    pairs: new WeakMap(),
  };
  compare({ schema: writer, root: writer }, { schema: reader, root: reader }, '', ctx);
  return ctx.out;
}

/**
 * The rules `next` breaks against `previous` under `mode`: BACKWARD (data written under
 * `previous` must be valid under `next`), FORWARD (data written under `next` must be valid under
 * `previous`), FULL (both, deduplicated), NONE (nothing is checked). Empty when compatible.
 */
export function checkCompatibility(
  previous: JsonSchema,
  next: JsonSchema,
  mode: Compatibility,
): CompatibilityBreak[] {
  if (mode === 'NONE' || isDeepStrictEqual(previous, next)) return [];
  const out: CompatibilityBreak[] = [];
  if (mode === 'BACKWARD' || mode === 'FULL') out.push(...directional(previous, next, false));
  if (mode === 'FORWARD' || mode === 'FULL') {
    for (const b of directional(next, previous, true)) {
      if (!out.some((o) => o.rule === b.rule && o.pointer === b.pointer)) out.push(b);
    }
  }
  return out;
}
