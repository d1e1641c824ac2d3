import { describe, expect, it } from 'vitest';
import { sharedPrefixLength, sortedOrder } from '../../../src/storage/key-sort.js';
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

describe('sortedOrder on Latin-1 and mixed keys', () => {
  const LATIN1 = ['', '\u0000', 'a', 'b', 'z', '~', '\u007f', '\u0080', '\u00e9', '\u00ff'];
  const WIDE = ['\u0100', '\u4e2d', '\ud7ff', '\ue000', '\uffff', '\u{1f600}'];

  function randomKeys(random: () => number, size: number, units: readonly string[], maxLength: number): string[] {
    return Array.from({ length: size }, () => {
      let k = '';
      const n = Math.floor(random() * (maxLength + 1));
      for (let i = 0; i < n; i++) k += pick(random, units);
      return k;
    });
  }

  it('orders keys whose first four units are all below U+0100, sharing prefixes and of every length', () => {
    const random = rng(42);
    for (const size of [1, 2, 100, 5000]) {
      const keys = randomKeys(random, size, LATIN1, 7);
      expect(sortedOrder(keys)).toEqual(naiveOrder(keys));
    }
  });

  it('falls back to two-unit prefixes when any key has a unit above U+00FF among its first four', () => {
    const random = rng(43);
    for (const at of [0, 1, 3, 4999]) {
      const keys = randomKeys(random, 5000, LATIN1, 6);
      keys[at] = `ab${pick(random, WIDE)}`;
      expect(sortedOrder(keys)).toEqual(naiveOrder(keys));
    }
    const mixed = randomKeys(random, 3000, [...LATIN1, ...WIDE], 6);
    expect(sortedOrder(mixed)).toEqual(naiveOrder(mixed));
  });

  it('sorts gensort-like 10-character ASCII keys', () => {
    const random = rng(44);
    const keys = Array.from({ length: 20000 }, () => {
      let k = '';
      for (let i = 0; i < 10; i++) k += String.fromCharCode(32 + Math.floor(random() * 95));
      return k;
    });
    keys.push(keys[17]!, keys[9000]!.slice(0, 4), keys[9000]!.slice(0, 5));
    expect(sortedOrder(keys)).toEqual(naiveOrder(keys));
  });

  it('sorts keys sharing long prefixes, with runs of every size and copies of one key', () => {
    const random = rng(45);
    const stems = ['', 'abcd', 'abcdefgh', 'abcdefghijkl', 'abcdefghijklmnop', 'abcdefghijklmnopqrst', 'abcd\u0000', 'abcdefg\u00e9'];
    const tails = ['', '\u0000', 'a', 'b', 'ab', '\u00ff', '\u0100', '\u{1f600}', 'zz', '\u0000\u0000'];
    for (const size of [2, 17, 40, 3000]) {
      const keys = Array.from({ length: size }, () => pick(random, stems) + pick(random, tails) + (random() < 0.3 ? pick(random, tails) : ''));
      expect(sortedOrder(keys)).toEqual(naiveOrder(keys));
    }
    const copies = Array.from({ length: 500 }, (_, i) => (i % 50 === 0 ? 'abcdefghijklmnopq' : i % 7 === 0 ? 'abcdefghijklmnopp' : 'abcdefghijklmnopqr'));
    expect(sortedOrder(copies)).toEqual(naiveOrder(copies));
  });

  it('sorts ASCII keys tied on their first six units, short ones, U+0000 and U+007F included, and wider units after the sixth', () => {
    const random = rng(46);
    const ASCII = ['\u0000', 'a', 'b', 'z', '~', '\u007f'];
    for (const size of [2, 3, 64, 5000]) {
      const keys = Array.from({ length: size }, () => {
        // Shared six-unit stems make the ties; tails of any length settle them.
        const stem = pick(random, ['', 'ab', 'abcab', 'abcabc', 'abcab\u0000', 'zzzzzz', '\u007f\u007f\u007f\u007f\u007f\u007f']);
        let tail = '';
        const n = Math.floor(random() * 4);
        for (let i = 0; i < n; i++) tail += random() < 0.1 ? pick(random, ['\u00e9', '\u0100', '\u{1f600}', '\uffff']) : pick(random, ASCII);
        return stem + tail;
      });
      expect(sortedOrder(keys)).toEqual(naiveOrder(keys));
    }
    // Copies of one key among others: the run of copies keeps index order.
    const copies = Array.from({ length: 3000 }, (_, i) => (i % 3 === 0 ? 'the' : i % 5 === 0 ? 'then' : 'their'));
    expect(sortedOrder(copies)).toEqual(naiveOrder(copies));
    // A unit above U+007F within the first six: the Latin-1 or two-unit path takes over.
    for (const wide of ['\u0080', '\u00ff', '\u4e2d', '\u{1f600}']) {
      const keys = ['abcdef', 'abcdeg', `abcde${wide}`, 'abcde', 'a', `${wide}`, 'abcdef\u0000'];
      expect(sortedOrder(keys)).toEqual(naiveOrder(keys));
    }
  });

  it('sorts keys that all share a stem past the first prefix (view keys with a tag and a fixed stem), after skipping it', () => {
    const random = rng(47);
    // The serving benchmark's shape: a tag, 'key-000', then six digits; and copies, a key that is the stem itself, wider tails.
    for (const stem of ['\u0001key-000', '\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9x', '\u4e2d\u4e2d\u4e2dab', '\u{1f600}']) {
      const keys = Array.from({ length: 4000 }, () => stem + String(Math.floor(random() * 1_000_000)).padStart(6, '0'));
      keys.push(stem, keys[5]!, `${stem}\u0000`, `${stem}12\u{1f600}`, `${stem}12\u00e9`, `${stem}999999\u0000`);
      expect(sortedOrder(keys)).toEqual(naiveOrder(keys));
    }
    // Keys sharing the high half of a surrogate pair, differing in the low half (the shared prefix ends inside a character).
    const pairs = ['\u{1f600}a', '\u{1f601}', '\u{1f600}', '\u{1f5ff}z', '\u{1f600}\u0000', '\u{1f601}b'];
    expect(sharedPrefixLength(pairs)).toBe(1);
    expect(sortedOrder(pairs)).toEqual(naiveOrder(pairs));
  });

  it('finds the units every key shares, bounded by the shortest key', () => {
    expect(sharedPrefixLength([])).toBe(0);
    expect(sharedPrefixLength(['abc'])).toBe(0);
    expect(sharedPrefixLength(['abcd', 'abce', 'abcdef'])).toBe(3);
    expect(sharedPrefixLength(['abcd', 'ab', 'abcd'])).toBe(2);
    expect(sharedPrefixLength(['abcd', 'abcd'])).toBe(4);
    expect(sharedPrefixLength(['abcd', 'xbcd', 'abcd'])).toBe(0);
    expect(sharedPrefixLength(['abcd', 'abcd', ''])).toBe(0);
  });
});
