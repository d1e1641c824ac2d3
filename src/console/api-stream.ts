/**
 * `GET /api/stream?path=/api/...`: the console's live updates, as server-sent
 * events. The stream answers `path` through the same routes a plain request
 * takes (fastify's inject, with the caller's credentials), sends it at once
 * as `event: update`, then checks it every second and sends it again only
 * when it changed (the `at` field aside). An error answer is sent as
 * `event: problem` with `{ code, message, status }` (a job forgotten, a view
 * deleted); the stream stays open, so a page can show it and recover if the
 * thing comes back. A comment line every 15 s keeps proxies from closing an
 * idle stream. Polling inside the server, not in every browser, keeps one
 * request per page and lets the page stay a plain EventSource.
 *
 * Who calls it: browsers (EventSource reconnects by itself after a drop).
 * The master's stop ends every open stream first (preClose), so that a stop
 * does not wait for them.
 */
import type { FastifyInstance } from 'fastify';
import type { ServerResponse } from 'node:http';
import { LaminateError } from '../common/errors.js';
import type { Logger } from '../common/logger.js';

/** How often an open stream re-reads its path. */
export const STREAM_POLL_MS = 1000;
const PING_MS = 15_000;
/** Open streams at most, across clients: each costs one request per second. */
export const MAX_STREAMS = 64;

/** The API path a stream may follow: one of /api/..., not the stream itself. @throws LaminateError INVALID_ARGUMENT */
export function streamPath(value: unknown): string {
  if (typeof value !== 'string' || !value.startsWith('/api/') || value.startsWith('/api/stream') || value.includes('..') || /[\s#]/.test(value)) {
    throw new LaminateError('INVALID_ARGUMENT', `Expected path: an API path such as /api/jobs/job-1 (not /api/stream), got ${JSON.stringify(value ?? null)}`);
  }
  return value;
}

/** An error answer's `{ code, message }`, whatever its body was. */
function problemOf(status: number, body: string): string {
  try {
    const parsed = JSON.parse(body) as { code?: unknown; message?: unknown };
    return JSON.stringify({ status, code: String(parsed.code ?? 'INTERNAL'), message: String(parsed.message ?? body) });
  } catch {
    return JSON.stringify({ status, code: 'INTERNAL', message: body.slice(0, 500) });
  }
}

/** The answer without its `at` stamp, to tell whether anything else changed. */
function fingerprint(body: string): string {
  try {
    const parsed = JSON.parse(body) as unknown;
    if (parsed !== null && typeof parsed === 'object' && 'at' in parsed) return JSON.stringify({ ...parsed, at: 0 });
  } catch {
    // Not JSON: compare as it is.
  }
  return body;
}

export function consoleStream(o: { readonly logger: Logger; readonly pollMs?: number }): (app: FastifyInstance) => Promise<void> {
  const log = o.logger.child({ component: 'console' });
  const pollMs = o.pollMs ?? STREAM_POLL_MS;
  const open = new Set<() => void>();
  return async (app) => {
    app.addHook('preClose', async () => {
      for (const end of [...open]) end();
    });
    app.get('/api/stream', async (req, reply) => {
      const path = streamPath((req.query as Record<string, unknown> | undefined)?.path);
      if (open.size >= MAX_STREAMS) throw new LaminateError('RESOURCE_EXHAUSTED', `Expected at most ${MAX_STREAMS} open console streams, got one more; close a console tab`);
      const headers: Record<string, string> = {};
      if (req.headers.authorization !== undefined) headers.authorization = req.headers.authorization;
      if (req.headers.cookie !== undefined) headers.cookie = req.headers.cookie;
      reply.hijack();
      const res: ServerResponse = reply.raw;
      res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', connection: 'keep-alive', 'x-accel-buffering': 'no' });
      let last: string | undefined;
      let ended = false;
      let timer: NodeJS.Timeout | undefined;
      const send = (event: string, data: string): void => {
        if (!ended) res.write(`event: ${event}\ndata: ${data}\n\n`);
      };
      const end = (): void => {
        if (ended) return;
        ended = true;
        clearTimeout(timer);
        clearInterval(ping);
        open.delete(end);
        res.end();
      };
      const poll = async (): Promise<void> => {
        try {
          const r = await app.inject({ method: 'GET', url: path, headers });
          if (ended) return;
          const mark = `${r.statusCode}:${fingerprint(r.body)}`;
          if (mark !== last) {
            last = mark;
            if (r.statusCode < 300) send('update', r.body);
            else send('problem', problemOf(r.statusCode, r.body));
          }
        } catch (err) {
          log.warn({ err, path }, 'console stream could not read its path');
        }
        if (!ended) timer = setTimeout(() => void poll(), pollMs);
      };
      const ping = setInterval(() => { if (!ended) res.write(': ping\n\n'); }, PING_MS);
      ping.unref();
      open.add(end);
      req.raw.on('close', end);
      res.on('error', end);
      await poll();
    });
  };
}
