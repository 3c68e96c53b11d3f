import { mkdtempSync, renameSync, rmSync, symlinkSync, mkdirSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:tls';
import { X509Certificate } from 'node:crypto';
import express from 'express';
import request_ from 'supertest';
import { z } from 'zod';
import {
  ConfigError,
  createBaseApp,
  createRegistry,
  loadConfig,
  listen,
  serviceEnvShape,
  type RunningServer,
} from '@eventpipe/platform';
import { memoryLogger, waitFor } from '@eventpipe/testing';
import { selfSignedCertificate, type SelfSigned } from '../src/self-signed';

const fingerprintOf = (pair: SelfSigned) => new X509Certificate(pair.cert).fingerprint256;

/** The fingerprint of the certificate a new TLS connection is shown. */
const servedFingerprint = (port: number) =>
  new Promise<string>((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, rejectUnauthorized: false }, () => {
      resolve(socket.getPeerCertificate().fingerprint256);
      socket.end();
    });
    socket.once('error', reject);
  });

/** GET over HTTPS, trusting `ca` only (and verifying the name 127.0.0.1 against it). */
const get = (url: string, ca?: string) =>
  new Promise<{ status: number; headers: Record<string, unknown>; body: string }>(
    (resolve, reject) => {
      const req = request(url, { ca, agent: false }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
      });
      req.once('error', reject);
      req.end();
    },
  );

function baseApp() {
  const { logger } = memoryLogger();
  const app = createBaseApp(logger, createRegistry('test'));
  app.get('/healthz', (_req, res) => void res.json({ status: 'ok' }));
  return app;
}

describe('listen() with TLS_CERT_FILE and TLS_KEY_FILE', () => {
  let dir: string;
  let files: { certFile: string; keyFile: string };
  let first: SelfSigned;
  let running: RunningServer | undefined;
  let log: ReturnType<typeof memoryLogger>;
  const write = (pair: { cert: string; key: string }) => {
    writeFileSync(files.keyFile, pair.key);
    writeFileSync(files.certFile, pair.cert);
  };
  const logged = (message: string) => () =>
    log.lines().find((l) => l.message === message) ? true : undefined;

  beforeEach(() => {
    log = memoryLogger();
    dir = mkdtempSync(join(tmpdir(), 'ep-tls-'));
    files = { certFile: join(dir, 'cert.pem'), keyFile: join(dir, 'key.pem') };
    first = selfSignedCertificate();
    write(first);
  });
  afterEach(async () => {
    await running?.close(100);
    running = undefined;
    rmSync(dir, { recursive: true, force: true });
  });

  const start = async () => {
    running = await listen(baseApp(), 0, '127.0.0.1', { files, logger: log.logger, pollMs: 50 });
    return running;
  };

  it('when started, then it serves HTTPS with HSTS, verified by a client that trusts the certificate', async () => {
    const server = await start();
    expect(server.url).toBe(`https://127.0.0.1:${server.port}`);
    const res = await get(`${server.url}/healthz`, first.cert);
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body)).toEqual({ status: 'ok' });
    expect(res.headers['strict-transport-security']).toBe('max-age=31536000');
    // The same on an error answer: every response over TLS carries it.
    expect((await get(`${server.url}/nope`, first.cert)).headers['strict-transport-security']).toBe(
      'max-age=31536000',
    );
    // Verification is real: another certificate as CA, or none, is refused.
    await expect(get(`${server.url}/healthz`, selfSignedCertificate().cert)).rejects.toThrow(
      /self[- ]signed/,
    );
    await expect(get(`${server.url}/healthz`)).rejects.toThrow(/self[- ]signed/);
    expect(await servedFingerprint(server.port)).toBe(fingerprintOf(first));
  });

  it('when both files are replaced, then new connections get the new certificate without a restart', async () => {
    const server = await start();
    const second = selfSignedCertificate(['renewed.test']);
    write(second);
    await waitFor(
      async () =>
        (await servedFingerprint(server.port)) === fingerprintOf(second) ? true : undefined,
      { what: 'the new certificate served', timeoutMs: 10_000 },
    );
    expect((await get(`${server.url}/healthz`, second.cert)).status).toBe(200);
    await expect(get(`${server.url}/healthz`, first.cert)).rejects.toThrow();
    await waitFor(logged('TLS certificate reloaded; new connections get it'), {
      what: 'the reload logged',
    });
    const line = log
      .lines()
      .find((l) => l.message?.toString().startsWith('TLS certificate reloaded'));
    expect(line).toMatchObject({ fingerprint256: fingerprintOf(second) });
    expect(String(line!.subjectAltName)).toContain('DNS:renewed.test');
  });

  it('when the files are a Kubernetes secret whose symlink is swapped, then the new pair is served', async () => {
    // kubelet's layout: cert.pem -> ..data/cert.pem, ..data -> a versioned folder, swapped by rename.
    const version = (name: string, pair: SelfSigned) => {
      mkdirSync(join(dir, name));
      writeFileSync(join(dir, name, 'cert.pem'), pair.cert);
      writeFileSync(join(dir, name, 'key.pem'), pair.key);
    };
    rmSync(files.certFile);
    rmSync(files.keyFile);
    version('v1', first);
    symlinkSync('v1', join(dir, '..data'));
    symlinkSync(join('..data', 'cert.pem'), files.certFile);
    symlinkSync(join('..data', 'key.pem'), files.keyFile);
    const server = await start();
    expect(await servedFingerprint(server.port)).toBe(fingerprintOf(first));
    const second = selfSignedCertificate();
    version('v2', second);
    symlinkSync('v2', join(dir, '..data_tmp'));
    renameSync(join(dir, '..data_tmp'), join(dir, '..data'));
    await waitFor(
      async () =>
        (await servedFingerprint(server.port)) === fingerprintOf(second) ? true : undefined,
      { what: 'the swapped certificate served', timeoutMs: 10_000 },
    );
  });

  it.each([
    ['a certificate that is not PEM', () => ({ cert: 'not a certificate\n', key: first.key })],
    [
      'a certificate with the key of another pair',
      () => ({ ...selfSignedCertificate(), key: first.key }),
    ],
    ['an empty key', () => ({ cert: selfSignedCertificate().cert, key: '' })],
  ])(
    'when the replacement is %s, then the old certificate stays and a warning says why',
    async (_what, broken) => {
      const server = await start();
      write(broken());
      await waitFor(
        logged(
          'TLS certificate files changed but do not load; the previous certificate stays in use',
        ),
        { what: 'the warning', timeoutMs: 10_000 },
      );
      expect(await servedFingerprint(server.port)).toBe(fingerprintOf(first));
      expect((await get(`${server.url}/healthz`, first.cert)).status).toBe(200);
      const warning = log.lines().find((l) => l.level === 'warn');
      expect(String(warning!.err)).toMatch(/^TLS_(CERT|KEY)_FILE /);
      expect(warning!.fingerprint256).toBe(fingerprintOf(first));
    },
  );

  it('when closed, then the files are no longer watched', async () => {
    const server = await start();
    await server.close(100);
    running = undefined;
    write({ cert: 'broken\n', key: 'broken\n' });
    // Absence can only be waited for: twenty poll intervals without a word.
    await new Promise((r) => setTimeout(r, 1_000));
    expect(log.lines().filter((l) => String(l.message).startsWith('TLS certificate'))).toEqual([]);
  });

  it.each([
    [
      'the certificate file is missing',
      () => rmSync(files.certFile),
      /^TLS_CERT_FILE \S+cert\.pem cannot be read: no such file$/,
    ],
    [
      'the key file is missing',
      () => rmSync(files.keyFile),
      /^TLS_KEY_FILE \S+key\.pem cannot be read: no such file$/,
    ],
    [
      'the certificate is not PEM',
      () => writeFileSync(files.certFile, 'hello'),
      /^TLS_CERT_FILE \S+ is not a PEM certificate/,
    ],
    [
      'the key is not PEM',
      () => writeFileSync(files.keyFile, 'hello'),
      /^TLS_KEY_FILE \S+ is not a PEM private key/,
    ],
    [
      'the key belongs to another certificate',
      () => writeFileSync(files.keyFile, selfSignedCertificate().key),
      /^TLS_KEY_FILE \S+key\.pem is not the key of TLS_CERT_FILE \S+cert\.pem/,
    ],
  ])(
    'when %s at start, then listen fails with one line naming the file',
    async (_what, spoil, message) => {
      spoil();
      const failed = listen(express(), 0, '127.0.0.1', { files, logger: log.logger });
      await expect(failed).rejects.toThrow(message);
      const error = await failed.catch((e: Error) => e);
      expect((error as Error).message).not.toContain('\n');
    },
  );
});

describe('Strict-Transport-Security over plain HTTP', () => {
  it('when a response goes out over plain HTTP, then it carries no HSTS', async () => {
    const server = await listen(baseApp(), 0, '127.0.0.1');
    try {
      expect(server.url).toMatch(/^http:\/\//);
      const res = await fetch(`${server.url}/healthz`, {
        headers: { 'X-Forwarded-Proto': 'https' },
      });
      expect(res.status).toBe(200);
      expect(res.headers.get('strict-transport-security')).toBeNull();
      // The rest of the security headers are still there.
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    } finally {
      await server.close(100);
    }
  });

  it('when a front end that TRUST_PROXY vouches for ended TLS, then the response carries HSTS', async () => {
    const { logger } = memoryLogger();
    const app = createBaseApp(logger, createRegistry('test'), { trustProxy: 1 });
    app.get('/healthz', (_req, res) => void res.json({ status: 'ok' }));
    const tls = await request_(app).get('/healthz').set('X-Forwarded-Proto', 'https');
    expect(tls.headers['strict-transport-security']).toBe('max-age=31536000');
    const plain = await request_(app).get('/healthz').set('X-Forwarded-Proto', 'http');
    expect(plain.headers['strict-transport-security']).toBeUndefined();
  });
});

describe('TLS_CERT_FILE and TLS_KEY_FILE in the config', () => {
  const schema = z.object(serviceEnvShape);
  const problemsOf = (env: Record<string, string>) => {
    try {
      loadConfig(schema, env);
    } catch (e) {
      if (e instanceof ConfigError) return e.problems;
      throw e;
    }
    return [];
  };

  it('when the certificate is set without the key, then the config is refused naming TLS_KEY_FILE', () => {
    expect(problemsOf({ TLS_CERT_FILE: '/tls/cert.pem' })).toEqual([
      expect.stringMatching(
        /^TLS_KEY_FILE=<unset>: must be set when TLS_CERT_FILE is \(PEM private key file/,
      ),
    ]);
  });

  it('when the key is set without the certificate, then the config is refused naming TLS_CERT_FILE', () => {
    expect(problemsOf({ TLS_KEY_FILE: '/tls/key.pem', TLS_CERT_FILE: '' })).toEqual([
      expect.stringMatching(
        /^TLS_CERT_FILE=<unset>: must be set when TLS_KEY_FILE is \(PEM certificate/,
      ),
    ]);
  });

  it('when another variable is bad too, then both problems are listed', () => {
    const problems = problemsOf({ TLS_CERT_FILE: '/tls/cert.pem', LOG_LEVEL: 'loud' });
    expect(problems).toHaveLength(2);
    expect(problems.join('\n')).toMatch(/^LOG_LEVEL="loud"/m);
    expect(problems.join('\n')).toMatch(/^TLS_KEY_FILE=<unset>/m);
  });

  it('when both or neither are set, then the config parses', () => {
    expect(loadConfig(schema, {})).toMatchObject({
      TLS_CERT_FILE: undefined,
      TLS_KEY_FILE: undefined,
    });
    expect(
      loadConfig(schema, { TLS_CERT_FILE: '/tls/cert.pem', TLS_KEY_FILE: '/tls/key.pem' }),
    ).toMatchObject({ TLS_CERT_FILE: '/tls/cert.pem', TLS_KEY_FILE: '/tls/key.pem' });
  });
});
