import { pack, unpack } from 'msgpackr';
import { describe, expect, it } from 'vitest';
import { CombinedValues, CombiningBuffer, EAGER_COMBINE_RUN_LENGTH, EAGER_COMBINE_RUNS } from '../../../src/storage/combining-buffer.js';
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

/** A combiner that records the values it is handed, per key, and emits the count of them. */
function recorder(): { combine: CombineFn; seen: Map<string, unknown[][]> } {
  const seen = new Map<string, unknown[][]>();
  const combine: CombineFn = (key, values, emit) => {
    (seen.get(key) ?? seen.set(key, []).get(key)!).push([...values]);
    emit(key, values.length);
  };
  return { combine, seen };
}

/** What the spill's combine hands the combiner, per key (one call each). */
async function spillInputs(b: CombiningBuffer, seen: Map<string, unknown[][]>): Promise<Map<string, unknown[]>> {
  seen.clear();
  await b.combineAll(1, () => 0);
  const out = new Map<string, unknown[]>();
  for (const [key, calls] of seen) {
    expect(calls).toHaveLength(1);
    out.set(key, calls[0]!);
  }
  return out;
}

describe('CombiningBuffer', () => {
  it('gives each key its values in emit order, runs, -0, NaN and packed values included', async () => {
    const random = rng(31);
    const pool: unknown[] = [1, 1, 2, 'x', 'x', -0, 0, NaN, 1.5];
    const keys = ['a', 'b', '\u00e9', '\u{1f600}'];
    const counts = { outputBytes: 0, combineInput: 0 };
    const { combine, seen } = recorder();
    const b = new CombiningBuffer(combine, counts);
    const model = new Map<string, unknown[]>();
    let emitted = 0;
    // Fewer than EAGER_COMBINE_RUNS values (so runs) per key: nothing is due.
    while (emitted < 4 * (EAGER_COMBINE_RUNS - 1) - 8) {
      const key = keys[intBelow(random, keys.length)]!;
      if ((model.get(key)?.length ?? 0) >= EAGER_COMBINE_RUNS - 4) continue;
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
    expect(seen.size).toBe(0);
    const got = await spillInputs(b, seen);
    expect([...got.keys()].sort()).toEqual([...model.keys()].sort());
    for (const [key, values] of model) {
      const g = got.get(key)!;
      expect(g.length).toBe(values.length);
      // Object.is tells -0 from 0 and matches NaN; objects arrive unpacked.
      g.forEach((v, i) => {
        const want = values[i];
        if (want instanceof PackedValue) expect(v).toEqual(unpack(want.bytes));
        else expect(Object.is(v, want)).toBe(true);
      });
    }
    expect(counts.combineInput).toBe(emitted);
  });

  it('combines a key once it holds EAGER_COMBINE_RUNS runs, the output counting as runs', async () => {
    const calls: { key: string; values: unknown[] }[] = [];
    const counts = { outputBytes: 0, combineInput: 0 };
    const b = new CombiningBuffer(historyCombiner(calls), counts);
    // Runs of 1 to 3 values: 'x', 1, 'x', 1...
    const first: unknown[] = [];
    for (let run = 0; run < EAGER_COMBINE_RUNS - 1; run++) {
      for (let r = 0; r <= run % 3; r++) {
        const v = run % 2 === 0 ? 'x' : 1;
        b.add('k', v);
        first.push(v);
      }
    }
    b.add('other', 1);
    expect(b.hasDue()).toBe(false);
    b.add('k', 'y');
    first.push('y');
    expect(b.hasDue()).toBe(true);
    expect(b.combineDue()).toBeUndefined();
    expect(calls).toEqual([{ key: 'k', values: first }]);
    expect(b.combineOutput).toBe(1);
    // The combined value is the first run: 62 more runs leave room for one.
    for (let i = 0; i < EAGER_COMBINE_RUNS - 2; i++) b.add('k', i % 2);
    expect(b.hasDue()).toBe(false);
    b.add('k', 7);
    expect(b.hasDue()).toBe(true);
    void b.combineDue();
    expect(calls).toHaveLength(2);
    expect(calls[1]!.values).toEqual([
      first.map((v) => `${typeof v}:${String(v)}`).join('|'),
      ...Array.from({ length: EAGER_COMBINE_RUNS - 2 }, (_, i) => i % 2),
      7,
    ]);
    expect(counts.combineInput).toBe(first.length + EAGER_COMBINE_RUNS);
    const parts = await b.combineAll(1, () => 0);
    expect(calls.slice(2).map((c) => c.key).sort()).toEqual(['k', 'other']);
    expect(calls.find((c) => c.key === 'other')!.values).toEqual([1]);
    expect(parts[0]!.keys.sort()).toEqual(['k', 'other']);
    expect(b.combineOutput).toBe(4);
    expect(counts.combineInput).toBe(first.length + EAGER_COMBINE_RUNS + 1 + 1);
  });

  it('combines a run once it reaches EAGER_COMBINE_RUN_LENGTH values', () => {
    const calls: { key: string; values: unknown[] }[] = [];
    const counts = { outputBytes: 0, combineInput: 0 };
    const sum: CombineFn = (key, values, emit) => {
      calls.push({ key, values: [...values] });
      emit(key, (values as number[]).reduce((a, b) => a + b, 0));
    };
    const b = new CombiningBuffer(sum, counts);
    b.add('k', 5);
    for (let i = 0; i < EAGER_COMBINE_RUN_LENGTH - 1; i++) b.add('k', 1);
    expect(b.hasDue()).toBe(false);
    b.add('k', 1);
    expect(b.hasDue()).toBe(true);
    void b.combineDue();
    expect(calls).toHaveLength(1);
    expect(calls[0]!.values).toEqual([5, ...Array.from({ length: EAGER_COMBINE_RUN_LENGTH }, () => 1)]);
    // The next run of 1s starts after the combined value, however equal it is.
    for (let i = 0; i < 3 * EAGER_COMBINE_RUN_LENGTH; i++) {
      b.add('k', 1);
      void b.combineDue();
    }
    expect(calls).toHaveLength(4);
    expect(calls[3]!.values).toEqual([5 + 3 * EAGER_COMBINE_RUN_LENGTH, ...Array.from({ length: EAGER_COMBINE_RUN_LENGTH }, () => 1)]);
    expect(counts.combineInput).toBe(1 + EAGER_COMBINE_RUN_LENGTH + 3 * (1 + EAGER_COMBINE_RUN_LENGTH));
  });

  it('waits for an asynchronous combiner before the key takes values again', async () => {
    const b = new CombiningBuffer(async (key, values, emit) => {
      await new Promise((resolve) => setImmediate(resolve));
      emit(key, (values as number[]).reduce((x, y) => x + y, 0));
    }, { outputBytes: 0, combineInput: 0 });
    for (let i = 0; i < EAGER_COMBINE_RUN_LENGTH; i++) b.add('k', 1);
    const pending = b.combineDue();
    expect(pending).toBeInstanceOf(Promise);
    await pending;
    b.add('k', 1);
    const parts = await b.combineAll(1, () => 0);
    expect([parts[0]!.keys, parts[0]!.values]).toEqual([['k'], [EAGER_COMBINE_RUN_LENGTH + 1]]);
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
    for (let i = 1; i < EAGER_COMBINE_RUNS; i++) b.add('k', i % 2);
    const full = b.bytes;
    expect(full).toBeGreaterThan(single + (EAGER_COMBINE_RUNS - 1) * 16);
    void b.combineDue();
    // One number left, as after the first emit (now a run of its own, not the current one).
    expect(b.bytes).toBeLessThanOrEqual(single + 16);
    expect(b.bytes).toBeGreaterThan(0);
    b.reset();
    expect(b.bytes).toBe(0);
    expect(b.keyCount).toBe(0);
    expect(b.packed).toBe(false);
  });

  it('counts the map output bytes of every value once, as the framing spec sizes them', async () => {
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
    await b.combineAll(1, () => 0);
    const expected = recs.reduce((n, [k, v]) => n + Buffer.byteLength(k) + plainValueSize(v), 0);
    expect(counts.outputBytes).toBe(expected);
  });

  it('splits what the combiner emitted by partition, keeping several values of a key together and dropping keys with none', async () => {
    const b = new CombiningBuffer((key, values, emit) => {
      const n = Number(/\d+/.exec(key)![0]);
      // k0, k3, ... emit nothing; k1, k4, ... one value; k2, k5, ... their count three times.
      for (let i = 0; i < (n % 3 === 2 ? 3 : n % 3); i++) emit(key, values.length + i);
    }, { outputBytes: 0, combineInput: 0 });
    const keys = Array.from({ length: 300 }, (_, i) => `k${i}${i % 4 === 0 ? '\u00e9' : i % 4 === 1 ? '\u{1f600}' : ''}`);
    for (const k of keys) b.add(k, 1);
    b.add(keys[5]!, 2);
    const num = (k: string): number => Number(/\d+/.exec(k)![0]);
    const parts = await b.combineAll(2, (k) => num(k) % 2);
    for (const p of [0, 1]) {
      const mine = keys.filter((_, i) => i % 2 === p && i % 3 !== 0);
      expect(parts[p]!.keys).toEqual(mine);
      // Each key's UTF-8 bytes, one after another.
      const { keyBytes, keyEnds } = parts[p]!;
      expect(keyEnds.map((end, i) => keyBytes.buf.toString('utf8', i === 0 ? 0 : keyEnds[i - 1], end))).toEqual(mine);
      expect(parts[p]!.values).toEqual(mine.map((k) => {
        const n = num(k);
        const count = k === keys[5] ? 2 : 1;
        return n % 3 === 1 ? count : new CombinedValues([count, count + 1, count + 2]);
      }));
    }
    expect(b.combineOutput).toBe(100 + 3 * 100);
  });

  it('keeps what a combiner emitted at the time, even when it reuses one object for every key', async () => {
    const acc = { key: '', n: 0 };
    const b = new CombiningBuffer((key, values, emit) => {
      acc.key = key;
      acc.n = values.length;
      emit(key, acc);
    }, { outputBytes: 0, combineInput: 0 });
    const keys = ['a', 'b', 'c'];
    keys.forEach((k, i) => { for (let r = 0; r <= i; r++) b.add(k, r); });
    const [part] = await b.combineAll(1, () => 0);
    expect(part!.values.map((v) => unpack((v as PackedValue).bytes) as unknown)).toEqual([{ key: 'a', n: 1 }, { key: 'b', n: 2 }, { key: 'c', n: 3 }]);
  });

  it('does not call the combiner at the spill for a key an eager combine emitted nothing for', async () => {
    const calls: { key: string; values: unknown[] }[] = [];
    const b = new CombiningBuffer((key, values, emit) => {
      calls.push({ key, values: [...values] });
      if (key !== 'dropped') emit(key, values.length);
    }, { outputBytes: 0, combineInput: 0 });
    for (let i = 0; i < EAGER_COMBINE_RUNS; i++) b.add('dropped', i);
    b.add('kept', 1);
    void b.combineDue();
    expect(calls.map((c) => c.key)).toEqual(['dropped']);
    const parts = await b.combineAll(1, () => 0);
    expect(calls.map((c) => c.key)).toEqual(['dropped', 'kept']);
    expect([parts[0]!.keys, parts[0]!.values]).toEqual([['kept'], [1]]);
  });

  it('refuses a combiner that emits another key', () => {
    const b = new CombiningBuffer((_k, v, emit) => emit('other', v.length), { outputBytes: 0, combineInput: 0 });
    for (let i = 0; i < EAGER_COMBINE_RUNS; i++) b.add('k', i);
    throwsWith(() => b.combineDue(), 'INVALID_ARGUMENT', /Expected combine to emit the key it was given \('k'\), got 'other'/);
  });

  it('hands the combiner unpacked objects, packing what it emits', async () => {
    const seen: unknown[] = [];
    const b = new CombiningBuffer((key, values, emit) => {
      seen.push(...values);
      emit(key, { n: values.length });
    }, { outputBytes: 0, combineInput: 0 });
    // Every emitted object is a value of its own: 64 of them make 64 runs.
    for (let i = 0; i < EAGER_COMBINE_RUNS; i++) b.add('k', packValue({ i }));
    void b.combineDue();
    expect(seen).toEqual(Array.from({ length: EAGER_COMBINE_RUNS }, (_, i) => ({ i })));
    // The spill's combine gets the eager combine's output back as an object.
    seen.length = 0;
    const parts = await b.combineAll(1, () => 0);
    expect(seen).toEqual([{ n: EAGER_COMBINE_RUNS }]);
    const v = parts[0]!.values[0];
    expect(v).toBeInstanceOf(PackedValue);
    expect(Buffer.from((v as PackedValue).bytes)).toEqual(pack({ n: 1 }));
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
