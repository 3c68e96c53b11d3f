import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hashKey, isProduction, loadApiKeys, resolveApiKeys } from '@eventpipe/platform';

const entry = (name: string, scopes: string[], key: string) => ({
  name,
  scopes,
  sha256: hashKey(key),
});

describe('API keys', () => {
  it('when a key is hashed, then it is its hex SHA-256', () => {
    expect(hashKey('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });

  it('when API_KEYS holds valid entries, then they load; from a file too', () => {
    const json = JSON.stringify([
      entry('a', ['events:read'], 'k1'),
      entry('b', ['events:write', 'events:read'], 'k2'),
    ]);
    expect(loadApiKeys(json, undefined).map((k) => k.name)).toEqual(['a', 'b']);
    const file = join(mkdtempSync(join(tmpdir(), 'keys-')), 'keys.json');
    writeFileSync(file, json);
    expect(loadApiKeys(undefined, file)).toHaveLength(2);
  });

  it.each([
    ['not JSON', '{', /not valid JSON/],
    [
      'a clear-text key',
      JSON.stringify([{ name: 'a', scopes: ['events:read'], key: 'secret' }]),
      /sha256/,
    ],
    [
      'an unknown scope',
      JSON.stringify([{ name: 'a', scopes: ['admin'], sha256: hashKey('x') }]),
      /scopes/,
    ],
    ['no scope', JSON.stringify([{ name: 'a', scopes: [], sha256: hashKey('x') }]), /scopes/],
    [
      'a duplicate name',
      JSON.stringify([entry('a', ['events:read'], 'x'), entry('a', ['events:read'], 'y')]),
      /used twice/,
    ],
    [
      'one key under two names',
      JSON.stringify([entry('a', ['events:read'], 'same'), entry('b', ['events:write'], 'same')]),
      /a and b have the same sha256/,
    ],
    [
      'a source pattern with a * inside',
      JSON.stringify([{ ...entry('a', ['events:write'], 'x'), sources: ['/a/*/b'] }]),
      /sources: an exact value, or a prefix ending in \*/,
    ],
    [
      'types on a key that cannot read',
      JSON.stringify([{ ...entry('a', ['events:write'], 'x'), types: ['t'] }]),
      /types: .*events:read/,
    ],
    [
      'types on a key that may erase',
      JSON.stringify([{ ...entry('a', ['events:read', 'events:erase'], 'x'), types: ['t'] }]),
      /types: an erasure covers every type/,
    ],
  ])(
    'when API_KEYS holds %s, then loading fails with a readable message',
    (_what, json, message) => {
      expect(() => loadApiKeys(json, undefined)).toThrow(message);
    },
  );

  it('when the mode is decided, then production without keys fails closed unless AUTH_MODE=none', () => {
    const keys = JSON.stringify([entry('a', ['events:read'], 'k')]);
    expect(() => resolveApiKeys({}, true)).toThrow(/production rules .* require API keys/);
    expect(resolveApiKeys({ AUTH_MODE: 'none' }, true)).toEqual({
      keys: [],
      open: true,
      warnings: ['AUTH_MODE=none in production: the APIs are open to anyone who can reach them'],
    });
    expect(resolveApiKeys({}, false)).toMatchObject({ keys: [], open: true });
    expect(resolveApiKeys({ API_KEYS: keys }, true).open).toBe(false);
    expect(() => resolveApiKeys({ API_KEYS: keys, AUTH_MODE: 'none' }, false)).toThrow(
      /contradiction|remove one/,
    );
    expect(() => resolveApiKeys({ AUTH_MODE: 'keys' }, false)).toThrow(/no API_KEYS/);
  });

  it('when the keys file is writable by others, then loading warns and names the fix', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'keys-')), 'keys.json');
    writeFileSync(file, JSON.stringify([entry('a', ['events:read'], 'k')]));
    chmodSync(file, 0o640);
    expect(resolveApiKeys({ API_KEYS_FILE: file }, true).warnings).toEqual([]);
    chmodSync(file, 0o666);
    expect(resolveApiKeys({ API_KEYS_FILE: file }, true).warnings).toEqual([
      expect.stringMatching(/writable by others \(mode 666\).*chmod o-w/),
    ]);
  });
});

describe('NODE_ENV', () => {
  it.each([
    [undefined, false],
    ['', false],
    ['development', false],
    ['test', false],
    ['production', true],
    ['Production', true],
    ['prod', true],
    ['staging', true],
    ['Development', true],
  ])('when NODE_ENV is %j, then production rules are %s', (value, production) => {
    expect(isProduction(value)).toBe(production);
  });
});
