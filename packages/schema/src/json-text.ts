/**
 * JSON text kept exactly as it was written.
 *
 * `JSON.parse` turns every number into a double, so `9007199254740993` comes back as
 * `9007199254740992`, `1e400` as `Infinity` (then `null`) and `1.0` as `1`. An event's `data` is
 * never taken through that: the publisher and the worker cut the text of `data` out of the body
 * they received (`eventDataTexts`) and every later step carries, stores and returns that text.
 * Node 20 has neither `JSON.rawJSON` nor the reviver's `source`, hence the scanner here.
 */

declare const jsonTextBrand: unique symbol;

/** The text of one valid JSON value, exactly as its writer wrote it. */
export type JsonText = string & { readonly [jsonTextBrand]: true };

/** Marks text the caller knows to be one valid JSON value. */
export const asJsonText = (text: string): JsonText => text as JsonText;

/** The JSON text of a value (JSON.stringify: numbers as doubles print). */
export const jsonTextOf = (value: unknown): JsonText => JSON.stringify(value) as JsonText;

const SPACE = 0x20;
const TAB = 0x09;
const LF = 0x0a;
const CR = 0x0d;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;

const isWhitespace = (c: number) => c === SPACE || c === LF || c === CR || c === TAB;

/** Walks JSON text that is known to be valid (JSON.parse accepted it). */
class Scanner {
  i = 0;
  constructor(readonly text: string) {}

  ws(): void {
    const t = this.text;
    while (this.i < t.length && isWhitespace(t.charCodeAt(this.i))) this.i++;
  }

  peek(): number {
    return this.text.charCodeAt(this.i);
  }

  /** At an opening quote: moves past the closing one. */
  string(): void {
    const t = this.text;
    let i = this.i + 1;
    for (;;) {
      const c = t.charCodeAt(i);
      if (c === BACKSLASH) i += 2;
      else if (c === QUOTE) break;
      else i++;
    }
    this.i = i + 1;
  }

  /** At the first character of a value: moves past its last. */
  value(): void {
    const t = this.text;
    const c = t.charCodeAt(this.i);
    if (c === QUOTE) return this.string();
    if (c === OPEN_OBJECT || c === OPEN_ARRAY) {
      let depth = 0;
      for (;;) {
        const d = t.charCodeAt(this.i);
        if (d === QUOTE) {
          this.string();
          continue;
        }
        if (d === OPEN_OBJECT || d === OPEN_ARRAY) depth++;
        else if (d === CLOSE_OBJECT || d === CLOSE_ARRAY) {
          depth--;
          if (depth === 0) {
            this.i++;
            return;
          }
        }
        this.i++;
      }
    }
    // A number or a literal: up to the next delimiter.
    let i = this.i;
    for (; i < t.length; i++) {
      const d = t.charCodeAt(i);
      if (d === COMMA || d === CLOSE_OBJECT || d === CLOSE_ARRAY || isWhitespace(d)) break;
    }
    this.i = i;
  }

  /** At `{`: calls `member` with each key (decoded) at the first character of its value, which
   * `member` must move past; moves past `}`. */
  members(member: (key: string) => void): void {
    const t = this.text;
    this.i++;
    this.ws();
    if (this.peek() === CLOSE_OBJECT) {
      this.i++;
      return;
    }
    for (;;) {
      const keyStart = this.i;
      this.string();
      const raw = t.slice(keyStart + 1, this.i - 1);
      // An escaped key ("d\u0061ta") is the same key as its plain spelling, as JSON.parse reads it.
      const key = raw.includes('\\') ? (JSON.parse(`"${raw}"`) as string) : raw;
      this.ws();
      this.i++; // ':'
      this.ws();
      member(key);
      this.ws();
      const c = t.charCodeAt(this.i++);
      if (c === CLOSE_OBJECT) return;
      this.ws(); // after ','
    }
  }

  /** At `[`: calls `element` at the first character of each element, which must move past it. */
  elements(element: () => void): void {
    this.i++;
    this.ws();
    if (this.peek() === CLOSE_ARRAY) {
      this.i++;
      return;
    }
    for (;;) {
      element();
      this.ws();
      const c = this.text.charCodeAt(this.i++);
      if (c === CLOSE_ARRAY) return;
      this.ws();
    }
  }
}

/** The text of an object's `data` member (the last one, as JSON.parse keeps the last of a
 * repeated key), or undefined. The scanner stands at `{`. */
function dataMember(s: Scanner): JsonText | undefined {
  let data: JsonText | undefined;
  s.members((key) => {
    const start = s.i;
    s.value();
    if (key === 'data') data = s.text.slice(start, s.i) as JsonText;
  });
  return data;
}

/**
 * The exact text of each event's `data` member in a body of JSON format events: one entry for a
 * single object, one per element for an array (undefined where an element is not an object or
 * has no `data`), none for anything else. `text` must be valid JSON; JSON.parse checks it first.
 */
export function eventDataTexts(text: string): (JsonText | undefined)[] {
  const s = new Scanner(text);
  s.ws();
  const c = s.peek();
  if (c === OPEN_OBJECT) return [dataMember(s)];
  if (c !== OPEN_ARRAY) return [];
  const out: (JsonText | undefined)[] = [];
  s.elements(() => {
    if (s.peek() === OPEN_OBJECT) out.push(dataMember(s));
    else {
      out.push(undefined);
      s.value();
    }
  });
  return out;
}

/** The text without whitespace between tokens (every token, strings and numbers included, as
 * written). Two texts that differ only in layout minify to the same text. */
export function minifyJson(text: JsonText): JsonText {
  if (!/[ \t\n\r]/.test(text)) return text;
  let out = '';
  let from = 0;
  const s = new Scanner(text);
  while (s.i < text.length) {
    const c = text.charCodeAt(s.i);
    if (c === QUOTE) s.string();
    else if (isWhitespace(c)) {
      out += text.slice(from, s.i);
      s.ws();
      from = s.i;
    } else s.i++;
  }
  return (out + text.slice(from)) as JsonText;
}

/** The text on one line: JSON strings cannot hold a raw line break, so every CR and LF in valid
 * JSON text lies between tokens and can go. */
export const jsonLine = <T extends string>(text: T): T =>
  (/[\r\n]/.test(text) ? text.replace(/[\r\n]/g, '') : text) as T;

/** Calls `visit` with the text of every number token outside strings; returns the text with
 * each replaced by what `visit` returns (itself when it returns undefined). */
export function replaceNumbers(
  text: JsonText,
  visit: (token: string) => string | undefined,
): JsonText {
  let out = '';
  let from = 0;
  const s = new Scanner(text);
  while (s.i < text.length) {
    const c = text.charCodeAt(s.i);
    if (c === QUOTE) s.string();
    else if (c === 0x2d /* - */ || (c >= 0x30 && c <= 0x39)) {
      const start = s.i;
      s.value();
      const token = text.slice(start, s.i);
      const replacement = visit(token);
      if (replacement !== undefined && replacement !== token) {
        out += text.slice(from, start) + replacement;
        from = s.i;
      }
    } else s.i++;
  }
  return from === 0 ? text : ((out + text.slice(from)) as JsonText);
}

/**
 * A JSON number kept as written, for a number that a JavaScript number would change:
 * `9007199254740993`, `12345678901234567890`, `3.141592653589793238462643383279`, `1e400`,
 * `1.0`, `-0`. `parseJson` returns one wherever `String(Number(text))` differs from the text,
 * and `stringifyJson` writes it back as it was.
 */
export class JsonNumber {
  constructor(readonly text: string) {
    if (!NUMBER.test(text)) throw new SyntaxError(`not a JSON number: ${text.slice(0, 40)}`);
  }
  /** The nearest double (what JSON.parse would have given). */
  valueOf(): number {
    return Number(this.text);
  }
  toString(): string {
    return this.text;
  }
  /** The exact integer; throws when the number is not an integer. */
  toBigInt(): bigint {
    const m = /^(-?)(\d+)(?:\.(\d+))?(?:[eE]([+-]?\d+))?$/.exec(this.text)!;
    const [, sign, int, frac = '', exp = '0'] = m;
    const e = Number(exp) - frac.length;
    const digits = BigInt(int! + frac);
    if (e >= 0) return BigInt(`${sign}1`) * digits * 10n ** BigInt(e);
    const div = 10n ** BigInt(-e);
    if (digits % div !== 0n) throw new RangeError(`${this.text} is not an integer`);
    return BigInt(`${sign}1`) * (digits / div);
  }
}

const NUMBER = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?$/;

/** A cheap test for text whose numbers all print back as written, so JSON.parse loses nothing:
 * no run of 16 digits (or digits and a point), no exponent, no fraction ending in 0, no -0.
 * It may also match inside strings; that costs only the slower exact parse. */
const MAYBE_INEXACT = /[\d.]{16}|\d[eE]|\.\d*0(?!\d)|-0(?![.\d])/;

/**
 * JSON.parse without changing a number: each number whose text a double would change comes back
 * as a `JsonNumber`, every other value as JSON.parse gives it. Throws a SyntaxError on invalid
 * JSON (JSON.parse's own).
 */
export function parseJson(text: string): unknown {
  const value: unknown = JSON.parse(text);
  if (!MAYBE_INEXACT.test(text)) return value;
  return new ExactParser(text).parse();
}

class ExactParser extends Scanner {
  parse(): unknown {
    this.ws();
    return this.read();
  }

  private read(): unknown {
    const c = this.peek();
    if (c === OPEN_OBJECT) {
      const obj: Record<string, unknown> = {};
      this.members((key) => {
        // Defined as an own property, like JSON.parse does, so "__proto__" is a plain key.
        Object.defineProperty(obj, key, {
          value: this.read(),
          enumerable: true,
          writable: true,
          configurable: true,
        });
      });
      return obj;
    }
    if (c === OPEN_ARRAY) {
      const arr: unknown[] = [];
      this.elements(() => arr.push(this.read()));
      return arr;
    }
    const start = this.i;
    this.value();
    const token = this.text.slice(start, this.i);
    if (c === QUOTE) return JSON.parse(token) as string;
    if (token === 'true') return true;
    if (token === 'false') return false;
    if (token === 'null') return null;
    const n = Number(token);
    return String(n) === token ? n : new JsonNumber(token);
  }
}

/**
 * JSON.stringify that writes a `JsonNumber` as its text and a `bigint` as its digits, so values
 * from `parseJson` (or a producer's 64-bit ids) go out exactly. Otherwise as JSON.stringify:
 * toJSON() is called, undefined and functions are left out of objects (null in arrays).
 */
export function stringifyJson(value: unknown): string {
  const out = write(value);
  if (out === undefined) throw new TypeError('the value has no JSON form');
  return out;
}

function write(value: unknown): string | undefined {
  if (value instanceof JsonNumber) return value.text;
  if (typeof value === 'bigint') return value.toString();
  if (value === null) return 'null';
  if (typeof value === 'object') {
    const toJSON = (value as { toJSON?: unknown }).toJSON;
    if (typeof toJSON === 'function') return write((toJSON as () => unknown).call(value));
    if (Array.isArray(value)) return `[${value.map((v) => write(v) ?? 'null').join(',')}]`;
    const parts: string[] = [];
    for (const [k, v] of Object.entries(value)) {
      const w = write(v);
      if (w !== undefined) parts.push(`${JSON.stringify(k)}:${w}`);
    }
    return `{${parts.join(',')}}`;
  }
  return JSON.stringify(value);
}

const DECIMAL = /^(-?)(\d+)(?:\.(\d+))?(?:[eE]([+-]?\d+))?$/;

/** A decimal number's value as sign, significant digits and the power of ten of the last one. */
function decimalValue(token: string): { negative: boolean; digits: string; exponent: number } {
  const [, sign, int, frac = '', exp = '0'] = DECIMAL.exec(token)!;
  let digits = (int! + frac).replace(/^0+/, '');
  let exponent = Number(exp) - frac.length;
  const trimmed = digits.replace(/0+$/, '');
  exponent += digits.length - trimmed.length;
  digits = trimmed;
  return digits === ''
    ? { negative: false, digits: '0', exponent: 0 }
    : { negative: sign === '-', digits, exponent };
}

/** True when two decimal numbers (JSON number syntax, or JavaScript's `1e+21` form) have the
 * same value. */
export function sameDecimal(a: string, b: string): boolean {
  const x = decimalValue(a.replace('e+', 'e'));
  const y = decimalValue(b.replace('e+', 'e'));
  return x.negative === y.negative && x.digits === y.digits && x.exponent === y.exponent;
}

/** Object keys that reach for a prototype: refused in every event, at every depth. */
export const FORBIDDEN_KEYS: ReadonlySet<string> = new Set([
  '__proto__',
  'constructor',
  'prototype',
]);

// A forbidden key is in the text as written, or spelled with \u escapes ("\u005f_proto__").
const MAYBE_FORBIDDEN = /"(?:__proto__|constructor|prototype)"|\\u/;

/** The first forbidden key of a parsed JSON value, at any depth; `text` is the value's JSON
 * text, which spares the walk when no such key can be in it. */
export function forbiddenKeyIn(value: unknown, text: string): string | undefined {
  if (!MAYBE_FORBIDDEN.test(text)) return undefined;
  const stack: unknown[] = [value];
  while (stack.length) {
    const v = stack.pop();
    if (v === null || typeof v !== 'object') continue;
    if (Array.isArray(v)) stack.push(...(v as unknown[]));
    else {
      for (const k of Object.keys(v)) {
        if (FORBIDDEN_KEYS.has(k)) return k;
        stack.push((v as Record<string, unknown>)[k]);
      }
    }
  }
  return undefined;
}
