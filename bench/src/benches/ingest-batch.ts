import { infoFigure, ratioFigure, round, serviceMain, type Bench } from '../harness';
import { assertClean, load } from '../load';
import {
  PUBLISH_BATCHING,
  createTopology,
  producerEvent,
  publishRaw,
  pubsubClient,
  pubsubEnv,
} from '../events';

const BATCH = 100;

/** POST 100-event batches → emulator, against the raw client publishing the same messages. */
export const ingestBatch: Bench = {
  name: 'ingest-batch',
  what: 'POST 100-event batches → Pub/Sub emulator, events/s',
  async run(ctx) {
    const seconds = ctx.size(15, 2);
    const connections = 8;
    const client = pubsubClient(ctx.emulatorHost);
    const base = `ingest-batch-${Date.now()}`;
    // No subscription: the emulator drops what it accepted, so neither side pays for a backlog.
    const topic = await createTopology(client, base, []);
    const rawTopic = client.topic(`${base}-t`, { batching: PUBLISH_BATCHING });

    // Reference: the raw client, as many unconfirmed messages as the publisher allows (10 000).
    ctx.log('reference: raw @google-cloud/pubsub client');
    await publishRaw(rawTopic, { seconds: ctx.size(3, 1), window: 10_000 }); // warm-up
    const raw = await publishRaw(rawTopic, { seconds, window: 10_000 });
    const rawRate = raw.published / raw.seconds;
    await client.close();
    void topic;

    ctx.log('publisher API');
    const publisher = await ctx.startProcess(
      'publisher-api',
      serviceMain('publisher-api'),
      ctx.serviceEnv({ ...pubsubEnv(ctx.emulatorHost, base), LOG_LEVEL: 'info' }),
    );
    const body = JSON.stringify(Array.from({ length: BATCH }, (_, i) => producerEvent(i)));
    const opts = {
      url: `${publisher.url}/v1/events`,
      method: 'POST' as const,
      headers: { 'content-type': 'application/json', authorization: `Bearer ${ctx.apiKey}` },
      body,
      connections,
    };
    await load({ ...opts, seconds: ctx.size(3, 1) }); // warm-up
    const api = await load({ ...opts, seconds });
    assertClean('publisher API under batch load', api);
    await publisher.stop();
    const apiRate = (api.ok * BATCH) / seconds;
    return {
      figures: [
        ratioFigure(
          'events/s',
          'events/s',
          apiRate,
          { what: 'raw client publishing the same messages', value: rawRate },
          { min: 0.8 },
        ),
        infoFigure('request p99 (batch of 100)', 'ms', api.p99),
      ],
      params: {
        seconds,
        connections,
        eventsPerRequest: BATCH,
        bodyBytes: Buffer.byteLength(body),
        rawMessages: raw.published,
        apiRequests: api.ok,
        rawUnconfirmedWindow: 10_000,
      },
      notes: [
        `publisher: ${round(api.rps)} req/s, p50 ${api.p50} ms, p99 ${api.p99} ms over ${connections} connections`,
      ],
    };
  },
};
