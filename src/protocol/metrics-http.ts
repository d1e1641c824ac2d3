/**
 * `/metrics` over HTTP for the processes that have no other HTTP port
 * (worker, serving node, speed process, shuffle service): Prometheus' text
 * format, behind the cluster token and TLS when the process has them
 * (security.ts), as every other port of the cluster is.
 */
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { LaminateError } from '../common/errors.js';
import { metricsContentType, metricsText } from '../common/metrics.js';
import { httpAuthorized, securityConfig } from './security.js';

export interface MetricsServer {
  /** The bound port. */
  readonly port: number;
  /** `http://HOST:PORT/metrics` (https with TLS). */
  readonly url: string;
  /** Stops listening; open scrapes end. Safe to call twice. */
  close(): Promise<void>;
}

/** Answers one request: GET /metrics, else 404; 401 without the token. Never throws. */
export async function answerMetrics(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const path = (req.url ?? '/').split('?')[0];
  if (!httpAuthorized(req.headers.authorization)) {
    res.writeHead(401, { 'content-type': 'application/json', 'www-authenticate': 'Bearer' });
    res.end(JSON.stringify({ code: 'UNAUTHENTICATED', message: 'this request carries no token or a wrong one; send Authorization: Bearer <token>' }));
    return;
  }
  if (path !== '/metrics' || (req.method !== 'GET' && req.method !== 'HEAD')) {
    res.writeHead(404, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ code: 'NOT_FOUND', message: `Expected GET /metrics, got ${req.method ?? '?'} ${path ?? ''}` }));
    return;
  }
  try {
    const body = await metricsText();
    res.writeHead(200, { 'content-type': metricsContentType() });
    res.end(req.method === 'HEAD' ? undefined : body);
  } catch (err) {
    res.writeHead(500, { 'content-type': 'text/plain' });
    res.end(`metrics failed: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/**
 * Serves `/metrics` on host:port (0 picks a port).
 * @throws LaminateError UNAVAILABLE when the port cannot be bound.
 */
export async function serveMetrics(host: string, port: number): Promise<MetricsServer> {
  const sec = securityConfig();
  const handler = (req: IncomingMessage, res: ServerResponse): void => { void answerMetrics(req, res); };
  const tls = sec.tlsCert !== undefined && sec.tlsKey !== undefined;
  const server: Server = tls ? createHttpsServer({ cert: sec.tlsCert, key: sec.tlsKey }, handler) : createHttpServer(handler);
  const bound = await new Promise<number>((resolve, reject) => {
    server.once('error', (err) => reject(new LaminateError('UNAVAILABLE', `Could not serve metrics on ${host}:${port}: ${err.message}`, { cause: err })));
    server.listen(port, host, () => {
      const a = server.address();
      resolve(typeof a === 'object' && a ? a.port : port);
    });
  });
  let closed: Promise<void> | undefined;
  return {
    port: bound,
    url: `${tls ? 'https' : 'http'}://${host}:${bound}/metrics`,
    close() {
      closed ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closed;
    },
  };
}
