import { join } from 'node:path';
import { freePort } from '@eventpipe/testing';
import {
  infoFigure,
  limitFigure,
  round,
  serviceMain,
  sleep,
  type Bench,
  type BenchContext,
  type Figure,
} from '../harness';
import { producerEvent, pubsubClient, pubsubEnv } from '../events';

/**
 * npm start (the one-process stack, default settings) killed with SIGKILL while events are being
 * accepted, then started again at once: the time from the restart to the moment the last event
 * that got a 202 is readable, and whether every accepted event is stored exactly once. Once on
 * the in-process bus (its journal), once on Pub/Sub (the emulator; topic and subscription as the
 * services create them: the default ack deadline, no retry or dead-letter policy, docs/RELIABILITY.md).
 * Goal: < 60 s.
 */
export const crashRecovery: Bench = {
  name: 'crash-recovery',
  what: 'npm start SIGKILLed under load and restarted: restart → last accepted event readable',
  async run(ctx) {
    const figures: Figure[] = [];
    const notes: string[] = [];
    for (const bus of ['memory', 'pubsub'] as const) {
      const r = await killAndRestart(ctx, bus);
      figures.push(
        limitFigure(
          `${bus === 'memory' ? 'in-process bus' : 'Pub/Sub'}: restart → last accepted event readable`,
          's',
          r.recoverySeconds,
          { below: 60 },
        ),
        infoFigure(
          `${bus === 'memory' ? 'in-process bus' : 'Pub/Sub'}: accepted before the kill`,
          'events',
          r.accepted,
        ),
      );
      notes.push(
        `${bus}: ${r.accepted} events accepted at about ${r.rate} events/s before SIGKILL; after the restart all ${r.accepted} stored once (${r.stored} rows), the last one readable ${round(r.recoverySeconds, 1)} s after the restart began (${round(r.startSeconds, 1)} s of it the process starting)`,
      );
    }
    return { figures, params: { concurrency: 8 }, notes };
  },
};

async function killAndRestart(ctx: BenchContext, bus: 'memory' | 'pubsub') {
  const name = `crash-${bus}-${Date.now()}`;
  const [queryPort, workerPort] = [await freePort(), await freePort()];
  let env: Record<string, string> = {
    DUCKDB_PATH: join(ctx.workDir, `${name}.duckdb`),
    MEMORY_BUS_JOURNAL: join(ctx.workDir, `${name}.journal`),
    ACCEPTED_LOG: 'off',
    QUERY_PORT: String(queryPort),
    WORKER_PORT: String(workerPort),
    CURSOR_SECRET: 'bench-cursor-secret-0123456789',
    LOG_LEVEL: 'info',
  };
  if (bus === 'pubsub') {
    const client = pubsubClient(ctx.emulatorHost);
    const [topic] = await client.createTopic(`${name}-t`);
    await client.createTopic(`${name}-dlq`);
    // What the services create at start (PUBSUB_ACK_DEADLINE_SECONDS, default 60); on the
    // emulator without policies (PUBSUB_SUBSCRIPTION_POLICIES=auto).
    await topic.createSubscription(`${name}-worker`, { ackDeadlineSeconds: 60 });
    await client.topic(`${name}-dlq`).createSubscription(`${name}-dlq-s`);
    await client.close();
    env = { ...env, ...pubsubEnv(ctx.emulatorHost, name, `${name}-worker`) };
  }
  const start = () =>
    ctx.startProcess(
      'all-in-one',
      serviceMain('all-in-one'),
      ctx.serviceEnv(env),
      'PUBLISHER_PORT',
    );
  const auth = { authorization: `Bearer ${ctx.apiKey}` };
  const source = `/bench/${name}`;
  const first = await start();

  // Load: 8 clients POST one event each at a time, until the kill.
  const accepted: string[] = [];
  let next = 0;
  let killed = false;
  const loadFor = ctx.size(8_000, 1_500);
  const started = Date.now();
  const clients = Array.from({ length: 8 }, async () => {
    while (!killed) {
      const id = `e-${next++}`;
      try {
        const res = await fetch(`${first.url}/v1/events`, {
          method: 'POST',
          headers: { ...auth, 'content-type': 'application/json' },
          body: JSON.stringify({ ...producerEvent(next), id, source }),
        });
        if (res.status === 202) accepted.push(id);
        else await res.arrayBuffer();
      } catch {
        // the process died under this request: not accepted
      }
    }
  });
  await sleep(loadFor);
  first.child.kill('SIGKILL');
  killed = true;
  await Promise.all(clients);
  await first.stop();
  const rate = Math.round(accepted.length / ((Date.now() - started) / 1000));
  const last = accepted.at(-1)!;

  const restartAt = Date.now();
  const second = await start();
  const startSeconds = (Date.now() - restartAt) / 1000;
  const query = `http://127.0.0.1:${queryPort}`;
  const deadline = restartAt + 180_000;
  for (;;) {
    const res = await fetch(`${query}/v1/events/${last}?source=${encodeURIComponent(source)}`, {
      headers: auth,
    });
    await res.arrayBuffer();
    if (res.status === 200) break;
    if (Date.now() > deadline)
      throw new Error(`${bus}: ${last} not readable 180 s after the restart`);
    await sleep(100);
  }
  const recoverySeconds = (Date.now() - restartAt) / 1000;
  // Every accepted event stored once (the rest may follow the last by a moment).
  let stored = 0;
  const want = new Set(accepted);
  for (;;) {
    const seen = new Map<string, number>();
    let cursor: string | null = null;
    do {
      const res = await fetch(
        `${query}/v1/events?source=${encodeURIComponent(source)}&limit=1000${cursor ? `&cursor=${cursor}` : ''}`,
        { headers: auth },
      );
      const page = (await res.json()) as { data: { id: string }[]; nextCursor: string | null };
      for (const e of page.data) seen.set(e.id, (seen.get(e.id) ?? 0) + 1);
      cursor = page.nextCursor;
    } while (cursor);
    stored = [...seen.values()].reduce((a, b) => a + b, 0);
    const missing = [...want].filter((id) => !seen.has(id));
    if ([...seen.values()].some((n) => n > 1)) throw new Error(`${bus}: an event was stored twice`);
    if (missing.length === 0) break;
    if (Date.now() > deadline) throw new Error(`${bus}: ${missing.length} accepted events missing`);
    await sleep(500);
  }
  await second.stop();
  return { accepted: accepted.length, stored, rate, recoverySeconds, startSeconds };
}
