/**
 * The speed layer's independent reference (test/integration/speed-reference.ts)
 * on data small enough to count by hand: page views per page and minute over
 * two partitions.
 */
import { describe, expect, it } from 'vitest';
import { answerOffsets, describeMismatches, diffAnswer, foldLog, foldLogAt, type LogReader, type LogRecord, type ReferenceFold } from '../integration/speed-reference.js';

interface Ev { readonly page: string; readonly type: 'view' | 'click'; readonly t: number }

const v = (page: string, t: number): Ev => ({ page, type: 'view', t });
const c = (page: string, t: number): Ev => ({ page, type: 'click', t });

/** Partition 0 and 1 of dataset 'clicks'; times in ms (minute 0 is [0, 60000)). */
const LOG: Ev[][] = [
  [v('a', 0), v('b', 61_000), c('a', 1000), v('a', 59_999), v('a', 60_000)],
  [v('a', 5), c('b', 70_000), v('b', 65_000)],
];

/** Views per page and minute: the hand-written fold of these tests. */
const viewsPerMinute: ReferenceFold<number> = {
  add(state, record) {
    const e = record as Ev;
    if (e.type !== 'view') return;
    const key = `${e.page}|${Math.floor(e.t / 60_000)}`;
    state.set(key, (state.get(key) ?? 0) + 1);
  },
  combine: (x, y) => x + y,
};

/** A reader over LOG that counts its reads and the records it yields. */
function fakeReader(log: Ev[][] = LOG, options: { skipOffset?: number } = {}): LogReader & { reads: number[]; yielded: number[] } {
  const reads = log.map(() => 0);
  const yielded = log.map(() => 0);
  return {
    reads,
    yielded,
    async *read(dataset, o): AsyncGenerator<LogRecord> {
      expect(dataset).toBe('clicks');
      reads[o.partition]!++;
      const records = log[o.partition]!;
      const end = Math.min(o.endOffset ?? records.length, records.length);
      for (let offset = o.from ?? 0; offset < end; offset++) {
        if (offset === options.skipOffset) continue;
        yielded[o.partition]!++;
        await Promise.resolve();
        yield { partition: o.partition, offset, record: records[offset] };
      }
    },
  };
}

const sorted = (m: Map<string, number>): Array<[string, number]> => [...m].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));

describe('foldLog', () => {
  it('folds exactly the records before each partition offset', async () => {
    // p0 [0, 4): a@0, b@61000, click, a@59999; p1 [0, 1): a@5.
    expect(sorted(await foldLog(fakeReader(), 'clicks', [4, 1], viewsPerMinute))).toEqual([['a|0', 3], ['b|1', 1]]);
    // Everything: p0 adds a@60000; p1 adds b@65000 (the click at 70000 is not a view).
    expect(sorted(await foldLog(fakeReader(), 'clicks', [5, 3], viewsPerMinute))).toEqual([['a|0', 3], ['a|1', 1], ['b|1', 2]]);
    expect(sorted(await foldLog(fakeReader(), 'clicks', [0, 0], viewsPerMinute))).toEqual([]);
  });

  it('throws when a partition ends before the offset asked', async () => {
    await expect(foldLog(fakeReader(), 'clicks', [6, 0], viewsPerMinute)).rejects.toThrow('partition 0 of clicks to have records up to offset 6, it ended at 5');
  });

  it('throws when the reader skips an offset', async () => {
    await expect(foldLog(fakeReader(LOG, { skipOffset: 2 }), 'clicks', [5, 0], viewsPerMinute)).rejects.toThrow('partition 0 of clicks to yield offset 2, got 3');
  });
});

describe('foldLogAt', () => {
  it('gives the fold at every vector, in the order asked, reading each partition once', async () => {
    const reader = fakeReader();
    const vectors = [[5, 3], [0, 0], [2, 1], [2, 3], [5, 3], [1, 0]];
    const folds = await foldLogAt(reader, 'clicks', vectors, viewsPerMinute);
    expect(folds.map(sorted)).toEqual([
      [['a|0', 3], ['a|1', 1], ['b|1', 2]],
      [],
      [['a|0', 2], ['b|1', 1]],
      [['a|0', 2], ['b|1', 2]],
      [['a|0', 3], ['a|1', 1], ['b|1', 2]],
      [['a|0', 1]],
    ]);
    expect(reader.reads).toEqual([1, 1]);
    expect(reader.yielded).toEqual([5, 3]);
  });

  it('does not read a partition every vector leaves at 0', async () => {
    const reader = fakeReader();
    expect((await foldLogAt(reader, 'clicks', [[3, 0], [1, 0]], viewsPerMinute)).map(sorted)).toEqual([[['a|0', 1], ['b|1', 1]], [['a|0', 1]]]);
    expect(reader.reads).toEqual([1, 0]);
  });

  it('refuses vectors of different lengths and offsets that are not counts', async () => {
    await expect(foldLogAt(fakeReader(), 'clicks', [[1, 1], [1]], viewsPerMinute)).rejects.toThrow('every offset vector to have 2 partitions, got [1]');
    await expect(foldLogAt(fakeReader(), 'clicks', [[1, -1]], viewsPerMinute)).rejects.toThrow('non-negative integers, got [1,-1]');
  });
});

describe('answerOffsets', () => {
  it('is the speed vector when the answer has one, else the cut', () => {
    expect(answerOffsets({ cut: [2, 1] })).toEqual([2, 1]);
    expect(answerOffsets({ cut: [2, 1], speed: [5, 1] })).toEqual([5, 1]);
  });

  it('refuses a coverage that contradicts itself', () => {
    expect(() => answerOffsets({ cut: [2, 1], speed: [1, 3] })).toThrow('Expected speed offset A_0 >= cut_0 (2), got 1');
    expect(() => answerOffsets({ cut: [2, 1], speed: [2] })).toThrow('one offset per partition of its cut (2), got 1');
  });
});

describe('diffAnswer', () => {
  const expected = new Map([['a|0', 3], ['b|1', 2]]);

  it('finds no mismatch in an exact answer', () => {
    expect(diffAnswer(expected, [['b|1', 2], ['a|0', 3]], { complete: true })).toEqual([]);
    expect(diffAnswer(expected, [['b|1', 2], ['z|9', undefined]], { complete: false })).toEqual([]);
  });

  it('names every key whose value differs, is extra, is missing or repeats', () => {
    const got: Array<[string, number | undefined]> = [['a|0', 4], ['c|0', 1], ['b|1', undefined], ['a|0', 4]];
    expect(diffAnswer(expected, got, { complete: false })).toEqual([
      { key: 'a|0', expected: 3, got: 4 },
      { key: 'c|0', expected: undefined, got: 1 },
      { key: 'b|1', expected: 2, got: undefined },
      { key: 'a|0', expected: 3, got: 4 },
    ]);
    expect(diffAnswer(expected, [['a|0', 3]], { complete: true })).toEqual([{ key: 'b|1', expected: 2, got: undefined }]);
    expect(diffAnswer(expected, [['a|0', 3]], { complete: false })).toEqual([]);
  });

  it('compares values exactly, structured ones too', () => {
    const sets = new Map([['k', ['x', 'y']]]);
    expect(diffAnswer(sets, [['k', ['x', 'y']]], { complete: true })).toEqual([]);
    expect(diffAnswer(sets, [['k', ['y', 'x']]], { complete: true })).toHaveLength(1);
    expect(diffAnswer(new Map([['k', 1]]), [['k', 1.0000001]], { complete: true })).toHaveLength(1);
  });

  it('describes mismatches briefly', () => {
    expect(describeMismatches([])).toBe('no mismatch');
    expect(describeMismatches([{ key: 'a|0', expected: 3, got: 4 }])).toBe('1 mismatches (a|0: expected 3, got 4)');
  });
});
