import { join } from 'node:path';
import { infoFigure, limitFigure, ratioFigure, round, serviceMain, type Bench } from '../harness';
import { assertClean, load } from '../load';
import { paced, type PacedResult } from '../paced';
import { createTopology, producerEvent, pubsubClient, pubsubEnv } from '../events';

/** Single-event POSTs against a bare express route that parses the same body. */
export const ingestSingle: Bench = {
  name: 'ingest-single',
  what: 'single-event POSTs → Pub/Sub emulator, req/s and p99',
  async run(ctx) {
    const seconds = ctx.size(15, 2);
    const warm = ctx.size(3, 1);
    const connections = 64;
    const body = JSON.stringify(producerEvent(7));
    const headers = {
      'content-type': 'application/cloudevents+json',
      authorization: `Bearer ${ctx.apiKey}`,
    };

    ctx.log('reference: bare express route');
    const bare = await ctx.startProcess(
      'bare-express',
      join(__dirname, '..', 'bare-express.js'),
      {},
    );
    const bareOpts = {
      url: `${bare.url}/v1/events`,
      method: 'POST' as const,
      headers,
      body,
      connections,
    };
    await load({ ...bareOpts, seconds: warm });
    const ref = await load({ ...bareOpts, seconds });
    assertClean('bare express', ref);
    await bare.stop();

    const client = pubsubClient(ctx.emulatorHost);
    const base = `ingest-single-${Date.now()}`;
    await createTopology(client, base, []);
    await client.close();
    ctx.log('publisher API');
    const publisher = await ctx.startProcess(
      'publisher-api',
      serviceMain('publisher-api'),
      ctx.serviceEnv({ ...pubsubEnv(ctx.emulatorHost, base), LOG_LEVEL: 'info' }),
    );
    const apiOpts = { ...bareOpts, url: `${publisher.url}/v1/events` };
    await load({ ...apiOpts, seconds: warm });
    const max = await load({ ...apiOpts, seconds });
    assertClean('publisher API at full speed', max);
    // Latency at the goal's rate (0.6× what bare express managed) and at half of what the
    // publisher itself sustains, from an open-loop generator: requests leave at evenly spaced
    // instants and latency counts from when each was due.
    const rate = 0.6 * ref.rps;
    const pacedOpts = {
      url: apiOpts.url,
      method: 'POST' as const,
      headers,
      body: () => body,
      seconds,
    };
    ctx.log(`publisher API at a steady ${round(rate, 0)} req/s`);
    const atGoal = await paced({ ...pacedOpts, rate });
    checkPaced('publisher API at 0.6× reference', atGoal);
    const half = max.rps / 2;
    ctx.log(`publisher API at a steady ${round(half, 0)} req/s`);
    const own = await paced({ ...pacedOpts, rate: half });
    checkPaced('publisher API at half its own maximum', own);
    if (own.skipped) throw new Error(`publisher API did not sustain half its own maximum`);
    await publisher.stop();
    return {
      figures: [
        ratioFigure(
          'req/s',
          'req/s',
          max.rps,
          { what: 'bare express route parsing the same body', value: ref.rps },
          { min: 0.6 },
        ),
        {
          ...limitFigure(
            `p99 at a steady ${round(rate, 0)} req/s (0.6× reference)`,
            'ms',
            atGoal.p99,
            {
              below: 25,
            },
          ),
          // A rate the publisher could not keep up with has no meaningful p99: not met.
          ...(atGoal.skipped ? { met: false } : {}),
        },
        infoFigure('p50 at that rate', 'ms', atGoal.p50),
        infoFigure('answered at that rate', 'req/s', atGoal.achievedRate),
        infoFigure(`p50 at a steady ${round(half, 0)} req/s (half its own maximum)`, 'ms', own.p50),
        infoFigure(`p99 at a steady ${round(half, 0)} req/s (half its own maximum)`, 'ms', own.p99),
      ],
      params: {
        seconds,
        connections,
        bodyBytes: Buffer.byteLength(body),
        pacedRate: round(rate, 0),
        pacedSkipped: atGoal.skipped,
      },
      notes: [
        `bare express: ${round(ref.rps)} req/s, p99 ${ref.p99} ms; publisher at full speed: p99 ${max.p99} ms`,
      ],
    };
  },
};

/** Errors or non-2xx answers in a paced run mean the figure measures failures. */
function checkPaced(what: string, r: PacedResult): void {
  if (r.errors || r.non2xx || r.ok === 0) {
    throw new Error(`${what}: ${r.ok} 2xx, ${r.non2xx} non-2xx, ${r.errors} errors`);
  }
}
