import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import express from 'express';
import { AppError } from './errors';
import { DOC_ASSETS, type OpenApiDocument } from './openapi';

/** Swagger UI's files come from the swagger-ui-dist package: served by us, never from a CDN. */
const SWAGGER_DIR = dirname(require.resolve('swagger-ui-dist/package.json'));

const INIT_SCRIPT = `window.addEventListener('load', function () {
  window.ui = SwaggerUIBundle({
    url: new URL('openapi.json', document.baseURI).href,
    dom_id: '#swagger-ui',
    deepLinking: true,
    validatorUrl: null,
    displayRequestDuration: true,
    defaultModelsExpandDepth: 0,
  });
});
`;

const page = (title: string) => `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <meta name="viewport" content="width=device-width, initial-scale=1" />
    <title>${title}</title>
    <link rel="icon" href="data:," />
    <link rel="stylesheet" href="docs/swagger-ui.css" />
  </head>
  <body>
    <div id="swagger-ui"></div>
    <script src="docs/swagger-ui-bundle.js"></script>
    <script src="docs/docs.js"></script>
  </body>
</html>
`;

/** The documentation page may load its own scripts, styles and images, and call this origin
 * (try it out); nothing else, and never from another origin. */
const DOCS_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "font-src 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "form-action 'none'",
].join('; ');

type Asset = { type: string; content: Buffer };
let assetCache: Map<string, Asset> | undefined;

/** The page's files (1.6 MB), read on the first request for one and kept for the process: an
 * app that never serves /docs never reads them, and many apps in one process read them once. */
function docAssets(): Map<string, Asset> {
  assetCache ??= new Map(
    DOC_ASSETS.map((name) => [
      name,
      {
        type: name.endsWith('.css') ? 'text/css' : 'text/javascript',
        content:
          name === 'docs.js' ? Buffer.from(INIT_SCRIPT) : readFileSync(join(SWAGGER_DIR, name)),
      },
    ]),
  );
  return assetCache;
}

/**
 * GET /openapi.json (the document), GET /docs (Swagger UI on it, whose "try it out" calls this
 * same service) and GET /docs/{asset} (the page's files).
 */
export function apiDocsRoutes(
  document: OpenApiDocument | (() => OpenApiDocument),
  title: string,
): express.Router {
  const router = express.Router();
  // A function: the document changes at run time (the registered event types), built per request.
  const body = typeof document === 'function' ? undefined : JSON.stringify(document);
  const html = page(title);

  router.get('/openapi.json', (_req, res) => {
    res.setHeader('Cache-Control', 'no-cache');
    res
      .type('application/json')
      .send(body ?? JSON.stringify((document as () => OpenApiDocument)()));
  });
  router.get('/docs', (req, res) => {
    // /docs/ would resolve the page's relative URLs under /docs/docs/: send it to /docs.
    if (req.path.endsWith('/')) {
      res.redirect(301, '../docs');
      return;
    }
    res.setHeader('Content-Security-Policy', DOCS_CSP);
    res.setHeader('Cache-Control', 'no-cache');
    res.type('text/html').send(html);
  });
  router.get('/docs/:asset', (req, res) => {
    const asset = docAssets().get(String(req.params.asset));
    if (!asset) {
      throw new AppError('not-found', {
        detail: `no documentation file ${String(req.params.asset).slice(0, 64)}`,
      });
    }
    res.setHeader('Cache-Control', 'public, max-age=86400');
    res.type(asset.type).send(asset.content);
  });
  return router;
}
