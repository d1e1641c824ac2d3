/**
 * The built-in monoids a view's `merge` may name, exported from the
 * `laminate` entry. Each is pure: plus never mutates its arguments (it may
 * return one of them when the other is zero), and every accumulator is plain
 * data that msgpack carries unchanged, in one canonical form per value (equal
 * sets are equal arrays, equal sketches equal bytes), so that equal views
 * are equal files.
 *
 * Elements (of min, max, setUnion, topK) are strings or finite numbers, in
 * the order of key tuples (numbers before strings, numbers by value, strings
 * by UTF-8 bytes; -0 is 0): see src/common/view-key.ts.
 */
import { describe, LaminateError } from '../common/errors.js';
import { compareKeyElements, type KeyElement } from '../common/view-key.js';
import { requirePositiveInt } from '../common/validate.js';
import { emptySketch, estimate, MAX_PRECISION, mergeAllSketches, mergeSketches, MIN_PRECISION, sketchOf } from './hll.js';
import type { Monoid } from './monoid.js';

/**
 * Sum of numbers. Emitted values must be finite numbers. With fractions,
 * floating-point addition is not exactly associative: a view of float sums
 * may differ in the last bits between a full and an incremental build (the
 * law check allows for it; see checkMonoidLaws).
 */
export const sum: Monoid<number, number, number> = {
  name: 'sum',
  zero: () => 0,
  plus: (a, b) => a + b,
  lift(value) {
    if (typeof value !== 'number' || !Number.isFinite(value)) {
      throw new LaminateError('INVALID_ARGUMENT', `Expected sum's values to be finite numbers, got ${describeValue(value)}`);
    }
    return value;
  },
  sumAll(accs) {
    let total = 0;
    for (const a of accs) total += a;
    return total;
  },
};

/** The number of emitted values (each counts 1, whatever it is). */
export const count: Monoid<number, unknown, number> = {
  name: 'count',
  zero: () => 0,
  plus: (a, b) => a + b,
  lift: () => 1,
  sumAll(accs) {
    let total = 0;
    for (const a of accs) total += a;
    return total;
  },
};

/** The smallest emitted value (strings or finite numbers, in key order); null for none. */
export const min: Monoid<KeyElement | null, KeyElement, KeyElement | null> = extreme('min', -1);

/** The largest emitted value (strings or finite numbers, in key order); null for none. */
export const max: Monoid<KeyElement | null, KeyElement, KeyElement | null> = extreme('max', 1);

function extreme(name: 'min' | 'max', sign: 1 | -1): Monoid<KeyElement | null, KeyElement, KeyElement | null> {
  const plus = (a: KeyElement | null, b: KeyElement | null): KeyElement | null => {
    if (a === null) return b;
    if (b === null) return a;
    return sign * compareKeyElements(b, a) > 0 ? b : a;
  };
  return {
    name,
    zero: () => null,
    plus,
    lift: (value) => toElement(value, `${name}'s values`),
    sumAll: (accs) => accs.reduce(plus, null),
  };
}

/**
 * The set of emitted elements: each value is an element (a string or a finite
 * number) or an array of them. The accumulator is the set as an array sorted
 * in key order without duplicates; it grows with the number of distinct
 * elements of a key (for a count of them, hll is bounded).
 */
export const setUnion: Monoid<KeyElement[], KeyElement | readonly KeyElement[], KeyElement[]> = {
  name: 'setUnion',
  zero: () => [],
  plus: unionSorted,
  lift(value) {
    if (!Array.isArray(value)) return [toElement(value, "setUnion's values")];
    return sortedUnique(value.map((e: unknown, i) => toElement(e, `the elements of setUnion's values (element ${i})`)));
  },
  sumAll(accs) {
    const nonEmpty = accs.filter((a) => a.length > 0);
    if (nonEmpty.length <= 1) return nonEmpty[0] ?? [];
    return sortedUnique(nonEmpty.flat());
  },
};

function unionSorted(a: KeyElement[], b: KeyElement[]): KeyElement[] {
  if (a.length === 0) return b;
  if (b.length === 0) return a;
  const out: KeyElement[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    const c = compareKeyElements(a[i]!, b[j]!);
    if (c < 0) out.push(a[i++]!);
    else if (c > 0) out.push(b[j++]!);
    else {
      out.push(a[i++]!);
      j++;
    }
  }
  while (i < a.length) out.push(a[i++]!);
  while (j < b.length) out.push(b[j++]!);
  return out;
}

function sortedUnique(elements: KeyElement[]): KeyElement[] {
  elements.sort(compareKeyElements);
  const out: KeyElement[] = [];
  for (const e of elements) if (out.length === 0 || compareKeyElements(out[out.length - 1]!, e) !== 0) out.push(e);
  return out;
}

/** An item of topK's answer. */
export interface TopKItem {
  readonly item: KeyElement;
  readonly count: number;
}

/** topK's accumulator: [item, count] for every item seen, sorted by item in key order. */
export type ItemCounts = Array<[KeyElement, number]>;

/**
 * The k most frequent emitted items (strings or finite numbers), with their
 * counts, most frequent first; items of equal count in key order. Exact: the
 * accumulator keeps the count of every distinct item of a key (a bounded
 * sketch could not merge exactly), so its size grows with them; k only
 * shapes the answer. Throws INVALID_ARGUMENT unless k is a positive integer.
 */
export function topK(k: number): Monoid<ItemCounts, KeyElement, TopKItem[]> {
  requirePositiveInt("topK's k", k);
  return {
    name: `topK(${k})`,
    zero: () => [],
    plus: mergeCounts,
    lift: (value) => [[toElement(value, `topK(${k})'s values`), 1]],
    present(acc) {
      return [...acc]
        .sort((a, b) => b[1] - a[1] || compareKeyElements(a[0], b[0]))
        .slice(0, k)
        .map(([item, n]) => ({ item, count: n }));
    },
    sumAll(accs) {
      const nonEmpty = accs.filter((a) => a.length > 0);
      if (nonEmpty.length <= 1) return nonEmpty[0] ?? [];
      const counts = new Map<KeyElement, number>();
      for (const acc of nonEmpty) for (const [item, n] of acc) counts.set(item, (counts.get(item) ?? 0) + n);
      return [...counts].sort((a, b) => compareKeyElements(a[0], b[0]));
    },
  };
}

function mergeCounts(a: ItemCounts, b: ItemCounts): ItemCounts {
  if (a.length === 0) return b;
  if (b.length === 0) return a;
  const out: ItemCounts = [];
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    const x = a[i]!;
    const y = b[j]!;
    const c = compareKeyElements(x[0], y[0]);
    if (c < 0) {
      out.push(x);
      i++;
    } else if (c > 0) {
      out.push(y);
      j++;
    } else {
      out.push([x[0], x[1] + y[1]]);
      i++;
      j++;
    }
  }
  while (i < a.length) out.push(a[i++]!);
  while (j < b.length) out.push(b[j++]!);
  return out;
}

/** Default precision of hll(): 2^14 registers, 16 KiB dense, standard error 0.81%. */
export const DEFAULT_HLL_PRECISION = 14;

/**
 * The number of distinct emitted values (strings or finite numbers; "1" and
 * 1 are distinct), estimated by a HyperLogLog sketch of 2^precision
 * registers (precision 4..18, default 14). Standard error 1.04 / sqrt(2^p):
 * 3.25% at p = 10, 1.63% at p = 12, 0.81% at p = 14, 0.41% at p = 16; about
 * 99.7% of estimates are within three times that (from p = 8 on; with the
 * 16 to 64 registers of p = 4..6 errors run somewhat larger, and the
 * estimate leans high). The accumulator is at most
 * 2^p bytes (a few bytes while the key has few distinct values: see
 * src/api/hll.ts), and merges exactly: merged sketches equal the sketch of
 * the union. Throws INVALID_ARGUMENT for a precision outside 4..18.
 */
export function hll(precision: number = DEFAULT_HLL_PRECISION): Monoid<Uint8Array, KeyElement, number> {
  if (!Number.isInteger(precision) || precision < MIN_PRECISION || precision > MAX_PRECISION) {
    throw new LaminateError('INVALID_ARGUMENT', `Expected hll's precision to be an integer from ${MIN_PRECISION} to ${MAX_PRECISION}, got ${describeValue(precision)}`);
  }
  return {
    name: `hll(${precision})`,
    zero: emptySketch,
    plus: (a, b) => mergeSketches(precision, a, b),
    lift: (value) => sketchOf(precision, value),
    present: (acc) => estimate(precision, acc),
    sumAll: (accs) => mergeAllSketches(precision, accs),
  };
}

function toElement(value: unknown, what: string): KeyElement {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' && Number.isFinite(value)) return value === 0 ? 0 : value;
  throw new LaminateError('INVALID_ARGUMENT', `Expected ${what} to be strings or finite numbers, got ${describeValue(value)}`);
}

function describeValue(v: unknown): string {
  return typeof v === 'number' ? String(v) : describe(v);
}
