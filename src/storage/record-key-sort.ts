/**
 * Sorting a spill's buffered records by the bytes of their encoded keys
 * (Hadoop's MapOutputBuffer sorts its serialized keys the same way): the
 * sort buffer keeps no key string per record, only where its bytes are
 * (encoded-records.ts). UTF-8 byte order is Laminate's key order
 * (key-order.ts), so the order is the one compareKeys gives.
 *
 * Why: a key string kept per buffered record lived until the spill, so the
 * garbage collector promoted and copied every one of them (500,000 per map
 * attempt of the serving benchmark), and making it cost a string decode
 * per record. The collector alone (500,000 records with ~100-byte values,
 * a fresh thread, steady state): 795-805 -> 696-734 ms, its GC 96-116 ->
 * 21-26 ms; the sort benchmark's job 36.17 -> 27.97 CPU-s (bench/README.md,
 * serving, 3 December). The sort itself is slower than key-sort.ts's on
 * strings (200,000 distinct keys: 43-53 ms against 25-36).
 *
 * As key-sort.ts does for strings: the bytes every key shares are skipped
 * (and at each level, those every key still tied shares; copies of one key
 * are left in emit order), then one native sort of 64-bit entries (the next
 * five key bytes, or six ASCII ones, above the record's index) settles most
 * of the order, and only records tied on them are sorted further the same
 * way, then byte by byte.
 */
import type { EncodedRecords, RecordRange } from './encoded-records.js';

/** Index bits of an entry, below its key bits (5 bytes, 40 bits; or 6 ASCII bytes, 42). */
const INDEX_BITS = 22;
const MAX_ENTRY_SORT = 2 ** INDEX_BITS;
const INDEX_MASK = MAX_ENTRY_SORT - 1;
/** Key bytes per entry: five, or six when they are ASCII (7 bits each). */
const PREFIX_BYTES = 5;
const ASCII_BYTES = 6;
/** Runs this short are sorted by comparing their keys. */
const COMPARE_MAX = 16;
/** Ties left after this many key bytes (past shared ones) are settled by comparing the keys. */
const MAX_PREFIX_DEPTH = 40;

/** Whether typed arrays are little-endian here (all platforms Node runs on today). */
const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/** Where each record's key bytes are: chunks[i][starts[i], ends[i]). */
interface Keys {
  readonly chunks: Buffer[];
  readonly starts: Uint32Array;
  readonly ends: Uint32Array;
}

/** Compares keys a and b from byte `from` on (equal before it), shorter first; then by index. */
function compareFrom(keys: Keys, a: number, b: number, from: number): number {
  const ca = keys.chunks[a]!;
  const cb = keys.chunks[b]!;
  const sa = keys.starts[a]!;
  const sb = keys.starts[b]!;
  const la = keys.ends[a]! - sa;
  const lb = keys.ends[b]! - sb;
  const n = la < lb ? la : lb;
  for (let j = from; j < n; j++) {
    const d = ca[sa + j]! - cb[sb + j]!;
    if (d !== 0) return d;
  }
  return la - lb || a - b;
}

/**
 * Fills `words` (two 32-bit words per entry, low word first: a
 * BigUint64Array on the same buffer on little-endian machines) with key
 * bytes from `at` of `members[t]` above t: six bytes of 7 bits when all of
 * them are ASCII (as key-sort.ts does with code units: fixed-width keys
 * such as 'key-000123456' are then settled in one sort), else five of 8.
 * Returns the bytes taken. A byte past a key's end counts as 0: a tie the
 * comparison settles, never a wrong order.
 */
function fillEntries(keys: Keys, members: ArrayLike<number>, at: number, words: Uint32Array): number {
  const m = members.length;
  const { chunks, starts, ends } = keys;
  let ascii = true;
  for (let t = 0; t < m && ascii; t++) {
    const i = members[t]!;
    const c = chunks[i]!;
    const s = starts[i]! + at;
    const e = Math.min(ends[i]!, s + ASCII_BYTES);
    for (let p = s; p < e; p++) {
      if (c[p]! >= 0x80) {
        ascii = false;
        break;
      }
    }
  }
  for (let t = 0; t < m; t++) {
    const i = members[t]!;
    const c = chunks[i]!;
    const s = starts[i]! + at;
    const e = ends[i]!;
    const b0 = s < e ? c[s]! : 0;
    const b1 = s + 1 < e ? c[s + 1]! : 0;
    const b2 = s + 2 < e ? c[s + 2]! : 0;
    const b3 = s + 3 < e ? c[s + 3]! : 0;
    const b4 = s + 4 < e ? c[s + 4]! : 0;
    if (ascii) {
      const b5 = s + 5 < e ? c[s + 5]! : 0;
      // The 64 bits: six 7-bit bytes (42) | index (22).
      const high = (b0 << 14) | (b1 << 7) | b2;
      const low = (b3 << 14) | (b4 << 7) | b5;
      words[2 * t + 1] = (high << 11) | (low >>> 10);
      words[2 * t] = (((low & 0x3ff) << INDEX_BITS) | t) >>> 0;
    } else {
      // The 64 bits: 0 (2) | five bytes (40) | index (22).
      words[2 * t + 1] = ((b0 << 22) | (b1 << 14) | (b2 << 6) | (b3 >>> 2)) >>> 0;
      words[2 * t] = ((((b3 & 3) << 8) | b4) << INDEX_BITS | t) >>> 0;
    }
  }
  return ascii ? ASCII_BYTES : PREFIX_BYTES;
}

/**
 * The bytes from `depth` on that every member's key shares, or -1 when the
 * keys are all equal (copies of one key: a hot key without a combiner).
 */
function runSharedBytes(keys: Keys, members: readonly number[], depth: number): number {
  const { chunks, starts, ends } = keys;
  const f = members[0]!;
  const cf = chunks[f]!;
  const length = ends[f]! - starts[f]!;
  const sf = starts[f]! + depth;
  // Past a key's end it has no bytes left (the entries counted them as 0, so keys of other lengths may tie there).
  const lf = Math.max(0, length - depth);
  let shared = lf;
  let sameLength = true;
  for (let t = 1; t < members.length; t++) {
    const i = members[t]!;
    const c = chunks[i]!;
    const s = starts[i]! + depth;
    if (ends[i]! - starts[i]! !== length) sameLength = false;
    const n = Math.min(shared, Math.max(0, ends[i]! - s));
    let j = 0;
    while (j < n && c[s + j] === cf[sf + j]) j++;
    shared = j;
  }
  // Equal keys: the same length, and every byte from depth on shared (those before depth are, for a tied run).
  return sameLength && shared === lf ? -1 : shared;
}

/**
 * One entry sort of `members` from `depth`: the members in that order, the
 * [start, end) pairs of the runs still tied, and the key bytes it settled.
 * A function of its own so that its entries are freed before the runs are
 * sorted further.
 */
function entrySort(keys: Keys, members: readonly number[], depth: number): { sorted: number[]; ties: number[]; taken: number } {
  const m = members.length;
  const entries = new BigUint64Array(m);
  const words = new Uint32Array(entries.buffer);
  const taken = fillEntries(keys, members, depth, words);
  entries.sort();
  const sorted: number[] = new Array<number>(m);
  const ties: number[] = [];
  for (let i = 0; i < m;) {
    const high = words[2 * i + 1]!;
    const low = words[2 * i]! >>> INDEX_BITS;
    let j = i + 1;
    while (j < m && words[2 * j + 1] === high && words[2 * j]! >>> INDEX_BITS === low) j++;
    // Local indexes ascend within a run (they are the low bits), so tied members stay in index order.
    for (let t = i; t < j; t++) sorted[t] = members[words[2 * t]! & INDEX_MASK]!;
    if (j - i > 1) ties.push(i, j);
    i = j;
  }
  return { sorted, ties, taken };
}

/**
 * Writes `members` (records tied on their key bytes before `depth`, in
 * increasing index order) into `order` from `at`, sorted by key bytes,
 * equal keys by index.
 */
function sortMembers(keys: Keys, members: number[], depth: number, maxDepth: number, order: number[], at: number): void {
  const m = members.length;
  if (m > COMPARE_MAX && depth < maxDepth) {
    // Bytes the whole run shares settle nothing: skip them. Equal keys are already in index order.
    const shared = runSharedBytes(keys, members, depth);
    if (shared < 0) {
      for (let t = 0; t < m; t++) order[at + t] = members[t]!;
      return;
    }
    depth += shared;
    maxDepth += shared;
  }
  if (m <= COMPARE_MAX || depth >= maxDepth) {
    members.sort((a, b) => compareFrom(keys, a, b, depth));
    for (let t = 0; t < m; t++) order[at + t] = members[t]!;
    return;
  }
  const { sorted, ties, taken } = entrySort(keys, members, depth);
  for (let t = 0; t < m; t++) order[at + t] = sorted[t]!;
  for (let k = 0; k < ties.length; k += 2) {
    sortMembers(keys, sorted.slice(ties[k], ties[k + 1]), depth + taken, maxDepth, order, at + ties[k]!);
  }
}

/**
 * The indexes 0..n-1 of `locations` (records in `encoded`), ordered by
 * their keys' bytes; equal keys keep their index order (a stable sort).
 * Called once per partition per spill by the map-output collector. Reads
 * `encoded`, changes nothing. `entryLimit` (tests) lowers the number of
 * records from which it only compares. Memory: about 40 bytes per record,
 * and 16 more per record still tied at each further level.
 */
export function sortedByKeyBytes(locations: readonly number[], encoded: EncodedRecords, entryLimit = MAX_ENTRY_SORT): number[] {
  const n = locations.length;
  const keys: Keys = { chunks: new Array<Buffer>(n), starts: new Uint32Array(n), ends: new Uint32Array(n) };
  const range: RecordRange = { chunk: encoded.buf, start: 0, end: 0 };
  for (let i = 0; i < n; i++) {
    encoded.keyAt(locations[i]!, range);
    keys.chunks[i] = range.chunk;
    keys.starts[i] = range.start;
    keys.ends[i] = range.end;
  }
  const order: number[] = new Array<number>(n);
  if (n === 0) return order;
  const all: number[] = new Array<number>(n);
  for (let i = 0; i < n; i++) all[i] = i;
  // From 2^22 records on the entries' index bits do not fit: compare (a sort buffer of 4 million records is rare).
  sortMembers(keys, all, 0, n < Math.min(entryLimit, MAX_ENTRY_SORT) && LITTLE_ENDIAN ? MAX_PREFIX_DEPTH : 0, order, 0);
  return order;
}
