import { z } from 'zod';
import { renderConfigDoc } from '../src/config-doc';

const alone = z.object({
  PORT: z.coerce.number().int().min(1).max(65535).default(8080).describe('HTTP port'),
  MODE: z.enum(['a', 'b']).default('a').describe('Mode | with a pipe'),
});
const together = z.object({
  PORT: z.coerce.number().int().min(1).max(65535).default(9090).describe('HTTP port'),
  NAME: z.string().optional().describe('A name'),
});

describe('renderConfigDoc', () => {
  const doc = renderConfigDoc(
    [
      {
        title: 'Both',
        intro: 'Two programs.',
        readers: [
          { name: 'one', schema: alone },
          { name: 'two', schema: together },
        ],
      },
    ],
    '# Reference',
  );

  it('when programs share a variable with different defaults, then the row gives each default', () => {
    expect(doc).toContain('| `PORT` | all | one: `8080`; two: `9090` | 1–65535 | HTTP port |');
  });

  it('when one program reads a variable, then the row names it, its allowed values and escapes pipes', () => {
    expect(doc).toContain('| `MODE` | one | `a` | `a`, `b` | Mode \\| with a pipe |');
    expect(doc).toContain('| `NAME` | two | unset | text | A name |');
  });

  it('when a variable has no description, then rendering fails and names it', () => {
    const bare = z.object({ SECRET: z.string().optional() });
    expect(() =>
      renderConfigDoc([{ title: 'x', intro: 'y', readers: [{ name: 'z', schema: bare }] }], '#'),
    ).toThrow(/SECRET has no description/);
  });
});
