import { z } from 'zod';

/** A program whose environment a config schema describes (a service, npm start, a command). */
export interface ConfigReader {
  /** How the docs name it, e.g. `publisher` or `npm start`. */
  name: string;
  schema: z.ZodObject;
}

/** A table of the reference: the variables a group of programs read. */
export interface ConfigSection {
  title: string;
  intro: string;
  readers: ConfigReader[];
}

interface Property {
  description?: string;
  default?: unknown;
  type?: string;
  enum?: unknown[];
  minimum?: number;
  maximum?: number;
  minLength?: number;
  pattern?: string;
}

const MAX_SAFE = Number.MAX_SAFE_INTEGER;

function propertiesOf(schema: z.ZodObject): Record<string, Property> {
  const json = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as {
    properties?: Record<string, Property>;
  };
  return json.properties ?? {};
}

const code = (value: unknown): string =>
  value === '' ? 'empty' : `\`${typeof value === 'string' ? value : JSON.stringify(value)}\``;

function allowed(p: Property): string {
  if (p.enum) return p.enum.map(code).join(', ');
  if (p.type === 'integer' || p.type === 'number') {
    const max = p.maximum === undefined || p.maximum >= MAX_SAFE ? undefined : p.maximum;
    if (p.minimum !== undefined && max !== undefined) return `${p.minimum}–${max}`;
    if (p.minimum !== undefined) return `≥ ${p.minimum}`;
    return 'a number';
  }
  if (p.pattern) return `matches \`${p.pattern.replace(/\|/g, '\\|')}\``;
  if (p.minLength && p.minLength > 1) return `text of ${p.minLength}+ characters`;
  return p.minLength ? 'non-empty text' : 'text';
}

/** One value when every program agrees, else each distinct value after the programs that give it. */
function perReader(
  holders: { name: string; props: Record<string, Property> }[],
  name: string,
  show: (p: Property) => string,
): string {
  const groups = new Map<string, string[]>();
  for (const r of holders) {
    const value = show(r.props[name]!);
    groups.set(value, [...(groups.get(value) ?? []), r.name]);
  }
  if (groups.size === 1) return [...groups.keys()][0]!;
  return [...groups].map(([value, who]) => `${who.join(', ')}: ${value}`).join('; ');
}

const cell = (text: string): string => text.replace(/\|/g, '\\|').replace(/\n/g, ' ');

/**
 * The configuration reference as Markdown, from the schemas alone: each variable's meaning is its
 * zod `.describe()` text, its default and allowed values come from the schema, and a default that
 * differs between programs is given per program.
 */
export function renderConfigDoc(sections: ConfigSection[], preamble: string): string {
  const out = [preamble.trim(), ''];
  for (const section of sections) {
    out.push(`## ${section.title}`, '', section.intro.trim(), '');
    const many = section.readers.length > 1;
    const readers = section.readers.map((r) => ({ name: r.name, props: propertiesOf(r.schema) }));
    const names: string[] = [];
    for (const r of readers)
      for (const k of Object.keys(r.props)) if (!names.includes(k)) names.push(k);
    out.push(
      many
        ? '| variable | read by | default | allowed | meaning |'
        : '| variable | default | allowed | meaning |',
      many ? '| --- | --- | --- | --- | --- |' : '| --- | --- | --- | --- |',
    );
    for (const name of names) {
      const holders = readers.filter((r) => r.props[name]);
      const per = (show: (p: Property) => string): string => perReader(holders, name, show);
      const description = per((p) => {
        if (!p.description) throw new Error(`${name} has no description; add .describe() to it`);
        return cell(p.description);
      });
      const readBy =
        holders.length === readers.length ? 'all' : holders.map((r) => r.name).join(', ');
      const row = [
        `\`${name}\``,
        per((p) => (p.default === undefined ? 'unset' : code(p.default))),
        per(allowed),
        description,
      ];
      if (many) row.splice(1, 0, readBy);
      out.push(`| ${row.join(' | ')} |`);
    }
    out.push('');
  }
  return out.join('\n');
}
