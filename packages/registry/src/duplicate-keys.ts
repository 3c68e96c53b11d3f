import { pointerToken } from './model';

/**
 * The JSON pointer of the first member whose name appears twice in one object of `text` (valid
 * JSON), or undefined. JSON allows it, but readers disagree on which value counts (a validator
 * reads the last, DuckDB's JSON functions the first), so data checked against a schema must
 * not have one. A single pass without recursion.
 */
export function duplicateKeyPointer(text: string): string | undefined {
  type Frame = { keys: Set<string> | undefined; path: string; index: number; key?: string };
  const stack: Frame[] = [];
  let i = 0;
  let expectKey = false;
  const readString = (): string => {
    // i is at the opening quote.
    let out = '';
    i++;
    for (;;) {
      const c = text[i]!;
      if (c === '"') {
        i++;
        return out;
      }
      if (c === '\\') {
        const n = text[i + 1]!;
        if (n === 'u') {
          out += String.fromCharCode(parseInt(text.slice(i + 2, i + 6), 16));
          i += 6;
        } else {
          out +=
            ({ b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' } as Record<string, string>)[n] ?? n;
          i += 2;
        }
        continue;
      }
      out += c;
      i++;
    }
  };
  const here = (): string => {
    const top = stack.at(-1);
    if (!top) return '';
    return `${top.path}/${top.keys ? pointerToken(top.key ?? '') : String(top.index)}`;
  };
  while (i < text.length) {
    const c = text[i]!;
    if (c === '{') {
      stack.push({ keys: new Set(), path: here(), index: 0 });
      expectKey = true;
      i++;
    } else if (c === '[') {
      stack.push({ keys: undefined, path: here(), index: 0 });
      i++;
    } else if (c === '}' || c === ']') {
      stack.pop();
      i++;
    } else if (c === ',') {
      const top = stack.at(-1)!;
      if (top.keys) expectKey = true;
      else top.index++;
      i++;
    } else if (c === '"') {
      const s = readString();
      const top = stack.at(-1);
      if (top?.keys && expectKey) {
        if (top.keys.has(s)) return `${top.path}/${pointerToken(s)}`;
        top.keys.add(s);
        top.key = s;
        expectKey = false;
      }
    } else {
      i++;
    }
  }
  return undefined;
}
