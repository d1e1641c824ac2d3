/**
 * Sorting the buffered records of a spill by key (compareKeys order), fast:
 * most of the order is settled by a native numeric sort on a prefix of each
 * key, and only records sharing that prefix are compared as strings. The
 * prefix is taken after the units every key shares (view keys all begin
 * with a type tag, generated keys often with a fixed stem such as 'key-000'),
 * which would otherwise tie every key and leave the whole sort to the
 * slower refinement of runs.
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
function fillLatin1Prefixes(keys: readonly string[], entries: Float64Array, from: number): boolean {
  const n = keys.length;
  for (let i = 0; i < n; i++) {
    const k = keys[i]!;
    const len = k.length;
    // A missing unit counts as 0, tying with U+0000: the string comparison settles those ties.
    const c0 = len > from ? k.charCodeAt(from) : 0;
    const c1 = len > from + 1 ? k.charCodeAt(from + 1) : 0;
    const c2 = len > from + 2 ? k.charCodeAt(from + 2) : 0;
    const c3 = len > from + 3 ? k.charCodeAt(from + 3) : 0;
    if ((c0 | c1 | c2 | c3) > 0xff) return false;
    entries[i] = (c0 * 16777216 + ((c1 << 16) | (c2 << 8) | c3)) * INDEX_BITS + i;
  }
  return true;
}

/** Fills `entries` with (the two code units of the key from `from`, mapped to code point order) * 2^21 + index. */
function fillUnitPrefixes(keys: readonly string[], entries: Float64Array, from: number): void {
  const n = keys.length;
  for (let i = 0; i < n; i++) {
    const k = keys[i]!;
    // A missing unit ranks 0, tying with U+0000: the string comparison settles those ties.
    const hi = k.length > from ? unitRank(k.charCodeAt(from)) : 0;
    const lo = k.length > from + 1 ? unitRank(k.charCodeAt(from + 1)) : 0;
    entries[i] = (hi * 65536 + lo) * INDEX_BITS + i;
  }
}

// With ASCII keys, a wider entry: a BigUint64Array sorted natively, each
// element (the first six code units of the key, 7 bits each) * 2^22 + index.
const ASCII_INDEX_BITS = 22;
const MAX_ASCII_SORT = 2 ** ASCII_INDEX_BITS;
const ASCII_PREFIX_UNITS = 6;

/**
 * Fills `words` (two 32-bit words per key, low word first, as a
 * BigUint64Array on the same buffer reads them on little-endian machines)
 * with the six code units of each key from `from`, 7 bits each, above its index
 * in the low 22 bits. Returns false, leaving `words` partly filled, when a
 * key has a unit above U+007F among its first six.
 */
function fillAsciiPrefixes(keys: readonly string[], words: Uint32Array, from: number): boolean {
  const n = keys.length;
  for (let i = 0; i < n; i++) {
    const k = keys[i]!;
    const len = k.length;
    // A missing unit counts as 0, tying with U+0000: the string comparison settles those ties.
    const c0 = len > from ? k.charCodeAt(from) : 0;
    const c1 = len > from + 1 ? k.charCodeAt(from + 1) : 0;
    const c2 = len > from + 2 ? k.charCodeAt(from + 2) : 0;
    const c3 = len > from + 3 ? k.charCodeAt(from + 3) : 0;
    const c4 = len > from + 4 ? k.charCodeAt(from + 4) : 0;
    const c5 = len > from + 5 ? k.charCodeAt(from + 5) : 0;
    if ((c0 | c1 | c2 | c3 | c4 | c5) > 0x7f) return false;
    const high = (c0 << 14) | (c1 << 7) | c2;
    const low = (c3 << 14) | (c4 << 7) | c5;
    // The 64 bits: high (21) | low (21) | index (22).
    words[2 * i + 1] = (high << 11) | (low >>> 10);
    words[2 * i] = (((low & 0x3ff) << ASCII_INDEX_BITS) | i) >>> 0;
  }
  return true;
}

/** Whether typed arrays are little-endian here (all platforms Node runs on today). */
const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/**
 * sortedOrder for keys whose first six units are ASCII (most keys of text
 * jobs): one native sort settles six units, so far fewer ties reach the
 * string comparison than with four. Returns undefined when a key is not
 * ASCII in its first six units.
 */
function sortedOrderAscii(keys: readonly string[], from: number, byKey: (a: number, b: number) => number): number[] | undefined {
  const n = keys.length;
  const entries = new BigUint64Array(n);
  const words = new Uint32Array(entries.buffer);
  if (!fillAsciiPrefixes(keys, words, from)) return undefined;
  entries.sort();
  const order: number[] = new Array<number>(n);
  const indexMask = MAX_ASCII_SORT - 1;
  for (let i = 0; i < n;) {
    const high = words[2 * i + 1]!;
    const low = words[2 * i]! >>> ASCII_INDEX_BITS;
    let j = i + 1;
    while (j < n && words[2 * j + 1] === high && words[2 * j]! >>> ASCII_INDEX_BITS === low) j++;
    if (j - i === 1) {
      order[i] = words[2 * i]! & indexMask;
    } else {
      // Tied on six units; indexes ascend within the run (they are the low bits).
      const run: number[] = new Array<number>(j - i);
      for (let t = i; t < j; t++) run[t - i] = words[2 * t]! & indexMask;
      sortRun(keys, run, from + ASCII_PREFIX_UNITS, from + MAX_PREFIX_DEPTH, order, i, byKey);
    }
    i = j;
  }
  return order;
}

/** Runs up to this long are sorted by insertion on their numeric entries. */
const INSERTION_MAX = 16;
/** Ties left after prefixes of this many units (past the shared ones) are settled by string comparison. */
const MAX_PREFIX_DEPTH = 16;

/** Sorts `a[0, n)` ascending by insertion (numbers, no ties: each ends with a distinct index). */
function insertionSort(a: number[], n: number): void {
  for (let i = 1; i < n; i++) {
    const x = a[i]!;
    let j = i - 1;
    while (j >= 0 && a[j]! > x) {
      a[j + 1] = a[j]!;
      j--;
    }
    a[j + 1] = x;
  }
}

/**
 * Writes the indexes of `run` (keys whose units before `depth` tie, as far
 * as the prefixes tell; in increasing index order) into `order` from `at`,
 * ordered by compareKeys, equal keys by index. Sorts numerically by the
 * next four units while they are all below U+0100, like fillLatin1Prefixes,
 * and by `byKey` what is still tied after `maxDepth` units or
 * has a wider unit; a run of equal keys stays as it is. A missing unit counts as 0: that may tie keys that
 * differ, never misorder them.
 */
function sortRun(keys: readonly string[], run: number[], depth: number, maxDepth: number, order: number[], at: number, byKey: (a: number, b: number) => number): void {
  const m = run.length;
  // Many copies of one key (a frequent key without a combiner): already in index order.
  const first = keys[run[0]!]!;
  let same = 1;
  while (same < m && keys[run[same]!] === first) same++;
  if (same === m) {
    for (let t = 0; t < m; t++) order[at + t] = run[t]!;
    return;
  }
  let entries: number[] | undefined;
  if (depth < maxDepth) {
    entries = new Array<number>(m);
    for (let t = 0; t < m; t++) {
      const k = keys[run[t]!]!;
      const len = k.length;
      const c0 = len > depth ? k.charCodeAt(depth) : 0;
      const c1 = len > depth + 1 ? k.charCodeAt(depth + 1) : 0;
      const c2 = len > depth + 2 ? k.charCodeAt(depth + 2) : 0;
      const c3 = len > depth + 3 ? k.charCodeAt(depth + 3) : 0;
      if ((c0 | c1 | c2 | c3) > 0xff) {
        entries = undefined;
        break;
      }
      entries[t] = (c0 * 16777216 + ((c1 << 16) | (c2 << 8) | c3)) * INDEX_BITS + t;
    }
  }
  if (entries === undefined) {
    run.sort(byKey);
    for (let t = 0; t < m; t++) order[at + t] = run[t]!;
    return;
  }
  if (m <= INSERTION_MAX) insertionSort(entries, m);
  else {
    const sorted = Float64Array.from(entries).sort();
    for (let t = 0; t < m; t++) entries[t] = sorted[t]!;
  }
  for (let i = 0; i < m;) {
    const base = Math.floor(entries[i]! / INDEX_BITS) * INDEX_BITS;
    let j = i + 1;
    while (j < m && entries[j]! - base < INDEX_BITS) j++;
    if (j - i === 1) {
      order[at + i] = run[entries[i]! - base]!;
    } else {
      const sub: number[] = new Array<number>(j - i);
      for (let t = i; t < j; t++) sub[t - i] = run[entries[t]! - base]!;
      sortRun(keys, sub, depth + 4, maxDepth, order, at + i, byKey);
    }
    i = j;
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
  const from = sharedPrefixLength(keys);
  if (n > 1 && n <= MAX_ASCII_SORT && LITTLE_ENDIAN) {
    const ascii = sortedOrderAscii(keys, from, byKey);
    if (ascii !== undefined) return ascii;
  }
  if (n > MAX_PREFIX_SORT) {
    const order: number[] = [];
    for (let i = 0; i < n; i++) order.push(i);
    return order.sort(byKey);
  }
  const entries = new Float64Array(n);
  const latin1 = fillLatin1Prefixes(keys, entries, from);
  if (!latin1) fillUnitPrefixes(keys, entries, from);
  entries.sort();
  const order: number[] = new Array<number>(n);
  for (let i = 0; i < n;) {
    const prefix = Math.floor(entries[i]! / INDEX_BITS);
    const base = prefix * INDEX_BITS;
    let j = i + 1;
    while (j < n && entries[j]! - base < INDEX_BITS) j++;
    if (j - i === 1) {
      order[i] = entries[i]! - base;
    } else {
      const run: number[] = new Array<number>(j - i);
      for (let t = i; t < j; t++) run[t - i] = entries[t]! - base;
      sortRun(keys, run, from + (latin1 ? 4 : 2), from + MAX_PREFIX_DEPTH, order, i, byKey);
    }
    i = j;
  }
  return order;
}

/**
 * The number of leading UTF-16 units every key shares (0 for fewer than two
 * keys). Skipping them changes no comparison: keys that agree there are
 * ordered by what follows. A key shorter than the others bounds it. Cheap:
 * one pass, and random keys stop it at the first unit. Exported for tests.
 */
export function sharedPrefixLength(keys: readonly string[]): number {
  const n = keys.length;
  if (n < 2) return 0;
  const first = keys[0]!;
  let shared = first.length;
  for (let i = 1; i < n && shared > 0; i++) {
    const k = keys[i]!;
    if (k.length < shared) shared = k.length;
    let j = 0;
    while (j < shared && k.charCodeAt(j) === first.charCodeAt(j)) j++;
    shared = j;
  }
  return shared;
}
