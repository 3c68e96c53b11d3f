import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PROBLEMS } from '../../packages/platform/src/errors';

const api = readFileSync(join(__dirname, '..', '..', 'docs', 'API.md'), 'utf8');
const rows = new Map(
  [...api.matchAll(/^\| `([a-z-]+)` +\| (\d{3}) +\|/gm)].map((m) => [m[1]!, Number(m[2])]),
);

describe('docs/API.md problem codes', () => {
  it('when the error model has a code, then the table lists it with its status', () => {
    const wrong = Object.entries(PROBLEMS)
      .filter(([code, p]) => rows.get(code) !== p.status)
      .map(([code, p]) => `${code} ${p.status} (table: ${rows.get(code) ?? 'missing'})`);
    expect(wrong).toEqual([]);
  });

  it('when the table lists a code, then the error model has it', () => {
    const problemRows = [...rows.keys()].filter((k) => /^[a-z]+(-[a-z]+)*$/.test(k));
    expect(problemRows.filter((code) => !(code in PROBLEMS))).toEqual([]);
  });
});
