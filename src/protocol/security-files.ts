/**
 * Reading a process's security settings from the files its flags name
 * (`--token-file`, `--tls-cert`, `--tls-key`, `--tls-ca`), with errors that
 * say which flag, which file and what was wrong; and the rule that a server
 * bound to anything but a loopback address must have a token.
 */
import { readFile, stat } from 'node:fs/promises';
import { errorMessage, LaminateError } from '../common/errors.js';
import type { SecurityConfig } from './security.js';

export interface SecurityFlags {
  readonly tokenFile?: string;
  readonly tlsCert?: string;
  readonly tlsKey?: string;
  readonly tlsCa?: string;
}

/** Shortest token accepted: a guessable secret is no secret. */
export const MIN_TOKEN_LENGTH = 16;

async function readFlagFile(flag: string, path: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (err) {
    throw new LaminateError('INVALID_ARGUMENT', `Expected ${flag} to name a readable file, got '${path}': ${errorMessage(err)}`, { cause: err });
  }
}

/**
 * The token in a token file: its content without surrounding whitespace
 * (a trailing newline, say), at least MIN_TOKEN_LENGTH printable ASCII
 * characters without spaces (it travels in an HTTP header).
 * @throws LaminateError INVALID_ARGUMENT naming the file and what it holds instead.
 */
export async function readTokenFile(path: string): Promise<{ token: string; worldReadable: boolean }> {
  const raw = await readFlagFile('--token-file', path);
  const token = raw.toString('utf8').trim();
  if (!/^[\x21-\x7e]+$/.test(token) || token.length < MIN_TOKEN_LENGTH) {
    const what = token.length === 0 ? 'an empty file' : /^[\x21-\x7e]+$/.test(token)
      ? `${token.length} characters` : 'spaces or characters outside printable ASCII';
    throw new LaminateError('INVALID_ARGUMENT',
      `Expected --token-file '${path}' to hold a token of at least ${MIN_TOKEN_LENGTH} printable ASCII characters without spaces, got ${what}`);
  }
  const mode = (await stat(path)).mode;
  return { token, worldReadable: (mode & 0o044) !== 0 };
}

async function readPem(flag: string, path: string, label: RegExp, what: string): Promise<Buffer> {
  const pem = await readFlagFile(flag, path);
  if (!label.test(pem.toString('latin1'))) {
    throw new LaminateError('INVALID_ARGUMENT', `Expected ${flag} '${path}' to hold a PEM ${what}, got no '-----BEGIN ...' block of that kind`);
  }
  return pem;
}

/**
 * The security settings the flags name. `--tls-cert` and `--tls-key` go
 * together. Returns also whether the token file can be read by group or
 * others (the caller warns: ssh refuses such keys outright).
 */
export async function loadSecurity(flags: SecurityFlags): Promise<{ config: SecurityConfig; tokenWorldReadable: boolean }> {
  if ((flags.tlsCert === undefined) !== (flags.tlsKey === undefined)) {
    throw new LaminateError('INVALID_ARGUMENT', `Expected --tls-cert and --tls-key together, got only ${flags.tlsCert !== undefined ? '--tls-cert' : '--tls-key'}`);
  }
  const token = flags.tokenFile !== undefined ? await readTokenFile(flags.tokenFile) : undefined;
  const config: SecurityConfig = {
    ...(token ? { token: token.token } : {}),
    ...(flags.tlsCert !== undefined ? { tlsCert: await readPem('--tls-cert', flags.tlsCert, /-----BEGIN CERTIFICATE-----/, 'certificate') } : {}),
    ...(flags.tlsKey !== undefined ? { tlsKey: await readPem('--tls-key', flags.tlsKey, /-----BEGIN [A-Z ]*PRIVATE KEY-----/, 'private key') } : {}),
    ...(flags.tlsCa !== undefined ? { tlsCa: await readPem('--tls-ca', flags.tlsCa, /-----BEGIN CERTIFICATE-----/, 'CA certificate') } : {}),
  };
  return { config, tokenWorldReadable: token?.worldReadable ?? false };
}

/** Whether a host to bind is a loopback address (reachable from this machine only). */
export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  return h === 'localhost' || h === '::1' || /^127(\.\d{1,3}){3}$/.test(h);
}

/**
 * The rule for servers: without a token a process serves loopback only, so
 * that an unauthenticated control port is never reachable from the network.
 * @throws LaminateError FAILED_PRECONDITION naming the host and the way out.
 */
export function checkBindAllowed(host: string, config: SecurityConfig, flag = '--host'): void {
  if (config.token !== undefined || isLoopbackHost(host)) return;
  throw new LaminateError('FAILED_PRECONDITION',
    `Refusing to serve on ${flag} ${host} without a token: an address other than loopback (127.0.0.1, ::1, localhost) needs --token-file, so that no one on the network can control the cluster`);
}
