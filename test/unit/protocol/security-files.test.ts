import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LaminateError } from '../../../src/common/errors.js';
import { bearerMatches, httpAuthorized } from '../../../src/protocol/security.js';
import { checkBindAllowed, isLoopbackHost, loadSecurity, readTokenFile } from '../../../src/protocol/security-files.js';

async function codeAndMessage(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'resolved';
  } catch (err) {
    return err instanceof LaminateError ? `${err.code}: ${err.message}` : String(err);
  }
}

describe('security settings from files', () => {
  let dir: string;
  beforeAll(async () => { dir = await mkdtemp(join(tmpdir(), 'laminate-sec-')); });
  afterAll(async () => { await rm(dir, { recursive: true, force: true }); });

  it('reads a token without its trailing newline, and says whether others can read the file', async () => {
    const f = join(dir, 'token');
    await writeFile(f, 'abcdefghijklmnop-0123\n', { mode: 0o600 });
    expect(await readTokenFile(f)).toEqual({ token: 'abcdefghijklmnop-0123', worldReadable: false });
    const g = join(dir, 'token-open');
    await writeFile(g, 'abcdefghijklmnop-0123', { mode: 0o644 });
    expect((await readTokenFile(g)).worldReadable).toBe(true);
  });

  it('refuses empty, short and spaced tokens, and missing files, saying what it got', async () => {
    const cases: Array<[string, RegExp]> = [
      ['', /got an empty file/],
      ['short', /at least 16 printable ASCII characters without spaces, got 5 characters/],
      ['has a space in it somewhere', /got spaces or characters outside printable ASCII/],
    ];
    for (const [content, re] of cases) {
      const f = join(dir, `t-${cases.findIndex((c) => c[0] === content)}`);
      await writeFile(f, content);
      const got = await codeAndMessage(readTokenFile(f));
      expect(got).toMatch(/^INVALID_ARGUMENT: Expected --token-file/);
      expect(got).toMatch(re);
    }
    expect(await codeAndMessage(readTokenFile(join(dir, 'nope')))).toMatch(/^INVALID_ARGUMENT: Expected --token-file to name a readable file, got '.*nope'/);
  });

  it('wants --tls-cert and --tls-key together, and PEM content in each', async () => {
    const cert = join(dir, 'cert.pem');
    await writeFile(cert, 'not a certificate');
    expect(await codeAndMessage(loadSecurity({ tlsCert: cert }))).toBe('INVALID_ARGUMENT: Expected --tls-cert and --tls-key together, got only --tls-cert');
    expect(await codeAndMessage(loadSecurity({ tlsCa: cert }))).toMatch(/^INVALID_ARGUMENT: Expected --tls-ca '.*' to hold a PEM CA certificate/);
  });

  it('allows any address with a token, and only loopback without one', () => {
    for (const h of ['127.0.0.1', '127.1.2.3', 'localhost', '::1', '[::1]']) expect(isLoopbackHost(h), h).toBe(true);
    for (const h of ['0.0.0.0', '10.0.0.1', '::', 'example.com', '128.0.0.1']) expect(isLoopbackHost(h), h).toBe(false);
    expect(() => checkBindAllowed('0.0.0.0', {})).toThrow(/Refusing to serve on --host 0\.0\.0\.0 without a token/);
    expect(() => checkBindAllowed('0.0.0.0', { token: 'x'.repeat(16) })).not.toThrow();
    expect(() => checkBindAllowed('127.0.0.1', {})).not.toThrow();
  });

  it('matches a bearer header only for the exact token', () => {
    const token = 'abcdefghijklmnop';
    expect(bearerMatches(`Bearer ${token}`, token)).toBe(true);
    expect(bearerMatches(`Bearer ${token}x`, token)).toBe(false);
    expect(bearerMatches(`Bearer ${token.slice(1)}`, token)).toBe(false);
    expect(bearerMatches(token, token)).toBe(false);
    expect(bearerMatches(`bearer ${token}`, token)).toBe(false);
    expect(httpAuthorized(undefined, {})).toBe(true);
    expect(httpAuthorized(undefined, { token })).toBe(false);
    expect(httpAuthorized(`Bearer ${token}`, { token })).toBe(true);
  });
});
