import { connect, type Socket } from 'node:net';
import express from 'express';
import { listen, type RunningServer } from '../src/http';

// A slow client (slowloris) holds a socket by trickling header lines. The server's header timeout
// (10 s) must close it, not only in name: Node checks timeouts on an interval (30 s by default).

const HEADERS_TIMEOUT_MS = 10_000;

function trickle(port: number): { socket: Socket; closedAfterMs: Promise<number> } {
  const started = Date.now();
  const socket = connect(port, '127.0.0.1');
  socket.on('error', () => undefined);
  socket.write('POST /v1/events HTTP/1.1\r\nHost: 127.0.0.1\r\n');
  let n = 0;
  const timer = setInterval(() => {
    if (!socket.destroyed) socket.write(`X-Slow-${n++}: still here\r\n`);
  }, 1_000);
  const closedAfterMs = new Promise<number>((resolve) =>
    socket.once('close', () => {
      clearInterval(timer);
      resolve(Date.now() - started);
    }),
  );
  return { socket, closedAfterMs };
}

describe('slow clients', () => {
  let running: RunningServer;
  beforeAll(async () => {
    const app = express();
    app.get('/healthz', (_req, res) => void res.send('ok'));
    running = await listen(app, 0, '127.0.0.1');
  });
  afterAll(() => running.close(1_000));

  it('when five connections trickle header lines, then each is closed soon after the header timeout', async () => {
    const clients = Array.from({ length: 5 }, () => trickle(running.port));
    const closedAfter = await Promise.all(
      clients.map((c) =>
        Promise.race([
          c.closedAfterMs,
          new Promise<number>((r) => setTimeout(() => r(Infinity), 20_000)),
        ]),
      ),
    );
    for (const c of clients) c.socket.destroy();
    for (const ms of closedAfter) {
      expect(ms).toBeGreaterThanOrEqual(HEADERS_TIMEOUT_MS - 500);
      expect(ms).toBeLessThan(HEADERS_TIMEOUT_MS + 3_000);
    }
  }, 30_000);

  it('when a client trickles, then other clients are still served', async () => {
    const slow = trickle(running.port);
    const res = await fetch(`${running.url}/healthz`);
    expect(res.status).toBe(200);
    slow.socket.destroy();
  });
});
