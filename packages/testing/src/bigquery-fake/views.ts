import { ApiError, quote, unsupported } from './values';

/** The table a view reads, as `project.dataset.table`. */
export interface ViewSource {
  projectId: string;
  datasetId: string;
  tableId: string;
}

const IDENT = '[A-Za-z_][A-Za-z0-9_]*';
/** A GoogleSQL single-quoted string literal (backslash escapes; no doubled quotes). */
const STRING = String.raw`'(?:[^'\\]|\\.)*'`;
/** A literal as written, doubled quotes included, so that stringLiteral() can refuse those. */
const LITERAL = `${STRING}(?:${STRING})*`;
const FUNCTIONS_IN_VIEWS = new Set([
  'JSON_VALUE',
  'JSON_QUERY',
  'JSON_VALUE_ARRAY',
  'SAFE_CAST',
  'ARRAY',
  'UNNEST',
]);
const NOT_FUNCTIONS = new Set(['SELECT', 'FROM', 'AS', 'WHERE', 'AND', 'OR', 'NOT', 'IN']);

/**
 * A GoogleSQL string literal's value. BigQuery has no doubled-quote escape: `'it''s'` is two
 * literals side by side, which it refuses as a syntax error; so does the fake. Of the backslash
 * escapes, only `\\`, `\'` and `\"` are understood.
 */
export function stringLiteral(literal: string): string {
  if (!new RegExp(`^${STRING}$`, 's').test(literal)) {
    throw new ApiError(
      400,
      'invalidQuery',
      `Syntax error: concatenated string literals must be separated by whitespace or comments (${literal.slice(0, 60)})`,
    );
  }
  return literal.slice(1, -1).replace(/\\(.)/gs, (_, c: string) => {
    if (c === '\\' || c === "'" || c === '"') return c;
    throw unsupported(`the escape sequence \\${c} in a string literal`);
  });
}

const duckString = (s: string) => `'${s.replaceAll("'", "''")}'`;

/** `'$."property"'` → a DuckDB JSON pointer literal to that top-level property. */
function pointer(pathLiteral: string): string {
  const path = stringLiteral(pathLiteral);
  const m = /^\$\."([^"\\]*)"$/.exec(path);
  if (!m) throw unsupported(`the JSONPath ${path} in a view (only $."property")`);
  return duckString(`/${m[1]!.replaceAll('~', '~0').replaceAll('/', '~1')}`);
}

// BigQuery's functions over the `data` column (JSON), as DuckDB expressions giving its results.

/** JSON_VALUE: the STRING of a scalar (a JSON null: NULL), NULL for an object or an array. */
const jsonValue = (p: string) =>
  `(CASE WHEN json_type(data, ${p}) IN ('OBJECT', 'ARRAY') THEN NULL ELSE json_extract_string(data, ${p}) END)`;

/** JSON_VALUE_ARRAY: ARRAY<STRING> of an array of scalars (a JSON null element: NULL); NULL
 * for anything else (a scalar, an object, an array holding an object or an array). */
const jsonValueArray = (p: string) =>
  `(CASE WHEN json_type(data, ${p}) = 'ARRAY' AND len(list_filter(CAST(json_extract(data, ${p}) AS JSON[]), ` +
  `e -> json_type(e) IN ('OBJECT', 'ARRAY'))) = 0 THEN list_transform(CAST(json_extract(data, ${p}) AS JSON[]), ` +
  `e -> json_extract_string(e, '$')) END)`;

/** SAFE_CAST(<STRING> AS type): NULL where BigQuery's CAST would fail. DuckDB's own casts are
 * wider (it reads '1.5' as the INT64 2, 't' as true), so only the forms BigQuery reads go through. */
const SAFE_CAST: Record<string, { type: string; cast: (v: string) => string }> = {
  INT64: {
    type: 'BIGINT',
    cast: (v) =>
      `(CASE WHEN regexp_full_match(${v}, '[+-]?[0-9]+') THEN TRY_CAST(${v} AS BIGINT) END)`,
  },
  FLOAT64: {
    type: 'DOUBLE',
    cast: (v) =>
      `(CASE WHEN regexp_full_match(${v}, '[+-]?([0-9]+[.]?[0-9]*|[.][0-9]+)([eE][+-]?[0-9]+)?') ` +
      `THEN TRY_CAST(${v} AS DOUBLE) END)`,
  },
  BOOL: {
    type: 'BOOLEAN',
    cast: (v) => `(CASE lower(${v}) WHEN 'true' THEN true WHEN 'false' THEN false END)`,
  },
};

const ARG = String.raw`\(\s*data\s*,\s*(${LITERAL})\s*\)`;
const FORMS: { re: RegExp; duck: (m: RegExpExecArray) => string }[] = [
  { re: new RegExp(`^JSON_VALUE\\s*${ARG}$`, 'is'), duck: (m) => jsonValue(pointer(m[1]!)) },
  {
    re: new RegExp(`^JSON_QUERY\\s*${ARG}$`, 'is'),
    duck: (m) => `json_extract(data, ${pointer(m[1]!)})`,
  },
  {
    re: new RegExp(`^JSON_VALUE_ARRAY\\s*${ARG}$`, 'is'),
    duck: (m) => jsonValueArray(pointer(m[1]!)),
  },
  {
    re: new RegExp(
      `^SAFE_CAST\\s*\\(\\s*JSON_VALUE\\s*${ARG}\\s+AS\\s+(INT64|FLOAT64|BOOL)\\s*\\)$`,
      'is',
    ),
    duck: (m) => SAFE_CAST[m[2]!.toUpperCase()]!.cast(jsonValue(pointer(m[1]!))),
  },
  {
    // ARRAY(SELECT SAFE_CAST(x AS T) FROM UNNEST(JSON_VALUE_ARRAY(data, path)) AS x): one element
    // per element, in order; the ARRAY of no rows (a NULL array unnested) is the empty array.
    re: new RegExp(
      `^ARRAY\\s*\\(\\s*SELECT\\s+SAFE_CAST\\s*\\(\\s*(${IDENT})\\s+AS\\s+(INT64|FLOAT64|BOOL)\\s*\\)\\s+` +
        `FROM\\s+UNNEST\\s*\\(\\s*JSON_VALUE_ARRAY\\s*${ARG}\\s*\\)\\s+AS\\s+(${IDENT})\\s*\\)$`,
      'is',
    ),
    duck: (m) => {
      if (m[1] !== m[4])
        throw unsupported(`ARRAY(SELECT …) over another name than its UNNEST alias`);
      const cast = SAFE_CAST[m[2]!.toUpperCase()]!;
      return `COALESCE(list_transform(${jsonValueArray(pointer(m[3]!))}, x -> ${cast.cast('x')}), []::${cast.type}[])`;
    },
  },
];

/** Splits a select list on its top-level commas (outside parentheses and string literals). */
function splitTopLevel(list: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < list.length; i++) {
    const c = list[i]!;
    if (c === "'") {
      for (i++; i < list.length && list[i] !== "'"; i++) if (list[i] === '\\') i++;
    } else if (c === '(') depth++;
    else if (c === ')') depth--;
    else if (c === ',' && depth === 0) {
      out.push(list.slice(start, i).trim());
      start = i + 1;
    }
  }
  out.push(list.slice(start).trim());
  return out;
}

/** One select-list item of a view → DuckDB. */
function viewColumn(item: string): string {
  if (new RegExp(`^${IDENT}$`).test(item)) return quote(item);
  const m = new RegExp(`^(.*\\S)\\s+AS\\s+(${IDENT})$`, 'is').exec(item);
  if (!m)
    throw unsupported(`the view column ${item.slice(0, 80)} (expression AS name, or a column)`);
  const [, expr, name] = m;
  for (const f of expr!.matchAll(/\b([A-Za-z_][A-Za-z0-9_]*)\s*\(/g)) {
    const fn = f[1]!.toUpperCase();
    if (!FUNCTIONS_IN_VIEWS.has(fn) && !NOT_FUNCTIONS.has(fn))
      throw unsupported(`function ${f[1]} in a view`);
  }
  for (const form of FORMS) {
    const match = form.re.exec(expr!.trim());
    if (match) return `${form.duck(match)} AS ${quote(name!)}`;
  }
  throw unsupported(
    `the view expression ${expr!.slice(0, 120)} (views may use JSON_VALUE, JSON_QUERY and ` +
      `JSON_VALUE_ARRAY of data at '$."property"', SAFE_CAST(JSON_VALUE(…) AS INT64|FLOAT64|BOOL) and ` +
      `ARRAY(SELECT SAFE_CAST(x AS INT64|FLOAT64|BOOL) FROM UNNEST(JSON_VALUE_ARRAY(…)) AS x))`,
  );
}

/**
 * A view's GoogleSQL → the DuckDB SELECT that gives its rows, and the table it reads. Only
 * `SELECT <columns and the forms above> FROM \`project.dataset.table\` WHERE type = '<literal>'`
 * is understood; anything else is refused.
 */
export function translateView(query: string): { select: string; source: ViewSource } {
  const m = new RegExp(
    `^\\s*SELECT\\s+(.+?)\\s+FROM\\s+\`([^\`.]+)\\.([^\`.]+)\\.([^\`.]+)\`\\s+WHERE\\s+type\\s*=\\s*(${LITERAL})\\s*$`,
    'is',
  ).exec(query);
  if (!m) {
    throw unsupported(
      "view queries other than SELECT … FROM `project.dataset.table` WHERE type = '<literal>'",
    );
  }
  const [, list, projectId, datasetId, tableId, typeLiteral] = m;
  const columns = splitTopLevel(list!).map(viewColumn);
  const type = stringLiteral(typeLiteral!);
  return {
    select:
      `SELECT ${columns.join(', ')} FROM ${quote(`${projectId}.${datasetId}`)}.${quote(tableId!)} ` +
      `WHERE type = ${duckString(type)}`,
    source: { projectId: projectId!, datasetId: datasetId!, tableId: tableId! },
  };
}
