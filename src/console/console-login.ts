/**
 * The console's login, for a cluster with a token (`--token-file`): a
 * browser cannot add an Authorization header to a page it navigates to, so
 * the operator pastes the token once into /login and gets a session cookie
 * (an HMAC of the token, HttpOnly, SameSite=Strict: a cross-site form cannot
 * carry it, which is what keeps the console's POST actions from being
 * forged), as Jupyter's token login does. The master's HTTP hook
 * (src/master/http-server.ts) lets /login through and sends HTML page
 * requests without the token here.
 *
 * Who calls it: the master registers it once on its HTTP server.
 */
import type { FastifyInstance } from 'fastify';
import type { Logger } from '../common/logger.js';
import { httpAuthorized, SESSION_COOKIE, sessionValue, usesTls } from '../protocol/security.js';
import { escapeHtml } from './html-escape.js';

/** Where a login goes next: a path on this server only (never `//host` or a URL). */
export function safeNext(next: unknown): string {
  return typeof next === 'string' && next.startsWith('/') && !next.startsWith('//') && !next.startsWith('/\\') ? next : '/';
}

function page(next: string, problem: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Laminate: sign in</title>
<meta name="viewport" content="width=device-width, initial-scale=1"><link rel="icon" href="data:,">
<style>body{font:15px system-ui,sans-serif;max-width:28rem;margin:4rem auto;padding:0 1rem;color:#1d2430}
input{width:100%;padding:.5rem;font:inherit;box-sizing:border-box}button{margin-top:.75rem;padding:.5rem 1rem;font:inherit}
.problem{color:#a4161a}</style></head><body><h1>Laminate console</h1>
<p>This cluster requires its token (the contents of the master's <code>--token-file</code>).</p>
${problem === '' ? '' : `<p class="problem" role="alert">${escapeHtml(problem)}</p>`}
<form method="post" action="/login"><input type="hidden" name="next" value="${escapeHtml(next)}">
<label for="token">Cluster token</label><input id="token" name="token" type="password" autocomplete="current-password" required autofocus>
<button type="submit">Sign in</button></form></body></html>`;
}

/** The login routes (a fastify plugin); `logger` gets one line per refused login, without what was typed. */
export function consoleLogin(logger: Logger): (app: FastifyInstance) => Promise<void> {
  const log = logger.child({ component: 'console' });
  return async (app) => {
    // The form posts urlencoded; fastify parses only JSON by itself.
    app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string', bodyLimit: 16 * 1024 }, (_req, body, done) => {
      done(null, Object.fromEntries(new URLSearchParams(body as string)));
    });
    app.get('/login', async (req, reply) => {
      const next = safeNext((req.query as Record<string, unknown>).next);
      // Without a token there is nothing to sign in to.
      if (sessionValue() === undefined) return reply.redirect(next, 303);
      return reply.type('text/html; charset=utf-8').send(page(next, ''));
    });
    app.post('/login', async (req, reply) => {
      const body = (req.body ?? {}) as Record<string, unknown>;
      const next = safeNext(body.next);
      const session = sessionValue();
      if (session === undefined) return reply.redirect(next, 303);
      const token = typeof body.token === 'string' ? body.token.trim() : '';
      // The same check as every HTTP request's (a session exists only with a cluster token).
      if (!httpAuthorized(`Bearer ${token}`)) {
        log.warn({ peer: req.ip }, 'console login with a wrong token');
        return reply.code(401).type('text/html; charset=utf-8').send(page(next, token === '' ? 'Expected a token, got an empty field.' : 'That is not the cluster\'s token.'));
      }
      const secure = usesTls() ? '; Secure' : '';
      return reply.header('set-cookie', `${SESSION_COOKIE}=${session}; Path=/; HttpOnly; SameSite=Strict${secure}`).redirect(next, 303);
    });
  };
}
