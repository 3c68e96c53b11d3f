import { asJsonText } from '@eventpipe/schema';
import { bigQueryJson } from '../src/bigquery-json';

describe('bigQueryJson (the JSON column of BigQuery)', () => {
  it.each([
    ['9007199254740993', '9007199254740993'], // INT64
    ['12345678901234567890', '12345678901234567890'], // UINT64
    ['-9223372036854775808', '-9223372036854775808'],
    ['123456789012345678901234567890', '1.2345678901234568e+29'],
    ['3.141592653589793238462643383279', '3.141592653589793'],
    ['1e400', 'null'],
    ['2.5e-400', '0'],
    ['1.0', '1.0'],
    ['0.1', '0.1'],
    ['-0', '-0'],
    ['1E5', '1E5'],
  ])('when data holds %s, then the JSON column gets %s', (number, written) => {
    expect(bigQueryJson(asJsonText(`{"n": ${number}, "s": "${number}"}`))).toBe(
      `{"n": ${written}, "s": "${number}"}`,
    );
  });
});
