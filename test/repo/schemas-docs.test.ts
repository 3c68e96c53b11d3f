import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { COMPATIBILITY_RULES } from '@eventpipe/registry';

const doc = readFileSync(join(__dirname, '..', '..', 'docs', 'SCHEMAS.md'), 'utf8');

describe('docs/SCHEMAS.md', () => {
  it('when the compatibility checker can break a rule, then the rules table names and explains it', () => {
    const rows = new Map(
      [...doc.matchAll(/^\| `([a-z-]+)`\s*\| (.+?)\s*\|$/gm)].map((m) => [m[1]!, m[2]!.trim()]),
    );
    const missing = Object.entries(COMPATIBILITY_RULES)
      .filter(([rule, text]) => rows.get(rule) !== text.replaceAll('|', '\\|'))
      .map(([rule]) => rule);
    expect(missing).toEqual([]);
    expect(Object.keys(COMPATIBILITY_RULES).length).toBeGreaterThan(10);
  });
});
