import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from '@cdktf/hcl2json';

/** A Terraform module read as data (hcl2json): no terraform binary runs in these tests. */
export type Block = Record<string, unknown>;
export interface Module {
  resources: Record<string, Record<string, Block[]>>;
  data: Record<string, Record<string, Block[]>>;
  variables: Record<string, Block[]>;
  terraform: Block[];
  files: Record<string, string>;
}

export const terraformDir = join(__dirname, '..', '..', 'infra', 'terraform');

export async function loadModule(dir: string): Promise<Module> {
  const module: Module = { resources: {}, data: {}, variables: {}, terraform: [], files: {} };
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.tf'))) {
    const text = readFileSync(join(dir, file), 'utf8');
    module.files[file] = text;
    const json = (await parse(file, text)) as {
      resource?: Module['resources'];
      data?: Module['data'];
      variable?: Module['variables'];
      terraform?: Block[];
    };
    for (const [kind, into] of [
      [json.resource, module.resources],
      [json.data, module.data],
    ] as const) {
      for (const [type, byName] of Object.entries(kind ?? {})) {
        into[type] = { ...(into[type] ?? {}), ...byName };
      }
    }
    module.variables = { ...module.variables, ...(json.variable ?? {}) };
    module.terraform.push(...(json.terraform ?? []));
  }
  return module;
}

export function resource(module: Module, type: string, name: string): Block {
  const block = module.resources[type]?.[name]?.[0];
  if (!block) throw new Error(`no ${type}.${name}`);
  return block;
}

export const first = (b: Block, key: string): Block => (b[key] as Block[])[0]!;

/** The regular expression of a variable's `can(regex("…", var.x))` validation. */
export function validationPattern(module: Module, variable: string): RegExp {
  const validation = first(module.variables[variable]![0]!, 'validation');
  const m = /regex\("((?:[^"\\]|\\.)*)"/.exec(String(validation.condition));
  if (!m) throw new Error(`variable ${variable} has no regex validation`);
  return new RegExp(JSON.parse(`"${m[1]}"`) as string);
}

/** Every IAM grant of the module as `member → ["role on resource (name)"]`. */
export function grantsByMember(module: Module): Map<string, string[]> {
  const grants = new Map<string, string[]>();
  for (const [type, byName] of Object.entries(module.resources)) {
    if (!type.endsWith('_iam_member')) continue;
    for (const [name, [block]] of Object.entries(byName)) {
      const member = String(block!.member);
      const on =
        block!.topic ??
        block!.subscription ??
        block!.table_id ??
        (type === 'google_bigquery_dataset_iam_member' ? block!.dataset_id : undefined) ??
        block!.secret_id ??
        block!.crypto_key_id ??
        (type === 'google_project_iam_member' ? 'project' : block!.name);
      grants.set(member, [
        ...(grants.get(member) ?? []),
        `${String(block!.role)} on ${String(on)} (${name})`,
      ]);
    }
  }
  return grants;
}
