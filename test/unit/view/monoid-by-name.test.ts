import { describe, expect, it } from 'vitest';
import { count, hll, max, min, setUnion, sum, topK } from '../../../src/api/monoids.js';
import { monoidByName, presentationOf } from '../../../src/view/monoid-by-name.js';

describe('monoidByName', () => {
  it('gives back each built-in from the name it deploys under', () => {
    for (const m of [sum, count, min, max, setUnion]) expect(monoidByName(m.name)).toBe(m);
    for (const m of [topK(1), topK(10), topK(250), hll(4), hll(14), hll(18)]) {
      const back = monoidByName(m.name)!;
      expect(back.name).toBe(m.name);
      // Same behaviour: the same answer for the same accumulator.
      const acc = m.lift!('x' as never);
      expect(back.present!(acc)).toEqual(m.present!(acc as never));
    }
  });

  it('gives undefined for custom monoids and names no built-in gives itself', () => {
    for (const name of ['custom', 'mySum', 'topK(0)', 'topK(-1)', 'topK(1.5)', 'topK()', 'hll(3)', 'hll(19)', 'hll', 'Sum', ' sum', 'topK(10) ']) {
      expect(monoidByName(name), name).toBeUndefined();
    }
  });

  it('presents topK and hll accumulators, and leaves the others and custom ones as stored', () => {
    expect(presentationOf('topK(2)').identity).toBe(false);
    expect(presentationOf('topK(2)').present([['a', 1], ['b', 3], ['c', 2]])).toEqual([{ item: 'b', count: 3 }, { item: 'c', count: 2 }]);
    const h = hll(12);
    expect(presentationOf('hll(12)').present(h.sumAll!(['a', 'b'].map((x) => h.lift!(x))))).toBe(2);
    for (const name of ['sum', 'count', 'min', 'max', 'setUnion', 'custom', 'whatever']) {
      const p = presentationOf(name);
      expect(p.identity, name).toBe(true);
      const acc = { any: ['thing'] };
      expect(p.present(acc)).toBe(acc);
    }
  });
});
