import { z } from 'zod';
import { SchemaRegistry } from '@eventpipe/registry';
import { storeEnvShape } from '@eventpipe/store';
import { openSchemaStore, openStore } from '@eventpipe/store/adapters';
import { BigQueryFake } from '@eventpipe/testing';
import { infoFigure, ratioFigure, round, serviceMain, type Bench } from '../harness';
import { assertClean, load } from '../load';
import { PROJECT, TYPES, createTopology, producerEvent, pubsubClient, pubsubEnv } from '../events';

const BATCH = 100;

/** A schema for producerEvent's data: what a team would register (every event matches it). */
const ORDER_SCHEMA = {
  type: 'object',
  required: ['orderId', 'amount', 'currency'],
  properties: {
    orderId: { type: 'integer', minimum: 0 },
    amount: { type: 'number', minimum: 0 },
    currency: { type: 'string', enum: ['EUR', 'USD', 'GBP'] },
    items: { type: 'array', items: { type: 'string', pattern: '^sku-[0-9]+$' }, maxItems: 100 },
  },
};

/**
 * The price of schemas at the edge: the publisher API under ingest-batch's load, reading its
 * registry from the store (the BigQuery REST fake), once with no schema registered for the
 * events' types and once with one per type in enforce mode (every event checked, all valid).
 * Same process settings, same run; the goal is at most 10 % fewer events/s.
 */
export const ingestSchema: Bench = {
  name: 'ingest-schema',
  what: 'POST 100-event batches with a schema per type (enforce) vs none, events/s',
  async run(ctx) {
    const seconds = ctx.size(15, 2);
    const connections = 8;
    const fake = await BigQueryFake.start({ recordRequests: false });
    const client = pubsubClient(ctx.emulatorHost);
    const base = `ingest-schema-${Date.now()}`;
    await createTopology(client, base, []);
    await client.close();
    const storeEnv = {
      STORE: 'bigquery',
      GOOGLE_CLOUD_PROJECT: PROJECT,
      BIGQUERY_EMULATOR_HOST: fake.endpoint,
      BIGQUERY_DATASET: base.replaceAll('-', '_'),
      BIGQUERY_AUTO_CREATE: 'true',
    };
    // The dataset, the events table and the schemas table, as the worker would make them.
    const env = z.object(storeEnvShape).parse(storeEnv);
    await (await openStore(env)).close();
    const body = JSON.stringify(Array.from({ length: BATCH }, (_, i) => producerEvent(i)));

    const measure = async (label: string, enforced: boolean) => {
      ctx.log(label);
      const publisher = await ctx.startProcess(
        'publisher-api',
        serviceMain('publisher-api'),
        ctx.serviceEnv({ ...pubsubEnv(ctx.emulatorHost, base), ...storeEnv, LOG_LEVEL: 'info' }),
      );
      const opts = {
        url: `${publisher.url}/v1/events`,
        method: 'POST' as const,
        headers: { 'content-type': 'application/json', authorization: `Bearer ${ctx.apiKey}` },
        body,
        connections,
      };
      await load({ ...opts, seconds: ctx.size(3, 1) }); // warm-up
      const r = await load({ ...opts, seconds });
      assertClean(`publisher API (${label})`, r);
      // The schemas were in force (or not) for the whole run: a bad event says which.
      const bad = await fetch(`${publisher.url}/v1/events`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${ctx.apiKey}` },
        body: JSON.stringify({ ...producerEvent(0), data: { orderId: 'not a number' } }),
      });
      await bad.body?.cancel();
      if (bad.status !== (enforced ? 400 : 202)) {
        throw new Error(
          `${label}: a bad event got ${bad.status}, expected ${enforced ? 400 : 202}`,
        );
      }
      await publisher.stop();
      return r;
    };

    const plain = await measure('reference: no schema for the types', false);
    const registry = new SchemaRegistry(openSchemaStore(env)!, {
      refreshMs: 60_000,
      uriBase: 'http://127.0.0.1:8081',
    });
    for (const type of TYPES) {
      const r = await registry.register(type, { schema: ORDER_SCHEMA, mode: 'enforce' });
      if (r.outcome !== 'created') throw new Error(`schema for ${type}: ${r.outcome}`);
    }
    const checked = await measure('a schema per type, enforce', true);
    await fake.stop();
    const rate = (r: { ok: number }) => (r.ok * BATCH) / seconds;
    return {
      figures: [
        ratioFigure(
          'events/s',
          'events/s',
          rate(checked),
          { what: 'the same publisher with no schema for the types', value: rate(plain) },
          { min: 0.9 },
        ),
        infoFigure('request p99 with schemas (batch of 100)', 'ms', checked.p99),
      ],
      params: {
        seconds,
        connections,
        eventsPerRequest: BATCH,
        types: TYPES.length,
        referenceRequests: plain.ok,
        checkedRequests: checked.ok,
      },
      notes: [
        `no schema: ${round(plain.rps)} req/s, p99 ${plain.p99} ms; with schemas: ${round(checked.rps)} req/s, p99 ${checked.p99} ms`,
      ],
    };
  },
};
