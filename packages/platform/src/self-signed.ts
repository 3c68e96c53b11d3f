import { createHash, generateKeyPairSync, randomBytes, sign } from 'node:crypto';
import { isIP } from 'node:net';

// A self-signed certificate for local HTTPS, made with node:crypto alone. Node generates keys and
// signs, but has no call that writes a certificate; the DER below is the few X.509 (RFC 5280)
// structures one needs, so `npm run certs` works without openssl or a dependency.

/** Names every local certificate covers, whatever else is asked for. */
export const LOCAL_NAMES = ['localhost', '127.0.0.1', '::1'];

const der = (tag: number, ...content: Buffer[]): Buffer => {
  const body = Buffer.concat(content);
  const n = body.length;
  if (n > 0xffff) throw new Error('certificate field too long');
  const length =
    n < 0x80
      ? Buffer.from([n])
      : n < 0x100
        ? Buffer.from([0x81, n])
        : Buffer.from([0x82, n >> 8, n & 0xff]);
  return Buffer.concat([Buffer.from([tag]), length, body]);
};
const seq = (...content: Buffer[]) => der(0x30, ...content);
const set = (...content: Buffer[]) => der(0x31, ...content);
const octets = (content: Buffer) => der(0x04, content);
const bits = (content: Buffer, unused = 0) => der(0x03, Buffer.from([unused]), content);
const explicit = (n: number, content: Buffer) => der(0xa0 + n, content);
const TRUE = der(0x01, Buffer.from([0xff]));

/** A non-negative INTEGER: a leading 0 byte where the high bit would make it negative. */
const uint = (value: Buffer) =>
  der(0x02, value[0]! & 0x80 ? Buffer.concat([Buffer.of(0), value]) : value);

const oid = (dotted: string) => {
  const [a, b, ...rest] = dotted.split('.').map(Number);
  const out = [a! * 40 + b!];
  for (const v of rest) {
    const base128 = [v & 0x7f];
    for (let x = v >>> 7; x > 0; x >>>= 7) base128.unshift((x & 0x7f) | 0x80);
    out.push(...base128);
  }
  return der(0x06, Buffer.from(out));
};

/** UTCTime through 2049, GeneralizedTime after (RFC 5280 4.1.2.5), to the second, in UTC. */
const time = (d: Date) => {
  const digits = d
    .toISOString()
    .replace(/\.\d+Z$/, 'Z')
    .replace(/[-:T]/g, '');
  return d.getUTCFullYear() < 2050
    ? der(0x17, Buffer.from(digits.slice(2)))
    : der(0x18, Buffer.from(digits));
};

/** The 4 or 16 bytes of an IP address (a subjectAltName iPAddress). */
function ipBytes(ip: string): Buffer {
  if (isIP(ip) === 4) return Buffer.from(ip.split('.').map(Number));
  if (isIP(ip) !== 6) throw new Error(`${ip} is not an IP address`);
  let text = ip.replace(/%.*$/, '');
  // An IPv4 tail (::ffff:10.0.0.1) is two groups.
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4) {
    const b = ipBytes(v4[1]!);
    text =
      text.slice(0, v4.index) +
      `${b.readUInt16BE(0).toString(16)}:${b.readUInt16BE(2).toString(16)}`;
  }
  const [head, tail] = text.split('::') as [string, string | undefined];
  const groups = (s: string | undefined) => (s ? s.split(':') : []);
  const left = groups(head);
  const right = groups(tail);
  const all =
    tail === undefined
      ? left
      : [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right];
  const out = Buffer.alloc(16);
  all.forEach((g, i) => out.writeUInt16BE(parseInt(g, 16), i * 2));
  return out;
}

/** A DNS name a certificate may carry: letters, digits, hyphens, dots, and a leading `*.`. */
const DNS_NAME =
  /^(\*\.)?[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

const generalName = (host: string) =>
  isIP(host)
    ? der(0x87, ipBytes(host)) // [7] iPAddress
    : der(0x82, Buffer.from(host, 'ascii')); // [2] dNSName

const extension = (id: string, value: Buffer, critical = false) =>
  seq(oid(id), ...(critical ? [TRUE] : []), octets(value));

export interface SelfSigned {
  /** PEM certificate. */
  cert: string;
  /** PEM private key (PKCS #8, EC P-256). */
  key: string;
  /** Every name the certificate is valid for, in its subjectAltName. */
  names: string[];
  notAfter: Date;
}

/**
 * A self-signed server certificate (EC P-256, ECDSA with SHA-256) valid for `hosts` and the
 * local names, from an hour ago (clock skew) for `days` days. It is its own trust anchor: a
 * client trusts it by taking it as its CA (curl --cacert, NODE_EXTRA_CA_CERTS). It is a leaf
 * (CA:FALSE), so it can vouch for nothing but itself.
 */
export function selfSignedCertificate(
  hosts: string[] = [],
  days = 365,
  now = new Date(),
): SelfSigned {
  const names = [...new Set([...LOCAL_NAMES, ...hosts.map((h) => h.trim()).filter(Boolean)])];
  for (const name of names) {
    // An all-digit last label is a mistyped address (300.1.1.1), never a name.
    if (!isIP(name) && (!DNS_NAME.test(name) || /(^|\.)\d+$/.test(name)))
      throw new Error(`${name} is not a host name or IP address`);
  }
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const spki = publicKey.export({ type: 'spki', format: 'der' });
  const ecdsaWithSha256 = seq(oid('1.2.840.10045.4.3.2'));
  const name = seq(
    set(seq(oid('2.5.4.3'), der(0x0c, Buffer.from('eventpipe local (self-signed)')))),
  );
  const serial = randomBytes(16);
  serial[0]! &= 0x7f;
  serial[0]! |= 0x01; // positive and 16 bytes long, never a leading zero
  const notBefore = new Date(now.getTime() - 3600_000);
  const notAfter = new Date(now.getTime() + days * 86_400_000);
  const tbs = seq(
    explicit(0, uint(Buffer.of(2))), // v3
    uint(serial),
    ecdsaWithSha256,
    name, // issuer: itself
    seq(time(notBefore), time(notAfter)),
    name, // subject
    spki,
    explicit(
      3,
      seq(
        extension('2.5.29.19', seq(), true), // basicConstraints: not a CA
        extension('2.5.29.15', bits(Buffer.of(0x80), 7), true), // keyUsage: digitalSignature
        extension('2.5.29.37', seq(oid('1.3.6.1.5.5.7.3.1'))), // extKeyUsage: serverAuth
        extension('2.5.29.17', seq(...names.map(generalName))), // subjectAltName
        extension('2.5.29.14', octets(createHash('sha1').update(spki).digest())), // key id
      ),
    ),
  );
  const certificate = seq(tbs, ecdsaWithSha256, bits(sign('sha256', tbs, privateKey)));
  const base64 = certificate.toString('base64').replace(/.{64}/g, '$&\n').replace(/\n$/, '');
  return {
    cert: `-----BEGIN CERTIFICATE-----\n${base64}\n-----END CERTIFICATE-----\n`,
    key: privateKey.export({ type: 'pkcs8', format: 'pem' }) as string,
    names,
    notAfter,
  };
}
