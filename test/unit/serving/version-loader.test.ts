import { truncate } from 'node:fs/promises';
import { join } from 'node:path';
import { pack, unpack } from 'msgpackr';
import { describe, expect, it, vi } from 'vitest';
import { loadFromStore, openLocal } from '../../../src/serving/version-loader.js';
import { BlockCache } from '../../../src/view/block-cache.js';
import { ViewFileReader } from '../../../src/view/view-file-reader.js';
import { versionDir } from '../../../src/view/view-version-dir.js';
import { useTempDirs, writeVersion } from './helpers.js';

describe('loading a version into a serving node', () => {
  const tempDir = useTempDirs();

  it("presents each version with the merge its manifest names, the view's merge only for a manifest naming none, after a restart too", async () => {
    const dir = await tempDir();
    const store = join(dir, 'store');
    const localRoot = join(dir, 'local');
    // Version 1 was built as topK(2); the view was then redeployed as sum, and version 2 built so.
    // Version 3's manifest predates recorded merges: it is presented with the view's merge.
    const counts = [['a', 3], ['b', 5], ['c', 1]];
    await writeVersion(store, { view: 'v', version: 1, entries: new Map([['k', counts]]), partitions: 2, cut: [3], merge: 'topK(2)' });
    await writeVersion(store, { view: 'v', version: 2, entries: new Map([['k', 9]]), partitions: 2, cut: [4], merge: 'sum' });
    await writeVersion(store, { view: 'v', version: 3, entries: new Map([['k', 10]]), partitions: 2, cut: [5] });
    const cache = new BlockCache(0);
    const src = (version: number): { view: string; version: number; dir: string; merge: string } => ({ view: 'v', version, dir: versionDir(store, 'v', version), merge: 'sum' });

    const topKAnswer = [{ item: 'b', count: 5 }, { item: 'a', count: 3 }];
    const check = async (loaded: Awaited<ReturnType<typeof loadFromStore>>[]): Promise<void> => {
      const [v1, v2, v3] = loaded;
      expect(loaded.map((l) => l.presentation.merge)).toEqual(['topK(2)', 'sum', 'sum']);
      expect(unpack(v1!.answer('k', Buffer.from(pack(counts))).value)).toEqual(topKAnswer);
      expect(unpack(v2!.answer('k', Buffer.from(pack(9))).value)).toBe(9);
      expect(unpack(v3!.answer('k', Buffer.from(pack(10))).value)).toBe(10);
      await Promise.all(loaded.map((l) => l.retire()));
    };
    await check(await Promise.all([1, 2, 3].map((v) => loadFromStore(src(v), { localRoot, cache }))));
    // A restarted node opens its local copies, without the store or the master's word on the merge.
    await check(await Promise.all([1, 2, 3].map((v) => openLocal(localRoot, 'v', v, cache))));
  });

  it('refuses a local copy with a file that does not open, and closes the files of it that did', async () => {
    const dir = await tempDir();
    const store = join(dir, 'store');
    const localRoot = join(dir, 'local');
    await writeVersion(store, { view: 'v', version: 1, entries: new Map(Array.from({ length: 200 }, (_, i) => [`k${i}`, i] as [string, number])), partitions: 3, cut: [3] });
    const cache = new BlockCache(0);
    await (await loadFromStore({ view: 'v', version: 1, dir: versionDir(store, 'v', 1), merge: 'sum' }, { localRoot, cache })).retire();
    // The middle file cut below its tail: it fails to open (DATA_LOSS); the two others open, then must be closed.
    await truncate(join(versionDir(localRoot, 'v', 1), 'part-00001.view'), 10);
    const close = vi.spyOn(ViewFileReader.prototype, 'close');
    try {
      await expect(openLocal(localRoot, 'v', 1, cache)).rejects.toMatchObject({ code: 'DATA_LOSS', message: expect.stringMatching(/part-00001\.view' is truncated/) as unknown });
      expect(close).toHaveBeenCalledTimes(2);
    } finally {
      close.mockRestore();
    }
  });
});
