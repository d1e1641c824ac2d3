import { pack } from 'msgpackr';
import { describe, expect, it } from 'vitest';
import { CombiningBuffer, EAGER_COMBINE_VALUES } from '../../../src/storage/combining-buffer.js';
import type { CombineFn } from '../../../src/storage/combine-emitter.js';
import { packValue, PackedValue } from '../../../src/storage/record-codec.js';
import { intBelow, pick, rng, throwsWith } from './helpers.js';

/** Records each combine call's input and emits it joined, so a test can replay what happened. */
function historyCombiner(calls: { key: string; values: unknown[] }[]): CombineFn {
  return (key, values, emit) => {
    calls.push({ key, values: [...values] });
    emit(key, values.map((v) => (Object.is(v, -0) ? '-0' : typeof v === 'object' ? JSON.stringify(v) : `${typeof v}:${String(v)}`)).join('|'));
  };
}

function takeAll(b: CombiningBuffer, reducers = 1): Map<string, unknown[]> {
  const out = new Map<string, unknown[]>();
  for (const part of b.partitionSlots(reducers, () => 0)) {
    part.keys.forEach((key, i) => out.set(key, b.takeValues(part.slots[i]!)));
  }
  return out;
}

describe('CombiningBuffer', () => {
  it('gives each key its values in emit order, runs, -0, NaN and packed values included', () => {
    const random = rng(31);
    const pool: unknown[] = [1, 1, 2, 'x', 'x', -0, 0, NaN, 1.5];
    const keys = ['a', 'b', '\u00e9', '\u{1f600}'];
    const counts = { outputBytes: 0, combineInput: 0 };
    const b = new CombiningBuffer(() => { throw new Error('no combine expected'); }, counts);
    const model = new Map<string, unknown[]>();
    let emitted = 0;
    // Fewer than EAGER_COMBINE_VALUES per key: nothing is due.
    while (emitted < 4 * (EAGER_COMBINE_VALUES - 1) - 8) {
      const key = keys[intBelow(random, keys.length)]!;
      if ((model.get(key)?.length ?? 0) >= EAGER_COMBINE_VALUES - 4) continue;
      const run = 1 + intBelow(random, 4);
      const value = random() < 0.1 ? packValue({ o: emitted }) : pick(random, pool);
      for (let r = 0; r < run; r++) {
        b.add(key, value);
        (model.get(key) ?? model.set(key, []).get(key)!).push(value);
        emitted++;
      }
    }
    expect(b.hasDue()).toBe(false);
    expect(b.keyCount).toBe(model.size);
    expect(b.packed).toBe(true);
    const got = takeAll(b);
    expect([...got.keys()].sort()).toEqual([...model.keys()].sort());
    for (const [key, values] of model) {
      const g = got.get(key)!;
      expect(g.length).toBe(values.length);
      // Object.is tells -0 from 0 and matches NaN; PackedValues are the very objects emitted.
      g.forEach((v, i) => expect(Object.is(v, values[i])).toBe(true));
    }
    expect(counts.combineInput).toBe(emitted);
  });

  it('combines a key once EAGER_COMBINE_VALUES values pile up, counting the output as values', () => {
    const calls: { key: string; values: unknown[] }[] = [];
    const counts = { outputBytes: 0, combineInput: 0 };
    const b = new CombiningBuffer(historyCombiner(calls), counts);
    for (let i = 0; i < EAGER_COMBINE_VALUES - 1; i++) b.add('k', i % 3 === 0 ? 'x' : 1);
    b.add('other', 1);
    expect(b.hasDue()).toBe(false);
    b.add('k', 1);
    expect(b.hasDue()).toBe(true);
    expect(b.combineDue()).toBeUndefined();
    expect(calls).toHaveLength(1);
    expect(calls[0]!.values).toHaveLength(EAGER_COMBINE_VALUES);
    expect(b.eagerOutput).toBe(1);
    // The combined value is one of the key's values: 62 more make it due again.
    for (let i = 0; i < EAGER_COMBINE_VALUES - 2; i++) b.add('k', 2);
    expect(b.hasDue()).toBe(false);
    b.add('k', 2);
    expect(b.hasDue()).toBe(true);
    void b.combineDue();
    expect(calls).toHaveLength(2);
    expect(calls[1]!.values[0]).toBe(calls[0]!.values.map((v) => `${typeof v}:${String(v)}`).join('|'));
    expect(calls[1]!.values.slice(1)).toEqual(Array.from({ length: EAGER_COMBINE_VALUES - 1 }, () => 2));
    expect(counts.combineInput).toBe(2 * EAGER_COMBINE_VALUES);
    expect(takeAll(b).get('other')).toEqual([1]);
  });

  it('waits for an asynchronous combiner before the key takes values again', async () => {
    const b = new CombiningBuffer(async (key, values, emit) => {
      await new Promise((resolve) => setImmediate(resolve));
      emit(key, (values as number[]).reduce((x, y) => x + y, 0));
    }, { outputBytes: 0, combineInput: 0 });
    for (let i = 0; i < EAGER_COMBINE_VALUES; i++) b.add('k', 1);
    const pending = b.combineDue();
    expect(pending).toBeInstanceOf(Promise);
    await pending;
    b.add('k', 1);
    expect(takeAll(b).get('k')).toEqual([EAGER_COMBINE_VALUES, 1]);
  });

  it('counts a repeated value at no cost, and a new key or a changed value at its size', () => {
    const b = new CombiningBuffer((k, v, emit) => emit(k, v.length), { outputBytes: 0, combineInput: 0 });
    b.add('key', 1);
    const one = b.bytes;
    expect(one).toBeGreaterThanOrEqual('key'.length + 16);
    for (let i = 0; i < 1000; i++) b.add('key', 1);
    expect(b.bytes).toBe(one);
    b.add('key', 'a string value');
    expect(b.bytes).toBeGreaterThan(one + 'a string value'.length);
    const before = b.bytes;
    b.add('x'.repeat(500), 1);
    expect(b.bytes - before).toBeGreaterThanOrEqual(500);
    const packed = packValue({ big: 'y'.repeat(300) });
    const beforePacked = b.bytes;
    b.add('key', packed);
    expect(b.bytes - beforePacked).toBeGreaterThanOrEqual(packed.bytes.length);
  });

  it('gives back what an eager combine frees and charges what it produced', () => {
    const b = new CombiningBuffer((key, values, emit) => emit(key, values.length), { outputBytes: 0, combineInput: 0 });
    b.add('k', 0);
    const single = b.bytes;
    // Alternating values: every emit is a new run, and each one costs.
    for (let i = 1; i < EAGER_COMBINE_VALUES; i++) b.add('k', i % 2);
    const full = b.bytes;
    expect(full).toBeGreaterThan(single + (EAGER_COMBINE_VALUES - 1) * 8);
    void b.combineDue();
    // One number left, as after the first emit.
    expect(b.bytes).toBeLessThanOrEqual(single + 8);
    expect(b.bytes).toBeGreaterThan(0);
    b.reset();
    expect(b.bytes).toBe(0);
    expect(b.keyCount).toBe(0);
    expect(b.packed).toBe(false);
  });

  it('counts the map output bytes of every value once, as the framing spec sizes them', () => {
    const counts = { outputBytes: 0, combineInput: 0 };
    const b = new CombiningBuffer((key, values, emit) => emit(key, values.length), counts);
    const recs: [string, unknown][] = [];
    const random = rng(8);
    for (let i = 0; i < 5000; i++) {
      const key = pick(random, ['the', 'caf\u00e9', '\u{1f600}x', 'a'.repeat(40)]);
      const value = pick(random, [1, 1, 1, 7, 300, -5, 2.5, 'str', -0]);
      recs.push([key, value]);
      b.add(key, value);
      void b.combineDue();
    }
    takeAll(b);
    const expected = recs.reduce((n, [k, v]) => n + Buffer.byteLength(k) + plainValueSize(v), 0);
    expect(counts.outputBytes).toBe(expected);
  });

  it('splits the keys by partition, each with its own slot', () => {
    const b = new CombiningBuffer((k, v, emit) => emit(k, v.length), { outputBytes: 0, combineInput: 0 });
    const keys = Array.from({ length: 300 }, (_, i) => `k${i}`);
    for (const k of keys) b.add(k, 1);
    const parts = b.partitionSlots(3, (k) => Number(k.slice(1)) % 3);
    expect(parts.map((p) => p.keys)).toEqual([0, 1, 2].map((r) => keys.filter((_, i) => i % 3 === r)));
    expect(new Set(parts.flatMap((p) => p.slots)).size).toBe(300);
  });

  it('refuses a combiner that emits another key', () => {
    const b = new CombiningBuffer((_k, v, emit) => emit('other', v.length), { outputBytes: 0, combineInput: 0 });
    for (let i = 0; i < EAGER_COMBINE_VALUES; i++) b.add('k', 1);
    throwsWith(() => b.combineDue(), 'INVALID_ARGUMENT', /Expected combine to emit the key it was given \('k'\), got 'other'/);
  });

  it('hands the combiner unpacked objects, packing what it emits', () => {
    const seen: unknown[] = [];
    const b = new CombiningBuffer((key, values, emit) => {
      seen.push(...values);
      emit(key, { n: values.length });
    }, { outputBytes: 0, combineInput: 0 });
    for (let i = 0; i < EAGER_COMBINE_VALUES; i++) b.add('k', packValue({ i }));
    void b.combineDue();
    expect(seen).toEqual(Array.from({ length: EAGER_COMBINE_VALUES }, (_, i) => ({ i })));
    const [v] = takeAll(b).get('k')!;
    expect(v).toBeInstanceOf(PackedValue);
    expect(Buffer.from((v as PackedValue).bytes)).toEqual(pack({ n: EAGER_COMBINE_VALUES }));
  });
});

/** Value bytes as the framing spec defines them, computed plainly: tag byte plus payload. */
function plainValueSize(value: unknown): number {
  if (typeof value === 'string') return 1 + Buffer.byteLength(value);
  if (typeof value === 'number' && Number.isInteger(value) && !Object.is(value, -0) && Math.abs(value) < 2 ** 31) {
    let z = value >= 0 ? value * 2 : -value * 2 - 1;
    let n = 1;
    while (z >= 128) { z = Math.floor(z / 128); n++; }
    return 1 + n;
  }
  return 9;
}
