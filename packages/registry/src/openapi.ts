import { viewName } from './model';
import type { SchemaRegistry } from './registry';

type Json = Record<string, unknown>;

/** A component name for the data of one type: `data.<type>` with characters OpenAPI's component
 * names do not allow (outside A–Z a–z 0–9 . _ -) replaced by `_`. */
export const dataComponentName = (type: string): string =>
  `data.${type.replace(/[^A-Za-z0-9._-]/g, '_')}`;

/**
 * The document with the registered event types: each type's newest schema as a component
 * (`data.<type>`; JSON Schema 2020-12 is OpenAPI 3.1's dialect) and the list
 * `x-eventpipe-event-types` linking each type to its schema, version URI and typed view.
 */
export function withEventTypes<T extends Json>(document: T, registry: SchemaRegistry): T {
  if (registry.types().length === 0) return document;
  const components = (document.components ?? {}) as Json;
  const schemas = { ...((components.schemas ?? {}) as Json) };
  const types = registry.types().map((type) => {
    const latest = registry.latest(type)!;
    const name = dataComponentName(type);
    const { $schema: _dialect, ...schema } = latest.schema;
    schemas[name] = { ...schema, $id: registry.uri(type, latest.version) };
    return {
      type,
      version: latest.version,
      mode: latest.mode,
      uri: registry.uri(type, latest.version),
      view: viewName(type),
      schema: { $ref: `#/components/schemas/${name}` },
    };
  });
  return {
    ...document,
    components: { ...components, schemas },
    'x-eventpipe-event-types': types,
  };
}
