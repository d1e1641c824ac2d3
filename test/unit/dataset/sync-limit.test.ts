import { describe, expect, it } from 'vitest';
import { defaultSyncsInFlight, threadPoolSize } from '../../../src/dataset/sync-limit.js';
import { appendOne, batchOf, openStore, readAll, TestFileSystem, useTempDirs } from './helpers.js';

/** Resolves once `cond` holds, checking after every turn of the event loop's I/O (no timers). */
async function until(cond: () => boolean): Promise<void> {
  while (!cond()) await new Promise((resolve) => setImmediate(resolve));
}

async function turns(n: number): Promise<void> {
  for (let i = 0; i < n; i++) await new Promise((resolve) => setImmediate(resolve));
}

describe("the store's limit on fsyncs in flight", () => {
  const tempDir = useTempDirs();

  /** Ten partitions append at once while the disk holds every fsync: how many fsyncs reach it. */
  async function fsyncsReachingTheDisk(maxSyncsInFlight: number): Promise<{ reached: number; appendsWritten: boolean }> {
    const fs = new TestFileSystem();
    const store = await openStore(await tempDir(), { fs, maxSyncsInFlight });
    await store.createDataset('d', { partitions: 10 });
    const buffersBefore = fs.buffersWritten;
    fs.hold();
    const appends = Array.from({ length: 10 }, (_, p) => appendOne(store, batchOf('d', p, [`p${p}`])));
    await until(() => fs.waiting >= Math.min(10, maxSyncsInFlight));
    await turns(50);
    const reached = fs.waiting;
    // Writes are not held back by the limit: every partition's batch (a header and a body) is written.
    const appendsWritten = fs.buffersWritten === buffersBefore + 20;
    fs.release();
    const results = await Promise.all(appends);
    expect(results.map((r) => r.firstOffset)).toEqual(Array(10).fill(0));
    for (let p = 0; p < 10; p++) expect(await readAll(store, 'd', p)).toEqual([`p${p}`]);
    await store.close();
    return { reached, appendsWritten };
  }

  it('lets at most maxSyncsInFlight fsyncs reach the disk while the other partitions write and wait their turn', async () => {
    expect(await fsyncsReachingTheDisk(3)).toEqual({ reached: 3, appendsWritten: true });
  });

  it('lets every partition sync at once when the limit is above their count', async () => {
    expect(await fsyncsReachingTheDisk(64)).toEqual({ reached: 10, appendsWritten: true });
  });

  it('gives a turn back when its fsync fails: the partition fails, the others go on syncing', async () => {
    const fs = new TestFileSystem();
    const store = await openStore(await tempDir(), { fs, maxSyncsInFlight: 1 });
    await store.createDataset('d', { partitions: 2 });
    fs.failDatasync = new Error('injected: EIO');
    await expect(appendOne(store, batchOf('d', 0, ['lost']))).rejects.toThrow();
    fs.failDatasync = undefined;
    // With the only turn lost, this append's fsync would wait for ever.
    const ok = await appendOne(store, batchOf('d', 1, ['kept']));
    expect(ok.firstOffset).toBe(0);
    expect(await readAll(store, 'd', 1)).toEqual(['kept']);
    await store.close().catch(() => undefined);
  });

  it('defaults to half of the thread pool libuv will have, read from UV_THREADPOOL_SIZE', () => {
    expect([undefined, '', 'x', '0', '-3', '2.5'].map(threadPoolSize)).toEqual([4, 4, 4, 4, 4, 4]);
    expect(['1', '16', '5000'].map(threadPoolSize)).toEqual([1, 16, 1024]);
    expect([1, 2, 4, 16, 17].map(defaultSyncsInFlight)).toEqual([1, 1, 2, 8, 8]);
  });
});
