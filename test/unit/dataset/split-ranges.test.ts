import { describe, expect, it } from 'vitest';
import type { DatasetSplit } from '../../../src/common/input-split.js';
import { storeDatasetAccess } from '../../../src/dataset/input-access.js';
import type { LogDatasetStore } from '../../../src/dataset/log-dataset-store.js';
import { RANGE_SLOP, splitRanges, type BatchMark, type OffsetRange } from '../../../src/dataset/split-ranges.js';
import { datasetFormat } from '../../../src/storage/input-formats/dataset.js';
import { appendOne, batchOf, intBelow, openStore, readAll, records, rejectsWith, rng, throwsWith, useTempDirs } from './helpers.js';

/** Random batch starts: offsets strictly increasing from 0, positions growing with the batches' sizes. */
function randomMarks(random: () => number, batches: number): { marks: BatchMark[]; end: number; endPosition: number } {
  const marks: BatchMark[] = [];
  let offset = 0;
  let position = 0;
  for (let i = 0; i < batches; i++) {
    marks.push({ offset, position });
    offset += 1 + intBelow(random, 30);
    position += 50 + intBelow(random, 3000);
  }
  return { marks, end: offset, endPosition: position };
}

/** Checks that `ranges` tile [0, end), in order, without gaps or empty ranges. */
function expectTiling(ranges: readonly OffsetRange[], end: number): void {
  let at = 0;
  for (const r of ranges) {
    expect(r.startOffset).toBe(at);
    expect(r.endOffset).toBeGreaterThan(r.startOffset);
    at = r.endOffset;
  }
  expect(at).toBe(end);
}

describe('splitRanges (pure)', () => {
  it('tiles [0, end) with ranges starting at batch starts, each cut at the first batch start a target past its own', () => {
    const random = rng(11);
    for (let round = 0; round < 200; round++) {
      const { marks, end: fullEnd, endPosition: fullEndPosition } = randomMarks(random, 1 + intBelow(random, 60));
      // Half the rounds cut inside the partition, mid-batch: the position of the cut is bounded by the next batch start.
      const end = round % 2 === 0 ? fullEnd : 1 + intBelow(random, fullEnd);
      const next = marks.find((m) => m.offset >= end);
      const endPosition = next ? next.position : fullEndPosition;
      const target = 100 + intBelow(random, 20_000);
      const ranges = splitRanges(marks, end, endPosition, target);
      expectTiling(ranges, end);
      const positionOf = new Map(marks.map((m) => [m.offset, m.position]));
      for (const [i, r] of ranges.entries()) {
        const start = positionOf.get(r.startOffset);
        // Every range starts at a batch start (the first at 0, which is one).
        expect(start).toBeDefined();
        if (i === ranges.length - 1) {
          // The last range runs past a target only when nothing could be cut off it, or the rest is within the slop.
          if ((endPosition - start!) / target > RANGE_SLOP) {
            for (const m of marks) if (m.offset > r.startOffset && m.offset < end) expect(m.position - start!).toBeLessThan(target);
          }
          continue;
        }
        // A range ends at the first batch start at least a target past its start...
        expect(positionOf.get(r.endOffset)! - start!).toBeGreaterThanOrEqual(target);
        for (const m of marks) {
          if (m.offset > r.startOffset && m.offset < r.endOffset) expect(m.position - start!).toBeLessThan(target);
        }
        // ...and only when what follows is more than the slop of a target.
        expect((endPosition - start!) / target).toBeGreaterThan(RANGE_SLOP);
      }
    }
  });

  it('gives no range for an empty partition, one for a partition within the slop of a target', () => {
    expect(splitRanges([], 0, 0, 100)).toEqual([]);
    const marks = [{ offset: 0, position: 0 }, { offset: 10, position: 60 }, { offset: 20, position: 100 }];
    expect(splitRanges(marks, 25, 108, 100)).toEqual([{ startOffset: 0, endOffset: 25 }]);
    expect(splitRanges(marks, 25, 112, 100)).toEqual([{ startOffset: 0, endOffset: 20 }, { startOffset: 20, endOffset: 25 }]);
    // Without any batch start known past 0, the whole partition is one range.
    expect(splitRanges([], 7, 1_000_000, 100)).toEqual([{ startOffset: 0, endOffset: 7 }]);
  });

  it('refuses a target or end that is not an integer in range', () => {
    for (const bad of [0, -1, 1.5, Number.NaN]) throwsWith(() => splitRanges([], 5, 10, bad), 'INVALID_ARGUMENT', /Expected the split size to be a positive integer/);
    throwsWith(() => splitRanges([], -1, 10, 10), 'INVALID_ARGUMENT', /Expected an end offset that is a non-negative integer, got -1/);
  });
});

describe('split ranges of a dataset store', () => {
  const tempDir = useTempDirs();

  /** Appends `batches` batches of 1 to 20 records to a partition; returns each batch's first offset. */
  async function appendBatches(store: LogDatasetStore, partition: number, batches: number, random: () => number): Promise<number[]> {
    const starts: number[] = [];
    let n = 0;
    for (let b = 0; b < batches; b++) {
      const count = 1 + intBelow(random, 20);
      starts.push((await appendOne(store, batchOf('d', partition, records(`p${partition}`, n, count, 40 + intBelow(random, 80))))).firstOffset);
      n += count;
    }
    return starts;
  }

  /** Reads every range as the map tasks would: through the dataset format over the store. */
  async function readRanges(store: LogDatasetStore, partition: number, ranges: readonly OffsetRange[]): Promise<Array<{ offset: number; record: unknown }>> {
    const format = datasetFormat(storeDatasetAccess(store));
    const seen: Array<{ offset: number; record: unknown }> = [];
    for (const r of ranges) {
      const split: DatasetSplit = { kind: 'dataset', dataset: 'd', partition, startOffset: r.startOffset, endOffset: r.endOffset };
      await format.read(split, (origin) => origin, (record, origin) => {
        if (origin.kind !== 'dataset') throw new Error('expected a dataset origin');
        expect(origin).toMatchObject({ dataset: 'd', partition });
        seen.push({ offset: origin.offset, record });
      });
    }
    return seen;
  }

  it('cuts partitions at batch starts only, reads each record before the cut exactly once, and gives an empty partition no range', async () => {
    const dir = await tempDir();
    // Every batch start in the index, and small segments: ranges may start at any batch and span segments.
    const store = await openStore(dir, { segmentBytes: 4096, indexIntervalBytes: 1, maxCachedIndexes: 2 });
    await store.createDataset('d', { partitions: 3 });
    const random = rng(5);
    const starts = [await appendBatches(store, 0, 120, random), await appendBatches(store, 1, 80, random)];
    const ends = store.currentCut('d');
    expect(ends[2]).toBe(0);
    // Partition 0 cut inside a batch; partition 1 at its end; partition 2 empty.
    const midBatch = starts[0]!.find((s, i) => i > 60 && starts[0]![i + 1]! - s > 2)! + 1;
    const cut = [midBatch, ends[1]!, 0];
    for (const target of [1000, 3000, 50_000]) {
      for (let p = 0; p < 3; p++) {
        const ranges = await store.splitRanges('d', p, cut[p]!, target);
        if (cut[p] === 0) {
          expect(ranges).toEqual([]);
          continue;
        }
        expectTiling(ranges, cut[p]!);
        for (const r of ranges) expect(starts[p]).toContain(r.startOffset);
        if (target === 1000) expect(ranges.length).toBeGreaterThan(5);
        const seen = await readRanges(store, p, ranges);
        expect(seen.map((s) => s.offset)).toEqual(Array.from({ length: cut[p]! }, (_, i) => i));
        expect(seen.map((s) => s.record)).toEqual((await readAll(store, 'd', p)).slice(0, cut[p]));
      }
    }
    await store.close();
  });

  it('cuts by the offset index\'s granularity: a partition smaller than an index interval is one range', async () => {
    const dir = await tempDir();
    const store = await openStore(dir);
    await store.createDataset('d', { partitions: 1 });
    await appendBatches(store, 0, 30, rng(8));
    const end = store.currentCut('d')[0]!;
    expect(await store.splitRanges('d', 0, end, 100)).toEqual([{ startOffset: 0, endOffset: end }]);
    await store.close();
  });

  it('refuses an end past the durable end, an unknown dataset or partition', async () => {
    const dir = await tempDir();
    const store = await openStore(dir);
    await store.createDataset('d', { partitions: 2 });
    await appendOne(store, batchOf('d', 0, records('a', 0, 3)));
    await rejectsWith(store.splitRanges('d', 0, 4, 100), 'OUT_OF_RANGE', /at most its end 3, got 4/);
    await rejectsWith(store.splitRanges('nope', 0, 0, 100), 'NOT_FOUND', /Expected an existing dataset, got 'nope'/);
    await rejectsWith(store.splitRanges('d', 2, 0, 100), 'NOT_FOUND', /from 0 to 1, got 2/);
    await store.close();
  });
});
