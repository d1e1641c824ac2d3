/**
 * Access control for every gRPC channel and server of a process: a shared
 * secret (the cluster token, `--token-file`) carried on every call as
 * `authorization: Bearer <token>`, and optionally TLS (`--tls-cert`,
 * `--tls-key`, `--tls-ca`).
 *
 * One setting per process (and per worker thread, which is given it at
 * start): a process of the cluster serves and calls with the same token, as
 * Hadoop's RPC does with its cluster-wide service secret. The CLI sets it
 * before any command runs (src/cli/main.ts); library users call
 * `configureSecurity` from `laminate/client` before creating a client.
 *
 * Servers check the token in a server interceptor, before any handler runs,
 * and compare it in constant time. A refused call is logged with its method
 * and peer, never with what it carried.
 */
import { timingSafeEqual, createHash, createHmac } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import { securityConfig, usesTls, type SecurityConfig } from './security-config.js';

export { configureSecurity, securityConfig, threadSecurity, usesTls, type SecurityConfig } from './security-config.js';

/**
 * Credentials for a client channel: TLS trusting `tlsCa` (or, without one,
 * the process's own certificate: a self-signed cluster certificate) when TLS
 * is on, else plaintext.
 */
export function channelCredentials(config: SecurityConfig = securityConfig()): grpc.ChannelCredentials {
  if (!usesTls(config)) return grpc.credentials.createInsecure();
  return grpc.credentials.createSsl(config.tlsCa ?? config.tlsCert ?? null);
}

/**
 * Options for a client: `base` plus an interceptor that adds the token to
 * every call. (grpc-js refuses call credentials on a plaintext channel, so
 * the token travels as metadata added here, with or without TLS.)
 */
export function clientOptions(base: grpc.ClientOptions, config: SecurityConfig = securityConfig()): grpc.ClientOptions {
  const token = config.token;
  if (token === undefined) return base;
  const header = `Bearer ${token}`;
  const addToken: grpc.Interceptor = (options, nextCall) => new grpc.InterceptingCall(nextCall(options), {
    start(metadata, listener, next) {
      metadata.set('authorization', header);
      next(metadata, listener);
    },
  });
  return { ...base, interceptors: [...(base.interceptors ?? []), addToken] };
}

/** Credentials a server binds with: TLS with the process's certificate and key when it has them. */
export function serverCredentials(config: SecurityConfig = securityConfig()): grpc.ServerCredentials {
  if (config.tlsCert === undefined || config.tlsKey === undefined) return grpc.ServerCredentials.createInsecure();
  return grpc.ServerCredentials.createSsl(null, [{ cert_chain: config.tlsCert, private_key: config.tlsKey }], false);
}

/** Server options: `base` plus the token check when the process has a token. */
export function serverOptions(base: grpc.ServerOptions, config: SecurityConfig = securityConfig()): grpc.ServerOptions {
  const token = config.token;
  if (token === undefined) return base;
  const check: grpc.ServerInterceptor = (method, call) => new grpc.ServerInterceptingCall(call, {
    start(next) {
      next({
        onReceiveMetadata(metadata, mdNext) {
          const given = metadata.get('authorization')[0];
          if (typeof given === 'string' && bearerMatches(given, token)) {
            mdNext(metadata);
            return;
          }
          config.log?.warn({ method: method.path, peer: call.getPeer(), token: given === undefined ? 'missing' : 'wrong' },
            'refused a call without the cluster token');
          call.sendStatus({
            code: grpc.status.UNAUTHENTICATED,
            details: given === undefined
              ? 'this call carries no token, and the cluster requires one (--token-file)'
              : 'this call carries a token that is not the cluster\'s (--token-file)',
          });
        },
      });
    },
  });
  return { ...base, interceptors: [...(base.interceptors ?? []), check] };
}

/**
 * Whether an `Authorization` header value is `Bearer <token>` for this
 * token, compared in constant time (over digests, so that the length of the
 * token does not leak either). For HTTP servers too.
 */
export function bearerMatches(header: string, token: string): boolean {
  const prefix = 'Bearer ';
  if (!header.startsWith(prefix)) return false;
  const a = createHash('sha256').update(header.slice(prefix.length)).digest();
  const b = createHash('sha256').update(token).digest();
  return timingSafeEqual(a, b);
}

/** Whether an HTTP request's Authorization header passes this process's check (true when it has no token). */
export function httpAuthorized(header: string | undefined, config: SecurityConfig = securityConfig()): boolean {
  if (config.token === undefined) return true;
  return header !== undefined && bearerMatches(header, config.token);
}

/** The cookie the console's login sets (HttpOnly, SameSite=Strict). */
export const SESSION_COOKIE = 'laminate_session';

/**
 * The console's session cookie value for this process's token: an HMAC of
 * the token, not the token, so that a cookie read off a browser does not
 * open the gRPC port too; undefined without a token.
 */
export function sessionValue(config: SecurityConfig = securityConfig()): string | undefined {
  if (config.token === undefined) return undefined;
  return createHmac('sha256', config.token).update('laminate console session').digest('base64url');
}

/** Whether a Cookie header carries the console's session for this process's token, compared in constant time. */
export function sessionCookieMatches(cookieHeader: string | undefined, config: SecurityConfig = securityConfig()): boolean {
  const expected = sessionValue(config);
  if (expected === undefined || cookieHeader === undefined) return false;
  for (const part of cookieHeader.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0 || part.slice(0, eq).trim() !== SESSION_COOKIE) continue;
    const a = createHash('sha256').update(part.slice(eq + 1).trim()).digest();
    const b = createHash('sha256').update(expected).digest();
    if (timingSafeEqual(a, b)) return true;
  }
  return false;
}
