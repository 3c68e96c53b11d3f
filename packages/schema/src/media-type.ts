/** A Content-Type header split into its lower-case type and its parameters (quotes removed). */
export function parseContentType(header: string | undefined): {
  type: string;
  params: [name: string, value: string | undefined][];
} {
  const [type = '', ...params] = (header ?? '').split(';').map((s) => s.trim().toLowerCase());
  return {
    type,
    params: params.map((p) => {
      const [k = '', v] = p.split('=').map((s) => s.trim().replace(/^"|"$/g, ''));
      return [k, v];
    }),
  };
}

/** The charset names accepted as UTF-8. */
export const isUtf8Charset = (charset: string | undefined): boolean =>
  charset === 'utf-8' || charset === 'utf8';

/** How an event's data is held, by its media type (CloudEvents JSON format §3.1.1): JSON types
 * as a JSON value, UTF-8 text as a string, anything else as base64 bytes. */
export type DataKind = 'json' | 'text' | 'bytes';

/** The data kind of a media type; 'json' with another charset than UTF-8 is `undefined` (JSON
 * is UTF-8, RFC 8259 §8.1). Text in another charset is kept as bytes, never transcoded; no
 * media type at all says nothing about the bytes, so they are kept as bytes too. */
export function dataKindOf(contentType: string | undefined): DataKind | undefined {
  const { type, params } = parseContentType(contentType);
  const charset = params.find(([k]) => k === 'charset')?.[1];
  if (type === 'application/json' || type.endsWith('/json') || type.endsWith('+json')) {
    return charset === undefined || isUtf8Charset(charset) ? 'json' : undefined;
  }
  if (charset !== undefined) return isUtf8Charset(charset) ? 'text' : 'bytes';
  return type.startsWith('text/') ? 'text' : 'bytes';
}
