import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { SCOPES, hashKey, type Scope } from './auth';

const USAGE = `usage:
  npm run keys -- create --name NAME --scope events:read [--scope events:write]
      prints a new random key (once: it is not stored anywhere) and the API_KEYS entry to add
  npm run keys -- hash KEY
      prints the SHA-256 of an existing key`;

function main(argv: string[]): number {
  const [command, ...rest] = argv;
  if (command === 'hash' && rest.length === 1) {
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
      options: { name: { type: 'string' }, scope: { type: 'string', multiple: true } },
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
    process.stderr.write(`${USAGE}\nscopes: ${SCOPES.join(', ')}\n`);
    return 2;
  }
  const key = `ep_${randomBytes(32).toString('base64url')}`;
  const entry = { name: values.name, scopes, sha256: hashKey(key) };
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
