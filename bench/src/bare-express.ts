import express from 'express';
import { LIMITS } from '@eventpipe/schema';

/** The reference of ingest-single: a bare express route that parses the same body and answers
 * 202, with nothing else (no auth, validation, logging, metrics or Pub/Sub). */
const app = express();
app.use(
  express.json({
    limit: LIMITS.maxRequestBytes,
    type: ['application/json', 'application/cloudevents+json'],
  }),
);
app.get('/healthz', (_req, res) => void res.json({ status: 'ok' }));
app.post('/v1/events', (req, res) => {
  const body = req.body as Record<string, unknown>;
  res.status(202).json({ accepted: 1, id: typeof body.type === 'string' ? 'x' : 'y' });
});
const server = app.listen(Number(process.env.PORT), '127.0.0.1');
process.on('SIGTERM', () => server.close(() => process.exit(0)));
