import { existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { LOCAL_NAMES, selfSignedCertificate } from './self-signed';

const DAYS = 365;

const USAGE = `usage:
  npm run certs [-- --out DIR] [--host NAME ...] [--force]
      writes a self-signed certificate (DIR/cert.pem) and its key (DIR/key.pem, mode 600) for
      HTTPS on this machine, valid ${DAYS} days for ${LOCAL_NAMES.join(', ')} and each --host
      (a DNS name or an IP address); DIR defaults to ./data/tls
      --force   replaces an existing pair (a running service serves the new one within seconds)`;

/** Writes `path` whole or not at all (a temporary file renamed), so a service watching it never
 * reads half a file; `mode` is set at creation, so the key is never readable by others. */
function writeWhole(path: string, text: string, mode: number): void {
  const tmp = `${path}.${process.pid}.tmp`;
  try {
    writeFileSync(tmp, text, { mode, flag: 'wx' });
    renameSync(tmp, path);
  } finally {
    rmSync(tmp, { force: true });
  }
}

function main(argv: string[]): number {
  let values;
  try {
    values = parseArgs({
      args: argv,
      options: {
        out: { type: 'string', default: join('data', 'tls') },
        host: { type: 'string', multiple: true },
        force: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h' },
      },
    }).values;
  } catch (e) {
    process.stderr.write(`${(e as Error).message}\n${USAGE}\n`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const dir = resolve(values.out);
  const certFile = join(dir, 'cert.pem');
  const keyFile = join(dir, 'key.pem');
  const existing = [certFile, keyFile].filter((f) => existsSync(f));
  if (existing.length && !values.force) {
    process.stderr.write(`${existing.join(' and ')} exist; pass --force to replace them\n`);
    return 1;
  }
  let made;
  try {
    made = selfSignedCertificate(values.host ?? [], DAYS);
  } catch (e) {
    process.stderr.write(`${(e as Error).message}\n${USAGE}\n`);
    return 2;
  }
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    // The key first: a service reloading between the two renames finds a mismatched pair, warns
    // and keeps its certificate, then takes the new pair at the next change.
    writeWhole(keyFile, made.key, 0o600);
    writeWhole(certFile, made.cert, 0o644);
  } catch (e) {
    process.stderr.write(`cannot write the pair to ${dir}: ${(e as Error).message}\n`);
    return 1;
  }
  process.stdout.write(
    [
      `wrote a self-signed certificate for local use, valid until ${made.notAfter.toISOString().slice(0, 10)} for ${made.names.join(', ')}:`,
      `  ${certFile}`,
      `  ${keyFile}   (private key, mode 600)`,
      'serve HTTPS with these variables (npm start, or any service):',
      `  TLS_CERT_FILE=${certFile}`,
      `  TLS_KEY_FILE=${keyFile}`,
      'clients trust it by taking the certificate as their CA (it is its own, and vouches for nothing else):',
      `  curl --cacert ${certFile} https://127.0.0.1:8080/healthz`,
      `  NODE_EXTRA_CA_CERTS=${certFile} node your-client.js`,
      '',
    ].join('\n'),
  );
  return 0;
}

process.exitCode = main(process.argv.slice(2));
