import { describe, expect, it } from 'vitest';
import { LaminateError } from '../../../src/common/errors.js';
import { assertMonoidLaws, checkMonoidLaws, type LawCheckResult, type LawViolation } from '../../../src/api/monoid-laws.js';
import type { MonoidLike } from '../../../src/api/monoid.js';
import { sum } from '../../../src/api/monoids.js';

function violation(result: LawCheckResult): LawViolation {
  if (result.ok) throw new Error(`Expected a violation, got ok: ${JSON.stringify(result)}`);
  return result.violation;
}

const subtraction: MonoidLike<number> = { name: 'minus', zero: 0, plus: (a, b) => a - b };
const concat: MonoidLike<string> = { zero: '', plus: (a, b) => a + b };
// Commutative, with 0 as identity, but not associative: ab + 1 regroups differently.
const timesPlusOne: MonoidLike<number> = { zero: 0, plus: (a, b) => (a === 0 ? b : b === 0 ? a : a * b + 1) };

describe('checkMonoidLaws refuses a broken merge with its counterexample', () => {
  it('subtraction: zero is no left identity, shown with the value', () => {
    const v = violation(checkMonoidLaws(subtraction));
    expect(v.law).toBe('left identity');
    expect(v.monoid).toBe('minus');
    expect(v.left).toBe(-(v.a as number));
    expect(v.message).toBe(`merge 'minus' breaks left identity: plus(zero, a) = ${v.left} but a = ${v.a}, for a = ${v.a}. Expected a monoid: zero must change nothing, on either side: keys absent on one side (batch or speed, one task or another) are merged with zero.`);
  });

  it('subtraction on the samples a view emitted, named by the sample', () => {
    const v = violation(checkMonoidLaws(subtraction, [5, 3]));
    expect([v.law, v.a, v.left, v.right]).toEqual(['left identity', 5, -5, 5]);
  });

  it('concatenation: not commutative, with both orders shown', () => {
    const v = violation(checkMonoidLaws(concat));
    expect(v.law).toBe('commutativity');
    const [a, b] = [v.a as string, v.b as string];
    expect([v.left, v.right]).toEqual([a + b, b + a]);
    expect(v.message).toContain(`is not commutative: plus(a, b) = ${JSON.stringify(a + b)} but plus(b, a) = ${JSON.stringify(b + a)}, for a = ${JSON.stringify(a)}, b = ${JSON.stringify(b)}`);
  });

  it('a wrong zero: sum with zero 1', () => {
    const v = violation(checkMonoidLaws({ zero: 1, plus: (a: number, b: number) => a + b }));
    expect(v.law).toBe('left identity');
    expect(v.left).toBe((v.a as number) + 1);
  });

  it('a commutative merge with an identity that does not associate: the triple really breaks it', () => {
    const v = violation(checkMonoidLaws(timesPlusOne));
    expect(v.law).toBe('associativity');
    const [a, b, c] = [v.a as number, v.b as number, v.c as number];
    const p = timesPlusOne.plus;
    expect(v.left).toBe(p(p(a, b), c));
    expect(v.right).toBe(p(a, p(b, c)));
    expect(v.left).not.toBe(v.right);
    expect(v.message).toContain(`is not associative: plus(plus(a, b), c) = ${v.left} but plus(a, plus(b, c)) = ${v.right}, for a = ${a}, b = ${b}, c = ${c}`);
  });

  it('a merge that mutates its left argument', () => {
    const v = violation(checkMonoidLaws({ zero: () => [], plus: (a: number[], b: number[]) => { a.push(...b); return a; } }));
    expect(v.law).toBe('no mutation');
    expect(v.message).toContain('plus(a, b) changed its argument a:');
  });

  it('a merge that throws, returns undefined, or returns what msgpack cannot carry', () => {
    const thrown = violation(checkMonoidLaws({ zero: 0, plus: (): number => { throw new Error('boom'); } }));
    expect([thrown.law, thrown.message]).toEqual(['plus', expect.stringMatching(/^merge 'custom': plus\(a, b\) for a = -?\d+, b = -?\d+ threw: boom\./)]);
    expect(violation(checkMonoidLaws({ zero: 0, plus: () => undefined as unknown as number })).message).toContain('returned undefined');
    const map = violation(checkMonoidLaws({ zero: 0, plus: (a: number, b: number) => new Map([[a, b]]) as unknown as number }));
    expect([map.law, map.message]).toEqual(['plain data', expect.stringContaining('is not plain data: it holds a Map')]);
    const nested = violation(checkMonoidLaws({ zero: () => [], plus: (a: unknown[], b: unknown[]) => [...a, ...b, { at: new Date(0) }] }));
    expect(nested.message).toMatch(/is not plain data: it holds a Date at \[\d+\]\.at\./);
  });

  it('a zero that changes, or an undefined one', () => {
    let n = 0;
    const v = violation(checkMonoidLaws({ zero: () => n++, plus: (a: number, b: number) => a + b }));
    expect([v.law, v.message]).toEqual(['zero', expect.stringContaining('zero() returned 1, then 2')]);
  });

  it('a lift that throws on an emitted value, naming it', () => {
    const v = violation(checkMonoidLaws(sum, [1, 'two']));
    expect([v.law, v.a]).toEqual(['lift', 'two']);
    expect(v.message).toContain(`lift("two") threw: Expected sum's values to be finite numbers, got 'two'`);
  });

  it('a sumAll that disagrees with plus', () => {
    const v = violation(checkMonoidLaws({ zero: 0, plus: (a: number, b: number) => a + b, sumAll: (xs: readonly number[]) => xs.length }));
    expect(v.law).toBe('sumAll');
  });

  it('assertMonoidLaws throws INVALID_ARGUMENT with the message', () => {
    let caught: unknown;
    try {
      assertMonoidLaws(concat);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(LaminateError);
    expect((caught as LaminateError).code).toBe('INVALID_ARGUMENT');
    expect((caught as LaminateError).message).toContain("merge 'custom' is not commutative");
  });
});

describe('checkMonoidLaws accepts monoids', () => {
  it('float sums of samples of wide magnitudes, within the tolerance, which exact comparison would refuse', () => {
    const samples = [0.1, 0.2, 0.3, 1e-9, 123456.789, -0.7, 1e12, 3.3];
    expect(checkMonoidLaws(sum, samples)).toMatchObject({ ok: true });
    expect(violation(checkMonoidLaws(sum, samples, { relativeTolerance: 0 })).law).toBe('associativity');
    // Integers compare exactly, whatever the tolerance: an off-by-one at 5e10 is refused.
    const offByOne = { zero: 0, plus: (a: number, b: number) => a + b + (a > b && b > 0 ? 1 : 0) };
    const v = violation(checkMonoidLaws(offByOne, [2e10, 3e10], { relativeTolerance: 1e-6 }));
    expect([v.law, v.left, v.right]).toEqual(['commutativity', 5e10, 5e10 + 1]);
  });

  it('user monoids of every generated type, plain objects and bytes on samples', () => {
    expect(checkMonoidLaws({ zero: 0, plus: (a: number, b: number) => Math.max(a, b) })).toMatchObject({ ok: false }); // 0 is no identity for negatives
    expect(checkMonoidLaws({ zero: -Infinity, plus: (a: number, b: number) => Math.max(a, b) })).toMatchObject({ ok: true, generated: ['integers', 'fractions'] });
    expect(checkMonoidLaws({ zero: '', plus: (a: string, b: string) => (a > b ? a : b) })).toMatchObject({ ok: true, generated: ['strings'] });
    const union = { zero: () => [] as number[], plus: (a: number[], b: number[]) => [...new Set([...a, ...b])].sort() };
    expect(checkMonoidLaws(union, [[1], [1, 2], [3]])).toMatchObject({ ok: true });
    // Without a lift, samples are accumulators: one not in the canonical form breaks identity.
    expect(violation(checkMonoidLaws(union, [[1], [2, 1]])).law).toBe('left identity');
    const stats = {
      zero: () => ({ n: 0, total: 0 }),
      plus: (a: { n: number; total: number }, b: { n: number; total: number }) => ({ total: a.total + b.total, n: a.n + b.n }),
      lift: (v: number) => ({ n: 1, total: v }),
      present: (s: { n: number; total: number }) => s.total / s.n,
    };
    expect(checkMonoidLaws(stats)).toMatchObject({ ok: true, generated: ['integers', 'fractions'] });
    const orBytes = {
      zero: () => new Uint8Array(2),
      plus: (a: Uint8Array, b: Uint8Array) => a.map((x, i) => x | b[i]!),
    };
    expect(checkMonoidLaws(orBytes, [new Uint8Array([1, 0]), new Uint8Array([4, 8])], { samplesAre: 'accumulators' })).toMatchObject({ ok: true });
  });

  it('says when nothing could be checked: no samples, and no generated value fits', () => {
    const objects = { zero: () => ({}), plus: (a: object, b: object) => ({ ...a, ...b }) };
    const result = checkMonoidLaws(objects);
    expect(result).toMatchObject({ ok: true, monoid: 'custom', values: 0, generated: [] });
    expect(result.ok && result.untested).toMatch(/^no samples, and none of the generated values fit it \(integers: -?\d+, not of the shape of zero\(\) = \{\}; fractions: .*; strings and numbers: .*\)$/);
    // With samples of its type, the same monoid is checked.
    expect(checkMonoidLaws(objects, [{ a: 1 }, { b: 2 }])).toMatchObject({ ok: true, values: 4 });
    // And a lift that turns any value into a plain object lets generated values through, of zero()'s shape only.
    const withLift = { zero: () => ({ n: 0 }), plus: (a: { n: number }, b: { n: number }) => ({ n: a.n + b.n }), lift: (v: unknown) => ({ n: v as number }) };
    expect(checkMonoidLaws(withLift)).toMatchObject({ ok: true, generated: ['integers', 'fractions'] });
  });

  it('is deterministic for a seed and bounded by maxTriples', () => {
    const a = checkMonoidLaws(sum, [], { seed: 7 });
    expect(checkMonoidLaws(sum, [], { seed: 7 })).toEqual(a);
    const small = checkMonoidLaws(sum, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10], { maxTriples: 10 });
    const large = checkMonoidLaws(sum, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10], { maxTriples: 1000 });
    expect(small.ok && large.ok && small.checks < large.checks).toBe(true);
  });
});
