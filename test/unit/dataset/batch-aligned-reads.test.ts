/**
 * Reads of a segment file that end where batches end (batch-aligned-reads.ts):
 * the chunks tile the range, every chunk but the last ends at a batch's end,
 * a batch larger than the read is read whole, and the batch reader gives the
 * store's records from them.
 */
import { open, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readArchivedSplit } from '../../../src/dataset/archive-reader.js';
import { batchAlignedReads } from '../../../src/dataset/batch-aligned-reads.js';
import { parseBatchHeader } from '../../../src/dataset/batch-format.js';
import { batchOf, openStore, readAll, records, useTempDirs } from './helpers.js';

const DATASET = 'clicks';

/** Byte positions where the batches of `bytes` end, walked from its start. */
function batchEnds(bytes: Buffer): Set<number> {
  const ends = new Set<number>();
  for (let pos = 0; pos < bytes.length;) {
    const h = parseBatchHeader(bytes, pos);
    if (typeof h === 'string') throw new Error(`not a batch at ${pos}: ${h}`);
    pos += h.batchBytes;
    ends.add(pos);
  }
  return ends;
}

describe('batch-aligned reads of a segment file', () => {
  const dirs = useTempDirs();

  /** One segment of batches from 1 record to 300 records (about 100 B to 30 KB), and its file. */
  async function segment(): Promise<{ all: unknown[]; path: string; bytes: Buffer }> {
    const store = await openStore(join(await dirs(), 'datasets'), { segmentBytes: 64 * 1024 * 1024 });
    await store.createDataset(DATASET, { partitions: 1 });
    let n = 0;
    for (const size of [1, 300, 7, 120, 2, 250, 1, 1, 90, 300, 40, 5, 260]) {
      await store.append([batchOf(DATASET, 0, records('r', n, size, 80))]);
      n += size;
    }
    const all = await readAll(store, DATASET, 0);
    const [range] = await store.localRanges(DATASET, 0, 0, all.length);
    const bytes = await readFile(range!.path);
    expect(range!.start).toBe(0);
    expect(range!.end).toBe(bytes.length);
    await store.close();
    return { all, path: range!.path, bytes };
  }

  it('tiles the range with chunks that end at batch ends, reading a batch larger than the read whole, for any read size', async () => {
    const { path, bytes } = await segment();
    const ends = batchEnds(bytes);
    const largest = Math.max(...[...ends].map((e, i, a) => e - (i === 0 ? 0 : a[i - 1]!)));
    const fh = await open(path);
    try {
      for (const minBytes of [1, 100, 4096, 20_000, largest - 1, largest, largest + 1, bytes.length, 10 * bytes.length]) {
        for (const [start, end] of [[0, bytes.length], [[...ends][2]!, bytes.length], [0, [...ends][8]!]] as const) {
          const chunks: Buffer[] = [];
          for await (const c of batchAlignedReads(fh, minBytes)(path, start, end)) chunks.push(c);
          expect(Buffer.concat(chunks).equals(bytes.subarray(start, end))).toBe(true);
          // Through the thread pool: the same chunks.
          const pooled: Buffer[] = [];
          for await (const c of batchAlignedReads(fh, minBytes, { syncReads: false })(path, start, end)) pooled.push(c);
          expect(pooled.map((c) => c.length)).toEqual(chunks.map((c) => c.length));
          expect(Buffer.concat(pooled).equals(bytes.subarray(start, end))).toBe(true);
          let at = start;
          for (const c of chunks) {
            at += c.length;
            // Each chunk ends at a batch's end (the range's ends are batch ends too).
            expect(ends.has(at)).toBe(true);
          }
          // Chunks hold as many whole batches as fit in the read: the next batch would not have fit. The read is
          // minBytes, grown to the largest batch read so far (reads smaller than a header grow by doubling first,
          // which this model leaves out: checked from 4 KiB reads on).
          if (minBytes < 4096) continue;
          let readSize = minBytes;
          for (let i = 0, pos = start; i < chunks.length - 1; i++) {
            const chunkEnd = pos + chunks[i]!.length;
            for (let p = pos; p < chunkEnd;) {
              const h = parseBatchHeader(bytes, p);
              if (typeof h === 'string') throw new Error('not a batch');
              readSize = Math.max(readSize, h.batchBytes);
              p += h.batchBytes;
            }
            pos = chunkEnd;
            const next = parseBatchHeader(bytes, pos);
            if (typeof next === 'string') throw new Error('not a batch');
            expect(chunks[i]!.length + next.batchBytes).toBeGreaterThan(readSize);
          }
        }
      }
    } finally {
      await fh.close();
    }
  });

  it('gives the batch reader chunks it reads in place, with the store\'s records and offsets, mid-batch cuts included', async () => {
    const { all, path, bytes } = await segment();
    const fh = await open(path);
    try {
      for (const minBytes of [64, 4096, 1024 * 1024]) {
        for (const [from, to] of [[0, all.length], [3, all.length - 2], [301, 302], [0, 1]] as const) {
          const got: unknown[] = [];
          let next = from;
          const split = { kind: 'dataset' as const, dataset: DATASET, partition: 0, startOffset: from, endOffset: to, archive: { path, start: 0, end: bytes.length } };
          for await (const chunk of readArchivedSplit(split, batchAlignedReads(fh, minBytes), 'segment file')) {
            expect(chunk.firstOffset).toBe(next);
            got.push(...chunk.records);
            next += chunk.records.length;
          }
          expect(got).toEqual(all.slice(from, to));
        }
      }
    } finally {
      await fh.close();
    }
  });

  it('yields bytes that are not batches as they are read, for the batch reader to refuse (DATA_LOSS)', async () => {
    const { all, path, bytes } = await segment();
    const ends = [...batchEnds(bytes)];
    // Damage the magic of the fourth batch: the reads stop aligning there, and the reader names its byte.
    const damaged = Buffer.from(bytes);
    damaged.writeUInt32LE(0xdeadbeef, ends[2]!);
    const copy = `${path}.damaged`;
    await writeFile(copy, damaged);
    const fh = await open(copy);
    try {
      const chunks: Buffer[] = [];
      for await (const c of batchAlignedReads(fh, 4096)(copy, 0, damaged.length)) chunks.push(c);
      expect(Buffer.concat(chunks).equals(damaged)).toBe(true);
      const split = { kind: 'dataset' as const, dataset: DATASET, partition: 0, startOffset: 0, endOffset: all.length, archive: { path: copy, start: 0, end: damaged.length } };
      const read = async (): Promise<void> => {
        for await (const chunk of readArchivedSplit(split, batchAlignedReads(fh, 4096), 'segment file')) void chunk;
      };
      await expect(read()).rejects.toMatchObject({ code: 'DATA_LOSS', message: expect.stringContaining(`at byte ${ends[2]}`) });
    } finally {
      await fh.close();
    }
  });

  it('ends with DATA_LOSS on a file shorter than its range, also when a damaged header says a batch runs past the end', async () => {
    const { all, path, bytes } = await segment();
    const ends = [...batchEnds(bytes)];
    const cut = ends[5]! + 100;
    const short = bytes.subarray(0, cut);
    const damaged = Buffer.from(short);
    // The sixth batch's body length made larger than anything left (the header's own CRC then fails too).
    damaged.writeUInt32LE(bytes.length * 4, ends[4]! + 16);
    for (const [name, content] of [['short', short], ['short-damaged', damaged]] as const) {
      const copy = `${path}.${name}`;
      await writeFile(copy, content);
      const fh = await open(copy);
      let reads = 0;
      const counted = new Proxy(fh, {
        get(target, prop, receiver) {
          if (prop === 'read') {
            return (...args: Parameters<typeof fh.read>) => {
              if (++reads > 100) throw new Error('more than 100 reads of a file of a few KB');
              return target.read(...args);
            };
          }
          const v: unknown = Reflect.get(target, prop, receiver);
          return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
        },
      });
      try {
        for (const minBytes of [64, 4096, 1024 * 1024]) {
          reads = 0;
          const split = { kind: 'dataset' as const, dataset: DATASET, partition: 0, startOffset: 0, endOffset: all.length, archive: { path: copy, start: 0, end: bytes.length } };
          const read = async (): Promise<void> => {
            for await (const chunk of readArchivedSplit(split, batchAlignedReads(counted, minBytes), 'segment file')) void chunk;
          };
          await expect(read()).rejects.toMatchObject({ code: 'DATA_LOSS' });
        }
      } finally {
        await fh.close();
      }
    }
  });
});
