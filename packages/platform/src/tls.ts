import { X509Certificate, createPrivateKey } from 'node:crypto';
import { readFileSync, unwatchFile, watchFile } from 'node:fs';
import { createSecureContext } from 'node:tls';
import type { Logger } from 'pino';

/** Where a service's certificate and key are (TLS_CERT_FILE, TLS_KEY_FILE). */
export interface TlsFiles {
  certFile: string;
  keyFile: string;
}

/** A certificate (chain) and its key, read and checked to belong together. */
export interface TlsPair {
  cert: Buffer;
  key: Buffer;
  /** The first certificate of the chain: the one the server presents. */
  certificate: X509Certificate;
}

const reason = (e: unknown): string =>
  typeof e === 'object' && e !== null && 'message' in e ? String(e.message) : String(e);

const UNREADABLE: Record<string, string> = {
  ENOENT: 'no such file',
  EACCES: 'permission denied',
  EISDIR: 'a directory',
};

function readPem(variable: string, path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (e) {
    const code = (e as { code?: string }).code ?? '';
    throw new Error(`${variable} ${path} cannot be read: ${UNREADABLE[code] ?? reason(e)}`);
  }
}

/**
 * Reads both files and checks them: a PEM certificate, a PEM private key, and the key is the
 * certificate's. A failure names the variable and the file, as one line.
 */
export function readTlsPair(files: TlsFiles): TlsPair {
  const cert = readPem('TLS_CERT_FILE', files.certFile);
  const key = readPem('TLS_KEY_FILE', files.keyFile);
  let certificate: X509Certificate;
  try {
    certificate = new X509Certificate(cert);
  } catch (e) {
    throw new Error(`TLS_CERT_FILE ${files.certFile} is not a PEM certificate: ${reason(e)}`);
  }
  try {
    createPrivateKey(key);
  } catch (e) {
    throw new Error(`TLS_KEY_FILE ${files.keyFile} is not a PEM private key: ${reason(e)}`);
  }
  try {
    createSecureContext({ cert, key });
  } catch (e) {
    throw new Error(
      `TLS_KEY_FILE ${files.keyFile} is not the key of TLS_CERT_FILE ${files.certFile}: ${reason(e)}`,
    );
  }
  return { cert, key, certificate };
}

/** What the logs say of a certificate: enough to tell which one is served, nothing secret. */
export const describeCertificate = (c: X509Certificate) => ({
  fingerprint256: c.fingerprint256,
  subjectAltName: c.subjectAltName,
  validTo: new Date(c.validTo).toISOString(),
});

/** How often the files are looked at: a renewed certificate is served within about this long. */
export const TLS_POLL_MS = 2000;

/**
 * Watches both files and hands a new pair to `use` once it loads. Polling (fs.watchFile) rather
 * than inotify: it follows the path, so it also sees a Kubernetes secret or cert-manager update,
 * which swaps a symlink and never writes the file the old inode watch would be on. A pair that
 * does not load (half written, key and certificate from different pairs) is a warning and the
 * one in use stays; the next change is tried again. Returns the function that stops watching.
 */
export function watchTlsPair(
  files: TlsFiles,
  opts: {
    current: TlsPair;
    use: (pair: TlsPair) => void;
    logger: Logger;
    intervalMs?: number;
  },
): () => void {
  let current = opts.current;
  const onChange = () => {
    let next: TlsPair;
    try {
      next = readTlsPair(files);
      // Both files are written one after the other; the second change finds the pair in use.
      if (next.cert.equals(current.cert) && next.key.equals(current.key)) return;
      opts.use(next);
    } catch (e) {
      opts.logger.warn(
        { err: reason(e), ...describeCertificate(current.certificate) },
        'TLS certificate files changed but do not load; the previous certificate stays in use',
      );
      return;
    }
    current = next;
    opts.logger.info(
      describeCertificate(next.certificate),
      'TLS certificate reloaded; new connections get it',
    );
  };
  // persistent: false, so the watch never keeps a stopping process alive.
  const options = { interval: opts.intervalMs ?? TLS_POLL_MS, persistent: false };
  watchFile(files.certFile, options, onChange);
  watchFile(files.keyFile, options, onChange);
  // watchFile compares with a first stat it takes later: a change between `current` being read
  // and that stat would go unseen until the next one. One look after the first interval closes it.
  const settle = setTimeout(onChange, options.interval);
  settle.unref();
  return () => {
    clearTimeout(settle);
    unwatchFile(files.certFile, onChange);
    unwatchFile(files.keyFile, onChange);
  };
}
