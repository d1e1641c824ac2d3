import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LaminateError } from '../../../src/common/errors.js';
import { parseBatchHeader } from '../../../src/dataset/batch-format.js';
import type { LogDatasetStore } from '../../../src/dataset/log-dataset-store.js';
import { decodeBody } from '../../../src/storage/record-body.js';
import { appendOne, batchOf, openStore, partitionPath, records, segmentFiles, useTempDirs } from './helpers.js';

async function caught(p: Promise<unknown>): Promise<LaminateError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof LaminateError) return err;
    throw err;
  }
  throw new Error('Expected an error, got none');
}

/** A store of one partition, `n` batches of 5 records each, over several small segments. */
async function filled(dir: string, n: number): Promise<{ store: LogDatasetStore; model: unknown[] }> {
  const store = await openStore(dir, { segmentBytes: 1500, indexIntervalBytes: 1 });
  await store.createDataset('clicks', { partitions: 2 });
  const model: unknown[] = [];
  for (let i = 0; i < n; i++) {
    const batch = records('c', model.length, 5);
    await appendOne(store, batchOf('clicks', 1, batch));
    model.push(...batch);
  }
  return { store, model };
}

/** The second segment file and its batches (position, base offset, header bytes). */
async function middleSegment(dir: string): Promise<{ path: string; bytes: Buffer; batches: { position: number; baseOffset: number; headerBytes: number }[] }> {
  const files = await segmentFiles(dir, 'clicks', 1);
  expect(files.length).toBeGreaterThanOrEqual(3);
  const path = join(partitionPath(dir, 'clicks', 1), files[1]!);
  const bytes = await readFile(path);
  const batches = [];
  for (let p = 0; p < bytes.length;) {
    const h = parseBatchHeader(bytes, p);
    if (typeof h === 'string') throw new Error(h);
    batches.push({ position: p, baseOffset: h.baseOffset, headerBytes: h.headerBytes });
    p += h.batchBytes;
  }
  return { path, bytes, batches };
}

describe('damage in a sealed segment', () => {
  const tempDir = useTempDirs();

  it('reports a flipped byte in a batch body on read as DATA_LOSS with dataset, partition and offset; other records read', async () => {
    const dir = await tempDir();
    const { store, model } = await filled(dir, 40);
    const seg = await middleSegment(dir);
    const victim = seg.batches[1]!;
    seg.bytes[victim.position + victim.headerBytes + 9]! ^= 0x04;
    await writeFile(seg.path, seg.bytes);
    // Without a reopen: reads go to the disk, and the CRC check catches it.
    for (const from of [victim.baseOffset, victim.baseOffset + 3]) {
      const err = await caught(store.read('clicks', 1, from));
      expect(err.code).toBe('DATA_LOSS');
      expect(err.ids).toEqual({ dataset: 'clicks', partition: 1, offset: victim.baseOffset });
      expect(err.message).toMatch(new RegExp(`offset ${victim.baseOffset} of dataset 'clicks' partition 1, got a batch whose CRC does not match`));
    }
    // A read that starts before it stops short of it... and then fails at it, never returning the damaged records.
    const before = await store.read('clicks', 1, victim.baseOffset - 5, { maxBytes: 1 << 20 });
    expect(decodeBody(before.body)).toEqual(model.slice(victim.baseOffset - 5, victim.baseOffset));
    const after = await store.read('clicks', 1, victim.baseOffset + 5, { maxBytes: 200 });
    expect(decodeBody(after.body)).toEqual(model.slice(victim.baseOffset + 5, victim.baseOffset + 5 + after.count));
    await store.close();
  });

  it('finds a damaged header when indexing a sealed segment after a reopen, and still reads past it', async () => {
    const dir = await tempDir();
    const first = await filled(dir, 40);
    await first.store.close();
    const seg = await middleSegment(dir);
    const victim = seg.batches[2]!;
    seg.bytes[victim.position]! ^= 0xff; // the magic: the header walk cannot step over it
    await writeFile(seg.path, seg.bytes);
    const store = await openStore(dir, { segmentBytes: 1500, indexIntervalBytes: 1 });
    // Opening reads only the last segment: it succeeds and the end is whole.
    expect(store.currentCut('clicks')).toEqual([0, first.model.length]);
    const err = await caught(store.read('clicks', 1, victim.baseOffset + 1));
    expect(err.code).toBe('DATA_LOSS');
    expect(err.ids).toEqual({ dataset: 'clicks', partition: 1, offset: victim.baseOffset });
    const next = seg.batches[3]!;
    const chunk = await store.read('clicks', 1, next.baseOffset, { maxBytes: 100_000 });
    expect(decodeBody(chunk.body)).toEqual(first.model.slice(next.baseOffset, next.baseOffset + chunk.count));
    expect(chunk.count).toBeGreaterThan(0);
    await store.close();
  });
});
