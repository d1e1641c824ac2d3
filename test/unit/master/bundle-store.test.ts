import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BundleStore, MAX_BUNDLE_BYTES } from '../../../src/master/bundle-store.js';
import { rejectsWith, useTempDirs } from '../storage/helpers.js';

describe('BundleStore', () => {
  const tempDir = useTempDirs();

  it('stores a bundle under its SHA-256 and reads it back', async () => {
    const dir = join(await tempDir(), 'bundles');
    const store = new BundleStore(dir);
    const bundle = Buffer.from('export default { map() {}, reduce() {} };');
    const hash = await store.put(bundle);
    expect(hash).toBe(createHash('sha256').update(bundle).digest('hex'));
    expect(await store.get(hash)).toEqual(bundle);
    const chunks: Buffer[] = [];
    for await (const c of store.chunks(hash)) chunks.push(c);
    expect(Buffer.concat(chunks)).toEqual(bundle);
    expect(await store.put(bundle)).toBe(hash);
    expect(await readdir(dir)).toEqual([`${hash}.mjs`]);
  });

  it('takes concurrent puts of the same bundle, leaving one file and no temporary ones', async () => {
    const dir = join(await tempDir(), 'bundles');
    const store = new BundleStore(dir);
    const bundle = Buffer.alloc(4 * 1024 * 1024, 'x');
    const hashes = await Promise.all(Array.from({ length: 8 }, () => store.put(bundle)));
    expect(new Set(hashes).size).toBe(1);
    expect(await readdir(dir)).toEqual([`${hashes[0]}.mjs`]);
    expect((await readFile(join(dir, `${hashes[0]}.mjs`))).equals(bundle)).toBe(true);
  });

  it('refuses empty and oversized bundles, and bad or unknown hashes', async () => {
    const store = new BundleStore(join(await tempDir(), 'bundles'));
    await rejectsWith(store.put(Buffer.alloc(0)), 'INVALID_ARGUMENT', /got 0 bytes/);
    await rejectsWith(store.put(Buffer.alloc(MAX_BUNDLE_BYTES + 1)), 'INVALID_ARGUMENT', /at most/);
    await rejectsWith(store.get('nope'), 'INVALID_ARGUMENT', /64 hex digits/);
    await rejectsWith(store.get('0'.repeat(64)), 'NOT_FOUND');
  });
});
