/**
 * The spill's sort by encoded key bytes (record-key-sort.ts): the order of
 * an independent stable sort of the keys by compareKeys, over records
 * spread across many chunks, for keys that share stems, extend one another
 * (with U+0000 too), repeat, are empty, or hold characters of 2 to 4 bytes.
 */
import { describe, expect, it } from 'vitest';
import { EncodedRecords } from '../../../src/storage/encoded-records.js';
import { compareKeys } from '../../../src/storage/key-order.js';
import { sortedByKeyBytes } from '../../../src/storage/record-key-sort.js';
import { pick, rng } from './helpers.js';

const UNITS = ['', '\u0000', 'a', 'b', '\u00e9', '\ud7ff', '\ue000', '\ufffd', '\uffff', '\u{10000}', '\u{1f600}', 'zz', '0', '9'];

/** The expected order: indexes stable-sorted by compareKeys (code point order), computed on the strings. */
function expectedOrder(keys: readonly string[]): number[] {
  return keys.map((_, i) => i).sort((a, b) => compareKeys(keys[a]!, keys[b]!) || a - b);
}

/** The keys added to a store of small chunks (records across many), and the sort's order of them. */
function sortThroughStore(keys: readonly string[], chunkBytes = 256, entryLimit?: number): number[] {
  const store = new EncodedRecords(chunkBytes);
  const locations = keys.map((k, i) => store.add(k, i));
  return sortedByKeyBytes(locations, store, entryLimit);
}

describe('sortedByKeyBytes', () => {
  it('orders records by their keys\' bytes as compareKeys orders the keys, equal keys in emit order', () => {
    const random = rng(8128);
    for (const size of [0, 1, 2, 16, 17, 300, 20_000]) {
      for (const stem of ['', 'key-000', 'a'.repeat(50)]) {
        const keys = Array.from({ length: size }, () => {
          let k = stem;
          const n = Math.floor(random() * 8);
          for (let i = 0; i < n; i++) k += pick(random, UNITS);
          return k;
        });
        expect(sortThroughStore(keys)).toEqual(expectedOrder(keys));
      }
    }
  });

  it('settles keys tied on more than its prefixes: long shared runs after differing first bytes, extensions by U+0000', () => {
    const random = rng(496);
    const keys: string[] = [];
    for (let i = 0; i < 5_000; i++) {
      // Two groups whose keys agree on 60 bytes after their first, then differ in a digit or in length.
      keys.push(`${pick(random, ['a', 'b'])}${'x'.repeat(60)}${Math.floor(random() * 100)}${pick(random, ['', '\u0000', '\u0000\u0000'])}`);
    }
    keys.push('a', 'a\u0000', '', 'a\u0000\u0000', 'a');
    expect(sortThroughStore(keys, 1024)).toEqual(expectedOrder(keys));
  });

  it('orders generated fixed-width keys, with repeats, as the serving benchmark emits them', () => {
    const random = rng(33550336);
    const keys = Array.from({ length: 50_000 }, () => `key-${String(Math.floor(random() * 30_000)).padStart(9, '0')}`);
    const order = sortThroughStore(keys, 64 * 1024);
    expect(order).toEqual(expectedOrder(keys));
  });

  it('takes a sixth byte into an entry only when all six are ASCII, and counts bytes past a key\'s end as 0', () => {
    // Runs longer than the comparison's limit that differ at the sixth byte: with é among them the entries hold five
    // bytes; without it six of 7 bits each, where U+007F and U+0000 sit at the ends of the range (a helper's mutants).
    const random = rng(28);
    for (const sixth of [['\u00e9', 'g', '\u007f', '', '\u0000'], ['g', '\u007f', '', '\u0000']]) {
      const keys = Array.from({ length: 40 }, () => `${pick(random, ['a', 'b'])}bcd${pick(random, ['e', 'f'])}${pick(random, sixth)}${pick(random, ['', 'x'])}`);
      expect(sortThroughStore(keys)).toEqual(expectedOrder(keys));
    }
  });

  it('leaves the copies of a hot key in emit order, among other keys', () => {
    const random = rng(6);
    const keys = Array.from({ length: 30_000 }, (_, i) => (random() < 0.9 ? 'the' : `w${i % 50}`));
    expect(sortThroughStore(keys, 64 * 1024)).toEqual(expectedOrder(keys));
    const one = Array.from({ length: 1_000 }, () => 'same');
    expect(sortThroughStore(one)).toEqual(one.map((_, i) => i));
  });

  it('compares keys only, in the same order, past the number of records its entries can index', () => {
    const random = rng(12);
    const keys = Array.from({ length: 3_000 }, () => `${pick(random, UNITS)}${pick(random, UNITS)}${pick(random, UNITS)}`);
    expect(sortThroughStore(keys, 256, 100)).toEqual(expectedOrder(keys));
  });
});
