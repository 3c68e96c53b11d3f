import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { AppError } from '@eventpipe/platform';
import { grantText } from '@eventpipe/schema';
import type { EventFilter, PageKey, StoredKey } from '@eventpipe/store';

/**
 * Opaque keyset cursors: the last row's (time, source, id) plus a fingerprint of the filters,
 * signed with HMAC-SHA256. A cursor is only valid for the filters it was issued under, so a
 * client cannot replay it across queries; a tampered or truncated one is a 400, never a query.
 */
export class CursorCodec {
  constructor(private readonly secret: Buffer) {
    if (secret.length < 16) throw new Error('cursor secret must be at least 16 bytes');
  }

  /** `reader`: the name of the API key the page was read with ('' without keys). */
  encode(key: PageKey, filter: EventFilter, reader = ''): string {
    const payload = Buffer.from(
      JSON.stringify({
        v: 1,
        t: key.time,
        s: key.source,
        i: key.id,
        f: fingerprint(filter, reader),
      }),
    ).toString('base64url');
    return `${payload}.${this.sign(payload)}`;
  }

  decode(cursor: string, filter: EventFilter, reader = ''): PageKey {
    const [payload, signature, extra] = cursor.split('.');
    if (!payload || !signature || extra !== undefined) throw invalid('cursor is malformed');
    const expected = Buffer.from(this.sign(payload));
    const given = Buffer.from(signature);
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
      throw invalid('cursor signature does not match; use nextCursor exactly as returned');
    }
    const body = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as {
      v: number;
      t: string;
      s: string;
      i: string;
      f: string;
    };
    if (body.v !== 1) throw invalid('cursor version is not supported');
    if (body.f !== fingerprint(filter, reader)) {
      throw invalid(
        'cursor was issued for other filters (or another API key); repeat the same filters with it',
      );
    }
    return { time: body.t, source: body.s, id: body.i };
  }

  /** A stream's resume token: a position in store order (stored time, source, id), bound to
   * the stream's filters and reader like a cursor. */
  encodePosition(key: StoredKey, filter: EventFilter, reader = ''): string {
    const payload = Buffer.from(
      JSON.stringify({
        v: 2,
        a: key.storedAt,
        s: key.source,
        i: key.id,
        f: fingerprint(filter, reader),
      }),
    ).toString('base64url');
    return `${payload}.${this.sign(payload)}`;
  }

  /** The position a resume token holds; `pointer` names where it came from (the
   * Last-Event-ID header or the after parameter). */
  decodePosition(token: string, filter: EventFilter, reader = '', pointer = 'after'): StoredKey {
    const bad = (detail: string) =>
      new AppError('invalid-cursor', { detail, errors: [{ pointer, detail }] });
    const [payload, signature, extra] = token.split('.');
    if (!payload || !signature || extra !== undefined) throw bad('resume token is malformed');
    const expected = Buffer.from(this.sign(payload));
    const given = Buffer.from(signature);
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
      throw bad('resume token signature does not match; send the id of a message exactly');
    }
    let body: { v?: number; a?: string; s?: string; i?: string; f?: string };
    try {
      body = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as typeof body;
    } catch {
      throw bad('resume token is malformed');
    }
    if (body.v !== 2) throw bad('not a stream resume token');
    if (body.f !== fingerprint(filter, reader)) {
      throw bad(
        'resume token was issued for other filters (or another API key); resume with the same filters',
      );
    }
    return { storedAt: body.a!, source: body.s!, id: body.i! };
  }

  private sign(payload: string): string {
    return createHmac('sha256', this.secret).update(payload).digest('base64url');
  }
}

const invalid = (detail: string) =>
  new AppError('invalid-cursor', {
    detail,
    errors: [{ pointer: 'cursor', detail }],
  });

/** The filters, the reader's key and its grant: a cursor issued to one key is refused for another
 * (a 400, as for other filters). */
function fingerprint(f: EventFilter, reader: string): string {
  const canonical = JSON.stringify([
    f.type ?? null,
    f.source ?? null,
    f.subject ?? null,
    f.from ?? null,
    f.to ?? null,
    f.producer ?? null,
    grantText(f.grant),
    reader,
  ]);
  return createHash('sha256').update(canonical).digest('base64url').slice(0, 16);
}
