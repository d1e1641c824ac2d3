import { describe, expect, it } from 'vitest';
import { sortedOrder } from '../../../src/storage/key-sort.js';
import { pick, rng } from './helpers.js';

const UNITS = ['', '\u0000', 'a', 'b', '\u00e9', '\ud7ff', '\ue000', '\ufffd', '\uffff', '\u{10000}', '\u{1f600}', 'zz'];

/** The expected order computed plainly: indexes stable-sorted by the UTF-8 bytes of their keys. */
function naiveOrder(keys: readonly string[]): number[] {
  const bytes = keys.map((k) => Buffer.from(k, 'utf8'));
  return keys.map((_, i) => i).sort((a, b) => Buffer.compare(bytes[a]!, bytes[b]!) || a - b);
}

describe('sortedOrder', () => {
  it('orders indexes by the UTF-8 bytes of their keys, equal keys by index', () => {
    const random = rng(41);
    for (const size of [0, 1, 2, 50, 5000]) {
      const keys = Array.from({ length: size }, () => {
        let k = '';
        const n = Math.floor(random() * 4);
        for (let i = 0; i < n; i++) k += pick(random, UNITS);
        return k;
      });
      expect(sortedOrder(keys)).toEqual(naiveOrder(keys));
    }
  });

  it('puts a key before its extensions, even one extended by U+0000', () => {
    const keys = ['a\u0000', 'a', 'a\u0000\u0000', '', 'a'];
    expect(sortedOrder(keys)).toEqual([3, 1, 4, 0, 2]);
  });
});
