import type { DeadLetterDelivery, EventBus } from '@eventpipe/bus';
import { ATTR, decodeBusMessage } from '@eventpipe/schema';

export interface ReplayOptions {
  /** Most messages to look at; undefined: until the dead-letter subscription is empty. */
  limit?: number;
  /** Look and report only: nothing is republished or removed. */
  dryRun: boolean;
  /** Only messages dead-lettered for this reason; the others are left as they are. */
  reason?: string;
  /** Removes the messages looked at (with `reason`) instead of replaying them, e.g. conflicting
   * duplicates once someone has looked at them. */
  discard?: boolean;
  /** Called with each message looked at, for a listing. */
  onMessage?: (entry: DeadLetterEntry) => void;
  /** Whether an erasure covers the event (or a suppression its subject): such a message is
   * removed from the dead-letter subscription, never republished. Unset: none checked. */
  erased?: (
    event: { subject?: string | null; source: string; id: string },
    receivedAt: string,
  ) => boolean;
  /** Messages pulled per round trip. */
  batchSize?: number;
  onProgress?: (p: ReplayProgress) => void;
}

export interface ReplayProgress {
  seen: number;
  republished: number;
  kept: number;
  limit?: number;
}

export interface ReplaySummary extends ReplayProgress {
  dryRun: boolean;
  /** Why the kept messages still fail, counted by reason. */
  keptByReason: Record<string, number>;
  /** Messages removed by `discard`. */
  discarded: number;
  /** Messages removed because an erasure covers their event. */
  erased: number;
}

/** What a listing shows of one dead-lettered message. */
export interface DeadLetterEntry {
  messageId: string;
  reason: string | undefined;
  detail: string | undefined;
  deadLetteredAt: string | undefined;
  /** The event's (source, id) and type, from the message's attributes. */
  source: string | undefined;
  id: string | undefined;
  type: string | undefined;
  /** Conflicting duplicates: this event's digest and the stored one's. */
  digest: string | undefined;
  storedDigest: string | undefined;
  /** What this run does with it. */
  action: 'republish' | 'keep' | 'discard' | 'erase';
}

/** When a message tells neither when it was received nor when it was dead-lettered. */
const EARLIEST = '0001-01-01T00:00:00.000000Z';

/** A conflicting duplicate would only conflict again: a replay keeps it (or discards it). */
const NEVER_REPLAYED = new Set<string>(['conflicting-duplicate']);

/** Attributes the dead-lettering added (ours and Pub/Sub's own); a replayed message sheds them. */
const DEAD_LETTER_ATTRIBUTES = new Set<string>([
  ATTR.dlqReason,
  ATTR.dlqDetail,
  ATTR.dlqMessageId,
  ATTR.dlqAt,
  'CloudPubSubDeadLetterSourceDeliveryCount',
  'CloudPubSubDeadLetterSourceSubscription',
  'CloudPubSubDeadLetterSourceSubscriptionProject',
  'CloudPubSubDeadLetterSourceTopicPublishTime',
  'CloudPubSubDeadLetterSourceDeliveryErrorMessage',
]);

/**
 * Pulls from the dead-letter subscription, validates each message again with the worker's own
 * entry-point check, republishes what now passes to the main topic (then acks it on the
 * dead-letter subscription) and keeps the rest there. Republishing before acking means a crash
 * in between replays a message twice, never zero times; the store's (source, id) dedup absorbs it.
 */
export async function replayDeadLetters(
  bus: EventBus,
  opts: ReplayOptions,
): Promise<ReplaySummary> {
  if (opts.discard && opts.reason === undefined) throw new Error('discard needs a reason');
  const progress: ReplayProgress = { seen: 0, republished: 0, kept: 0, limit: opts.limit };
  const keptByReason: Record<string, number> = {};
  let discarded = 0;
  let erased = 0;
  const held: DeadLetterDelivery[] = [];
  const seenIds = new Set<string>();
  try {
    for (;;) {
      const room = opts.limit === undefined ? Infinity : opts.limit - progress.seen;
      if (room <= 0) break;
      const batch = await bus.pullDeadLetters(Math.min(opts.batchSize ?? 100, room));
      const fresh = batch.filter((m) => !seenIds.has(m.id));
      if (fresh.length === 0) {
        await Promise.all(batch.map((m) => m.release()));
        break;
      }
      for (const m of batch.filter((b) => seenIds.has(b.id))) await m.release();
      for (const m of fresh) {
        seenIds.add(m.id);
        const reason = m.attributes[ATTR.dlqReason];
        if (opts.reason !== undefined && reason !== opts.reason) {
          held.push(m); // not this run's: leased until the end, then given back untouched
          continue;
        }
        progress.seen += 1;
        const decoded = decodeBusMessage({
          data: m.data,
          attributes: m.attributes,
          publishTime: new Date(),
        });
        const stays = !decoded.ok || NEVER_REPLAYED.has(reason ?? '');
        // An erased event leaves the dead-letter subscription too, whatever its reason.
        // Received before it was dead-lettered: the publisher's time, else the dead-lettering's.
        const receivedAt = m.attributes[ATTR.receivedAt] ?? m.attributes[ATTR.dlqAt] ?? EARLIEST;
        const gone = decoded.ok && opts.erased?.(decoded.event, receivedAt) === true;
        const action = gone ? 'erase' : opts.discard ? 'discard' : stays ? 'keep' : 'republish';
        opts.onMessage?.(entryOf(m, action));
        if (gone) {
          if (opts.dryRun) held.push(m);
          else {
            await m.ack();
            erased += 1;
          }
        } else if (opts.discard) {
          if (opts.dryRun) held.push(m);
          else {
            await m.ack();
            discarded += 1;
          }
        } else if (stays) {
          const why = decoded.ok ? reason! : decoded.reason;
          keptByReason[why] = (keptByReason[why] ?? 0) + 1;
          progress.kept += 1;
          held.push(m); // leased until the end of the run, so it is not pulled again
        } else if (opts.dryRun) {
          progress.republished += 1; // would be
          held.push(m);
        } else {
          const attributes = Object.fromEntries(
            Object.entries(m.attributes).filter(([k]) => !DEAD_LETTER_ATTRIBUTES.has(k)),
          );
          attributes['eventpipe-replayed-from'] = m.id;
          await bus.publish([{ data: m.data, attributes }]);
          await m.ack();
          progress.republished += 1;
        }
        opts.onProgress?.({ ...progress });
      }
    }
  } finally {
    // Kept (and, in a dry run, all) messages go back to the dead-letter subscription at once.
    await Promise.allSettled(held.map((m) => m.release()));
  }
  return { ...progress, dryRun: opts.dryRun, keptByReason, discarded, erased };
}

function entryOf(m: DeadLetterDelivery, action: DeadLetterEntry['action']): DeadLetterEntry {
  const a = m.attributes;
  return {
    messageId: a[ATTR.dlqMessageId] ?? m.id,
    reason: a[ATTR.dlqReason],
    detail: a[ATTR.dlqDetail],
    deadLetteredAt: a[ATTR.dlqAt],
    source: a[ATTR.ceSource],
    id: a[ATTR.ceId],
    type: a[ATTR.ceType],
    digest: a[ATTR.dlqDigest],
    storedDigest: a[ATTR.dlqStoredDigest],
    action,
  };
}

/** A one-line progress bar: `[#######.......]  70/100  republished 60  kept 10`. */
export function progressLine(p: ReplayProgress, width = 30): string {
  const counts = `republished ${p.republished}  kept ${p.kept}`;
  if (p.limit === undefined) return `${p.seen} seen  ${counts}`;
  const filled = Math.round((Math.min(p.seen, p.limit) / Math.max(p.limit, 1)) * width);
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${p.seen}/${p.limit}  ${counts}`;
}
