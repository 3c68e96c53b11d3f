import { infoFigure, limitFigure, percentile, round, type Bench } from '../harness';
import { backlog, drainWithWorker } from './drain';

const MB = 1024 * 1024;

/** Worker RSS while it drains a large backlog: bounded by flow control, not by the backlog. */
export const workerMemory: Bench = {
  name: 'worker-memory',
  what: 'worker RSS while draining a 1M-message backlog into DuckDB',
  async run(ctx) {
    const total = ctx.size(1_000_000, 5_000);
    const base = await backlog(ctx, 'memory', ['worker'], total);
    ctx.log(`worker draining ${total} messages`);
    const rss: number[] = [];
    const { worker, samples } = await drainWithWorker(ctx, base, total, (w) => rss.push(w.rss()));
    await worker.stop();
    const values = rss.map((b) => b / MB);
    const q = Math.floor(values.length / 4);
    const early = percentile(values.slice(q, 2 * q), 50);
    const late = percentile(values.slice(3 * q), 50);
    const max = Math.max(...values);
    const seconds = (samples.at(-1)!.at - samples[0]!.at) / 1000;
    return {
      figures: [
        limitFigure('max RSS', 'MB', max, { below: 300 }),
        limitFigure('RSS growth, 2nd to 4th quarter of the drain (median)', 'MB', late - early, {
          below: 30,
        }),
        infoFigure('median RSS, 2nd quarter', 'MB', early),
        infoFigure('median RSS, 4th quarter', 'MB', late),
        infoFigure('drain rate', 'events/s', total / seconds),
      ],
      params: { backlog: total, samples: values.length, drainSeconds: round(seconds, 1) },
      notes: [
        '"Flat" means the median RSS of the last quarter of the drain is within 30 MB of the second quarter.',
      ],
    };
  },
};
