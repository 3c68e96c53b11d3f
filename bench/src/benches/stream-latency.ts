import { join } from 'node:path';
import { freePort } from '@eventpipe/testing';
import { infoFigure, limitFigure, percentile, round, serviceMain, type Bench } from '../harness';
import { paced } from '../paced';
import { producerEvent } from '../events';
import { counter } from '../metrics';

/** One open stream: every message's lag from its storedAt, read without parsing the event. */
async function openStream(url: string, headers: Record<string, string>, signal: AbortSignal) {
  const res = await fetch(url, { headers: { ...headers, accept: 'text/event-stream' }, signal });
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
          const at = message.indexOf('"storedAt":"');
          if (!message.includes('\ndata: ') || at < 0) continue; // comments, position-only
          lags.push(now - Date.parse(message.slice(at + 12, message.indexOf('"', at + 12))));
        }
      }
    } catch {
      // aborted at the end
    }
  })();
  return { lags, reading };
}

/**
 * GET /v1/events/stream on npm start's one-process stack (in-process bus, DuckDB file, default
 * stream and batching settings; STREAM_MAX_CONCURRENT raised to hold them): events POSTed at a
 * steady 200/s while 500 streams are open on the process; for every event on every stream, the
 * time from its storedAt to its arrival. Goals: p99 < 2 s, the process's RSS < 300 MB.
 */
export const streamLatency: Bench = {
  name: 'stream-latency',
  what: 'stored → delivered on 500 open GET /v1/events/stream at 200 events/s, ms',
  async run(ctx) {
    const seconds = ctx.size(20, 3);
    const rate = 200;
    const streams = ctx.size(500, 5);
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
        STREAM_MAX_CONCURRENT: String(streams + 10),
        LOG_LEVEL: 'info',
      }),
      'PUBLISHER_PORT',
    );
    const auth = { authorization: `Bearer ${ctx.apiKey}` };
    const source = `/bench/stream-${Date.now()}`;
    const abort = new AbortController();
    const url = `http://127.0.0.1:${queryPort}/v1/events/stream?source=${encodeURIComponent(source)}`;
    const open: Awaited<ReturnType<typeof openStream>>[] = [];
    for (let i = 0; i < streams; i++) open.push(await openStream(url, auth, abort.signal));
    const rssIdle = stack.rss();
    await new Promise((r) => setTimeout(r, 500));
    let i = 0;
    let rssPeak = rssIdle;
    const sampler = setInterval(() => (rssPeak = Math.max(rssPeak, stack.rss())), 250);
    // Where the memory is: V8's heap, as reserved and as used (garbage included until a
    // collection), every second from the process's /metrics; the rest of RSS is native.
    let heapPeak = 0;
    let usedPeak = 0;
    const read = (name: string) => counter(`http://127.0.0.1:${queryPort}`, name, {}, ctx.apiKey);
    const memory = setInterval(() => {
      void Promise.all([
        read('eventpipe_nodejs_heap_size_total_bytes'),
        read('eventpipe_nodejs_heap_size_used_bytes'),
      ])
        .then(([heap, used]) => {
          heapPeak = Math.max(heapPeak, heap);
          usedPeak = Math.max(usedPeak, used);
        })
        .catch(() => undefined);
    }, 1000);
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
    const deadline = Date.now() + 15_000;
    while (open.some((o) => o.lags.length < expected) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
    }
    clearInterval(sampler);
    clearInterval(memory);
    abort.abort();
    await Promise.all(open.map((o) => o.reading));
    await stack.stop();
    const short = open.filter((o) => o.lags.length !== expected);
    if (short.length) {
      throw new Error(
        `${short.length} of ${streams} streams did not deliver all ${expected} accepted events once (e.g. ${short[0]!.lags.length})`,
      );
    }
    const lags = open.flatMap((o) => o.lags);
    const p99 = percentile(lags, 99);
    const rssMb = rssPeak / 2 ** 20;
    return {
      figures: [
        limitFigure(`stored → on the stream, p99 (${streams} streams)`, 'ms', p99, {
          below: 2000,
        }),
        infoFigure('stored → on the stream, p50', 'ms', percentile(lags, 50)),
        limitFigure(`process RSS, peak with ${streams} streams`, 'MB', rssMb, { below: 300 }),
        infoFigure('process RSS with the streams open, before the events', 'MB', rssIdle / 2 ** 20),
        infoFigure('V8 heap (total), peak', 'MB', heapPeak / 2 ** 20),
        infoFigure('V8 heap (used), peak', 'MB', usedPeak / 2 ** 20),
      ],
      params: { seconds, rate, events: expected, streams },
      notes: [
        `${expected} events at ${rate}/s on ${streams} streams, every one delivered once to each; p50 ${round(percentile(lags, 50))} ms, p99 ${round(p99)} ms, max ${lags.reduce((a, b) => (b > a ? b : a), 0)} ms; RSS ${round(rssIdle / 2 ** 20)} MB with the streams idle, ${round(rssMb)} MB at peak (default STREAM_SETTLE_MS 1000, STREAM_POLL_MS 500)`,
      ],
    };
  },
};
