import { describe, expect, it } from 'vitest';
import { hashKey } from '../../../src/common/partitioner.js';
import {
  compareCuts, cutRanges, emptyCut, formatCut, isBeforeCut, maxCut, minCut, parseCut, recordsBefore, recordsBetween, validateCut,
} from '../../../src/dataset/cut.js';
import { KeyPartitioner, keyOfField } from '../../../src/common/key-partitioner.js';
import { appendOne, batchOf, errorOf, openStore, throwsWith, useTempDirs } from './helpers.js';

describe('cuts', () => {
  const tempDir = useTempDirs();

  it('parses and formats the comma-separated form', () => {
    expect(parseCut('1200,0,310,77')).toEqual([1200, 0, 310, 77]);
    expect(parseCut(' 5 , 6')).toEqual([5, 6]);
    expect(parseCut('0')).toEqual([0]);
    expect(formatCut([1200, 0, 310, 77])).toBe('1200,0,310,77');
    expect(parseCut(formatCut([9_007_199_254_740_991 - 1, 3]))).toEqual([9_007_199_254_740_990, 3]);
  });

  it('refuses malformed text, naming the part', () => {
    throwsWith(() => parseCut(''), 'INVALID_ARGUMENT', /Expected a cut of comma-separated offsets such as '1200,0,310,77', got ''/);
    throwsWith(() => parseCut('1,,2'), 'INVALID_ARGUMENT', /Expected offset 1 of cut '1,,2' to be a non-negative integer \(one offset per partition, comma-separated\), got ''/);
    throwsWith(() => parseCut('1,-2'), 'INVALID_ARGUMENT', /offset 1 .* got '-2'/);
    throwsWith(() => parseCut('1.5'), 'INVALID_ARGUMENT', /got '1.5'/);
    throwsWith(() => parseCut('1e3'), 'INVALID_ARGUMENT');
    throwsWith(() => parseCut('0x10'), 'INVALID_ARGUMENT');
    throwsWith(() => parseCut('99999999999999999'), 'INVALID_ARGUMENT');
  });

  it('validates a cut against a dataset: its length, its offsets, and each partition end', async () => {
    const store = await openStore(await tempDir());
    await store.createDataset('clicks', { partitions: 3 });
    await appendOne(store, batchOf('clicks', 1, [1, 2, 3]));
    const ends = store.currentCut('clicks');
    expect(ends).toEqual([0, 3, 0]);
    expect(validateCut('clicks', [0, 2, 0], ends)).toEqual([0, 2, 0]);
    expect(validateCut('clicks', ends, ends)).toEqual(ends);
    throwsWith(() => validateCut('clicks', [0, 1], ends), 'INVALID_ARGUMENT', /Expected a cut of 3 offsets \(one per partition of dataset 'clicks'\), got 2 offsets/);
    throwsWith(() => validateCut('clicks', [0, 4, 0], ends), 'OUT_OF_RANGE', /Expected the cut's offset for partition 1 of dataset 'clicks' to be at most its end 3, got 4/);
    throwsWith(() => validateCut('clicks', [0, -1, 0], ends), 'INVALID_ARGUMENT', /partition 1 .* non-negative integer, got -1/);
    expect((await errorOf(() => validateCut('clicks', [0, 0, 7], ends))).ids).toEqual({ dataset: 'clicks', partition: 2, offset: 7 });
    await store.close();
  });

  it('orders cuts partially and counts the records between two', () => {
    expect(compareCuts([1, 2], [1, 2])).toBe('equal');
    expect(compareCuts([1, 2], [1, 3])).toBe('before');
    expect(compareCuts([2, 2], [1, 2])).toBe('after');
    expect(compareCuts([2, 1], [1, 2])).toBe('concurrent');
    throwsWith(() => compareCuts([1], [1, 2]), 'INVALID_ARGUMENT', /got 1 and 2 offsets/);
    expect(cutRanges([10, 0, 5], [12, 0, 9])).toEqual([{ partition: 0, from: 10, to: 12 }, { partition: 2, from: 5, to: 9 }]);
    expect(recordsBetween([10, 0, 5], [12, 0, 9])).toBe(6);
    expect(recordsBefore([10, 0, 5])).toBe(15);
    throwsWith(() => cutRanges([3, 0], [2, 5]), 'INVALID_ARGUMENT', /Expected cut 3,0 to be at or before cut 2,5, got partition 0 at 3 after 2/);
    expect(maxCut([1, 5], [3, 2])).toEqual([3, 5]);
    expect(minCut([1, 5], [3, 2])).toEqual([1, 2]);
    expect(emptyCut(3)).toEqual([0, 0, 0]);
    expect(isBeforeCut([3, 0], 0, 2)).toBe(true);
    expect(isBeforeCut([3, 0], 0, 3)).toBe(false);
    expect(isBeforeCut([3, 0], 1, 0)).toBe(false);
    expect(isBeforeCut([3, 0], 2, 0)).toBe(false);
  });

  it('splits every record to exactly one side of a cut (records between two cuts = the difference of the counts before)', () => {
    const a = [4, 0, 7];
    const b = [9, 3, 7];
    let between = 0;
    for (let p = 0; p < 3; p++) for (let o = 0; o < 12; o++) if (!isBeforeCut(a, p, o) && isBeforeCut(b, p, o)) between++;
    expect(between).toBe(recordsBetween(a, b));
    expect(recordsBetween(a, b)).toBe(recordsBefore(b) - recordsBefore(a));
  });
});

describe('key partitioner', () => {
  it('puts a key in hashKey(key) mod P, the batch layer\'s own partition', () => {
    const kp = new KeyPartitioner(7);
    for (const key of ['', 'a', 'user-42', 'é', '🙂']) expect(kp.partition(key)).toBe(hashKey(key) % 7);
  });

  it('keeps keyless records on one partition until the batch closes, then moves round robin', () => {
    const kp = new KeyPartitioner(3, 1);
    const seen: number[] = [];
    for (let batch = 0; batch < 5; batch++) {
      expect(kp.partition()).toBe(kp.partition());
      seen.push(kp.partition());
      kp.nextBatch();
    }
    expect(seen).toEqual([1, 2, 0, 1, 2]);
    expect(new KeyPartitioner(3, 7).partition()).toBe(1);
    throwsWith(() => new KeyPartitioner(0), 'INVALID_ARGUMENT', /positive integer, got 0/);
  });

  it('takes a key from a field: strings as they are, numbers and booleans as JSON, none when missing', () => {
    expect(keyOfField({ user: 'u1' }, 'user')).toBe('u1');
    expect(keyOfField({ user: 12 }, 'user')).toBe('12');
    expect(keyOfField({ user: true }, 'user')).toBe('true');
    expect(keyOfField({ user: null }, 'user')).toBeUndefined();
    expect(keyOfField({ other: 1 }, 'user')).toBeUndefined();
    expect(keyOfField('text', 'user')).toBeUndefined();
    throwsWith(() => keyOfField({ user: { id: 1 } }, 'user'), 'INVALID_ARGUMENT', /field 'user' .* got a object/);
  });
});
