import { EVENT_COLUMNS, type ColumnKind } from '@eventpipe/schema';

/** The BigQuery column that holds `data` exactly: BigQuery's JSON type keeps numbers as INT64,
 * UINT64 or FLOAT64 only, so its `data` column is for SQL and this one is the record. */
export const BIGQUERY_DATA_TEXT_COLUMN = {
  name: 'data_text',
  type: 'STRING',
  mode: 'NULLABLE',
  description: 'Event payload: the JSON text exactly as sent (data holds it as BigQuery JSON)',
} as const;

const TYPES: Record<ColumnKind, string> = {
  string: 'STRING',
  timestamp: 'TIMESTAMP',
  json: 'JSON',
};

/** BigQuery table schema fields, derived from the one column list (EVENT_COLUMNS), plus
 * `data_text` where it was added (after `digest`): columns are only ever appended, so a table
 * created by an earlier release (or Terraform) keeps its order. infra/terraform/schema/events.json
 * is this, written out (a test compares). */
export function bigQuerySchemaFields(): {
  name: string;
  type: string;
  mode: string;
  description: string;
}[] {
  return EVENT_COLUMNS.flatMap((c) => {
    const field = {
      name: c.name,
      type: TYPES[c.kind],
      mode: c.nullable ? 'NULLABLE' : 'REQUIRED',
      description: c.description,
    };
    return c.name === 'digest' ? [field, { ...BIGQUERY_DATA_TEXT_COLUMN }] : [field];
  });
}

export interface Field {
  name: string;
  type: string;
  mode?: string;
}

/** What separates an existing table's columns from the wanted ones: NULLABLE columns it lacks
 * (added at start) and everything else (a refusal, listed exactly). */
export function schemaDifference(
  existing: Field[],
  wanted: Field[],
): { additions: Field[]; incompatible: string[] } {
  const incompatible: string[] = [];
  const additions: Field[] = [];
  const mode = (f: Field) => (f.mode ?? 'NULLABLE').toUpperCase();
  for (const w of wanted) {
    const e = existing.find((x) => x.name === w.name);
    if (!e) {
      if (mode(w) === 'NULLABLE') additions.push(w);
      else
        incompatible.push(
          `column ${w.name} ${w.type} ${mode(w)} is missing (only NULLABLE columns can be added)`,
        );
    } else if (e.type.toUpperCase() !== w.type.toUpperCase()) {
      incompatible.push(`column ${w.name} is ${e.type}, expected ${w.type}`);
    } else if (mode(e) !== mode(w) && !(mode(e) === 'NULLABLE' && mode(w) === 'REQUIRED')) {
      incompatible.push(`column ${w.name} is ${mode(e)}, expected ${mode(w)}`);
    }
  }
  for (const e of existing) {
    if (!wanted.some((w) => w.name === e.name) && mode(e) === 'REQUIRED') {
      incompatible.push(
        `column ${e.name} is REQUIRED but unknown to eventpipe (inserts would fail)`,
      );
    }
  }
  return { additions, incompatible };
}
