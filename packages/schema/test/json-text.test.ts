import fc from 'fast-check';
import {
  JsonNumber,
  eventDataTexts,
  forbiddenKeyIn,
  jsonLine,
  minifyJson,
  parseJson,
  replaceNumbers,
  sameDecimal,
  stringifyJson,
  type JsonText,
} from '@eventpipe/schema';

/** JSON number text, including what a double cannot hold. */
const numberText = fc.oneof(
  fc.integer().map(String),
  fc.bigInt({ min: -(2n ** 70n), max: 2n ** 70n }).map(String),
  fc.double({ noNaN: true, noDefaultInfinity: true }).map((d) => JSON.stringify(d)),
  fc
    .tuple(fc.bigInt({ min: 0n, max: 10n ** 30n }), fc.nat(40), fc.integer({ min: -999, max: 999 }))
    .map(([m, f, e]) => `${m}.${'0'.repeat(f % 3)}${f}e${e}`),
  fc.constantFrom('-0', '1.0', '0.10', '1E5', '1e-7', '9007199254740993', '1e400', '2.5e-400'),
);
const ws = fc.constantFrom('', ' ', '\n', '\t', '\r\n  ');
// Strings as JSON.stringify writes them, and written with escapes it would not use.
const stringText = fc.oneof(
  fc.string().map((s) => JSON.stringify(s)),
  fc.constantFrom('"\\u00e9"', '"a\\/b"', '"\\""', '"line\\nbreak"', '"\\u005f_x"'),
);

/** Arbitrary JSON text with arbitrary layout, numbers written any way JSON allows. */
const jsonText: fc.Arbitrary<string> = fc.letrec<{ value: string }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    numberText,
    stringText,
    fc.constantFrom('true', 'false', 'null'),
    fc
      .array(fc.tuple(ws, tie('value'), ws), { maxLength: 4 })
      .map((items) => `[${items.map(([a, v, b]) => a + v + b).join(',')}]`),
    fc
      .uniqueArray(fc.tuple(ws, stringText, ws, tie('value'), ws), {
        maxLength: 4,
        selector: ([, k]) => JSON.parse(k) as string, // a repeated key would keep only its last
      })
      .map((members) => `{${members.map(([a, k, b, v, c]) => `${a}${k}${b}:${v}${c}`).join(',')}}`),
  ),
})).value;

describe('eventDataTexts', () => {
  it('when a batch holds events with data written any way, then each data text is cut out exactly', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.option(jsonText, { nil: undefined }), ws, fc.boolean()), {
          maxLength: 5,
        }),
        (events) => {
          const body = `[${events
            .map(([data, space, first]) => {
              const attrs = '"type":"t","source":"/s"';
              if (data === undefined) return `{${attrs}}`;
              return first
                ? `{${space}"data"${space}:${space}${data}${space},${attrs}}`
                : `{${attrs},"data":${space}${data}${space}}`;
            })
            .join(',')}]`;
          JSON.parse(body);
          expect(eventDataTexts(body)).toEqual(events.map(([data]) => data));
        },
      ),
    );
  });

  it('when data is spelled with escapes or repeated, then it is found as JSON.parse reads it', () => {
    expect(eventDataTexts('{"d\\u0061ta": 1}')).toEqual(['1']);
    expect(eventDataTexts('{"data": 1, "data": [2]}')).toEqual(['[2]']);
    expect(eventDataTexts('{"x": {"data": 1}}')).toEqual([undefined]);
    expect(eventDataTexts('[1, {"data": "}"}, "x"]')).toEqual([undefined, '"}"', undefined]);
    expect(eventDataTexts('"data"')).toEqual([]);
  });
});

describe('minifyJson and jsonLine', () => {
  it('when text is minified, then only whitespace between tokens goes', () => {
    fc.assert(
      fc.property(jsonText, (text) => {
        const min = minifyJson(text as JsonText);
        expect(stringifyJson(parseJson(min))).toBe(stringifyJson(parseJson(text)));
        expect(minifyJson(min)).toBe(min);
        expect(jsonLine(text)).not.toMatch(/[\r\n]/);
        expect(parseJson(jsonLine(text))).toEqual(parseJson(text));
      }),
    );
    expect(minifyJson('{ "a b" : [ 1 , "c\\" d" ] }' as JsonText)).toBe('{"a b":[1,"c\\" d"]}');
  });
});

describe('parseJson and stringifyJson', () => {
  it('when numbers are parsed, then each one comes back written as it was', () => {
    fc.assert(
      fc.property(jsonText, (text) => {
        const written = stringifyJson(parseJson(text));
        const numbers = (t: string) => {
          const out: string[] = [];
          replaceNumbers(t as JsonText, (n) => void out.push(n));
          return out;
        };
        // Sorted: an object's integer-like keys ("0", "17") come first in any JavaScript object,
        // as JSON.parse makes them, so their values may move; each number must stay as written.
        expect(numbers(written).sort()).toEqual(numbers(text).sort());
      }),
    );
  });

  it('when an object has integer-like keys, then they come first as in JSON.parse, values exact', () => {
    expect(stringifyJson(parseJson('{"b":1.0,"0":-0,"a":1e400}'))).toBe(
      '{"0":-0,"b":1.0,"a":1e400}',
    );
  });

  it('when a number would change as a double, then it is a JsonNumber; otherwise a number', () => {
    const v = parseJson(
      '{"a":9007199254740993,"b":12345678901234567890,"c":3.141592653589793238462643383279,"d":1e400,"e":2.5e-400,"f":1.0,"g":-0,"h":42,"i":0.5,"j":"1e400"}',
    ) as Record<string, unknown>;
    for (const k of ['a', 'b', 'c', 'd', 'e', 'f', 'g']) expect(v[k]).toBeInstanceOf(JsonNumber);
    expect(v).toMatchObject({ h: 42, i: 0.5, j: '1e400' });
    expect((v.a as JsonNumber).toBigInt()).toBe(9007199254740993n);
    expect(String(v.c)).toBe('3.141592653589793238462643383279');
    expect(stringifyJson({ id: 2n ** 64n, n: v.d })).toBe('{"id":18446744073709551616,"n":1e400}');
  });

  it('when a key is __proto__, then it is an own key as JSON.parse makes it', () => {
    const v = parseJson('{"__proto__": {"x": 1.0}}') as Record<string, unknown>;
    expect(Object.keys(v)).toEqual(['__proto__']);
    expect(Object.getPrototypeOf(v)).toBe(Object.prototype);
  });

  it('when text is not JSON, then it throws as JSON.parse does', () => {
    expect(() => parseJson('{"a": 1.0')).toThrow(SyntaxError);
  });
});

describe('sameDecimal', () => {
  it.each([
    ['1.0', '1', true],
    ['1e21', '1e+21', true],
    ['0.000', '0', true],
    ['-0', '0', true],
    ['12.50e1', '125', true],
    ['3.141592653589793238', '3.141592653589793', false],
    ['1', '-1', false],
  ])('when %s and %s are compared, then same is %s', (a, b, same) => {
    expect(sameDecimal(a, b)).toBe(same);
  });
});

describe('forbiddenKeyIn', () => {
  it.each([
    ['{"__proto__": 1}', '__proto__'],
    ['{"\\u005f_proto__": 1}', '__proto__'],
    ['[{"a": {"constructor": 1}}]', 'constructor'],
    ['{"a": "__proto__"}', undefined],
  ])('when the value is %s, then %s is found', (text, key) => {
    expect(forbiddenKeyIn(JSON.parse(text), text)).toBe(key);
  });
});
