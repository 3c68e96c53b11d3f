import { AppError, errors } from '@eventpipe/platform';
import {
  COMPATIBILITIES,
  SCHEMA_MODES,
  inferSchema,
  viewName,
  type SchemaRegistry,
  type SchemaVersion,
} from '@eventpipe/registry';
import { LIMITS, matchesGrant } from '@eventpipe/schema';
import type { SchemaStore } from '@eventpipe/registry';
import { z } from 'zod';
import type { Reader } from './list-events';
import { parseQuery } from './params';

/** The schema routes take no query parameters: an unknown one is a 400, as on every route. */
const noParams = z.object({}).strict();

/** Largest PUT /v1/schemas/{type} body. */
export const SCHEMA_BODY_MAX_BYTES = 256 * 1024;

/** How many stored events of a type GET /v1/schemas/{type}/inferred drafts its schema from. */
export const INFER_SAMPLE_EVENTS = 200;

export const putSchemaBody = z
  .object({
    schema: z.unknown().describe('A JSON Schema (draft 2020-12) for the data of the type'),
    mode: z.enum(SCHEMA_MODES).optional().describe('enforce (default), warn or off'),
    compatibility: z
      .enum(COMPATIBILITIES)
      .optional()
      .describe('BACKWARD (default), FORWARD, FULL or NONE'),
  })
  .strict();

/** A version as the API shows it. */
export const versionJson = (registry: SchemaRegistry, v: SchemaVersion) => ({
  type: v.type,
  version: v.version,
  uri: registry.uri(v.type, v.version),
  mode: v.mode,
  compatibility: v.compatibility,
  createdAt: v.createdAt,
  schema: v.schema,
});

/** The schema use cases of the query API: register, read, infer. */
export function schemaUseCases(deps: { registry: SchemaRegistry; store: SchemaStore }) {
  const { registry } = deps;

  const checkType = (type: string) => {
    if (!type || Buffer.byteLength(type) > LIMITS.maxAttributeBytes)
      throw errors.validation('type is empty or too long', [
        { pointer: 'type', detail: 'type is empty or too long' },
      ]);
  };
  /** A reader limited to some types sees only their schemas (as with their events). */
  const visible = (type: string, reader?: Reader) => matchesGrant(type, reader?.grant?.types);

  return {
    /** PUT /v1/schemas/{type}: 201 with a new version, 200 when nothing changed. */
    async put(type: string, body: unknown) {
      checkType(type);
      const parsed = putSchemaBody.safeParse(body);
      if (!parsed.success) {
        throw errors.validation(
          'body must be {"schema": …, "mode"?: …, "compatibility"?: …}',
          parsed.error.issues.map((i) => ({
            pointer: `/${i.path.join('/')}`,
            detail: i.message,
          })),
        );
      }
      if (parsed.data.schema === undefined)
        throw errors.validation('schema is required', [
          { pointer: '/schema', detail: 'is required' },
        ]);
      const r = await registry.register(type, {
        schema: parsed.data.schema,
        mode: parsed.data.mode,
        compatibility: parsed.data.compatibility,
      });
      switch (r.outcome) {
        case 'invalid':
          throw new AppError('invalid-schema', {
            detail: 'the schema is not a valid JSON Schema (draft 2020-12); nothing was registered',
            errors: r.messages.map((m) => ({ pointer: '/schema', detail: m })),
          });
        case 'incompatible':
          throw new AppError('schema-incompatible', {
            detail: `the schema breaks ${r.breaks.length} rule(s) of ${registry.latest(type)?.compatibility ?? 'BACKWARD'} compatibility with version ${r.against}; nothing was registered`,
            errors: r.breaks.map((b) => ({
              pointer: `/schema${b.pointer}`,
              detail: `${b.rule}: ${b.message}`,
            })),
          });
        case 'view-taken':
          throw new AppError('schema-incompatible', {
            detail: `type ${type} would have the view ${r.view}, which is the view of type ${r.by}; nothing was registered`,
            errors: [{ pointer: 'type', detail: `view-name-taken: ${r.view} belongs to ${r.by}` }],
          });
        case 'busy':
          throw errors.unavailable(
            'other registrations of this type kept taking the next version; retry',
            1,
          );
        default:
          return {
            created: r.outcome === 'created',
            body: { ...versionJson(registry, r.version), view: viewName(type) },
          };
      }
    },

    /** GET /v1/schemas: every type with a schema, its settings and newest version. */
    list(query: unknown, reader?: Reader) {
      parseQuery(noParams, query);
      return {
        data: registry
          .types()
          .filter((t) => visible(t, reader))
          .map((t) => {
            const latest = registry.latest(t)!;
            return {
              type: t,
              mode: latest.mode,
              compatibility: latest.compatibility,
              latestVersion: latest.version,
              uri: registry.uri(t, latest.version),
              view: viewName(t),
            };
          }),
      };
    },

    /** GET /v1/schemas/{type}: settings and every version. */
    get(type: string, query: unknown, reader?: Reader) {
      checkType(type);
      parseQuery(noParams, query);
      const versions = visible(type, reader) ? registry.versions(type) : [];
      if (versions.length === 0) throw errors.notFound(`no schema is registered for type ${type}`);
      const latest = versions.at(-1)!;
      return {
        type,
        mode: latest.mode,
        compatibility: latest.compatibility,
        view: viewName(type),
        versions: versions.map((v) => versionJson(registry, v)),
      };
    },

    /** GET /v1/schemas/{type}/versions/{n}. */
    version(type: string, n: string, query: unknown, reader?: Reader) {
      checkType(type);
      parseQuery(noParams, query);
      const found =
        /^[1-9][0-9]{0,8}$/.test(n) && visible(type, reader)
          ? registry.versions(type).find((v) => v.version === Number(n))
          : undefined;
      if (!found)
        throw errors.notFound(`no version ${n.slice(0, 20)} of the schema of type ${type}`);
      return versionJson(registry, found);
    },

    /** GET /v1/schemas/{type}/inferred: a draft from the newest stored events of the type. */
    async inferred(type: string, query: unknown, reader?: Reader) {
      checkType(type);
      parseQuery(noParams, query);
      // The sample reads every source's events of the type: a key limited to some sources may
      // not draft from the others'.
      if (reader?.grant?.sources) {
        throw new AppError('insufficient-scope', {
          detail: 'drafting a schema reads the events of every source; this key is limited to some',
        });
      }
      const texts = visible(type, reader)
        ? await deps.store.sampleData(type, INFER_SAMPLE_EVENTS)
        : [];
      return {
        type,
        sampledEvents: texts.length,
        schema: inferSchema(texts.map((t) => JSON.parse(t) as unknown)),
      };
    },
  };
}
