import { replaceNumbers, sameDecimal, type JsonText } from '@eventpipe/schema';

const INTEGER = /^-?\d+$/;
const INT64_MIN = -(2n ** 63n);
const UINT64_MAX = 2n ** 64n - 1n;

/**
 * The `data` text as BigQuery's JSON type can hold it. That type keeps a number as INT64, UINT64
 * or FLOAT64 and refuses one it cannot store without loss (PARSE_JSON's default
 * wide_number_mode 'exact'), which would refuse the row. So, for the JSON column only, a number
 * no FLOAT64 prints back as written is replaced by the nearest FLOAT64 (what wide_number_mode
 * 'round' gives), and one beyond FLOAT64's range (1e400) by null. `data_text` keeps the exact
 * text, which is what eventpipe reads back (docs/BIGQUERY.md).
 */
export function bigQueryJson(text: JsonText): JsonText {
  return replaceNumbers(text, (token) => {
    if (INTEGER.test(token)) {
      const n = BigInt(token);
      if (n >= INT64_MIN && n <= UINT64_MAX) return undefined;
    }
    const double = Number(token);
    if (!Number.isFinite(double)) return 'null';
    const nearest = String(double);
    return sameDecimal(token, nearest) ? undefined : nearest;
  });
}
