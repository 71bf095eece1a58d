import { z } from '@hono/zod-openapi';
import { defineRoute, publicAccess } from '../../src/http/route';
import type { Context } from 'hono';
import type { App, HonoEnv } from '../../src/http/types';

/**
 * The operator UI: Swagger UI rendered from our own OpenAPI document, every byte served from the
 * bundle. The Content-Security-Policy pins the page to this origin, so the browser itself refuses
 * any request to a CDN, font host or telemetry endpoint.
 */
const CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "font-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

const PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Controller API</title>
<link rel="icon" type="image/png" href="docs/favicon.png">
<link rel="stylesheet" href="docs/swagger-ui.css">
<style>body{margin:0} .swagger-ui .topbar{display:none}</style>
</head>
<body>
<div id="swagger-ui"></div>
<script src="docs/swagger-ui-bundle.js"></script>
<script src="docs/init.js"></script>
</body>
</html>
`;

// Relative URLs keep the page working behind a reverse proxy that mounts the API under a prefix.
const INIT = `window.ui = SwaggerUIBundle({
  url: new URL('openapi.json', window.location.href.replace(/\\/docs\\/?(#.*)?$/, '/')).toString(),
  dom_id: '#swagger-ui',
  deepLinking: true,
  persistAuthorization: true,
  validatorUrl: null,
  tryItOutEnabled: false,
  displayRequestDuration: true,
  defaultModelsExpandDepth: 0,
  // Over 250 operations: the filter box finds a tag by name (fogs, secrets, …).
  filter: true,
  docExpansion: 'none',
});
`;

const bytes = (b64: string) => Uint8Array.from(atob(b64), (ch) => ch.charCodeAt(0));
// The assets (≈ 650 KB of base64) are loaded on the first docs request, not at start: the server bundle
// puts them in a chunk of their own (scripts/build.mjs), so a start does not compile them.
let assets: Promise<typeof import('../../src/generated/docs-assets')> | undefined;
const loadAssets = () => (assets ??= import('../../src/generated/docs-assets'));
const cache = { 'Cache-Control': 'public, max-age=3600', Vary: 'Accept-Encoding' };

/**
 * The large assets ship gzip-compressed. Clients that accept gzip (every browser) get the bytes as
 * stored; others get them inflated once with the standard DecompressionStream.
 */
function gzAsset(load: () => Promise<string>) {
  let gz: Promise<Uint8Array<ArrayBuffer>> | undefined;
  let plain: Promise<Uint8Array<ArrayBuffer>> | undefined;
  const gzip = () => (gz ??= load().then(bytes));
  return {
    gzip,
    plain: () =>
      (plain ??= gzip().then((b) =>
        new Response(new Blob([b]).stream().pipeThrough(new DecompressionStream('gzip'))).arrayBuffer().then((x) => new Uint8Array(x)),
      )),
  };
}
const bundleJs = gzAsset(async () => (await loadAssets()).swaggerUiBundleJsGzipBase64);
const css = gzAsset(async () => (await loadAssets()).swaggerUiCssGzipBase64);
let favicon: Promise<Uint8Array<ArrayBuffer>> | undefined;

async function sendAsset(c: Context<HonoEnv>, asset: ReturnType<typeof gzAsset>, type: string): Promise<Response> {
  const headers = { 'Content-Type': type, ...cache };
  if (/\bgzip\b/.test(c.req.header('accept-encoding') ?? ''))
    return c.body(await asset.gzip(), 200, { ...headers, 'Content-Encoding': 'gzip' });
  return c.body(await asset.plain(), 200, headers);
}

const asset = (path: string, summary: string) =>
  defineRoute(publicAccess, {
    method: 'get',
    path,
    hide: true,
    summary,
    responses: { 200: { description: summary } },
  });

const docsPageRoute = defineRoute(publicAccess, {
  method: 'get',
  path: '/api/v3/docs',
  tags: ['Controller'],
  summary: 'Operator UI (API docs)',
  description: 'Interactive API documentation; use "Authorize" with an access token from /user/login. Works offline.',
  responses: { 200: { description: 'HTML page', content: { 'text/html': { schema: z.string() } } } },
});

/** `GET /`: where a first-day user (or a browser) lands; it says where the API and its docs are. */
const rootRoute = defineRoute(publicAccess, {
  method: 'get',
  path: '/',
  tags: ['Controller'],
  summary: 'Where to start',
  description: 'A browser (Accept: text/html) is redirected to the API docs at /api/v3/docs; other clients get the links as JSON.',
  responses: {
    200: {
      description: 'Links to the API docs, the OpenAPI document and the status route',
      content: {
        'application/json': {
          schema: z.object({
            name: z.string(),
            version: z.string(),
            docs: z.string().openapi({ example: '/api/v3/docs' }),
            openapi: z.string().openapi({ example: '/api/v3/openapi.json' }),
            status: z.string().openapi({ example: '/api/v3/status' }),
          }),
        },
      },
    },
    302: { description: 'To /api/v3/docs (browsers)' },
  },
});

export function registerDocs(app: App, getDocument: () => unknown): void {
  app.openapi(rootRoute, (c) => {
    if (/\btext\/html\b/.test(c.req.header('accept') ?? '')) return c.redirect('/api/v3/docs', 302) as never;
    return c.json(
      {
        name: 'Controller',
        version: c.get('ctx').version,
        docs: '/api/v3/docs',
        openapi: '/api/v3/openapi.json',
        status: '/api/v3/status',
      },
      200,
    );
  });
  app.openapi(docsPageRoute, (c) => {
    // The page's asset links are relative to /api/v3/docs; "/api/v3/docs/" would resolve them wrongly.
    if (new URL(c.req.url).pathname.endsWith('/')) return c.redirect(new URL(c.req.url).pathname.replace(/\/+$/, ''), 301) as never;
    return c.html(PAGE, 200, { 'Content-Security-Policy': CSP, 'X-Content-Type-Options': 'nosniff' });
  });
  app.openapi(
    asset('/api/v3/docs/swagger-ui-bundle.js', 'Swagger UI script'),
    (c) => sendAsset(c, bundleJs, 'text/javascript; charset=utf-8') as never,
  );
  app.openapi(asset('/api/v3/docs/swagger-ui.css', 'Swagger UI stylesheet'), (c) => sendAsset(c, css, 'text/css; charset=utf-8') as never);
  app.openapi(asset('/api/v3/docs/init.js', 'Swagger UI start-up'), (c) =>
    c.body(INIT, 200, { 'Content-Type': 'text/javascript; charset=utf-8' }),
  );
  app.openapi(asset('/api/v3/docs/favicon.png', 'Icon'), async (c) =>
    c.body(await (favicon ??= loadAssets().then((a) => bytes(a.faviconPngBase64))), 200, { 'Content-Type': 'image/png', ...cache }),
  );
  app.openapi(
    defineRoute(publicAccess, {
      method: 'get',
      path: '/api/v3/openapi.json',
      tags: ['Controller'],
      summary: 'OpenAPI document',
      description:
        'The API contract (OpenAPI 3.1). Each operation carries `x-access`: public, auth-flow, token, self or rbac with `resource`/`verb`.',
      responses: {
        200: { description: 'OpenAPI 3.1 document', content: { 'application/json': { schema: z.record(z.string(), z.unknown()) } } },
      },
    }),
    (c) => c.json(getDocument() as Record<string, unknown>, 200),
  );
}
