import { join } from 'node:path';
import { infoFigure, limitFigure, ratioFigure, round, type Bench } from '../harness';
import { assertClean, load } from '../load';
import { createTopology, producerEvent, pubsubClient, pubsubEnv } from '../events';

const root = join(__dirname, '..', '..', '..');

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
      join(root, 'services', 'publisher-api', 'dist', 'main.js'),
      ctx.serviceEnv({ ...pubsubEnv(ctx.emulatorHost, base), LOG_LEVEL: 'info' }),
    );
    const apiOpts = { ...bareOpts, url: `${publisher.url}/v1/events` };
    await load({ ...apiOpts, seconds: warm });
    const max = await load({ ...apiOpts, seconds });
    assertClean('publisher API at full speed', max);
    // Latency at the goal's rate: 0.6× what bare express managed.
    const rate = 0.6 * ref.rps;
    ctx.log(`publisher API at a fixed ${round(rate, 0)} req/s`);
    const paced = await load({ ...apiOpts, seconds, rate });
    assertClean('publisher API at a fixed rate', paced);
    // And at half of what the publisher itself sustains: the latency a sized deployment sees.
    const own = await load({ ...apiOpts, seconds, rate: max.rps / 2 });
    assertClean('publisher API at half its own maximum', own);
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
        limitFigure(`p99 at ${round(rate, 0)} req/s (0.6× reference)`, 'ms', paced.p99, {
          below: 25,
        }),
        infoFigure('p50 at that rate', 'ms', paced.p50),
        infoFigure('achieved rate', 'req/s', paced.rps),
        infoFigure(`p99 at ${round(max.rps / 2, 0)} req/s (half its own maximum)`, 'ms', own.p99),
      ],
      params: {
        seconds,
        connections,
        bodyBytes: Buffer.byteLength(body),
        pacedRate: round(rate, 0),
      },
      notes: [
        `bare express: ${round(ref.rps)} req/s, p99 ${ref.p99} ms; publisher at full speed: p99 ${max.p99} ms`,
      ],
    };
  },
};
