import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The forms a marker string takes in a file that holds it in clear: itself, and the part of its
 * base64 that does not depend on the bytes around it, at each of the three alignments a base64
 * encoder can meet it at (a body the bus journal keeps as base64, data_base64 in a row).
 */
export function markerForms(marker: string): string[] {
  const bytes = Buffer.from(marker);
  const forms = [marker];
  for (const shift of [0, 1, 2]) {
    const b64 = Buffer.concat([Buffer.alloc(shift), bytes]).toString('base64');
    forms.push(b64.slice(Math.ceil(shift / 3) * 4, Math.floor((shift + bytes.length) / 3) * 4));
  }
  return forms;
}

/** Every file under `dir` (recursively) that holds `marker` in one of its markerForms, with the
 * form found; `files` receives each path looked at. */
export function filesHolding(
  dir: string,
  marker: string,
  files: string[] = [],
): { path: string; form: string }[] {
  const forms = markerForms(marker).map((f) => Buffer.from(f));
  const found: { path: string; form: string }[] = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    let stat;
    try {
      stat = statSync(path);
    } catch {
      continue; // gone meanwhile (DuckDB removes its temporary files)
    }
    if (stat.isDirectory()) {
      found.push(...filesHolding(path, marker, files));
      continue;
    }
    let bytes: Buffer;
    try {
      bytes = readFileSync(path);
    } catch {
      continue;
    }
    files.push(path);
    for (const form of forms) {
      if (bytes.includes(form)) found.push({ path, form: form.toString() });
    }
  }
  return found;
}
