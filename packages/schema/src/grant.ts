/**
 * What an API key may write or read, beyond its scopes: the `sources` (and, for reads, `types`)
 * it is limited to. Each entry is an exact value or a prefix ending in `*` (`/partner-a/*`); a
 * list left out means every value. A key without a grant keeps the scopes' whole meaning.
 */
export interface Grant {
  sources?: readonly string[];
  types?: readonly string[];
}

/** A pattern: an exact value, or a prefix ending in the one `*` it may hold. */
export function isGrantPattern(pattern: string): boolean {
  const star = pattern.indexOf('*');
  return (
    pattern.length > 0 && pattern.length <= 1024 && (star === -1 || star === pattern.length - 1)
  );
}

/** Whether `value` matches one of `patterns` (undefined: no limit, everything matches). */
export function matchesGrant(value: string, patterns: readonly string[] | undefined): boolean {
  if (patterns === undefined) return true;
  return patterns.some((p) => (p.endsWith('*') ? value.startsWith(p.slice(0, -1)) : value === p));
}

/** The patterns split for a query: exact values, and the prefixes of the `*` patterns. */
export function grantTerms(patterns: readonly string[]): { exact: string[]; prefixes: string[] } {
  const exact: string[] = [];
  const prefixes: string[] = [];
  for (const p of patterns)
    (p.endsWith('*') ? prefixes : exact).push(p.endsWith('*') ? p.slice(0, -1) : p);
  return { exact, prefixes };
}

/** A grant as one stable string (for a cursor's signature): the same grant, the same text. */
export function grantText(grant: Grant | undefined): string {
  if (!grant || (grant.sources === undefined && grant.types === undefined)) return '';
  const list = (l: readonly string[] | undefined) => (l ? [...l].sort() : null);
  return JSON.stringify({ s: list(grant.sources), t: list(grant.types) });
}
