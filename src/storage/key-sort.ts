/**
 * Sorting the buffered records of a spill by key (compareKeys order), fast:
 * most of the order is settled by a native numeric sort on a prefix of each
 * key, and only records sharing that prefix are compared as strings.
 */
import { compareKeys } from './key-order.js';

// Each sort entry is one float64: (a 32-bit prefix of the key: its first four
// code units when they are all below U+0100, else its first two mapped to code
// point order) * 2^21 + the record's index. Exact below 2^53.
const INDEX_BITS = 2 ** 21;
const MAX_PREFIX_SORT = INDEX_BITS;

/**
 * Maps a UTF-16 code unit so that numeric order matches code point order:
 * surrogates (halves of characters above U+FFFF) move above U+E000..U+FFFF.
 * A bijection on 0..0xFFFF.
 */
function unitRank(u: number): number {
  return u < 0xd800 ? u : u < 0xe000 ? u + 0x2000 : u - 0x800;
}

/**
 * Fills `entries` with (the first four code units of the key, 8 bits each) *
 * 2^21 + index, when the first four units of every key are below U+0100
 * (ASCII and Latin-1 keys, where unit order is code point order): twice as
 * many units as fillUnitPrefixes, so far fewer ties reach the string
 * comparison. Returns false, leaving `entries` partly filled, when a key has
 * a unit above U+00FF among its first four.
 */
function fillLatin1Prefixes(keys: readonly string[], entries: Float64Array): boolean {
  const n = keys.length;
  for (let i = 0; i < n; i++) {
    const k = keys[i]!;
    const len = k.length;
    // A missing unit counts as 0, tying with U+0000: the string comparison settles those ties.
    const c0 = len > 0 ? k.charCodeAt(0) : 0;
    const c1 = len > 1 ? k.charCodeAt(1) : 0;
    const c2 = len > 2 ? k.charCodeAt(2) : 0;
    const c3 = len > 3 ? k.charCodeAt(3) : 0;
    if ((c0 | c1 | c2 | c3) > 0xff) return false;
    entries[i] = (c0 * 16777216 + ((c1 << 16) | (c2 << 8) | c3)) * INDEX_BITS + i;
  }
  return true;
}

/** Fills `entries` with (the first two code units of the key, mapped to code point order) * 2^21 + index. */
function fillUnitPrefixes(keys: readonly string[], entries: Float64Array): void {
  const n = keys.length;
  for (let i = 0; i < n; i++) {
    const k = keys[i]!;
    // A missing unit ranks 0, tying with U+0000: the string comparison settles those ties.
    const hi = k.length > 0 ? unitRank(k.charCodeAt(0)) : 0;
    const lo = k.length > 1 ? unitRank(k.charCodeAt(1)) : 0;
    entries[i] = (hi * 65536 + lo) * INDEX_BITS + i;
  }
}

/**
 * The indexes 0..n-1 of `keys`, ordered by compareKeys; equal keys keep
 * their index order (a stable sort). Called once per partition per spill by
 * the map-output collector. Pure.
 */
export function sortedOrder(keys: readonly string[]): number[] {
  const n = keys.length;
  const byKey = (a: number, b: number): number => compareKeys(keys[a]!, keys[b]!) || a - b;
  if (n > MAX_PREFIX_SORT) {
    const order: number[] = [];
    for (let i = 0; i < n; i++) order.push(i);
    return order.sort(byKey);
  }
  const entries = new Float64Array(n);
  if (!fillLatin1Prefixes(keys, entries)) fillUnitPrefixes(keys, entries);
  entries.sort();
  const order: number[] = new Array<number>(n);
  const run: number[] = [];
  for (let i = 0; i < n;) {
    const prefix = Math.floor(entries[i]! / INDEX_BITS);
    const base = prefix * INDEX_BITS;
    let j = i + 1;
    while (j < n && entries[j]! - base < INDEX_BITS) j++;
    if (j - i === 1) {
      order[i] = entries[i]! - base;
    } else {
      run.length = 0;
      for (let t = i; t < j; t++) run.push(entries[t]! - base);
      run.sort(byKey);
      for (let t = 0; t < run.length; t++) order[i + t] = run[t]!;
    }
    i = j;
  }
  return order;
}
