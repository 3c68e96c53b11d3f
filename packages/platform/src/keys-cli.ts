import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { isGrantPattern } from '@eventpipe/schema';
import { SCOPES, hashKey, type Scope } from './auth';

/** Shortest key `hash` accepts (a created key has 46: ep_ and 32 random bytes in base64url). */
const MIN_KEY_LENGTH = 24;

const USAGE = `usage:
  npm run keys -- create --name NAME --scope SCOPE [--scope SCOPE] [--source S ...] [--type T ...]
      prints a new random key (once: it is not stored anywhere) and the API_KEYS entry to add;
      scopes: ${SCOPES.join(', ')}
      --source S   the key may write / read only this source; S ending in * is a prefix
                   (e.g. '/partner-a/*'); repeat for more
      --type T     (events:read) the key reads only this type; T ending in * is a prefix
      --key-out F  writes the key to the new file F (mode 600) instead, and prints only the
                   entry (one JSON line), for scripts (docs/DEPLOY.md)
  npm run keys -- hash KEY
      prints the SHA-256 of an existing key (at least ${MIN_KEY_LENGTH} characters)`;

function main(argv: string[]): number {
  const [command, ...rest] = argv;
  if (command === 'hash' && rest.length === 1) {
    // Guessing is what the key's length prevents (the failed-auth limit sheds load, and never
    // locks out a valid key): refuse a key too short to stand on its own.
    if (rest[0]!.length < MIN_KEY_LENGTH) {
      process.stderr.write(
        `a key must have at least ${MIN_KEY_LENGTH} characters; make one with npm run keys -- create\n`,
      );
      return 2;
    }
    process.stdout.write(`${hashKey(rest[0]!)}\n`);
    return 0;
  }
  if (command !== 'create') {
    process.stderr.write(`${USAGE}\n`);
    return 2;
  }
  let values;
  try {
    values = parseArgs({
      args: rest,
      options: {
        name: { type: 'string' },
        scope: { type: 'string', multiple: true },
        source: { type: 'string', multiple: true },
        type: { type: 'string', multiple: true },
        'key-out': { type: 'string' },
      },
    }).values;
  } catch (e) {
    process.stderr.write(`${(e as Error).message}\n${USAGE}\n`);
    return 2;
  }
  const scopes = values.scope ?? [];
  if (
    !values.name ||
    !/^[A-Za-z0-9._-]{1,64}$/.test(values.name) ||
    scopes.length === 0 ||
    scopes.some((s) => !SCOPES.includes(s as Scope))
  ) {
    process.stderr.write(`${USAGE}\n`);
    return 2;
  }
  const patterns = [...(values.source ?? []), ...(values.type ?? [])];
  const bad = patterns.find((p) => !isGrantPattern(p));
  if (bad !== undefined) {
    process.stderr.write(`${JSON.stringify(bad)}: an exact value, or a prefix ending in *\n`);
    return 2;
  }
  if (values.type && !scopes.includes('events:read')) {
    process.stderr.write('--type limits what a key reads: it needs --scope events:read\n');
    return 2;
  }
  const key = `ep_${randomBytes(32).toString('base64url')}`;
  const entry = {
    name: values.name,
    scopes,
    ...(values.source ? { sources: values.source } : {}),
    ...(values.type ? { types: values.type } : {}),
    sha256: hashKey(key),
  };
  const keyOut = values['key-out'];
  if (keyOut !== undefined) {
    try {
      // wx: never overwrite a file that may hold another key.
      writeFileSync(keyOut, `${key}\n`, { mode: 0o600, flag: 'wx' });
    } catch (e) {
      process.stderr.write(`cannot write the key to ${keyOut}: ${(e as Error).message}\n`);
      return 1;
    }
    process.stdout.write(`${JSON.stringify(entry)}\n`);
    return 0;
  }
  process.stdout.write(
    [
      `key (shown once; give it to ${values.name}):`,
      `  ${key}`,
      'add this entry to the API_KEYS array (or the API_KEYS_FILE JSON):',
      `  ${JSON.stringify(entry)}`,
      '',
    ].join('\n'),
  );
  return 0;
}

process.exitCode = main(process.argv.slice(2));
