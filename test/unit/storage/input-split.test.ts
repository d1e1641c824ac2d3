import { describe, expect, it } from 'vitest';
import { computeSplits, countSplits, MAX_MAP_TASKS } from '../../../src/storage/input-split.js';
import { intBelow, rng, throwsWith } from './helpers.js';

const file = (path: string, size: number) => ({ path, size });

describe('computeSplits', () => {
  it('cuts a file into split-size pieces and lets the last one be up to 1.1 times longer', () => {
    // 111 = 9 * 10 + 21: 21 / 10 > 1.1 takes one more 10, leaving 11, and 11 / 10 is not > 1.1.
    const expected = [[0, 10], [10, 10], [20, 10], [30, 10], [40, 10], [50, 10], [60, 10], [70, 10], [80, 10], [90, 10], [100, 11]];
    expect(computeSplits([file('/a', 111)], 10, 'text').map((s) => [s.start, s.length])).toEqual(expected);
  });

  it('leaves a short last split when the rest exceeds the slop', () => {
    expect(computeSplits([file('/a', 25)], 10, 'jsonl')).toEqual([
      { kind: 'file', path: '/a', start: 0, length: 10 },
      { kind: 'file', path: '/a', start: 10, length: 10 },
      { kind: 'file', path: '/a', start: 20, length: 5 },
    ]);
    expect(computeSplits([file('/a', 11)], 10, 'text')).toEqual([{ kind: 'file', path: '/a', start: 0, length: 11 }]);
    expect(computeSplits([file('/a', 12)], 10, 'text')).toEqual([
      { kind: 'file', path: '/a', start: 0, length: 10 },
      { kind: 'file', path: '/a', start: 10, length: 2 },
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
      { kind: 'file', path: '/a', start: 0, length: 5000 },
      { kind: 'file', path: '/b', start: 0, length: 0 },
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

  it('refuses more than MAX_MAP_TASKS splits before building them', () => {
    expect(MAX_MAP_TASKS).toBe(100_000);
    // One byte per split over 10^12 bytes: building them would take the heap down; counting takes no time.
    throwsWith(
      () => computeSplits([file('/big', 1e12)], 1, 'text'),
      'INVALID_ARGUMENT',
      /^Expected at most 100000 map tasks, got 1000000000000: raise --split-size \(now 1 bytes\)$/,
    );
    // Exactly at the limit is fine; one more is not.
    expect(computeSplits([file('/a', MAX_MAP_TASKS)], 1, 'text')).toHaveLength(MAX_MAP_TASKS);
    throwsWith(() => computeSplits([file('/a', MAX_MAP_TASKS), file('/b', 1)], 1, 'jsonl'), 'INVALID_ARGUMENT', /got 100001: raise --split-size/);
    const many = Array.from({ length: MAX_MAP_TASKS + 1 }, (_, i) => file(`/f${i}`, 0));
    throwsWith(() => computeSplits(many, 10, 'whole'), 'INVALID_ARGUMENT', /got 100001: whole input makes one map task per file/);
  });
});

describe('countSplits', () => {
  it('counts what computeSplits builds, at every slop boundary', () => {
    for (const splitSize of [1, 2, 3, 7, 10, 64, 100, 1000, 4096]) {
      const files = Array.from({ length: 60 }, (_, i) => file(`/f${i}`, i));
      // Sizes around each multiple of the split size and around 1.1 times it.
      for (let m = 1; m <= 25; m++) {
        for (const base of [m * splitSize, Math.floor((m + 0.1) * splitSize)]) {
          for (let d = -2; d <= 2; d++) if (base + d >= 0) files.push(file(`/g${m}-${base + d}`, base + d));
        }
      }
      for (const f of files) {
        for (const format of ['text', 'jsonl', 'whole'] as const) {
          expect(countSplits([f], splitSize, format), `${f.size} bytes in ${splitSize}-byte ${format} splits`).toBe(computeSplits([f], splitSize, format).length);
        }
      }
      expect(countSplits(files, splitSize, 'text')).toBe(computeSplits(files, splitSize, 'text').length);
    }
  });

  it('counts random sizes like computeSplits', () => {
    const random = rng(7);
    for (let i = 0; i < 2000; i++) {
      const splitSize = 1 + intBelow(random, 5000);
      const size = intBelow(random, splitSize * 40);
      expect(countSplits([file('/a', size)], splitSize, 'text')).toBe(computeSplits([file('/a', size)], splitSize, 'text').length);
    }
  });

  it('counts huge inputs without building anything', () => {
    expect(countSplits([file('/a', 2 ** 52)], 1, 'text')).toBe(2 ** 52);
    expect(countSplits([file('/a', 1e15), file('/b', 0)], 64 * 1024 * 1024, 'text')).toBe(Math.ceil(1e15 / (64 * 1024 * 1024)));
    expect(countSplits([file('/a', 5), file('/b', 0)], 1, 'whole')).toBe(2);
  });

  it('refuses the arguments computeSplits refuses', () => {
    throwsWith(() => countSplits([file('/a', 10)], 0, 'text'), 'INVALID_ARGUMENT', /Expected the split size to be a positive integer/);
    throwsWith(() => countSplits([file('/a', 10)], 10, 'csv' as never), 'INVALID_ARGUMENT', /Expected the input format to be one of/);
  });
});
