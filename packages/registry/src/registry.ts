import { isDeepStrictEqual } from 'node:util';
import { EVENT_COLUMNS, type Envelope } from '@eventpipe/schema';
import { checkCompatibility } from './compatibility';
import { viewColumns } from './columns';
import { viewName } from './model';
import type {
  Compatibility,
  CompatibilityBreak,
  DataViolation,
  JsonSchema,
  SchemaMode,
  SchemaVersion,
} from './model';
import type { SchemaStore } from './schema-store.port';
import { duplicateKeyPointer } from './duplicate-keys';
import { applySchemasDir } from './schemas-dir';
import { checkSchemaDocument, compileDataValidator } from './validate';

export interface RegistryOptions {
  /** How often an instance reloads the registry from the store (SCHEMA_REFRESH_SECONDS): a
   * version registered elsewhere is used here within this long. */
  refreshMs: number;
  /** What `dataschema` URIs begin with (SCHEMA_URI_BASE): the query API's public URL. */
  uriBase: string;
  now?: () => string;
  onError?: (err: unknown) => void;
}

export interface RegisterInput {
  schema: unknown;
  mode?: SchemaMode;
  compatibility?: Compatibility;
}

export type RegisterResult =
  | { outcome: 'created'; version: SchemaVersion }
  /** The same schema and settings as the newest version: nothing new is made. */
  | { outcome: 'unchanged'; version: SchemaVersion }
  | { outcome: 'invalid'; messages: string[] }
  | { outcome: 'incompatible'; against: number; breaks: CompatibilityBreak[] }
  /** Another type already has this type's view name (`events_<slug>`). */
  | { outcome: 'view-taken'; view: string; by: string }
  /** Registrations elsewhere kept taking the next version number: retry. */
  | { outcome: 'busy' };

/** What the registry says of one event's data. */
export type CheckResult =
  /** No schema for the type, or its mode is off. */
  | { outcome: 'unchecked' }
  | { outcome: 'valid'; dataschema: string; version: number }
  | {
      outcome: 'invalid';
      mode: 'enforce' | 'warn';
      violations: DataViolation[];
      version?: number;
    };

export interface CheckedEvent {
  type: string;
  dataschema?: string;
  /** The event's data as a value (absent: the event has none; binary data is not JSON). */
  data?: unknown;
  /** The data's JSON text as sent: checked for a member name given twice in one object. */
  dataText?: string;
  hasBinaryData?: boolean;
}

/** Names a typed-view column may not take: the envelope's, and SQL's reserved words (BigQuery's
 * and DuckDB's), so a property `order` becomes the column `data_order`. */
const SQL_RESERVED = `all analyse analyze and any array as asc assert_rows_modified asymmetric at
between both by case cast check collate column constraint contains create cross cube current
current_date current_time current_timestamp current_user default deferrable define desc distinct
do else end enum escape except exclude exists extract false fetch following for foreign from full
grant group grouping groups hash having if ignore in initially inner intersect interval into is
join lateral leading left like limit lookup merge natural new no not null nulls of offset on only
or order outer over partition placing preceding primary proto qualify range recursive references
respect returning right rollup rows select set some struct symmetric table tablesample then to
trailing treat true unbounded union unique unnest using variadic when where window with within`.split(
  /\s+/,
);
export const VIEW_RESERVED: readonly string[] = [
  ...EVENT_COLUMNS.map((c) => c.name),
  ...SQL_RESERVED,
];

const URI_TAIL = /\/v1\/schemas\/([^/]+)\/versions\/([1-9][0-9]*)$/;

/**
 * The registry every service shares: versions kept in the store's `schemas` table, cached here
 * and reloaded every `refreshMs`; one compiled validator per version, made once.
 */
export class SchemaRegistry {
  private byType = new Map<string, SchemaVersion[]>();
  private validators = new Map<string, (data: unknown) => DataViolation[]>();
  private timer: NodeJS.Timeout | undefined;
  private loaded = false;
  private readonly registering = new Map<string, Promise<void>>();

  constructor(
    private readonly store: SchemaStore,
    private readonly opts: RegistryOptions,
  ) {}

  /** Loads the registry now, then every refreshMs (errors keep the last registry). */
  async start(): Promise<void> {
    await this.reload();
    this.timer = setInterval(() => {
      this.reload().catch((e: unknown) => this.opts.onError?.(e));
    }, this.opts.refreshMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }

  async reload(): Promise<void> {
    const all = await this.store.listSchemaVersions();
    const byType = new Map<string, SchemaVersion[]>();
    for (const v of all) byType.set(v.type, [...(byType.get(v.type) ?? []), v]);
    for (const list of byType.values()) list.sort((a, b) => a.version - b.version);
    this.byType = byType;
    this.loaded = true;
  }

  get ready(): boolean {
    return this.loaded;
  }

  types(): string[] {
    return [...this.byType.keys()].sort();
  }

  versions(type: string): SchemaVersion[] {
    return this.byType.get(type) ?? [];
  }

  latest(type: string): SchemaVersion | undefined {
    return this.byType.get(type)?.at(-1);
  }

  uri(type: string, version: number): string {
    return `${this.opts.uriBase.replace(/\/+$/, '')}/v1/schemas/${encodeURIComponent(type)}/versions/${version}`;
  }

  /** The (type, version) a dataschema URI names, whatever base it was written with. */
  static parseUri(uri: string): { type: string; version: number } | undefined {
    const m = URI_TAIL.exec(uri);
    if (!m) return undefined;
    try {
      return { type: decodeURIComponent(m[1]!), version: Number(m[2]) };
    } catch {
      return undefined;
    }
  }

  /** Registers the next version of `type`, against the newest as its compatibility says.
   * Registrations of one type through this instance run one at a time; across instances the
   * store's (type, version) key decides, and the loser reloads and checks again. */
  register(type: string, input: RegisterInput): Promise<RegisterResult> {
    const before = this.registering.get(type) ?? Promise.resolve();
    const run = before.then(() => this.registerNow(type, input));
    const settled = run.then(
      () => undefined,
      () => undefined,
    );
    this.registering.set(type, settled);
    void settled.then(() => {
      if (this.registering.get(type) === settled) this.registering.delete(type);
    });
    return run;
  }

  private async registerNow(type: string, input: RegisterInput): Promise<RegisterResult> {
    const messages = checkSchemaDocument(input.schema);
    if (messages.length) return { outcome: 'invalid', messages };
    const schema = input.schema as JsonSchema;
    for (let attempt = 0; attempt < 8; attempt++) {
      await this.reload();
      const clash = this.types().find((t) => t !== type && viewName(t) === viewName(type));
      if (clash) return { outcome: 'view-taken', view: viewName(type), by: clash };
      const latest = this.latest(type);
      const mode = input.mode ?? latest?.mode ?? 'enforce';
      const compatibility = input.compatibility ?? latest?.compatibility ?? 'BACKWARD';
      if (
        latest &&
        isDeepStrictEqual(latest.schema, schema) &&
        latest.mode === mode &&
        latest.compatibility === compatibility
      ) {
        return { outcome: 'unchanged', version: latest };
      }
      if (latest) {
        const breaks = checkCompatibility(latest.schema, schema, compatibility);
        if (breaks.length) return { outcome: 'incompatible', against: latest.version, breaks };
      }
      const version: SchemaVersion = {
        type,
        version: (latest?.version ?? 0) + 1,
        schema,
        mode,
        compatibility,
        createdAt: this.opts.now?.() ?? new Date().toISOString(),
      };
      if ((await this.store.addSchemaVersion(version)) === 'exists') continue; // lost a race
      await this.store.replaceTypedView(type, viewColumns(schema, VIEW_RESERVED));
      await this.reload();
      return { outcome: 'created', version };
    }
    return { outcome: 'busy' };
  }

  /** check() for an event as the publisher and the worker hold it: its data text is parsed only
   * when its type has a schema in force, so events of other types cost a map lookup. `parsed`:
   * the value of that text, when the caller already has it (the publisher parsed the body its
   * text was cut from), so it is not parsed twice. */
  checkEnvelope(
    event: Envelope,
    dataschema: string | undefined = event.dataschema,
    parsed?: { data: unknown },
  ): CheckResult {
    const latest = this.latest(event.type);
    if (!latest || latest.mode === 'off') return { outcome: 'unchecked' };
    return this.check({
      type: event.type,
      dataschema,
      data:
        event.data === undefined
          ? undefined
          : parsed
            ? parsed.data
            : (JSON.parse(event.data) as unknown),
      dataText: event.data,
      hasBinaryData: event.data_base64 !== undefined,
    });
  }

  /** Checks one event's data against the version it names (dataschema) or the newest. */
  check(event: CheckedEvent): CheckResult {
    const latest = this.latest(event.type);
    if (!latest || latest.mode === 'off') return { outcome: 'unchecked' };
    const mode = latest.mode;
    let target = latest;
    if (event.dataschema !== undefined) {
      const named = SchemaRegistry.parseUri(event.dataschema);
      const pinned =
        named && named.type === event.type
          ? this.versions(event.type).find((v) => v.version === named.version)
          : undefined;
      if (!pinned) {
        return {
          outcome: 'invalid',
          mode,
          violations: [
            {
              pointer: '/dataschema',
              message: `names no registered version of the schema of type ${event.type} (versions 1 to ${latest.version}: ${this.uri(event.type, latest.version)})`,
            },
          ],
        };
      }
      target = pinned;
    }
    if (event.hasBinaryData) {
      return {
        outcome: 'invalid',
        mode,
        version: target.version,
        violations: [
          {
            pointer: '/data_base64',
            message: 'is binary; the schema of this type needs JSON data',
          },
        ],
      };
    }
    const duplicate =
      event.dataText !== undefined ? duplicateKeyPointer(event.dataText) : undefined;
    if (duplicate !== undefined) {
      return {
        outcome: 'invalid',
        mode,
        version: target.version,
        violations: [
          {
            pointer: `/data${duplicate}`,
            message: 'is given twice in one object (readers disagree on which value counts)',
          },
        ],
      };
    }
    const violations = this.validator(target)(event.data === undefined ? null : event.data);
    if (violations.length) return { outcome: 'invalid', mode, version: target.version, violations };
    return {
      outcome: 'valid',
      dataschema: event.dataschema ?? this.uri(event.type, target.version),
      version: target.version,
    };
  }

  private validator(v: SchemaVersion): (data: unknown) => DataViolation[] {
    const key = `${v.version}\u0000${v.type}`;
    let fn = this.validators.get(key);
    if (!fn) {
      fn = compileDataValidator(v.schema);
      this.validators.set(key, fn);
    }
    return fn;
  }
}

/** A registry over `store`, loaded once in the background, for wiring where no start-up step
 * awaits it (tests, embedded stacks whose services share this one instance: a registration
 * through it updates it, so it needs no periodic reload). Services use startRegistry. */
export function backgroundRegistry(
  store: SchemaStore,
  opts: Partial<RegistryOptions> = {},
): SchemaRegistry {
  const registry = new SchemaRegistry(store, {
    refreshMs: 5000,
    uriBase: 'http://127.0.0.1:8081',
    ...opts,
  });
  registry.reload().catch((e: unknown) => opts.onError?.(e));
  return registry;
}

/** A registry for a service: configured from its variables, loaded before it serves, with the
 * schemas of SCHEMAS_DIR applied when given. */
export async function startRegistry(
  store: SchemaStore,
  config: { SCHEMA_REFRESH_SECONDS: number; SCHEMA_URI_BASE: string; SCHEMAS_DIR?: string },
  log: {
    info: (fields: object, msg: string) => void;
    warn: (fields: object, msg: string) => void;
  },
): Promise<SchemaRegistry> {
  const registry = new SchemaRegistry(store, {
    refreshMs: config.SCHEMA_REFRESH_SECONDS * 1000,
    uriBase: config.SCHEMA_URI_BASE,
    onError: (err) => log.warn({ err }, 'schema registry not reloaded (the last one stays in use)'),
  });
  await registry.start();
  if (config.SCHEMAS_DIR) {
    const applied = await applySchemasDir(registry, config.SCHEMAS_DIR);
    log.info({ dir: config.SCHEMAS_DIR, schemas: applied }, 'schemas applied from SCHEMAS_DIR');
  }
  return registry;
}
