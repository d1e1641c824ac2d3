/**
 * The console's pages on the master's HTTP port: one HTML shell for every
 * page URL (the browser code routes by location.pathname, src/console/ui/
 * routes.ts), and the browser code and stylesheet under /ui/. The JSON the
 * pages show comes from the console API (src/console/api-*.ts), registered
 * beside this.
 *
 * Who calls it: the master registers `consolePages` once, when its HTTP
 * server starts (src/master/master.ts). Assets are read from disk on first
 * request and kept (a few tens of KB in all).
 */
import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { packageRoot } from '../common/package-root.js';
import { APP_CSS } from './app-css.js';

/** As src/master/http-server.ts's HttpRoutes (the console may not import the master): a fastify plugin. */
export type HttpRoutes = (app: FastifyInstance) => Promise<void>;

/** The URLs the shell answers; each is a page of the console. */
export const PAGE_URLS = [
  '/', '/cluster', '/jobs', '/jobs/:id', '/datasets', '/datasets/:name', '/views', '/views/:name', '/functions', '/functions/:name',
] as const;

/**
 * Who may load what: only this origin's scripts, styles and API; no inline
 * script or style (the pages build DOM nodes and set styles through the
 * CSSOM), no framing.
 */
const CSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
  + "base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/** The one HTML page: nav, notices, and the main area app.js fills. Nothing in it comes from a request. */
export const SHELL_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Laminate</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/ui/app.css">
<script type="module" src="/ui/app.js"></script>
</head>
<body>
<header class="nav"><a class="brand" href="/">Laminate</a><nav id="nav-links"></nav><span id="live-status">connecting…</span></header>
<div id="connection" class="banner lost" role="alert" hidden>Lost the connection to the master; reconnecting…</div>
<div id="problem" class="banner problem" role="alert" hidden></div>
<div id="notice" class="banner info" role="status" hidden></div>
<main id="main"><p class="empty">Loading…</p></main>
<noscript><p>The Laminate console needs JavaScript. The same data is at /api/ (see the README's "Console" section).</p></noscript>
</body>
</html>
`;

interface Asset {
  readonly body: Buffer;
  readonly type: string;
  readonly etag: string;
}

/** An asset's name: a module the ui's tsc wrote (lower-case words and dashes), or the stylesheet. Nothing else is served. */
const ASSET_NAME = /^[a-z][a-z0-9-]*\.js$/;

export interface ConsolePagesOptions {
  /** The folder of the compiled browser code (default: dist/src/console/ui/ under the package root). */
  readonly assetDir?: string;
}

function etagOf(body: Buffer): string {
  return `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"`;
}

/**
 * The console's pages as a fastify plugin. Assets are answered with an ETag
 * and `cache-control: no-cache` (module URLs carry no version, so the browser
 * revalidates them: a 304 each while unchanged), and a path that is not
 * exactly one asset's name (`/ui/../../package.json`, `/ui/a/b.js`) is 404.
 */
export function consoleRoutes(o: ConsolePagesOptions = {}): HttpRoutes {
  const dir = o.assetDir ?? join(packageRoot(), 'dist', 'src', 'console', 'ui');
  const css = Buffer.from(APP_CSS);
  const shell = Buffer.from(SHELL_HTML);
  const shellTag = etagOf(shell);
  let assets: Promise<Map<string, Asset>> | undefined;
  // Listed and read once: the names served are exactly the files there, so a request never names a path.
  const load = async (): Promise<Map<string, Asset>> => {
    const names = (await readdir(dir).catch(() => [] as string[])).filter((n) => ASSET_NAME.test(n));
    const map = new Map<string, Asset>([['app.css', { body: css, type: 'text/css; charset=utf-8', etag: etagOf(css) }]]);
    for (const name of names) {
      const body = await readFile(join(dir, name));
      map.set(name, { body, type: 'text/javascript; charset=utf-8', etag: etagOf(body) });
    }
    return map;
  };

  const send = async (req: FastifyRequest, reply: FastifyReply, a: Asset): Promise<FastifyReply> => {
    void reply.header('etag', a.etag).header('cache-control', 'no-cache').header('x-content-type-options', 'nosniff');
    if (req.headers['if-none-match'] === a.etag) return reply.code(304).send();
    return reply.type(a.type).send(a.body);
  };

  return async (app) => {
    const page = async (req: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> => {
      void reply.header('content-security-policy', CSP).header('x-frame-options', 'DENY').header('referrer-policy', 'same-origin');
      return send(req, reply, { body: shell, type: 'text/html; charset=utf-8', etag: shellTag });
    };
    for (const url of PAGE_URLS) app.get(url, page);
    app.get('/ui/*', async (req, reply) => {
      const name = (req.params as { '*': string })['*'];
      assets ??= load();
      const asset = (await assets).get(name);
      if (asset === undefined) {
        return reply.code(404).send({ code: 'NOT_FOUND', message: `The console has no asset ${JSON.stringify(name)}; expected one of its modules (/ui/NAME.js) or /ui/app.css` });
      }
      return send(req, reply, asset);
    });
  };
}

/** The console's pages with their assets from dist/ (what the master registers). */
export const consolePages: HttpRoutes = consoleRoutes();
