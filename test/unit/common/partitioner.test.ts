import { describe, expect, it } from 'vitest';
import { hashKey, hashPartition, rangePartitioner } from '../../../src/common/partitioner.js';
import { compareKeys } from '../../../src/storage/key-order.js';
import { fnv1a } from '../../support/fnv1a.js';

describe('partitioners', () => {
  it('hashes keys with 32-bit FNV-1a, the same value on every call', () => {
    for (const key of ['', 'a', 'the', 'Gregor Samsa', '\u00e9t\u00e9', '\u{1f600}', 'x'.repeat(1000)]) {
      expect(hashKey(key)).toBe(fnv1a(key));
      expect(hashKey(key)).toBe(hashKey(key));
    }
    // Published FNV-1a test vectors.
    expect(hashKey('')).toBe(0x811c9dc5);
    expect(hashKey('a')).toBe(0xe40c292c);
    expect(hashKey('foobar')).toBe(0xbf9cf968);
  });

  it('spreads keys over every reducer, each key always to the same one', () => {
    const counts = new Array<number>(7).fill(0);
    for (let i = 0; i < 7000; i++) {
      const p = hashPartition(`word${i}`, 7);
      expect(p).toBe(fnv1a(`word${i}`) % 7);
      counts[p]!++;
    }
    for (const c of counts) expect(c).toBeGreaterThan(700);
  });

  it('sends keys to the range below the first split point greater than them (total order)', () => {
    const part = rangePartitioner(['c', 'f', 'f', 'm'], compareKeys);
    expect(['a', 'b', 'bz'].map(part)).toEqual([0, 0, 0]);
    expect(['c', 'd', 'ezz'].map(part)).toEqual([1, 1, 1]);
    // Equal split points leave a reducer empty; the key goes past both.
    expect(['f', 'g', 'lzz'].map(part)).toEqual([3, 3, 3]);
    expect(['m', 'z', '\u{1f600}'].map(part)).toEqual([4, 4, 4]);
    // Partitions follow key order: a sorted list of keys gets non-decreasing partitions.
    const keys = ['zz', 'a', 'q', 'f', 'c', 'mm', 'e', 'b'].sort(compareKeys);
    const parts = keys.map(part);
    expect([...parts].sort((x, y) => x - y)).toEqual(parts);
  });
});
