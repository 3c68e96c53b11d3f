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
 * `data_text`. infra/terraform/schema/events.json is this, written out (a test compares). */
export function bigQuerySchemaFields(): {
  name: string;
  type: string;
  mode: string;
  description: string;
}[] {
  return [
    ...EVENT_COLUMNS.map((c) => ({
      name: c.name,
      type: TYPES[c.kind],
      mode: c.nullable ? 'NULLABLE' : 'REQUIRED',
      description: c.description,
    })),
    { ...BIGQUERY_DATA_TEXT_COLUMN },
  ];
}
