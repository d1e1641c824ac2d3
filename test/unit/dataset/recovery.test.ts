import { appendFile, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseBatchHeader } from '../../../src/dataset/batch-format.js';
import type { LogDatasetStore } from '../../../src/dataset/log-dataset-store.js';
import { decodeBody } from '../../../src/storage/record-body.js';
import type { DatasetFile } from '../../../src/dataset/file-system.js';
import { appendOne, batchOf, errorOf, openStore, partitionPath, readAll, records, rejectsWith, segmentFiles, TestFileSystem, useTempDirs } from './helpers.js';

/** Stops a store as a crash would leave it (every acknowledged write is on disk, no clean-shutdown mark). */
async function crash(store: LogDatasetStore, dir: string): Promise<void> {
  await store.close();
  await rm(join(dir, '.clean-shutdown'));
}

/** Batch start positions and base offsets of a segment file, walking its headers. */
function batchesOf(bytes: Buffer): { position: number; baseOffset: number; count: number; headerBytes: number; end: number }[] {
  const out = [];
  let p = 0;
  while (p < bytes.length) {
    const h = parseBatchHeader(bytes, p);
    if (typeof h === 'string') throw new Error(`${h} at ${p}`);
    out.push({ position: p, baseOffset: h.baseOffset, count: h.count, headerBytes: h.headerBytes, end: p + h.batchBytes });
    p += h.batchBytes;
  }
  return out;
}

async function lastSegmentPath(dir: string): Promise<string> {
  const files = await segmentFiles(dir, 'd', 0);
  return join(partitionPath(dir, 'd', 0), files[files.length - 1]!);
}

describe('recovery at open', () => {
  const tempDir = useTempDirs();

  it('cuts a torn last batch at every byte position; every whole batch survives and offsets go on densely', async () => {
    const dir = await tempDir();
    let store = await openStore(dir);
    await store.createDataset('d', { partitions: 1 });
    const model: unknown[] = [];
    for (let i = 0; i < 4; i++) {
      const batch = records('w', model.length, 3 + i);
      await appendOne(store, batchOf('d', 0, batch, { id: 'p1', sequence: model.length }));
      model.push(...batch);
    }
    const torn = records('t', model.length, 5);
    await appendOne(store, batchOf('d', 0, torn, { id: 'p1', sequence: model.length }));
    await crash(store, dir);
    const path = await lastSegmentPath(dir);
    const full = await readFile(path);
    const last = batchesOf(full).at(-1)!;
    expect(last.baseOffset).toBe(model.length);
    for (let cut = last.position; cut < full.length; cut++) {
      await writeFile(path, full.subarray(0, cut));
      store = await openStore(dir);
      expect(store.currentCut('d'), `cut at byte ${cut}`).toEqual([model.length]);
      expect(await readAll(store, 'd', 0)).toEqual(model);
      // The torn batch was never acknowledged: its retry is new, not a duplicate, and takes the next offsets.
      expect(store.nextSequence('d', 0, 'p1')).toBe(model.length);
      const retried = await appendOne(store, batchOf('d', 0, torn, { id: 'p1', sequence: model.length }));
      expect(retried).toEqual({ partition: 0, firstOffset: model.length, count: 5, duplicate: false, skipped: 0 });
      expect(await readAll(store, 'd', 0)).toEqual([...model, ...torn]);
      await crash(store, dir);
    }
  });

  it('cuts garbage after the last whole batch (zeros, or random bytes of a write that never finished)', async () => {
    const dir = await tempDir();
    let store = await openStore(dir);
    await store.createDataset('d', { partitions: 1 });
    await appendOne(store, batchOf('d', 0, [1, 2]));
    await appendOne(store, batchOf('d', 0, [3]));
    await crash(store, dir);
    const path = await lastSegmentPath(dir);
    const size = (await readFile(path)).length;
    for (const tail of [Buffer.alloc(4096), Buffer.from('LMNB and then some bytes that are not a batch')]) {
      await appendFile(path, tail);
      store = await openStore(dir);
      expect(store.currentCut('d')).toEqual([3]);
      expect((await readFile(path)).length).toBe(size);
      expect((await appendOne(store, batchOf('d', 0, [4]))).firstOffset).toBe(3);
      await crash(store, dir);
      await truncate(path, size);
    }
  });

  it('recovers an empty last segment left by a crash right after a roll', async () => {
    const dir = await tempDir();
    let store = await openStore(dir, { segmentBytes: 1024 });
    await store.createDataset('d', { partitions: 1 });
    const model: unknown[] = [];
    while ((await segmentFiles(dir, 'd', 0)).length < 3) {
      const batch = records('r', model.length, 4);
      await appendOne(store, batchOf('d', 0, batch));
      model.push(...batch);
    }
    await crash(store, dir);
    const path = await lastSegmentPath(dir);
    const [first] = batchesOf(await readFile(path));
    await truncate(path, first!.position + 10);
    store = await openStore(dir, { segmentBytes: 1024 });
    const base = Number((await segmentFiles(dir, 'd', 0)).at(-1)!.slice(0, 20));
    expect(store.currentCut('d')).toEqual([base]);
    expect(await readAll(store, 'd', 0)).toEqual(model.slice(0, base));
    expect((await appendOne(store, batchOf('d', 0, ['next']))).firstOffset).toBe(base);
    await store.close();
  });

  it('keeps acknowledged records a later batch proves were acknowledged: the damaged batch reads as DATA_LOSS, the rest reads', async () => {
    const dir = await tempDir();
    let store = await openStore(dir);
    await store.createDataset('d', { partitions: 1 });
    const groups = [records('a', 0, 4), records('b', 4, 3), records('c', 7, 2)];
    for (const g of groups) await appendOne(store, batchOf('d', 0, g));
    await crash(store, dir);
    const path = await lastSegmentPath(dir);
    const bytes = await readFile(path);
    const [b0] = batchesOf(bytes);
    bytes[b0!.position + b0!.headerBytes + 5]! ^= 0x20; // a flipped bit in the first batch's body
    await writeFile(path, bytes);
    store = await openStore(dir);
    expect(store.currentCut('d')).toEqual([9]);
    await rejectsWith(store.read('d', 0, 2), 'DATA_LOSS', /offset 0 of dataset 'd' partition 0/);
    expect((await errorOf(() => store.read('d', 0, 0))).ids).toEqual({ dataset: 'd', partition: 0, offset: 0 });
    expect(await readAll(store, 'd', 0, 64 * 1024, 4)).toEqual([...groups[1]!, ...groups[2]!]);
    expect((await appendOne(store, batchOf('d', 0, ['more']))).firstOffset).toBe(9);
    await store.close();
  });

  it('keeps a damaged last batch after a clean shutdown, and refuses appends since the end is unknown', async () => {
    const dir = await tempDir();
    let store = await openStore(dir);
    await store.createDataset('d', { partitions: 1 });
    await appendOne(store, batchOf('d', 0, [1, 2]));
    await appendOne(store, batchOf('d', 0, [3, 4, 5]));
    await store.close(); // clean: leaves .clean-shutdown
    const path = await lastSegmentPath(dir);
    const bytes = await readFile(path);
    bytes[bytes.length - 2]! ^= 0x01;
    await writeFile(path, bytes);
    store = await openStore(dir);
    const before = await store.read('d', 0, 0);
    expect(decodeBody(before.body)).toEqual([1, 2]);
    expect(before.nextOffset).toBe(2);
    // A reader at the damage is told, rather than left waiting at a false end.
    await rejectsWith(store.read('d', 0, 2), 'DATA_LOSS', /offset 2 /);
    await rejectsWith(store.waitForRecords('d', 0, 2), 'DATA_LOSS');
    await rejectsWith(store.append([batchOf('d', 0, [6])]), 'DATA_LOSS', /acknowledged records from offset 2 are damaged/);
    expect((await readFile(path)).length).toBe(bytes.length); // nothing cut
    await store.close();
  });

  it('cuts a damaged last batch after a crash when nothing proves it was acknowledged (a torn write looks the same)', async () => {
    const dir = await tempDir();
    let store = await openStore(dir);
    await store.createDataset('d', { partitions: 1 });
    await appendOne(store, batchOf('d', 0, [1, 2]));
    await appendOne(store, batchOf('d', 0, [3, 4, 5]));
    await crash(store, dir);
    const path = await lastSegmentPath(dir);
    const bytes = await readFile(path);
    bytes[bytes.length - 2]! ^= 0x01;
    await writeFile(path, bytes);
    store = await openStore(dir);
    expect(store.currentCut('d')).toEqual([2]);
    await store.close();
  });
  it('leaves no clean-shutdown mark after an open that failed part-way, so torn tails it did not reach are still cut later', async () => {
    const dir = await tempDir();
    let store = await openStore(dir);
    await store.createDataset('d', { partitions: 2 });
    for (const p of [0, 1]) {
      await appendOne(store, batchOf('d', p, [1, 2]));
      await appendOne(store, batchOf('d', p, [3, 4, 5]));
    }
    await crash(store, dir);
    const files = await segmentFiles(dir, 'd', 1);
    const path = join(partitionPath(dir, 'd', 1), files[files.length - 1]!);
    const bytes = await readFile(path);
    await truncate(path, bytes.length - 1); // partition 1's last batch torn
    // Recovery of partition 1 fails (out of file descriptors) after partition 0 was recovered.
    class FailingOpen extends TestFileSystem {
      override open(p: string, flags: 'r' | 'a+'): Promise<DatasetFile> {
        if (p.startsWith(partitionPath(dir, 'd', 1))) return Promise.reject(Object.assign(new Error('EMFILE: too many open files'), { code: 'EMFILE' }));
        return super.open(p, flags);
      }
    }
    expect((await errorOf(() => openStore(dir, { fs: new FailingOpen() }))).message).toMatch(/EMFILE/);
    expect(await new TestFileSystem().fileSize(join(dir, '.clean-shutdown'))).toBeUndefined();
    // The next open still knows it follows a crash: the torn batch is cut, not kept as damage.
    store = await openStore(dir);
    expect(store.currentCut('d')).toEqual([5, 2]);
    expect((await appendOne(store, batchOf('d', 1, [6]))).firstOffset).toBe(2);
    expect(await readAll(store, 'd', 1)).toEqual([1, 2, 6]);
    await store.close();
  });
  it('fsyncs the last segment of every partition at an open after a crash, and not after a clean shutdown', async () => {
    const dir = await tempDir();
    let store = await openStore(dir);
    await store.createDataset('d', { partitions: 3 });
    for (const p of [0, 1, 2]) await appendOne(store, batchOf('d', p, [p]));
    await store.close();
    let fs = new TestFileSystem();
    store = await openStore(dir, { fs });
    expect(fs.datasyncs).toBe(0);
    await crash(store, dir);
    fs = new TestFileSystem();
    store = await openStore(dir, { fs });
    // Whole batches a dead process left in the page cache are made durable before they count as such.
    expect(fs.datasyncs).toBe(3);
    expect(store.currentCut('d')).toEqual([1, 1, 1]);
    await store.close();
  });
});
