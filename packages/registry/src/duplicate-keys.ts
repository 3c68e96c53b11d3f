import { pointerToken } from './model';

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;
const COMMA = 0x2c;

/** An open object (its member names so far) or array (the index of its current element). */
interface Frame {
  parent: Frame | undefined;
  keys: Set<string> | undefined;
  index: number;
  key: string;
}

/** The pointer to where `frame` stands now (built only when a duplicate is found). */
function pointerOf(frame: Frame | undefined): string {
  let pointer = '';
  for (let f = frame; f; f = f.parent) {
    pointer = `/${f.keys ? pointerToken(f.key) : String(f.index)}${pointer}`;
  }
  return pointer;
}

/**
 * The JSON pointer of the first member whose name appears twice in one object of `text` (valid
 * JSON), or undefined. JSON allows it, but readers disagree on which value counts (a validator
 * reads the last, DuckDB's JSON functions the first), so data checked against a schema must
 * not have one. A single pass without recursion; only member names are decoded (string values
 * are skipped), and the pointer is built only for the duplicate.
 */
export function duplicateKeyPointer(text: string): string | undefined {
  let top: Frame | undefined;
  let i = 0;
  let expectKey = false;
  /** At an opening quote: moves past the closing one; whether a backslash was seen. */
  const skipString = (): boolean => {
    let escaped = false;
    i++;
    for (;;) {
      const c = text.charCodeAt(i);
      if (c === QUOTE) {
        i++;
        return escaped;
      }
      if (c === BACKSLASH) {
        escaped = true;
        i += 2;
      } else i++;
    }
  };
  while (i < text.length) {
    const c = text.charCodeAt(i);
    if (c === OPEN_OBJECT) {
      top = { parent: top, keys: new Set(), index: 0, key: '' };
      expectKey = true;
      i++;
    } else if (c === OPEN_ARRAY) {
      top = { parent: top, keys: undefined, index: 0, key: '' };
      i++;
    } else if (c === CLOSE_OBJECT || c === CLOSE_ARRAY) {
      top = top?.parent;
      i++;
    } else if (c === COMMA) {
      if (top!.keys) expectKey = true;
      else top!.index++;
      i++;
    } else if (c === QUOTE) {
      const start = i;
      const escaped = skipString();
      if (top?.keys && expectKey) {
        const raw = text.slice(start, i);
        // An escaped name ("\u0061") is the same name as its plain spelling.
        const name = escaped ? (JSON.parse(raw) as string) : raw.slice(1, -1);
        if (top.keys.has(name)) return `${pointerOf(top.parent)}/${pointerToken(name)}`;
        top.keys.add(name);
        top.key = name;
        expectKey = false;
      }
    } else {
      i++;
    }
  }
  return undefined;
}
