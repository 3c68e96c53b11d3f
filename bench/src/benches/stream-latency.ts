import { join } from 'node:path';
import { freePort } from '@eventpipe/testing';
import { infoFigure, percentile, round, serviceMain, type Bench } from '../harness';
import { paced } from '../paced';
import { producerEvent } from '../events';

/**
 * GET /v1/events/stream on npm start's one-process stack (in-process bus, DuckDB file, default
 * stream and batching settings): events POSTed at a steady rate while one stream is open; for
 * every event, the time from its storedAt to its arrival on the stream. Goal: p99 < 2 s.
 */
export const streamLatency: Bench = {
  name: 'stream-latency',
  what: 'stored → delivered on GET /v1/events/stream at 200 events/s, ms',
  async run(ctx) {
    const seconds = ctx.size(20, 3);
    const rate = 200;
    const [queryPort, workerPort] = [await freePort(), await freePort()];
    const stack = await ctx.startProcess(
      'all-in-one',
      serviceMain('all-in-one'),
      ctx.serviceEnv({
        DUCKDB_PATH: join(ctx.workDir, `stream-${Date.now()}.duckdb`),
        MEMORY_BUS_JOURNAL: join(ctx.workDir, `stream-${Date.now()}.journal`),
        ACCEPTED_LOG: 'off',
        QUERY_PORT: String(queryPort),
        WORKER_PORT: String(workerPort),
        CURSOR_SECRET: 'bench-cursor-secret-0123456789',
        LOG_LEVEL: 'info',
      }),
      'PUBLISHER_PORT',
    );
    const auth = { authorization: `Bearer ${ctx.apiKey}` };
    const source = `/bench/stream-${Date.now()}`;
    const abort = new AbortController();
    const res = await fetch(
      `http://127.0.0.1:${queryPort}/v1/events/stream?source=${encodeURIComponent(source)}`,
      { headers: { ...auth, accept: 'text/event-stream' }, signal: abort.signal },
    );
    if (res.status !== 200) throw new Error(`stream answered ${res.status}`);
    const lags: number[] = [];
    const reading = (async () => {
      const decoder = new TextDecoder();
      let buffer = '';
      try {
        for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
          const now = Date.now();
          buffer += decoder.decode(chunk, { stream: true });
          let end: number;
          while ((end = buffer.indexOf('\n\n')) >= 0) {
            const message = buffer.slice(0, end);
            buffer = buffer.slice(end + 2);
            const data = message.split('\n').find((l) => l.startsWith('data: '));
            if (!data) continue;
            const event = JSON.parse(data.slice(6)) as { storedAt: string };
            lags.push(now - Date.parse(event.storedAt));
          }
        }
      } catch {
        // aborted at the end
      }
    })();
    await new Promise((r) => setTimeout(r, 500));
    let i = 0;
    const sent = await paced({
      url: `${stack.url}/v1/events`,
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: () => JSON.stringify({ ...producerEvent(i++), source }),
      seconds,
      rate,
      sockets: 16,
    });
    const expected = sent.ok;
    const deadline = Date.now() + 10_000;
    while (lags.length < expected && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
    }
    abort.abort();
    await reading;
    await stack.stop();
    if (lags.length !== expected) {
      throw new Error(`the stream delivered ${lags.length} of ${expected} accepted events`);
    }
    const p99 = percentile(lags, 99);
    return {
      figures: [
        {
          metric: 'stored → on the stream, p99',
          unit: 'ms',
          value: p99,
          goal: '< 2000 ms',
          met: p99 < 2000,
        },
        infoFigure('stored → on the stream, p50', 'ms', percentile(lags, 50)),
      ],
      params: { seconds, rate, events: expected, streams: 1 },
      notes: [
        `${expected} events at ${rate}/s, every one delivered once; p50 ${round(percentile(lags, 50))} ms, p99 ${round(p99)} ms, max ${Math.max(...lags)} ms (default STREAM_SETTLE_MS 1000, STREAM_POLL_MS 500)`,
      ],
    };
  },
};
