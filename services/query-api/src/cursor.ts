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
    return this.seal({
      v: 1,
      t: key.time,
      s: key.source,
      i: key.id,
      f: fingerprint(filter, reader),
    });
  }

  decode(cursor: string, filter: EventFilter, reader = ''): PageKey {
    const body = this.open(cursor, invalid, {
      malformed: 'cursor is malformed',
      forged: 'cursor signature does not match; use nextCursor exactly as returned',
    });
    if (body.v !== 1) throw invalid('cursor version is not supported');
    if (body.f !== fingerprint(filter, reader)) {
      throw invalid(
        'cursor was issued for other filters (or another API key); repeat the same filters with it',
      );
    }
    return { time: String(body.t), source: String(body.s), id: String(body.i) };
  }

  /** A stream's resume token: a position in store order (stored time, source, id), bound to
   * the stream's filters and reader like a cursor. */
  encodePosition(key: StoredKey, filter: EventFilter, reader = ''): string {
    return this.positions(filter, reader).encode(key);
  }

  /** Resume tokens for one stream's filters and reader, the fingerprint worked out once.
   * `scope` is the same for every stream whose tokens are interchangeable (same filters, same
   * reader), so one token per row can serve them all. */
  positions(filter: EventFilter, reader = ''): { scope: string; encode(key: StoredKey): string } {
    const f = fingerprint(filter, reader);
    return {
      scope: f,
      encode: (key) => this.seal({ v: 2, a: key.storedAt, s: key.source, i: key.id, f }),
    };
  }

  /** The position a resume token holds; `pointer` names where it came from (the
   * Last-Event-ID header or the after parameter). */
  decodePosition(token: string, filter: EventFilter, reader = '', pointer = 'after'): StoredKey {
    const bad = (detail: string) =>
      new AppError('invalid-cursor', { detail, errors: [{ pointer, detail }] });
    const body = this.open(token, bad, {
      malformed: 'resume token is malformed',
      forged: 'resume token signature does not match; send the id of a message exactly',
    });
    if (body.v !== 2) throw bad('not a stream resume token');
    if (body.f !== fingerprint(filter, reader)) {
      throw bad(
        'resume token was issued for other filters (or another API key); resume with the same filters',
      );
    }
    return { storedAt: String(body.a), source: String(body.s), id: String(body.i) };
  }

  /** A signed token: the body as base64url JSON, a dot, its HMAC. */
  private seal(body: Record<string, unknown>): string {
    const payload = Buffer.from(JSON.stringify(body)).toString('base64url');
    return `${payload}.${this.sign(payload)}`;
  }

  /** The body of a token this codec sealed; a malformed or tampered one is `bad`'s 400. Only a
   * payload whose signature matches is parsed: it is JSON this codec wrote. */
  private open(
    token: string,
    bad: (detail: string) => AppError,
    says: { malformed: string; forged: string },
  ): Record<string, unknown> {
    const [payload, signature, extra] = token.split('.');
    if (!payload || !signature || extra !== undefined) throw bad(says.malformed);
    const expected = Buffer.from(this.sign(payload));
    const given = Buffer.from(signature);
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
      throw bad(says.forged);
    }
    return JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Record<
      string,
      unknown
    >;
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
