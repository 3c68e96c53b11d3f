import { mkdtempSync, readFileSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, loadConfig } from '@eventpipe/platform';
import { publisherConfigSchema } from '@eventpipe/publisher-api';
import { queryConfigSchema } from '@eventpipe/query-api';
import { workerConfigSchema } from '@eventpipe/subscriber-worker';
import { DuckDbStore } from '@eventpipe/store/adapters';
import {
  allInOneEnv,
  bannerUrl,
  sampleEvent,
  startService,
  tempDuckDbPath,
  urlFromLog,
  waitFor,
  type ServiceProcess,
} from '@eventpipe/testing';
import { stackConfigSchema } from '@eventpipe/all-in-one';

// The built programs (`npm test` builds first) as real processes, over HTTPS with a pair made by
// `npm run certs`.
const root = join(__dirname, '..', '..', '..');
const main = (service: string) => join(root, 'services', service, 'dist', 'main.js');
const certsCli = join(root, 'packages', 'platform', 'dist', 'certs-cli.js');

const running: ServiceProcess[] = [];
afterEach(() => {
  for (const p of running.splice(0)) p.kill();
});
const track = (p: ServiceProcess) => {
  running.push(p);
  return p;
};

/** A new pair from `npm run certs`, in a folder of its own. */
async function makeCerts(): Promise<{ certFile: string; keyFile: string; ca: string }> {
  const out = join(mkdtempSync(join(tmpdir(), 'ep-https-')), 'tls');
  const cli = track(startService(certsCli, {}, ['--out', out]));
  expect(await cli.exited).toBe(0);
  const certFile = join(out, 'cert.pem');
  return { certFile, keyFile: join(out, 'key.pem'), ca: readFileSync(certFile, 'utf8') };
}

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** One request over HTTPS that trusts `ca` alone (node:https verifies chain and name). */
const https = (url: string, ca: string, init: { method?: string; json?: unknown } = {}) =>
  new Promise<Answer>((resolve, reject) => {
    const body = init.json === undefined ? undefined : JSON.stringify(init.json);
    const req = request(
      url,
      {
        ca,
        agent: false,
        method: init.method ?? 'GET',
        headers: body ? { 'content-type': 'application/json' } : {},
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: text }));
      },
    );
    req.once('error', reject);
    req.end(body);
  });

/** What a plain-HTTP client gets from the port: a response, or the error it failed with. */
const plainHttp = (url: string) =>
  fetch(url.replace(/^https:/, 'http:')).then(
    (r) => `HTTP ${r.status}`,
    (e: Error) => `failed: ${String((e.cause as Error | undefined)?.message ?? e.message)}`,
  );

describe('npm start over HTTPS (TLS_CERT_FILE, TLS_KEY_FILE)', () => {
  it('when started with a pair from npm run certs, then events go in and come out over verified HTTPS with HSTS, and plain HTTP is not served', async () => {
    const { certFile, keyFile, ca } = await makeCerts();
    const proc = track(
      startService(
        main('all-in-one'),
        allInOneEnv({ TLS_CERT_FILE: certFile, TLS_KEY_FILE: keyFile, LOG_LEVEL: 'info' }),
      ),
    );
    const publisher = await bannerUrl(proc, 'publisher API', 'https');
    const query = await bannerUrl(proc, 'query API', 'https');
    const worker = await bannerUrl(proc, 'worker', 'https');
    // The banner's curl lines work as printed: they name the certificate to trust.
    expect(proc.lines().join('\n')).toContain(`curl -sS --cacert ${certFile} -X POST ${publisher}`);

    const event = sampleEvent({ id: 'tls-1', source: '/https-e2e' });
    const posted = await https(`${publisher}/v1/events`, ca, { method: 'POST', json: event });
    expect(posted.status).toBe(202);
    expect(JSON.parse(posted.body)).toEqual({ accepted: 1, ids: ['tls-1'] });
    expect(posted.headers['strict-transport-security']).toBe('max-age=31536000');

    const page = await waitFor(
      async () => {
        const res = await https(`${query}/v1/events?source=%2Fhttps-e2e`, ca);
        const body = JSON.parse(res.body) as { data: { id: string; data: unknown }[] };
        return body.data.length > 0 ? { res, body } : undefined;
      },
      { what: 'the event through the query API over HTTPS' },
    );
    expect(page.res.status).toBe(200);
    expect(page.res.headers['strict-transport-security']).toBe('max-age=31536000');
    expect(page.body.data.map((e) => [e.id, e.data])).toEqual([['tls-1', event.data]]);
    expect((await https(`${worker}/healthz`, ca)).status).toBe(200);

    // The same ports over plain HTTP: the connection is taken and closed without an answer, not
    // even a redirect.
    for (const url of [publisher, query, worker]) {
      expect(await plainHttp(`${url}/healthz`)).toBe('failed: other side closed');
    }

    proc.child.kill('SIGTERM');
    expect(await proc.exited).toBe(0);
  });

  it('when only TLS_CERT_FILE is set, then it exits 78 naming TLS_KEY_FILE', async () => {
    const proc = track(
      startService(main('all-in-one'), { TLS_CERT_FILE: '/nowhere/cert.pem', PUBLISHER_PORT: '0' }),
    );
    expect(await proc.exited).toBe(78);
    expect(proc.lines().join('\n')).toMatch(
      /TLS_KEY_FILE=<unset>: must be set when TLS_CERT_FILE is \(PEM private key file/,
    );
  });

  it('when TLS_CERT_FILE names a file that is not there, then it exits 1 with one line naming it', async () => {
    const { keyFile } = await makeCerts();
    const proc = track(
      startService(
        main('all-in-one'),
        allInOneEnv({ TLS_CERT_FILE: '/nowhere/cert.pem', TLS_KEY_FILE: keyFile }),
      ),
    );
    expect(await proc.exited).toBe(1);
    expect(proc.lines().filter(Boolean)).toEqual([
      'eventpipe failed to start: TLS_CERT_FILE /nowhere/cert.pem cannot be read: no such file',
    ]);
  });
});

describe('a service alone over HTTPS', () => {
  it('when the query API runs alone with a pair, then it listens on https:// and answers with HSTS', async () => {
    const { certFile, keyFile, ca } = await makeCerts();
    // The query API alone opens the file read-only: it must exist.
    const dbPath = tempDuckDbPath();
    const store = await DuckDbStore.open({ path: dbPath });
    await store.init();
    await store.close();
    const proc = track(
      startService(main('query-api'), {
        TLS_CERT_FILE: certFile,
        TLS_KEY_FILE: keyFile,
        DUCKDB_PATH: dbPath,
        PORT: '0',
      }),
    );
    const url = await urlFromLog(proc, 'query-api listening');
    expect(url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    const res = await https(`${url}/v1/events`, ca);
    expect(res.status).toBe(200);
    expect(res.headers['strict-transport-security']).toBe('max-age=31536000');
    expect(await plainHttp(`${url}/healthz`)).toBe('failed: other side closed');
    proc.child.kill('SIGTERM');
    expect(await proc.exited).toBe(0);
  });

  it.each([
    ['npm start', stackConfigSchema],
    ['the publisher', publisherConfigSchema],
    ['the worker', workerConfigSchema],
    ['the query API', queryConfigSchema],
  ])(
    'when %s is given a certificate without its key, then its config is refused',
    (_who, schema) => {
      expect(() => loadConfig(schema, { TLS_CERT_FILE: '/tls/cert.pem' })).toThrow(ConfigError);
      expect(() => loadConfig(schema, { TLS_KEY_FILE: '/tls/key.pem' })).toThrow(
        /TLS_CERT_FILE=<unset>: must be set when TLS_KEY_FILE is/,
      );
    },
  );
});
