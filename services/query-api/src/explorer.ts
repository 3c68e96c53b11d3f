import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import express from 'express';
import { AppError } from '@eventpipe/platform';

/** The page's own files: the package's explorer/ folder, found from src/ (ts-jest) and dist/. */
const EXPLORER_DIR = join(__dirname, '..', 'explorer');
/** uPlot's files come from the uplot package: served by us, never from a CDN. */
const UPLOT_DIR = join(dirname(require.resolve('uplot/package.json')), 'dist');

/** What GET /explorer/{name} serves, and from where. */
const ASSETS: Record<string, { file: string; type: string; maxAge: number }> = {
  'explorer.js': { file: join(EXPLORER_DIR, 'explorer.js'), type: 'text/javascript', maxAge: 0 },
  'explorer.css': { file: join(EXPLORER_DIR, 'explorer.css'), type: 'text/css', maxAge: 0 },
  // A dependency's files change only with its version: a day's caching is safe.
  'uPlot.iife.min.js': {
    file: join(UPLOT_DIR, 'uPlot.iife.min.js'),
    type: 'text/javascript',
    maxAge: 86400,
  },
  'uPlot.min.css': { file: join(UPLOT_DIR, 'uPlot.min.css'), type: 'text/css', maxAge: 86400 },
};

/** The page loads its own scripts and styles and calls this origin; nothing inline (no
 * 'unsafe-inline' anywhere), nothing from another origin. */
export const EXPLORER_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "object-src 'none'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "form-action 'self'",
].join('; ');

type Asset = { type: string; maxAge: number; content: Buffer };
let cache: { html: Buffer; assets: Map<string, Asset> } | undefined;

/** The files (about 60 kB), read on the first request for the page or one of them and kept for
 * the process: an app that never serves /explorer never reads them. */
function files(): NonNullable<typeof cache> {
  cache ??= {
    html: readFileSync(join(EXPLORER_DIR, 'index.html')),
    assets: new Map(
      Object.entries(ASSETS).map(([name, a]) => [
        name,
        { type: a.type, maxAge: a.maxAge, content: readFileSync(a.file) },
      ]),
    ),
  };
  return cache;
}

/**
 * GET /explorer: a page for browsing the stored events (filters, pages, an inspector, a chart of
 * counts per type and a live tail), calling this service's /v1 routes with the key the user
 * enters; GET /explorer/{asset}: its script and style and uPlot's.
 */
export function explorerRoutes(): express.Router {
  const router = express.Router();
  router.get('/explorer', (req, res) => {
    // /explorer/ would resolve the page's relative URLs under /explorer/explorer/.
    if (req.path.endsWith('/')) {
      res.redirect(301, '../explorer');
      return;
    }
    res.setHeader('Content-Security-Policy', EXPLORER_CSP);
    res.setHeader('Cache-Control', 'no-cache');
    res.type('text/html').send(files().html);
  });
  router.get('/explorer/:asset', (req, res) => {
    const name = String(req.params.asset);
    const asset = Object.hasOwn(ASSETS, name) ? files().assets.get(name) : undefined;
    if (!asset) {
      throw new AppError('not-found', { detail: `no explorer file ${name.slice(0, 64)}` });
    }
    res.setHeader(
      'Cache-Control',
      asset.maxAge ? `public, max-age=${asset.maxAge}` : 'no-cache', // ours change with a deploy
    );
    res.type(asset.type).send(asset.content);
  });
  return router;
}

/** The explorer's file names (its page and the chart library's), for the OpenAPI document. */
export const EXPLORER_ASSETS = Object.keys(ASSETS);
