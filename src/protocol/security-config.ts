/**
 * This process's (or worker thread's) security settings: the cluster token
 * and TLS material that security.ts puts on every channel and server. Apart
 * from security.ts so that a container thread sets them at its start without
 * loading grpc-js (some 80 ms here), which its attempts load only when they
 * first call (a dataset read, a shuffle fetch).
 */
import type { Logger } from '../common/logger.js';

export interface SecurityConfig {
  /** The shared secret every call must carry; none: calls are not checked (loopback only). */
  readonly token?: string;
  /** PEM certificate chain and key this process serves with (TLS on its servers). */
  readonly tlsCert?: Buffer;
  readonly tlsKey?: Buffer;
  /** PEM roots this process trusts when it connects; set (or tlsCert set): its channels use TLS. */
  readonly tlsCa?: Buffer;
  /** Where refused calls are logged. */
  readonly log?: Logger;
}

let current: SecurityConfig = {};

/**
 * Sets this process's (or thread's) security. Call once, before creating
 * servers or clients: channels already open keep what they were made with.
 */
export function configureSecurity(config: SecurityConfig): void {
  // A worker thread receives Buffers as plain Uint8Arrays (structured clone); grpc-js insists on Buffers.
  const buf = (b: Uint8Array | undefined): Buffer | undefined => (b === undefined || Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength));
  const tlsCert = buf(config.tlsCert);
  const tlsKey = buf(config.tlsKey);
  const tlsCa = buf(config.tlsCa);
  current = {
    ...config,
    ...(tlsCert !== undefined ? { tlsCert } : {}),
    ...(tlsKey !== undefined ? { tlsKey } : {}),
    ...(tlsCa !== undefined ? { tlsCa } : {}),
  };
}

/** This process's security, as configureSecurity left it. */
export function securityConfig(): SecurityConfig {
  return current;
}

/** What a worker thread is given so that it calls with its process's security (no logger: threads have none of their own). */
export function threadSecurity(): SecurityConfig {
  const { log: _log, ...rest } = current;
  return rest;
}

/** Whether this process's channels use TLS. */
export function usesTls(config: SecurityConfig = current): boolean {
  return config.tlsCa !== undefined || config.tlsCert !== undefined;
}
