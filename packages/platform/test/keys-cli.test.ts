import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const cli = join(__dirname, '..', 'dist', 'keys-cli.js');
const run = (...args: string[]) =>
  spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8' });

describe('npm run keys -- create --key-out', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'ep-keys-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('when --key-out names a new file, then the key goes there (mode 600) and stdout is only the entry for that key', () => {
    const file = join(dir, 'smoke.key');
    const r = run(
      'create',
      '--name',
      'smoke',
      '--scope',
      'events:write',
      '--scope',
      'events:read',
      '--key-out',
      file,
    );
    expect(r.status).toBe(0);
    const key = readFileSync(file, 'utf8').trim();
    expect(key).toMatch(/^ep_[A-Za-z0-9_-]{43}$/);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(r.stdout.trim().split('\n')).toHaveLength(1);
    expect(JSON.parse(r.stdout)).toEqual({
      name: 'smoke',
      scopes: ['events:write', 'events:read'],
      sha256: createHash('sha256').update(key).digest('hex'),
    });
    expect(r.stdout).not.toContain(key);
  });

  it('when the --key-out file exists, then it is left as it was and the command fails', () => {
    const file = join(dir, 'smoke.key');
    expect(run('create', '--name', 'a', '--scope', 'events:read', '--key-out', file).status).toBe(
      0,
    );
    const before = readFileSync(file, 'utf8');
    const r = run('create', '--name', 'b', '--scope', 'events:read', '--key-out', file);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`cannot write the key to ${file}`);
    expect(r.stdout).toBe('');
    expect(readFileSync(file, 'utf8')).toBe(before);
  });
});
