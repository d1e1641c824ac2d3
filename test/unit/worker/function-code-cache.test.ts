import { createCipheriv, createHash, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { FunctionCodeCache, openFunctionCode, type FunctionCodeEnvelope } from '../../../src/worker/function-code-cache.js';

function seal(code: string): FunctionCodeEnvelope {
  const dataKey = randomBytes(32);
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', dataKey, iv);
  const ciphertext = Buffer.concat([cipher.update(code), cipher.final()]);
  return { ciphertext, iv, authTag: cipher.getAuthTag(), dataKey, codeSha256: createHash('sha256').update(code).digest('hex') };
}

describe('function code on a worker', () => {
  it('opens sealed code, and refuses a wrong key, altered bytes or another hash', () => {
    const env = seal('export default 1;');
    expect(openFunctionCode(env, env.codeSha256, 'f')).toBe('export default 1;');
    expect(() => openFunctionCode({ ...env, dataKey: randomBytes(32) }, env.codeSha256, 'f')).toThrow(/does not decrypt/);
    const altered = Buffer.from(env.ciphertext);
    altered[0]! ^= 1;
    expect(() => openFunctionCode({ ...env, ciphertext: altered }, env.codeSha256, 'f')).toThrow(/does not decrypt/);
    expect(() => openFunctionCode(env, 'ab'.repeat(32), 'f')).toThrow(/expected abab/);
  });

  it('fetches a hash once for concurrent gets, and drops the least recently used past its bound', async () => {
    const codes = ['a'.repeat(40), 'b'.repeat(40), 'c'.repeat(40)].map(seal);
    const fetched: string[] = [];
    const cache = new FunctionCodeCache(100);
    const get = (i: number): Promise<string> => cache.get(codes[i]!.codeSha256, `f${i}`, () => {
      fetched.push(`f${i}`);
      return Promise.resolve(codes[i]!);
    });
    expect(await Promise.all([get(0), get(0)])).toEqual(['a'.repeat(40), 'a'.repeat(40)]);
    await get(1);
    await get(0); // a is now the most recently used
    await get(2); // 120 bytes > 100: b goes
    expect(cache.size).toBe(80);
    await get(0);
    await get(1);
    expect(fetched).toEqual(['f0', 'f1', 'f2', 'f1']);
  });

  it('refuses code the master sent under another hash than asked', async () => {
    const cache = new FunctionCodeCache(1_000);
    await expect(cache.get('00'.repeat(32), 'f', () => Promise.resolve(seal('x')))).rejects.toThrow(/expected 0000/);
  });
});
