import { execFile } from 'node:child_process';
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:tls';

const cli = join(__dirname, '..', 'dist', 'certs-cli.js');

const run = (...args: string[]) =>
  new Promise<{ status: number; stdout: string; stderr: string }>((resolve) => {
    execFile(process.execPath, [cli, ...args], (error, stdout, stderr) =>
      resolve({ status: error ? Number(error.code) : 0, stdout, stderr }),
    );
  });

/** Connects to 127.0.0.1 trusting only `ca`, checking the certificate against `servername` (the
 * address itself without one). */
const handshake = (port: number, ca: string, servername?: string) =>
  new Promise<string>((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, ca, servername }, () => {
      socket.end();
      resolve('verified');
    });
    socket.once('error', reject);
  });

describe('npm run certs', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'ep-certs-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('when run with --out and --host, then it writes a self-signed pair for the local names and the hosts, the key mode 600', async () => {
    const out = join(dir, 'tls');
    const r = await run(
      '--out',
      out,
      '--host',
      'events.internal',
      '--host',
      '10.20.30.40',
      '--host',
      'fd00::5:0',
      '--host',
      'localhost',
    );
    expect(r.status).toBe(0);
    const certFile = join(out, 'cert.pem');
    const keyFile = join(out, 'key.pem');
    expect(statSync(keyFile).mode & 0o777).toBe(0o600);
    const cert = new X509Certificate(readFileSync(certFile));
    expect(cert.subjectAltName!.split(', ')).toEqual([
      'DNS:localhost',
      'IP Address:127.0.0.1',
      'IP Address:0:0:0:0:0:0:0:1',
      'DNS:events.internal',
      'IP Address:10.20.30.40',
      'IP Address:FD00:0:0:0:0:0:5:0',
    ]);
    expect(cert.checkIP('fd00::5:0')).toBe('fd00::5:0');
    expect(cert.ca).toBe(false);
    expect(cert.verify(cert.publicKey)).toBe(true); // signed by its own key
    expect(cert.checkPrivateKey(createPrivateKey(readFileSync(keyFile)))).toBe(true);
    const days = (Date.parse(cert.validTo) - Date.now()) / 86_400_000;
    expect(days).toBeGreaterThan(364);
    expect(days).toBeLessThan(366);
    expect(Date.parse(cert.validFrom)).toBeLessThan(Date.now());
    // What to do next, with the files' paths.
    expect(r.stdout).toContain(`TLS_CERT_FILE=${certFile}\n`);
    expect(r.stdout).toContain(`TLS_KEY_FILE=${keyFile}\n`);
    expect(r.stdout).toContain(`curl --cacert ${certFile} https://`);
    expect(r.stdout).toContain(`NODE_EXTRA_CA_CERTS=${certFile}`);
    expect(r.stdout).not.toContain(readFileSync(keyFile, 'utf8').split('\n')[1]!);
  });

  it('when a TLS client trusts only that certificate, then it verifies every name the certificate is for', async () => {
    const out = join(dir, 'tls');
    expect((await run('--out', out, '--host', 'events.internal')).status).toBe(0);
    const ca = readFileSync(join(out, 'cert.pem'), 'utf8');
    const server = createServer({ cert: ca, key: readFileSync(join(out, 'key.pem')) });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const { port } = server.address() as AddressInfo;
    try {
      for (const name of ['localhost', 'events.internal'])
        await expect(handshake(port, ca, name)).resolves.toBe('verified');
      // An IP address is checked against the IP entries (no SNI is sent for it).
      await expect(handshake(port, ca)).resolves.toBe('verified');
      await expect(handshake(port, ca, 'elsewhere.example')).rejects.toThrow(
        /does not match certificate's altnames/,
      );
    } finally {
      server.close();
    }
  });

  it('when a pair is there already, then it is kept unless --force is given', async () => {
    const out = join(dir, 'tls');
    expect((await run('--out', out)).status).toBe(0);
    const before = readFileSync(join(out, 'cert.pem'), 'utf8');
    const refused = await run('--out', out);
    expect(refused.status).toBe(1);
    expect(refused.stderr).toContain('pass --force to replace them');
    expect(readFileSync(join(out, 'cert.pem'), 'utf8')).toBe(before);
    // A key file left readable by others is replaced by one that is not.
    writeFileSync(join(out, 'key.pem'), 'old', { mode: 0o644 });
    expect((await run('--out', out, '--force')).status).toBe(0);
    expect(readFileSync(join(out, 'cert.pem'), 'utf8')).not.toBe(before);
    expect(statSync(join(out, 'key.pem')).mode & 0o777).toBe(0o600);
  });

  it.each([['bad name!'], ['-x.example'], ['300.1.1.1']])(
    'when --host is %s, then nothing is written and it exits 2',
    async (host) => {
      const r = await run('--out', join(dir, 'tls'), `--host=${host}`);
      expect(r.status).toBe(2);
      expect(r.stderr).toContain('is not a host name or IP address');
      expect(() => statSync(join(dir, 'tls'))).toThrow();
    },
  );
});
