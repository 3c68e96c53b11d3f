import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { RegisterInput, SchemaRegistry } from './registry';

/** A schema file's content: a JSON Schema, or `{"schema": …, "mode"?, "compatibility"?}`. */
export function registerInputOf(content: unknown): RegisterInput {
  if (
    content !== null &&
    typeof content === 'object' &&
    !Array.isArray(content) &&
    'schema' in content &&
    Object.keys(content).every((k) => ['schema', 'mode', 'compatibility'].includes(k))
  ) {
    return content as RegisterInput;
  }
  return { schema: content };
}

export interface DirResult {
  file: string;
  type: string;
  outcome: 'created' | 'unchanged';
  version: number;
}

/**
 * Registers every `<type>.json` of `dir` (SCHEMAS_DIR), in name order: schemas kept in git,
 * applied at start. A file the registry refuses (not JSON, not a valid schema, incompatible)
 * throws, naming the file and why: the service does not start on a registry it was not given.
 */
export async function applySchemasDir(registry: SchemaRegistry, dir: string): Promise<DirResult[]> {
  const files = readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort();
  const results: DirResult[] = [];
  for (const file of files) {
    const type = file.slice(0, -'.json'.length);
    let content: unknown;
    try {
      content = JSON.parse(readFileSync(join(dir, file), 'utf8'));
    } catch (e) {
      throw new Error(`SCHEMAS_DIR ${join(dir, file)}: not JSON (${(e as Error).message})`);
    }
    const r = await registry.register(type, registerInputOf(content));
    if (r.outcome === 'invalid') {
      throw new Error(
        `SCHEMAS_DIR ${join(dir, file)}: not a valid JSON Schema: ${r.messages.join('; ')}`,
      );
    }
    if (r.outcome === 'view-taken') {
      throw new Error(
        `SCHEMAS_DIR ${join(dir, file)}: type ${type}'s view ${r.view} is already the view of type ${r.by}`,
      );
    }
    if (r.outcome === 'busy') {
      throw new Error(
        `SCHEMAS_DIR ${join(dir, file)}: other registrations of ${type} kept winning`,
      );
    }
    if (r.outcome === 'incompatible') {
      throw new Error(
        `SCHEMAS_DIR ${join(dir, file)}: breaks compatibility with version ${r.against} of ${type}: ` +
          r.breaks.map((b) => `${b.rule} at ${b.pointer || '/'}: ${b.message}`).join('; '),
      );
    }
    results.push({ file, type, outcome: r.outcome, version: r.version.version });
  }
  return results;
}
