import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodeBody, encodeRecord } from '../../../src/storage/record-body.js';
import { appendOne, batchOf, intBelow, openStore, partitionPath, readAll, records, rejectsWith, rng, segmentFiles, useTempDirs } from './helpers.js';

describe('segments and reads', () => {
  const tempDir = useTempDirs();

  it('rolls segments at the size, names them by base offset, and never splits a batch', async () => {
    const dir = await tempDir();
    const store = await openStore(dir, { segmentBytes: 2048 });
    await store.createDataset('d', { partitions: 1 });
    const firstOffsets: number[] = [];
    for (let i = 0; i < 20; i++) firstOffsets.push((await appendOne(store, batchOf('d', 0, records('a', i * 7, 7)))).firstOffset);
    expect(firstOffsets).toEqual(Array.from({ length: 20 }, (_, i) => i * 7));
    const files = await segmentFiles(dir, 'd', 0);
    expect(files.length).toBeGreaterThan(3);
    // Every segment starts at a batch boundary (a multiple of 7) and names it in 20 digits.
    for (const f of files) {
      expect(f).toMatch(/^\d{20}\.log$/);
      expect(Number(f.slice(0, 20)) % 7).toBe(0);
    }
    expect(files[0]).toBe('00000000000000000000.log');
    // Batches here are smaller than a segment, so no sealed segment passes the roll size.
    const sizes = await Promise.all(files.map(async (f) => (await stat(join(partitionPath(dir, 'd', 0), f))).size));
    for (const s of sizes.slice(0, -1)) expect(s).toBeLessThanOrEqual(2048);
    const described = store.describeDataset('d').partitions[0]!;
    expect(described).toMatchObject({ endOffset: 140, records: 140, segments: files.length });
    expect(described.bytes).toBe(sizes.reduce((a, b) => a + b, 0));
    expect(await readAll(store, 'd', 0, 300)).toEqual(records('a', 0, 140));
    await store.close();
  });

  it('reads from every offset, mid-batch and across segments, up to an end offset, equal to the model', async () => {
    const dir = await tempDir();
    const store = await openStore(dir, { segmentBytes: 4096, indexIntervalBytes: 512 });
    await store.createDataset('d', { partitions: 1 });
    const random = rng(3);
    const model: unknown[] = [];
    while (model.length < 400) {
      const batch = records('m', model.length, 1 + intBelow(random, 12), intBelow(random, 60));
      await appendOne(store, batchOf('d', 0, batch));
      model.push(...batch);
    }
    for (let from = 0; from <= model.length; from++) {
      const end = Math.min(model.length, from + intBelow(random, 30));
      const chunk = await store.read('d', 0, from, { endOffset: end, maxBytes: 100_000 });
      expect(chunk.firstOffset).toBe(from);
      expect(chunk.endOffset).toBe(model.length);
      const got = decodeBody(chunk.body);
      expect(got.length).toBe(chunk.count);
      expect(chunk.nextOffset).toBe(from + chunk.count);
      // Chunks may stop at a segment's end, never past the end asked for.
      expect(from + chunk.count).toBeLessThanOrEqual(end);
      if (from < end) expect(chunk.count).toBeGreaterThan(0);
      expect(got).toEqual(model.slice(from, from + chunk.count));
    }
    for (const from of [0, 17, 133, 399]) expect(await readAll(store, 'd', 0, 333, from)).toEqual(model.slice(from));
    await store.close();
  });

  it('keeps a chunk within maxBytes, but always returns at least one record', async () => {
    const store = await openStore(await tempDir());
    await store.createDataset('d', { partitions: 1 });
    const recs = records('b', 0, 50, 100);
    await appendOne(store, batchOf('d', 0, recs));
    const size = encodeRecord(recs[0]).length;
    const chunk = await store.read('d', 0, 3, { maxBytes: size * 4 + 1 });
    expect(chunk.count).toBe(4);
    expect(chunk.body.length).toBe(size * 4);
    const tiny = await store.read('d', 0, 10, { maxBytes: 1 });
    expect(tiny.count).toBe(1);
    expect(decodeBody(tiny.body)).toEqual([recs[10]]);
    await store.close();
  });

  it('reads a batch larger than a read\'s chunk, from its start and from inside it, with batches after it', async () => {
    const store = await openStore(await tempDir());
    await store.createDataset('d', { partitions: 1 });
    // First a batch of about 1 MiB (a producer's maxBatchBytes above the read size): a read starting at it finds
    // only its header in the chunk sized by maxBytes. It was reported cut short (DATA_LOSS). Then a small one.
    const big = records('b', 0, 4000, 250);
    const small = records('s', 4000, 3, 20);
    await appendOne(store, batchOf('d', 0, big));
    await appendOne(store, batchOf('d', 0, small));
    const all = [...big, ...small];
    for (const maxBytes of [1024, 64 * 1024, 256 * 1024, 4 * 1024 * 1024]) {
      expect(await readAll(store, 'd', 0, maxBytes), `maxBytes ${maxBytes}`).toEqual(all);
    }
    // From its first record and from inside it, with the store's default read size.
    const first = await store.read('d', 0, 0, {});
    expect(decodeBody(first.body)).toEqual(all.slice(0, first.count));
    expect(first.count).toBeGreaterThan(0);
    const inside = await store.read('d', 0, 2000, {});
    expect(decodeBody(inside.body)).toEqual(all.slice(2000, 2000 + inside.count));
    expect(inside.count).toBeGreaterThan(0);
    await store.close();
  });

  it('returns an empty chunk at the end, OUT_OF_RANGE past it, and refuses bad arguments', async () => {
    const store = await openStore(await tempDir());
    await store.createDataset('d', { partitions: 1 });
    await appendOne(store, batchOf('d', 0, [1, 2, 3]));
    const atEnd = await store.read('d', 0, 3);
    expect(atEnd).toMatchObject({ firstOffset: 3, count: 0, nextOffset: 3, endOffset: 3 });
    expect(atEnd.body.length).toBe(0);
    expect((await store.read('d', 0, 1, { endOffset: 1 })).count).toBe(0);
    await rejectsWith(store.read('d', 0, 4), 'OUT_OF_RANGE', /Expected an offset of dataset 'd' partition 0 from 0 to its end 3, got 4/);
    await rejectsWith(store.read('d', 0, -1), 'INVALID_ARGUMENT', /non-negative integer, got -1/);
    await rejectsWith(store.read('d', 0, 2, { endOffset: 1 }), 'INVALID_ARGUMENT', /at or after the start 2, got 1/);
    await rejectsWith(store.read('d', 0, 0, { maxBytes: 0 }), 'INVALID_ARGUMENT', /maxBytes/);
    // An end offset past the durable end is the durable end.
    expect((await store.read('d', 0, 0, { endOffset: 100 })).count).toBe(3);
    await store.close();
  });

  it('reads sealed segments whose indexes were evicted from the cache, after a reopen too', async () => {
    const dir = await tempDir();
    let store = await openStore(dir, { segmentBytes: 1024, maxCachedIndexes: 1, indexIntervalBytes: 256 });
    await store.createDataset('d', { partitions: 1 });
    const model: unknown[] = [];
    for (let i = 0; i < 60; i++) {
      const batch = records('e', model.length, 3);
      await appendOne(store, batchOf('d', 0, batch));
      model.push(...batch);
    }
    const files = await segmentFiles(dir, 'd', 0);
    expect(files.length).toBeGreaterThan(4);
    for (const from of [170, 5, 90, 0, 179, 45]) {
      expect(decodeBody((await store.read('d', 0, from, { maxBytes: 10 })).body)).toEqual([model[from]]);
    }
    await store.close();
    store = await openStore(dir, { segmentBytes: 1024, maxCachedIndexes: 1, indexIntervalBytes: 256 });
    expect(await readAll(store, 'd', 0, 200)).toEqual(model);
    await store.close();
  });
});
