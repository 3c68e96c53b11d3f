import { createHash, timingSafeEqual } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import type { RequestHandler } from 'express';
import { z } from 'zod';
import { isGrantPattern, type Grant } from '@eventpipe/schema';
import { AppError } from './errors';

export const SCOPES = [
  'events:write',
  'events:read',
  'metrics:read',
  'schemas:write',
  'events:erase',
] as const;
export type Scope = (typeof SCOPES)[number];

const grantPattern = (what: string) =>
  z.string().refine(isGrantPattern, {
    error: `${what}: an exact value, or a prefix ending in * (the only * allowed), 1 to 1024 characters`,
  });

const keySchema = z
  .object({
    name: z
      .string()
      .regex(/^[A-Za-z0-9._-]{1,64}$/, { error: 'name: letters, digits, . _ -, at most 64' }),
    scopes: z.array(z.enum(SCOPES)).min(1),
    sha256: z.string().regex(/^[0-9a-f]{64}$/, { error: 'sha256: 64 lower-case hex digits' }),
    sources: z.array(grantPattern('sources')).min(1).optional(),
    types: z.array(grantPattern('types')).min(1).optional(),
  })
  .refine((k) => k.types === undefined || k.scopes.includes('events:read'), {
    error: 'types: limits what a key reads, so it needs the scope events:read',
    path: ['types'],
  })
  // An erasure reaches a subject's events of every type: a key limited by type cannot erase
  // (use a separate key for erasures, limited by sources if need be).
  .refine((k) => k.types === undefined || !k.scopes.includes('events:erase'), {
    error:
      'types: an erasure covers every type, so a key limited by types cannot have events:erase',
    path: ['types'],
  });
export type ApiKey = z.output<typeof keySchema>;
const keysSchema = z.array(keySchema);

/** hex SHA-256 of a key: what API_KEYS stores instead of the key. */
export const hashKey = (key: string): string =>
  createHash('sha256').update(key, 'utf8').digest('hex');

/** Parses API_KEYS (JSON) or the file API_KEYS_FILE names; throws with a readable message. */
export function loadApiKeys(json: string | undefined, file: string | undefined): ApiKey[] {
  if (json && file) throw new Error('set API_KEYS or API_KEYS_FILE, not both');
  const text = file ? readFileSync(file, 'utf8') : json;
  if (!text) return [];
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new Error(`${file ? 'API_KEYS_FILE' : 'API_KEYS'} is not valid JSON`);
  }
  const r = keysSchema.safeParse(value);
  if (!r.success) {
    throw new Error(
      `${file ? 'API_KEYS_FILE' : 'API_KEYS'}: ${r.error.issues.map((i) => `[${i.path.join('.')}] ${i.message}`).join('; ')}`,
    );
  }
  const names = new Set<string>();
  const hashes = new Map<string, string>();
  for (const k of r.data) {
    if (names.has(k.name)) throw new Error(`API key name ${k.name} is used twice`);
    names.add(k.name);
    // One key, two entries: which name (and grant) applies would depend on the order.
    const other = hashes.get(k.sha256);
    if (other !== undefined)
      throw new Error(`API keys ${other} and ${k.name} have the same sha256: one key, one name`);
    hashes.set(k.sha256, k.name);
  }
  return r.data;
}

/** Why a keys file is unsafe to trust, when it is: anyone on the machine may write it. */
export function keysFileWarning(file: string): string | undefined {
  const mode = statSync(file).mode;
  if ((mode & 0o002) === 0) return undefined;
  return `API_KEYS_FILE ${file} is writable by others (mode ${(mode & 0o777).toString(8)}): anyone on this machine can add a key; chmod o-w it`;
}

/** The grant of a key: the sources (and types) it is limited to; undefined when it is not. */
export function grantOf(key: ApiKey | undefined): Grant | undefined {
  if (!key || (key.sources === undefined && key.types === undefined)) return undefined;
  return { sources: key.sources, types: key.types };
}

const challenge = (error?: string) =>
  `Bearer realm="eventpipe"${error ? `, error="${error}"` : ''}`;

function presentedKey(
  authorization: string | undefined,
  apiKey: string | undefined,
): string | undefined {
  if (apiKey) return apiKey;
  const m = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '');
  return m?.[1];
}

/** Finds the key whose hash matches, comparing every configured hash in constant time. */
function match(keys: ApiKey[], presented: string): ApiKey | undefined {
  const digest = Buffer.from(hashKey(presented), 'hex');
  let found: ApiKey | undefined;
  for (const k of keys) {
    if (timingSafeEqual(digest, Buffer.from(k.sha256, 'hex')) && !found) found = k;
  }
  return found;
}

/**
 * Requires an API key with `scope` (Authorization: Bearer <key>, or X-API-Key). With no keys
 * configured (AUTH_MODE=none) every request passes. The consumer's name lands in
 * res.locals.consumer for logs and bounded metric labels, the key itself (its grant) in
 * res.locals.apiKey.
 */
export function requireScope(keys: ApiKey[], scope: Scope): RequestHandler {
  return (req, res, next) => {
    if (keys.length === 0) {
      res.locals.consumer = 'anonymous';
      return next();
    }
    const presented = presentedKey(req.get('authorization'), req.get('x-api-key'));
    if (!presented) {
      return next(
        new AppError('unauthenticated', {
          detail: 'send the key as Authorization: Bearer <key> or X-API-Key',
          headers: { 'WWW-Authenticate': challenge() },
        }),
      );
    }
    const key = match(keys, presented);
    if (!key) {
      return next(
        new AppError('unauthenticated', {
          detail: 'the key is unknown or revoked',
          headers: { 'WWW-Authenticate': challenge('invalid_token') },
        }),
      );
    }
    if (!key.scopes.includes(scope)) {
      return next(
        new AppError('insufficient-scope', {
          detail: `this route needs the scope ${scope}`,
          headers: { 'WWW-Authenticate': `${challenge('insufficient_scope')}, scope="${scope}"` },
        }),
      );
    }
    res.locals.consumer = key.name;
    res.locals.apiKey = key;
    next();
  };
}
