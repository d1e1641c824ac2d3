import { describe, expect, it } from 'vitest';
import { computeSplits } from '../../../src/storage/input-split.js';
import { throwsWith } from './helpers.js';

const file = (path: string, size: number) => ({ path, size });

describe('computeSplits', () => {
  it('cuts a file into split-size pieces and lets the last one be up to 1.1 times longer', () => {
    // 111 = 9 * 10 + 21: 21 / 10 > 1.1 takes one more 10, leaving 11, and 11 / 10 is not > 1.1.
    const expected = [[0, 10], [10, 10], [20, 10], [30, 10], [40, 10], [50, 10], [60, 10], [70, 10], [80, 10], [90, 10], [100, 11]];
    expect(computeSplits([file('/a', 111)], 10, 'text').map((s) => [s.start, s.length])).toEqual(expected);
  });

  it('leaves a short last split when the rest exceeds the slop', () => {
    expect(computeSplits([file('/a', 25)], 10, 'jsonl')).toEqual([
      { path: '/a', start: 0, length: 10 },
      { path: '/a', start: 10, length: 10 },
      { path: '/a', start: 20, length: 5 },
    ]);
    expect(computeSplits([file('/a', 11)], 10, 'text')).toEqual([{ path: '/a', start: 0, length: 11 }]);
    expect(computeSplits([file('/a', 12)], 10, 'text')).toEqual([
      { path: '/a', start: 0, length: 10 },
      { path: '/a', start: 10, length: 2 },
    ]);
  });

  it('covers every byte of every file exactly once, in order', () => {
    const files = [file('/x', 0), file('/y', 1), file('/z', 1000), file('/w', 4097)];
    for (const size of [1, 3, 7, 64, 100, 999, 1000, 5000]) {
      const splits = computeSplits(files, size, 'text');
      for (const f of files) {
        const mine = splits.filter((s) => s.path === f.path);
        let at = 0;
        for (const s of mine) {
          expect(s.start).toBe(at);
          expect(s.length).toBeGreaterThan(0);
          expect(s.length).toBeLessThanOrEqual(size * 1.1);
          at += s.length;
        }
        expect(at).toBe(f.size);
      }
    }
  });

  it('gives one whole-file split per file for whole input, empty files included', () => {
    expect(computeSplits([file('/a', 5000), file('/b', 0)], 10, 'whole')).toEqual([
      { path: '/a', start: 0, length: 5000 },
      { path: '/b', start: 0, length: 0 },
    ]);
  });

  it('gives no split for empty text files', () => {
    expect(computeSplits([file('/a', 0), file('/b', 0)], 10, 'text')).toEqual([]);
  });

  it('refuses a split size that is not a positive integer', () => {
    for (const bad of [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
      throwsWith(() => computeSplits([file('/a', 10)], bad, 'text'), 'INVALID_ARGUMENT', /Expected the split size to be a positive integer/);
    }
  });
});
