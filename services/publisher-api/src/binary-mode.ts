/**
 * CloudEvents HTTP protocol binding 1.0.2, binary content mode (§3.1): the attributes travel as
 * `ce-<name>` headers, `Content-Type` is `datacontenttype`, and the body is the data.
 *
 * A binary-mode request is turned into the JSON-format object that structured mode would have
 * carried, so one validation and one set of defaults (`parseInputEvents`) serve every mode. Only
 * what is particular to the binding is checked here: header decoding, the headers that must not
 * be attribute headers, and the body's encoding.
 */
import type { IncomingMessage } from 'node:http';
import { errors, type ProblemItem } from '@eventpipe/platform';
import {
  FORBIDDEN_KEYS,
  asJsonText,
  dataKindOf,
  jsonTextOf,
  parseContentType,
  type DataKind,
  type JsonText,
} from '@eventpipe/schema';
import { decodeUtf8, forbiddenKeyError, parseJsonBody } from './json-body';

/** How the body becomes the event's data: a JSON value, a UTF-8 string, or base64 bytes. */
export type BodyKind = DataKind;

type Headers = Pick<IncomingMessage, 'headers' | 'headersDistinct'>;

const PREFIX = 'ce-';
// §3.1.1/§3.1.2: Content-Type is datacontenttype and the body is the data; a header for them
// would be a second, conflicting source.
const NOT_ATTRIBUTE_HEADERS = new Set(['ce-data', 'ce-data_base64', 'ce-datacontenttype']);

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * The body kind when the request is in binary mode, else undefined. Binary mode is a
 * `ce-specversion` header with a Content-Type that is not a CloudEvents format: a type that starts
 * with `application/cloudevents` selects structured or batched mode (§1.3), whose body carries
 * every attribute, so `ce-*` headers beside it are ignored (§3.2.3 allows them).
 * Called before the body is read; a JSON type with a charset other than UTF-8 is a 415.
 */
export function binaryModeOf(req: Headers): BodyKind | undefined {
  if (req.headers['ce-specversion'] === undefined) return undefined;
  const contentType = req.headers['content-type'];
  if (parseContentType(contentType).type.startsWith('application/cloudevents')) return undefined;
  const kind = dataKindOf(contentType);
  // JSON is UTF-8 (RFC 8259 §8.1); the same rule as the other modes. Text in another charset is
  // kept byte for byte (data_base64, its Content-Type says how to read it), never transcoded.
  if (kind === undefined)
    throw errors.unsupportedMediaType('only charset=utf-8 is accepted for JSON');
  return kind;
}

/**
 * The JSON-format object of a binary-mode request: each `ce-<name>` header as attribute <name>,
 * Content-Type as `datacontenttype`, the body as `data` or `data_base64` (none when empty), and
 * the exact text of `data`. Throws a 400 for header problems; attribute values are validated
 * later, like any event's.
 */
export function binaryModeEvent(
  req: Headers,
  kind: BodyKind,
  body: Buffer,
): { event: Record<string, unknown>; dataText: JsonText | undefined } {
  const attributes: [string, unknown][] = [];
  const problems: ProblemItem[] = [];
  for (const [header, values = []] of Object.entries(req.headersDistinct)) {
    if (!header.startsWith(PREFIX)) continue;
    const name = header.slice(PREFIX.length);
    // The keys refused in a JSON body; a header name must not smuggle them in.
    if (FORBIDDEN_KEYS.has(name)) {
      throw forbiddenKeyError(`attribute headers may not name "${name}"`);
    }
    if (NOT_ATTRIBUTE_HEADERS.has(header)) {
      problems.push({
        index: 0,
        pointer: header,
        detail: `${header} is not allowed in binary mode: the body is the data and Content-Type its datacontenttype`,
      });
    } else if (values.length > 1) {
      problems.push({ index: 0, pointer: header, detail: `${header} appears more than once` });
    } else {
      try {
        attributes.push([name, decodeHeaderValue(values[0] ?? '')]);
      } catch (e) {
        problems.push({ index: 0, pointer: header, detail: `${header}: ${(e as Error).message}` });
      }
    }
  }
  if (problems.length) {
    throw errors.validation('binary-mode headers are not valid; nothing was published', problems);
  }
  const contentType = req.headers['content-type'];
  if (contentType !== undefined) attributes.push(['datacontenttype', contentType]);
  let dataText: JsonText | undefined;
  if (body.length > 0) {
    if (kind === 'json') {
      const { value, text } = parseJsonBody(body);
      attributes.push(['data', value]);
      dataText = asJsonText(text.trim()); // JSON.parse allowed only JSON whitespace around it
    } else if (kind === 'text') {
      const text = decodeUtf8(body, 'a text/* or charset=utf-8 body must be UTF-8 encoded');
      attributes.push(['data', text]);
      dataText = jsonTextOf(text);
    } else attributes.push(['data_base64', body.toString('base64')]);
  }
  // fromEntries defines own properties, so no name can reach the object's prototype.
  return { event: Object.fromEntries(attributes), dataText };
}

/**
 * One header value → attribute value, read liberally (§3.1.3.2 asks senders to percent-encode;
 * the official JS SDK 10 sends values as they are): a `%` followed by two hex digits is one
 * percent-encoded byte, any other `%` is itself; quotes are kept as sent. The bytes must be UTF-8
 * (so overlong forms such as %C0%A0 fail). Node hands header bytes over as latin1, one char per
 * byte, so raw UTF-8 from a sender that did not encode decodes the same way.
 * Throws an Error whose message says what is wrong.
 */
export function decodeHeaderValue(raw: string): string {
  const bytes: number[] = [];
  for (let i = 0; i < raw.length; i++) {
    const c = raw.charCodeAt(i);
    if (c === 0x25 /* % */ && /^[0-9a-fA-F]{2}$/.test(raw.slice(i + 1, i + 3))) {
      bytes.push(parseInt(raw.slice(i + 1, i + 3), 16));
      i += 2;
    } else if (c > 0xff) {
      throw new Error('non-ASCII characters must be percent-encoded UTF-8');
    } else bytes.push(c);
  }
  try {
    return utf8.decode(Uint8Array.from(bytes));
  } catch {
    throw new Error('the value is not valid UTF-8 once percent-decoded');
  }
}

/** The header a validation issue's JSON Pointer (into the event built above) stands for. */
export function headerOfPointer(pointer: string): string {
  const name = (pointer.split('/')[1] ?? '').replaceAll('~1', '/').replaceAll('~0', '~');
  if (name === 'datacontenttype') return 'content-type';
  if (name === '' || name === 'data' || name === 'data_base64') return ''; // the body, or the event
  return PREFIX + name;
}
