import { pack, unpack } from 'msgpackr';
import { describe, expect, it } from 'vitest';
import type { KeyElement } from '../../../src/common/view-key.js';
import { checkMonoidLaws } from '../../../src/api/monoid-laws.js';
import { resolveMonoid, type Monoid } from '../../../src/api/monoid.js';
import { count, hll, max, min, setUnion, sum, topK } from '../../../src/api/monoids.js';
import { seededRandom } from '../../support/seeded-random.js';
import { invalidArgument } from '../../support/invalid-argument.js';

/** The documented element order, computed independently: numbers first, by value; strings by UTF-8 bytes. */
function refOrder(a: KeyElement, b: KeyElement): number {
  if (typeof a === 'number' && typeof b === 'number') return a === b ? 0 : a < b ? -1 : 1;
  if (typeof a === 'number') return -1;
  if (typeof b === 'number') return 1;
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

const WORDS = ['a', 'b', 'ab', 'Z', '\u00e9', '\ue000', '\u{1f600}', ''];

function randomElement(random: () => number): KeyElement {
  return random() < 0.5 ? Math.floor((random() - 0.5) * 40) / 2 : WORDS[Math.floor(random() * WORDS.length)]!;
}

const invalid = (fn: () => unknown): string => invalidArgument(fn).message;

/**
 * Folds `values` the way an engine might: lifted, cut into random groups,
 * each group folded with plus in a random order, the groups' results merged
 * with sumAll or plus in a random grouping.
 */
function foldScattered<A, V>(m: Monoid<A, V, unknown>, values: readonly V[], random: () => number): A {
  const r = resolveMonoid(m);
  const lifted = values.map((v) => r.lift(v));
  for (let i = lifted.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [lifted[i], lifted[j]] = [lifted[j]!, lifted[i]!];
  }
  const groups: A[] = [];
  for (let i = 0; i < lifted.length;) {
    const n = 1 + Math.floor(random() * 20);
    const group = lifted.slice(i, i + n);
    groups.push(random() < 0.5 ? r.sumAll(group) : group.reduce((a, b) => r.plus(a, b), r.zero()));
    i += n;
  }
  while (groups.length > 1) {
    const i = Math.floor(random() * (groups.length - 1));
    groups.splice(i, 2, r.plus(groups[i]!, groups[i + 1]!));
  }
  return groups[0] ?? r.zero();
}

const ALL: Array<Monoid<never, never, unknown>> = [sum, count, min, max, setUnion, topK(1), topK(5), hll(4), hll(10), hll(14), hll(18)] as never;

describe('every built-in monoid', () => {
  it('passes its own laws on generated values', () => {
    for (const m of ALL) {
      const result = checkMonoidLaws(m);
      expect(result, m.name).toMatchObject({ ok: true });
      if (result.ok) {
        expect(result.values, m.name).toBeGreaterThan(20);
        expect(result.untested, m.name).toBeUndefined();
      }
    }
  });

  it('passes its laws on samples of its own kind, under other seeds', () => {
    const random = seededRandom(3);
    const elements = Array.from({ length: 60 }, () => randomElement(random));
    for (const m of [min, max, topK(3), hll(6)] as Array<Monoid<unknown, unknown, unknown>>) {
      for (const seed of [2, 3]) expect(checkMonoidLaws(m, elements, { seed }), m.name).toMatchObject({ ok: true });
    }
    expect(checkMonoidLaws(setUnion, [[1, 'a'], ['a'], [], [2, 2, -0], 'x', 3], { seed: 4 })).toMatchObject({ ok: true });
    expect(checkMonoidLaws(sum, [0.1, 0.2, 0.3, 1e-12, -7.25, 1e15, 3], { seed: 5 })).toMatchObject({ ok: true });
  });

  it('merges msgpack-decoded accumulators exactly as the originals', () => {
    const random = seededRandom(4);
    const samples: Record<string, () => unknown> = {
      sum: () => Math.floor((random() - 0.5) * 1000) / 8,
      count: () => 'x',
      min: () => randomElement(random),
      max: () => randomElement(random),
      setUnion: () => Array.from({ length: Math.floor(random() * 4) }, () => randomElement(random)),
    };
    for (const m of ALL) {
      const r = resolveMonoid(m as Monoid<unknown, unknown, unknown>);
      const next = samples[m.name] ?? (() => randomElement(random));
      for (let i = 0; i < 30; i++) {
        // Accumulators of a few hundred values each, so hll's sketches reach their dense form too.
        const size = i % 3 === 0 ? 2000 : 1 + Math.floor(random() * 30);
        const a = r.sumAll(Array.from({ length: size }, () => r.lift(next())));
        const b = r.sumAll(Array.from({ length: 1 + Math.floor(random() * 30) }, () => r.lift(next())));
        const a2 = unpack(pack(a)) as unknown;
        const b2 = unpack(pack(b)) as unknown;
        expect(pack(r.plus(a2, b2)), m.name).toEqual(pack(r.plus(a, b)));
        expect(pack(r.sumAll([a2, b2])), m.name).toEqual(pack(r.plus(a, b)));
        expect(r.present(a2), m.name).toEqual(r.present(a));
      }
    }
  });
});

describe('sum and count', () => {
  it('sum adds numbers in any grouping; count counts every value as 1', () => {
    const random = seededRandom(5);
    const values = Array.from({ length: 3000 }, () => Math.floor((random() - 0.5) * 1e6));
    let total = 0;
    for (const v of values) total += v;
    expect(foldScattered(sum, values, random)).toBe(total);
    expect(foldScattered(count, ['a', null, 3, [1], { x: 1 }, 'a'], random)).toBe(6);
    expect(foldScattered(count, [], random)).toBe(0);
  });

  it('sum refuses what is not a finite number, naming it', () => {
    expect(invalid(() => resolveMonoid(sum).lift('3' as never))).toBe("Expected sum's values to be finite numbers, got '3'");
    expect(invalid(() => resolveMonoid(sum).lift(NaN))).toContain('got NaN');
    expect(invalid(() => resolveMonoid(sum).lift(Infinity))).toContain('got Infinity');
  });
});

describe('min and max', () => {
  it('give the least and greatest element in key order, null for none', () => {
    const random = seededRandom(6);
    for (let round = 0; round < 50; round++) {
      const values = Array.from({ length: 1 + Math.floor(random() * 40) }, () => randomElement(random));
      const sorted = [...values].sort(refOrder);
      expect(foldScattered(min, values, random)).toEqual(sorted[0] === 0 ? 0 : sorted[0]);
      expect(foldScattered(max, values, random)).toEqual(sorted[sorted.length - 1]);
    }
    expect(resolveMonoid(min).present(resolveMonoid(min).zero())).toBeNull();
    expect(foldScattered(max, ['\ue000', '\u{1f600}'], random)).toBe('\u{1f600}');
    expect(foldScattered(min, [3, 'a', -2.5], random)).toBe(-2.5);
  });

  it('refuse values that are not strings or finite numbers', () => {
    expect(invalid(() => resolveMonoid(min).lift(null as never))).toBe("Expected min's values to be strings or finite numbers, got null");
    expect(invalid(() => resolveMonoid(max).lift([1] as never))).toContain('got an array');
  });
});

describe('setUnion', () => {
  it('gives the set of elements, sorted in key order, the same array for the same set', () => {
    const random = seededRandom(7);
    for (let round = 0; round < 50; round++) {
      const values = Array.from({ length: Math.floor(random() * 30) }, () => (random() < 0.3
        ? Array.from({ length: Math.floor(random() * 4) }, () => randomElement(random))
        : randomElement(random)));
      const set = new Map<string, KeyElement>();
      for (const v of values) for (const e of Array.isArray(v) ? v : [v]) set.set(JSON.stringify(e === 0 ? 0 : e), e === 0 ? 0 : e);
      const expected = [...set.values()].sort(refOrder);
      const a = foldScattered(setUnion, values, random);
      const b = foldScattered(setUnion, [...values].reverse(), random);
      expect(a).toEqual(expected);
      expect(pack(a)).toEqual(pack(b));
    }
  });

  it('refuses an element that is neither a string nor a finite number', () => {
    expect(invalid(() => resolveMonoid(setUnion).lift([1, [2]] as never))).toContain("the elements of setUnion's values (element 1) to be strings or finite numbers, got an array");
    expect(invalid(() => resolveMonoid(setUnion).lift({} as never))).toContain('got a object');
  });
});

describe('topK', () => {
  it('gives the k most frequent items with their exact counts, ties in key order', () => {
    const random = seededRandom(8);
    const items: KeyElement[] = ['a', 'b', 'c', 'd', 'e', 1, 2, 3, 10, -1, '\u{1f600}', '\ue000'];
    for (let round = 0; round < 30; round++) {
      // Skewed draws, so counts differ and tie too.
      const values = Array.from({ length: 1 + Math.floor(random() * 300) }, () => items[Math.floor(random() ** 2 * items.length)]!);
      const counts = new Map<KeyElement, number>();
      for (const v of values) counts.set(v, (counts.get(v) ?? 0) + 1);
      const k = 1 + Math.floor(random() * 6);
      const expected = [...counts].sort((x, y) => y[1] - x[1] || refOrder(x[0], y[0])).slice(0, k).map(([item, n]) => ({ item, count: n }));
      const m = resolveMonoid(topK(k));
      expect(m.present(foldScattered(topK(k), values, random))).toEqual(expected);
    }
  });

  it('keeps every count in its accumulator, sorted by item, so k only shapes the answer', () => {
    const m = resolveMonoid(topK(1));
    const acc = m.sumAll(['b', 'a', 'b', 2].map((v) => m.lift(v)));
    expect(acc).toEqual([[2, 1], ['a', 1], ['b', 2]]);
    expect(m.present(acc)).toEqual([{ item: 'b', count: 2 }]);
    expect(resolveMonoid(topK(10)).present(acc)).toEqual([{ item: 'b', count: 2 }, { item: 2, count: 1 }, { item: 'a', count: 1 }]);
  });

  it('refuses a k that is not a positive integer', () => {
    expect(invalid(() => topK(0))).toBe("Expected topK's k to be a positive integer, got 0");
    expect(invalid(() => topK(2.5))).toContain('got 2.5');
  });
});

describe('hll', () => {
  /** The sketch of `n` distinct strings starting at `from`, merged in chunks as reducers would. */
  function sketch(p: number, from: number, n: number, prefix = 'user-'): Uint8Array {
    const m = resolveMonoid(hll(p));
    const chunks: Uint8Array[] = [];
    for (let start = from; start < from + n; start += 10_000) {
      const lifted: Uint8Array[] = [];
      for (let i = start; i < Math.min(start + 10_000, from + n); i++) lifted.push(m.lift(`${prefix}${i}`));
      chunks.push(m.sumAll(lifted));
    }
    return m.sumAll(chunks);
  }

  it('estimates 10k and 1M distinct values within three standard errors', () => {
    const cases: Array<[number, number]> = [[14, 10_000], [14, 1_000_000], [10, 10_000], [12, 1_000_000]];
    for (const [p, n] of cases) {
      const m = resolveMonoid(hll(p));
      const sigma = 1.04 / Math.sqrt(2 ** p);
      const got = m.present(sketch(p, 0, n));
      expect(Math.abs(got - n) / n, `hll(${p}) of ${n}: ${got}`).toBeLessThanOrEqual(3 * sigma);
    }
  });

  it('estimates 10k distinct numbers within three standard errors', () => {
    const m = resolveMonoid(hll(14));
    const random = seededRandom(9);
    const values = new Set<number>();
    while (values.size < 10_000) values.add(random() < 0.5 ? Math.floor(random() * 1e9) : (random() - 0.5) * 1e6);
    const got = m.present(m.sumAll([...values].map((v) => m.lift(v))));
    expect(Math.abs(got - 10_000) / 10_000).toBeLessThanOrEqual(3 * 1.04 / 128);
  });

  it('counts repeats once and tells a string from a number', () => {
    const m = resolveMonoid(hll(14));
    const once = m.sumAll(Array.from({ length: 500 }, (_, i) => m.lift(`v${i}`)));
    const thrice = m.sumAll(Array.from({ length: 1500 }, (_, i) => m.lift(`v${i % 500}`)));
    expect(thrice).toEqual(once);
    expect(m.present(once)).toBeGreaterThanOrEqual(495);
    expect(m.present(once)).toBeLessThanOrEqual(505);
    expect(m.present(m.plus(m.lift(1), m.lift('1')))).toBe(2);
    expect(m.lift(-0)).toEqual(m.lift(0));
  });

  it('merges two sketches into exactly the sketch of the union, in sparse and dense forms', () => {
    for (const [p, n] of [[14, 1000], [14, 30_000], [8, 50], [8, 5000]] as const) {
      const m = resolveMonoid(hll(p));
      const a = sketch(p, 0, n);
      const b = sketch(p, n / 2, n); // overlaps a by half
      const union = sketch(p, 0, n + n / 2);
      expect(m.plus(a, b)).toEqual(union);
      expect(m.plus(b, a)).toEqual(union);
    }
  });

  it('stores a sketch compactly: nothing for none, 3 bytes per register while sparse, 2^p bytes once dense', () => {
    const m = resolveMonoid(hll(14));
    expect(m.zero()).toHaveLength(0);
    expect(m.lift('x')).toHaveLength(3);
    const few = sketch(14, 0, 100);
    expect(few.length % 3).toBe(0);
    expect(few.length).toBeLessThanOrEqual(300);
    expect(pack(few).length).toBeLessThanOrEqual(few.length + 3);
    expect(sketch(14, 0, 100_000)).toHaveLength(16384);
  });

  it('refuses a precision outside 4..18, values it cannot hash, and sketches of another precision', () => {
    expect(invalid(() => hll(3))).toBe("Expected hll's precision to be an integer from 4 to 18, got 3");
    expect(invalid(() => hll(19))).toContain('got 19');
    expect(invalid(() => hll(14.5))).toContain('got 14.5');
    expect(invalid(() => resolveMonoid(hll(14)).lift({} as never))).toContain("Expected hll(14)'s values to be strings or finite numbers");
    const m10 = resolveMonoid(hll(10));
    const m14 = resolveMonoid(hll(14));
    expect(invalid(() => m10.plus(m10.lift('a'), sketch(14, 0, 100_000)))).toContain('a sketch of another precision');
    expect(invalid(() => m10.plus(m14.lift('a'), m14.lift('b')))).toMatch(/index \d+ rank \d+|another precision/);
  });
});

describe('resolveMonoid', () => {
  it('fills a user monoid: zero as a value or a function, name custom, lift and present as identity', () => {
    const r = resolveMonoid({ zero: 0, plus: (a: number, b: number) => a + b });
    expect(r.name).toBe('custom');
    expect([r.zero(), r.lift(4), r.present(4), r.sumAll([1, 2, 3]), r.hasSumAll]).toEqual([0, 4, 4, 6, false]);
    const f = resolveMonoid({ name: 'longest', zero: () => '', plus: (a: string, b: string) => (b.length > a.length ? b : a) });
    expect([f.name, f.zero()]).toEqual(['longest', '']);
  });

  it('refuses what is not a monoid, naming what is missing', () => {
    expect(invalid(() => resolveMonoid(topK as never))).toContain('got a function: call it, as in topK(10) or hll(14)');
    expect(invalid(() => resolveMonoid('sum' as never))).toContain("or an object { zero, plus }, got 'sum'");
    expect(invalid(() => resolveMonoid({ zero: 0 } as never))).toBe('Expected merge.plus to be a function (a, b) => accumulator, got undefined');
    expect(invalid(() => resolveMonoid({ plus: () => 0 } as never))).toContain('Expected merge.zero to be the identity accumulator');
    expect(invalid(() => resolveMonoid({ zero: () => undefined, plus: () => 0 } as never))).toBe('Expected merge.zero() to return the identity accumulator, got undefined');
    expect(invalid(() => resolveMonoid({ zero: 0, plus: () => 0, lift: 3 } as never))).toBe('Expected merge.lift to be a function when given, got 3');
    expect(invalid(() => resolveMonoid({ zero: 0, plus: () => 0, name: '' } as never))).toContain('merge.name to be a non-empty string');
  });
});
