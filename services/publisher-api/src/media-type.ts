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
