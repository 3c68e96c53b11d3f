import type { DeadLetterDelivery, EventBus } from '@eventpipe/bus';
import { ATTR } from '@eventpipe/schema';
import { decodeMessage } from '@eventpipe/subscriber-worker';

export interface ReplayOptions {
  /** Most messages to look at; undefined: until the dead-letter subscription is empty. */
  limit?: number;
  /** Look and report only: nothing is republished or removed. */
  dryRun: boolean;
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
}

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
  const progress: ReplayProgress = { seen: 0, republished: 0, kept: 0, limit: opts.limit };
  const keptByReason: Record<string, number> = {};
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
        progress.seen += 1;
        const decoded = decodeMessage({
          id: m.id,
          data: m.data,
          attributes: m.attributes,
          publishTime: new Date(),
          deliveryAttempt: 0,
          ack: () => {},
          nack: () => {},
        });
        if (!decoded.ok) {
          keptByReason[decoded.reason] = (keptByReason[decoded.reason] ?? 0) + 1;
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
  return { ...progress, dryRun: opts.dryRun, keptByReason };
}

/** A one-line progress bar: `[#######.......]  70/100  republished 60  kept 10`. */
export function progressLine(p: ReplayProgress, width = 30): string {
  const counts = `republished ${p.republished}  kept ${p.kept}`;
  if (p.limit === undefined) return `${p.seen} seen  ${counts}`;
  const filled = Math.round((Math.min(p.seen, p.limit) / Math.max(p.limit, 1)) * width);
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${p.seen}/${p.limit}  ${counts}`;
}
