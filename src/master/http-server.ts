/**
 * The master's HTTP port (`laminate master --http-port`, default 7080, on the
 * gRPC host): a fastify server that other modules add routes to. Today the
 * functions' `POST /functions/NAME/invoke` (src/functions/triggers/
 * http-trigger.ts), `GET /health`, `GET /metrics`, and the console's login,
 * JSON API and pages (src/console/), a `HttpRoutes` plugin each, registered
 * before the server listens.
 *
 * Who calls it: the master, once at start (after its gRPC server is up) and
 * once at stop. Nothing here knows functions.
 */
import { fastify, type FastifyInstance } from 'fastify';
import type { Logger } from '../common/logger.js';
import { LaminateError } from '../common/errors.js';
import { metricsContentType, metricsText } from '../common/metrics.js';
import { httpAuthorized, securityConfig, sessionCookieMatches } from '../protocol/security.js';

/** The master's HTTP port when `--http-port` is not given. */
export const DEFAULT_HTTP_PORT = 7080;

/** How long a stopping server lets requests in flight finish before it cuts their connections. */
const CLOSE_GRACE_MS = 2000;

/** Adds routes to the server (a fastify plugin: its hooks, parsers and error handler stay inside it). */
export type HttpRoutes = (app: FastifyInstance) => Promise<void>;

export interface HttpServer {
  /** The port bound (the one picked, when asked for 0). */
  readonly port: number;
  /** host:port, as printed at start. */
  readonly address: string;
  /** Stops accepting, ends idle keep-alive connections, waits for requests in flight up to 2 s, then cuts them. Safe to call twice. */
  close(): Promise<void>;
}

export interface HttpServerOptions {
  readonly host: string;
  /** 0 picks a free port. */
  readonly port: number;
  readonly routes: readonly HttpRoutes[];
  readonly logger: Logger;
}

export async function startHttpServer(o: HttpServerOptions): Promise<HttpServer> {
  const log = o.logger.child({ component: 'http' });
  // Requests are logged by the routes that care; fastify's own per-request logging is off.
  const sec = securityConfig();
  const https = sec.tlsCert !== undefined && sec.tlsKey !== undefined ? { https: { cert: sec.tlsCert, key: sec.tlsKey } } : {};
  const app = fastify({ logger: false, forceCloseConnections: 'idle', return503OnClosing: true, ...https });
  // The cluster token guards every request, as it guards every gRPC call (security.ts); refused without what it carried.
  // A browser carries it as the console's session cookie instead (src/console/console-login.ts); /login itself is open.
  app.addHook('onRequest', async (req, reply) => {
    if (httpAuthorized(req.headers.authorization) || sessionCookieMatches(req.headers.cookie)) return;
    const path = req.url.split('?')[0] ?? '';
    if (path === '/login') return;
    if (req.method === 'GET' && !path.startsWith('/api/') && (req.headers.accept ?? '').includes('text/html')) {
      return reply.redirect(`/login?next=${encodeURIComponent(req.url)}`, 303);
    }
    log.warn({ method: req.method, url: path, peer: req.ip, token: req.headers.authorization === undefined ? 'missing' : 'wrong' },
      'refused an HTTP request without the cluster token');
    await reply.code(401).header('www-authenticate', 'Bearer')
      .send({ code: 'UNAUTHENTICATED', message: 'this request carries no token or a wrong one; send Authorization: Bearer <token>' });
  });
  app.get('/health', async () => ({ ok: true }));
  // The master's Prometheus metrics (src/common/metrics.ts): jobs, tasks, workers, ingest, functions, Node's process.
  app.get('/metrics', async (_req, reply) => reply.header('content-type', metricsContentType()).send(await metricsText()));
  for (const routes of o.routes) await app.register(routes);
  // Anything unexpected is an answer in the project's shape, never fastify's HTML or a crash.
  app.setNotFoundHandler(async (req, reply) => reply.code(404).send({ code: 'NOT_FOUND', message: `No route ${req.method} ${req.url.split('?')[0]}` }));
  app.setErrorHandler(async (err: Error & { statusCode?: number }, _req, reply) => {
    const status = err.statusCode !== undefined && err.statusCode >= 400 ? err.statusCode : 500;
    if (status >= 500) log.error({ err }, 'HTTP request failed');
    return reply.code(status).send({ code: status >= 500 ? 'INTERNAL' : 'INVALID_ARGUMENT', message: err.message });
  });
  try {
    await app.listen({ host: o.host, port: o.port });
  } catch (err) {
    await app.close().catch(() => {});
    throw new LaminateError('UNAVAILABLE', `Could not listen for HTTP on ${o.host}:${o.port}: ${(err as Error).message}`, { cause: err });
  }
  const bound = app.server.address();
  const port = typeof bound === 'object' && bound !== null ? bound.port : o.port;
  log.info({ address: `${o.host}:${port}` }, 'HTTP listening');
  let closed: Promise<void> | undefined;
  return {
    port,
    address: `${o.host}:${port}`,
    close() {
      closed ??= (async () => {
        // Requests in flight get a grace to finish; a synchronous invocation may run for minutes, and must not hold the master's stop.
        const cut = setTimeout(() => app.server.closeAllConnections(), CLOSE_GRACE_MS);
        cut.unref();
        try {
          await app.close();
        } finally {
          clearTimeout(cut);
        }
      })();
      return closed;
    },
  };
}
