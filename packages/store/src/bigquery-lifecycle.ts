import { createHash } from 'node:crypto';
import { BigQuery, type Dataset, type Table } from '@google-cloud/bigquery';
import { retry } from '@eventpipe/platform/core';
import { type ApiErrorLike, isRetryable } from './bigquery-insert';
import { stepOfRecord, type ErasureLog, type ErasureMatch, type ErasureStep } from './erasures';

/** The erasures table, beside `events` in the same dataset. */
export const BIGQUERY_ERASURES_TABLE = 'erasures';

/** The `erasures` table's fields. infra/terraform's JSON for it is this, written out. */
export function bigQueryErasuresFields(): {
  name: string;
  type: string;
  mode: string;
  description: string;
}[] {
  const f = (name: string, type: string, mode: string, description: string) => ({
    name,
    type,
    mode,
    description,
  });
  return [
    f('erasure_id', 'STRING', 'REQUIRED', "The erasure's id"),
    f(
      'step_at',
      'TIMESTAMP',
      'REQUIRED',
      "When this step happened; on requested, the erasure's cut-off",
    ),
    f('action', 'STRING', 'REQUIRED', 'requested, progress, done, failed or lifted'),
    f('key_name', 'STRING', 'NULLABLE', 'The API key name that asked; NULL without keys'),
    f('subject', 'STRING', 'NULLABLE', 'The subject erased (requested rows)'),
    f('event_id', 'STRING', 'NULLABLE', 'The event id erased (requested rows)'),
    f('source', 'STRING', 'NULLABLE', 'An exact source, or a prefix when source_prefix'),
    f('source_prefix', 'BOOL', 'NULLABLE', 'source is a prefix'),
    f('suppress', 'BOOL', 'NULLABLE', 'Later events for the subject are dropped at the publisher'),
    f('row_count', 'INT64', 'NULLABLE', 'Rows deleted by this step (done: the total)'),
    f('detail', 'STRING', 'NULLABLE', 'The failure reason or what the erasure waits for'),
  ];
}

/**
 * The read filter in GoogleSQL: an event any requested erasure matches is left out (by subject
 * and the sources it is limited to, or by source and id, when received up to the cut-off).
 * `events` is the events table's implicit alias (its name), as the erasures table has columns of
 * the same names.
 */
export function bigQueryTombstoneClauses(erasures: string, events: string): string[] {
  return [
    `NOT EXISTS (SELECT 1 FROM ${erasures} r WHERE r.subject = ${events}.subject AND r.step_at >= ${events}.received_at ` +
      `AND (r.source IS NULL OR r.source = ${events}.source OR (r.source_prefix AND STARTS_WITH(${events}.source, r.source))))`,
    `NOT EXISTS (SELECT 1 FROM ${erasures} r WHERE r.event_id = ${events}.id AND r.source = ${events}.source ` +
      `AND r.step_at >= ${events}.received_at)`,
  ];
}

/** An erasure's match as a DELETE over the events table (every partition: an erasure is not
 * bounded in event time). */
export function bigQueryEraseStatement(
  table: string,
  m: ErasureMatch,
): { sql: string; params: Record<string, unknown>; types: Record<string, string | string[]> } {
  const params: Record<string, unknown> = {
    // The table requires a partition filter; an erasure reaches every partition.
    all_from: BigQuery.timestamp('0001-01-01T00:00:00Z'),
    cut: BigQuery.timestamp(m.receivedUpTo),
  };
  const types: Record<string, string | string[]> = {};
  const clauses = ['time >= @all_from', 'received_at <= @cut'];
  if (m.subject !== undefined) {
    clauses.push('subject = @subject');
    params.subject = m.subject;
    types.subject = 'STRING';
  }
  if (m.eventId !== undefined) {
    clauses.push('id = @event_id');
    params.event_id = m.eventId;
    types.event_id = 'STRING';
  }
  const sources: string[] = [];
  if (m.exact.length) {
    params.sources = m.exact;
    types.sources = ['STRING'];
    sources.push('source IN UNNEST(@sources)');
  }
  m.prefixes.forEach((p, i) => {
    params[`prefix_${i}`] = p;
    types[`prefix_${i}`] = 'STRING';
    sources.push(`STARTS_WITH(source, @prefix_${i})`);
  });
  if (sources.length) clauses.push(`(${sources.join(' OR ')})`);
  return { sql: `DELETE FROM ${table} WHERE ${clauses.join(' AND ')}`, params, types };
}

/** Whether BigQuery refused a DML statement for rows still in the streaming buffer. */
export const inStreamingBuffer = (e: unknown): boolean =>
  /streaming buffer/i.test((e as Error)?.message ?? '');

type Query = (
  sql: string,
  params: Record<string, unknown>,
  types: Record<string, string | string[]>,
) => Promise<Record<string, unknown>[]>;

/** The erasures table in the dataset: appended with insertAll (an insertId per step, so a
 * retried append is kept once), read with one query. */
export class BigQueryErasureLog implements ErasureLog {
  private readonly table: Table;
  private readonly fq: string;

  constructor(
    private readonly opts: {
      projectId: string;
      dataset: Dataset;
      query: Query;
      retry: { maxAttempts: number; initialDelayMs: number; maxDelayMs: number };
      sleep: (ms: number) => Promise<void>;
    },
  ) {
    this.table = opts.dataset.table(BIGQUERY_ERASURES_TABLE);
    this.fq = `\`${opts.projectId}.${opts.dataset.id}.${BIGQUERY_ERASURES_TABLE}\``;
  }

  /** The table as a query names it. */
  get reference(): string {
    return this.fq;
  }

  async exists(): Promise<boolean> {
    const [exists] = await this.table.exists();
    return exists;
  }

  async createTable(): Promise<void> {
    if (await this.exists()) return;
    await this.table
      .create({
        schema: { fields: bigQueryErasuresFields() },
        description: 'eventpipe erasures: every step of every erasure (the audit trail)',
      })
      .catch((e: ApiErrorLike) => {
        if (e.code !== 409) throw e;
      });
  }

  async readSteps(): Promise<ErasureStep[]> {
    const rows = await this.opts.query(
      'SELECT erasure_id, UNIX_MICROS(step_at) AS at_us, action, key_name, subject, event_id, source, ' +
        `source_prefix, suppress, row_count, detail FROM ${this.fq}`,
      {},
      {},
    );
    return rows.map(stepOfRecord);
  }

  async appendSteps(steps: ErasureStep[]): Promise<void> {
    if (steps.length === 0) return;
    const rows = steps.map((s) => ({
      insertId: createHash('sha256').update(JSON.stringify(s)).digest('base64url').slice(0, 40),
      json: {
        erasure_id: s.erasureId,
        step_at: s.at,
        action: s.action,
        key_name: s.keyName,
        subject: s.subject,
        event_id: s.eventId,
        source: s.source,
        source_prefix: s.sourcePrefix,
        suppress: s.suppress,
        row_count: s.rows,
        detail: s.detail,
      },
    }));
    await retry(() => this.table.insert(rows, { raw: true, partialRetries: 0 }), {
      maxAttempts: this.opts.retry.maxAttempts,
      initialDelayMs: this.opts.retry.initialDelayMs,
      maxDelayMs: this.opts.retry.maxDelayMs,
      jitter: 'full',
      retryable: (e) => isRetryable(e as ApiErrorLike),
      clock: { now: () => Date.now(), sleep: (ms) => this.opts.sleep(ms) },
    });
  }
}
