import { readdir } from 'node:fs/promises';
import { pack } from 'msgpackr';
import { describe, expect, it } from 'vitest';
import { EAGER_COMBINE_RUN_LENGTH, EAGER_COMBINE_RUNS, MapOutputCollector, type CombineFn, type MapOutput } from '../../../src/storage/map-output-collector.js';
import { readIndex, readPartitionChunks } from '../../../src/storage/map-output-file.js';
import { bufferRun } from '../../../src/storage/sorted-run.js';
import { intBelow, pick, rejectsWith, rng, stableSortByKey, throwsWith, useTempDirs } from './helpers.js';

interface Rec {
  key: string;
  value: unknown;
}

const VOCABULARY = Array.from({ length: 60 }, (_, i) => ['w', '\u00e9', '\u{1f600}', '\ufffd', 'Z'][i % 5]!.repeat(1 + (i % 4)) + String(i % 13));

/** A partitioner independent of the code under test: sum of code units mod R. */
function partitioner(reducers: number): (key: string) => number {
  return (key) => {
    let h = 0;
    for (let i = 0; i < key.length; i++) h = (h + key.charCodeAt(i)) % 1000003;
    return h % reducers;
  };
}

async function readPartitions(out: MapOutput): Promise<Rec[][]> {
  const result: Rec[][] = [];
  for (const info of out.partitions) {
    const chunks: Buffer[] = [];
    for await (const chunk of readPartitionChunks(out.dataPath, info, 1000)) chunks.push(chunk);
    const sorted = bufferRun(Buffer.concat(chunks));
    const recs: Rec[] = [];
    while (sorted.next()) recs.push({ key: sorted.key(), value: sorted.value() });
    expect(recs.length).toBe(info.records);
    result.push(recs);
  }
  return result;
}

async function collectAll(c: MapOutputCollector, recs: readonly Rec[]): Promise<MapOutput> {
  for (const r of recs) {
    c.collect(r.key, r.value);
    await c.spillIfNeeded();
  }
  return c.close();
}

function randomRecords(random: () => number, n: number): Rec[] {
  return Array.from({ length: n }, (_, i) => {
    const r = random();
    const value = r < 0.4 ? i : r < 0.7 ? `s${i}` : r < 0.9 ? { i, tags: ['x', i % 3] } : null;
    return { key: pick(random, VOCABULARY), value };
  });
}

describe('MapOutputCollector', () => {
  const tempDir = useTempDirs();

  it('writes each partition sorted by key, equal keys in emit order, across many spills', async () => {
    const workDir = await tempDir();
    const reducers = 4;
    const recs = randomRecords(rng(21), 3000);
    const c = new MapOutputCollector({ reducers, partition: partitioner(reducers), sortBufferBytes: 4000, workDir, mergeFactor: 5 });
    const out = await collectAll(c, recs);
    const part = partitioner(reducers);
    const expected = Array.from({ length: reducers }, (_, p) => stableSortByKey(recs.filter((r) => part(r.key) === p)));
    expect(await readPartitions(out)).toEqual(expected);
    expect(await readIndex(out.dataPath)).toEqual(out.partitions);
    const counters = c.counters();
    expect(counters.mapOutputRecords).toBe(recs.length);
    // Every record went to a spill and then through the final merge: many spills happened.
    expect(counters.spilledRecords).toBe(2 * recs.length);
    expect(counters.mapOutputBytes).toBe(recs.reduce((n, r) => n + Buffer.byteLength(r.key) + encodedSize(r.value), 0));
    expect((await readdir(workDir)).sort()).toEqual(['file.out']);
  });

  it('combines per key in spills and in the final merge, giving the same totals as a plain count', async () => {
    for (const [asynchronous, sortBufferBytes] of [[false, 1500], [true, 2500], [false, 1 << 20]] as const) {
      const workDir = await tempDir();
      const reducers = 3;
      const random = rng(22);
      const recs = Array.from({ length: 2000 }, () => ({ key: pick(random, VOCABULARY), value: 1 + intBelow(random, 5) }));
      let calls = 0;
      const sum: CombineFn = (key, values, emit) => {
        calls++;
        const total = (values as number[]).reduce((a, b) => a + b, 0);
        if (!asynchronous) return emit(key, total);
        return new Promise<void>((resolve) => setImmediate(() => { emit(key, total); resolve(); }));
      };
      const c = new MapOutputCollector({ reducers, partition: partitioner(reducers), combine: sum, sortBufferBytes, workDir, mergeFactor: 3 });
      const out = await collectAll(c, recs);
      const part = partitioner(reducers);
      const totals = new Map<string, number>();
      for (const r of recs) totals.set(r.key, (totals.get(r.key) ?? 0) + r.value);
      const expected = Array.from({ length: reducers }, (_, p) =>
        stableSortByKey([...totals].filter(([k]) => part(k) === p).map(([key, value]) => ({ key, value }))));
      expect(await readPartitions(out)).toEqual(expected);
      const counters = c.counters();
      expect(counters.mapOutputRecords).toBe(recs.length);
      expect(counters.combineOutputRecords).toBe(calls);
      if (sortBufferBytes === 1 << 20) {
        // One spill: each record meets the combiner once, and the spill is the output.
        expect(counters.combineInputRecords).toBe(recs.length);
      } else {
        // Many spills: the final merge fed the combiner again.
        expect(counters.combineInputRecords).toBeGreaterThan(recs.length);
      }
    }
  });

  it('combines a frequent key as soon as its values pile up, keeping the totals exact', async () => {
    for (const asynchronous of [false, true]) {
      const workDir = await tempDir();
      const random = rng(5);
      const keys = ['the', 'and', '\u{1f600}', 'rare'];
      const recs = Array.from({ length: 5000 }, () => ({ key: keys[intBelow(random, 3)]!, value: 1 + intBelow(random, 3) }));
      recs.push({ key: 'rare', value: 7 });
      let calls = 0;
      let largest = 0;
      const sum: CombineFn = (key, values, emit) => {
        calls++;
        largest = Math.max(largest, runsOf(values));
        const total = (values as number[]).reduce((a, b) => a + b, 0);
        if (!asynchronous) return emit(key, total);
        return Promise.resolve().then(() => emit(key, total));
      };
      const c = new MapOutputCollector({ reducers: 2, partition: partitioner(2), combine: sum, sortBufferBytes: 1 << 20, workDir });
      for (const r of recs) {
        c.collect(r.key, r.value);
        await c.settle();
      }
      const out = await c.close();
      const totals = new Map<string, number>();
      for (const r of recs) totals.set(r.key, (totals.get(r.key) ?? 0) + r.value);
      const part = partitioner(2);
      const expected = [0, 1].map((p) => stableSortByKey([...totals].filter(([k]) => part(k) === p).map(([key, value]) => ({ key, value }))));
      expect(await readPartitions(out)).toEqual(expected);
      // Each frequent key met the combiner every 64 runs (of 1 to 3 values), never with more runs.
      expect(largest).toBeLessThanOrEqual(EAGER_COMBINE_RUNS);
      expect(calls).toBeGreaterThan(5000 / (3 * EAGER_COMBINE_RUNS));
      const counters = c.counters();
      expect(counters.combineOutputRecords).toBe(calls);
      expect(counters.mapOutputRecords).toBe(recs.length);
      expect(counters.mapOutputBytes).toBe(recs.reduce((n, r) => n + Buffer.byteLength(r.key) + encodedSize(r.value), 0));
    }
  });

  it('hands the combiner exactly the values emitted, in emit order, repeats, -0 and NaN included', async () => {
    const tag = (v: unknown): string => (Object.is(v, -0) ? '-0' : typeof v === 'object' ? `o:${JSON.stringify(v)}` : `${typeof v}:${String(v)}`);
    const history: CombineFn = (key, values, emit) => emit(key, values.map(tag).join('|'));
    const random = rng(77);
    const pool: unknown[] = [1, 1, 1, 2, 'x', 'x', -0, 0, NaN, { o: 1 }, null, 1.5];
    const keys = ['a', 'b', '\u00e9t\u00e9', 'c'];
    const recs: Rec[] = [];
    for (let i = 0; i < 3000; i++) {
      const key = keys[intBelow(random, keys.length)]!;
      // Long runs of one value, then a change: the shapes a group goes through.
      const run = 1 + intBelow(random, i % 7 === 0 ? 90 : 4);
      const value = pick(random, pool);
      for (let r = 0; r < run; r++) recs.push({ key, value });
    }
    // The model: a key's values combine as soon as they make EAGER_COMBINE_RUNS
    // runs of one repeated value (objects, being copied at emit, and NaN never
    // repeat; what a combine emitted is a run of its own) or a run reaches
    // EAGER_COMBINE_RUN_LENGTH values; and once more at the spill.
    interface KeyModel { values: unknown[]; runs: number; runLength: number; open: boolean }
    const models = new Map<string, KeyModel>();
    let combineInput = 0;
    const combineModel = (key: string, values: unknown[]): unknown => {
      combineInput += values.length;
      let out: unknown;
      void history(key, values, (_k, v) => { out = v; });
      return out;
    };
    for (const r of recs) {
      const m = models.get(r.key) ?? models.set(r.key, { values: [], runs: 0, runLength: 0, open: false }).get(r.key)!;
      const last = m.values[m.values.length - 1];
      const repeats = m.open && (typeof r.value === 'number' || typeof r.value === 'string') && Object.is(r.value, last) && !Number.isNaN(r.value);
      m.values.push(r.value);
      let due: boolean;
      if (repeats) due = ++m.runLength === EAGER_COMBINE_RUN_LENGTH;
      else {
        m.open = true;
        m.runLength = 1;
        due = ++m.runs === EAGER_COMBINE_RUNS;
      }
      if (due) models.set(r.key, { values: [combineModel(r.key, m.values)], runs: 1, runLength: 0, open: false });
    }
    const expected = stableSortByKey([...models].map(([key, m]) => ({ key, value: combineModel(key, m.values) })));
    const workDir = await tempDir();
    const c = new MapOutputCollector({ reducers: 1, partition: () => 0, combine: history, sortBufferBytes: 1 << 24, workDir });
    for (const r of recs) {
      c.collect(r.key, r.value);
      await c.settle();
    }
    const out = await c.close();
    expect(await readPartitions(out)).toEqual([expected]);
    const counters = c.counters();
    expect(counters.combineInputRecords).toBe(combineInput);
    expect(counters.mapOutputBytes).toBe(recs.reduce((n, r) => n + Buffer.byteLength(r.key) + (Object.is(r.value, -0) ? 9 : encodedSize(r.value)), 0));
  });

  it('spills a combining buffer once its distinct keys pass the sort buffer, with the totals of the plain path and of a plain count', async () => {
    const random = rng(40);
    // Many distinct keys (each costs its size and more), a few frequent ones.
    const recs = Array.from({ length: 6000 }, (_, i) => ({ key: random() < 0.5 ? pick(random, ['the', 'of', 'and']) : `w${intBelow(random, 2000)}-${i % 7}`, value: 1 }));
    const sum: CombineFn = (key, values, emit) => emit(key, (values as number[]).reduce((a, b) => a + b, 0));
    const reducers = 2;
    const part = partitioner(reducers);
    const combining = new MapOutputCollector({ reducers, partition: part, combine: sum, sortBufferBytes: 20_000, workDir: await tempDir(), mergeFactor: 4 });
    let spills = 0;
    for (const r of recs) {
      combining.collect(r.key, r.value);
      if (combining.needsSpill()) spills++;
      await combining.settle();
      // The estimate never stays past the buffer: settle() spilled it.
      expect(combining.needsSpill()).toBe(false);
    }
    expect(spills).toBeGreaterThan(3);
    const plain = new MapOutputCollector({ reducers, partition: part, sortBufferBytes: 1 << 24, workDir: await tempDir() });
    for (const r of recs) plain.collect(r.key, r.value);
    const sumsOf = (parts: Rec[][]): Map<string, number> => {
      const m = new Map<string, number>();
      for (const recsOfPart of parts) for (const r of recsOfPart) m.set(r.key, (m.get(r.key) ?? 0) + (r.value as number));
      return m;
    };
    const combined = await readPartitions(await combining.close());
    const uncombined = await readPartitions(await plain.close());
    const count = new Map<string, number>();
    for (const r of recs) count.set(r.key, (count.get(r.key) ?? 0) + 1);
    expect(sumsOf(combined)).toEqual(count);
    expect(sumsOf(uncombined)).toEqual(count);
    // One record per key, sorted, in its partition.
    for (let p = 0; p < reducers; p++) {
      expect(combined[p]!.map((r) => r.key)).toEqual(stableSortByKey([...count.keys()].filter((k) => part(k) === p).map((key) => ({ key }))).map((r) => r.key));
    }
    expect(combining.counters().mapOutputBytes).toBe(plain.counters().mapOutputBytes);
  });

  it('holds a key repeating one value at a constant size: no spill however many emits', async () => {
    const sum: CombineFn = (key, values, emit) => emit(key, (values as number[]).reduce((a, b) => a + b, 0));
    const c = new MapOutputCollector({ reducers: 1, partition: () => 0, combine: sum, sortBufferBytes: 4096, workDir: await tempDir() });
    let spilled = 0;
    for (let i = 0; i < 200_000; i++) {
      c.collect('same', 1);
      if (c.needsSpill()) spilled++;
      await c.settle();
    }
    expect(spilled).toBe(0);
    expect(await readPartitions(await c.close())).toEqual([[{ key: 'same', value: 200_000 }]]);
    expect(c.counters().spilledRecords).toBe(1);
  });

  it('refuses a partition out of range for a job with a combiner when it spills', async () => {
    const workDir = await tempDir();
    const c = new MapOutputCollector({ reducers: 2, partition: () => 5, combine: (k, v, emit) => emit(k, v.length), sortBufferBytes: 1 << 20, workDir });
    c.collect('k', 1);
    await rejectsWith(c.close(), 'INVALID_ARGUMENT', /partition of key 'k' to be an integer in \[0, 2\), got 5/);
  });

  it('keeps what an object was at emit time, even if it changes later', async () => {
    const workDir = await tempDir();
    const c = new MapOutputCollector({ reducers: 1, partition: () => 0, sortBufferBytes: 1 << 20, workDir });
    const value = { n: 1 };
    c.collect('k', value);
    value.n = 2;
    c.collect('k', value);
    expect(await readPartitions(await c.close())).toEqual([[{ key: 'k', value: { n: 1 } }, { key: 'k', value: { n: 2 } }]]);
  });

  it('writes empty partitions when nothing was emitted', async () => {
    const workDir = await tempDir();
    const c = new MapOutputCollector({ reducers: 3, partition: () => 0, sortBufferBytes: 100, workDir });
    const out = await c.close();
    expect(out.partitions).toEqual([0, 1, 2].map(() => ({ offset: 0, length: 0, records: 0 })));
    expect(await c.close()).toBe(out);
  });

  it('asks to spill once the buffered estimate reaches sortBufferBytes', async () => {
    const workDir = await tempDir();
    const c = new MapOutputCollector({ reducers: 1, partition: () => 0, sortBufferBytes: 10_000, workDir });
    expect(c.needsSpill()).toBe(false);
    // Each record is estimated at no less than a byte per character of its key.
    for (let i = 0; i < 100 && !c.needsSpill(); i++) c.collect('k'.repeat(100), i);
    expect(c.needsSpill()).toBe(true);
    await c.spillIfNeeded();
    expect(c.needsSpill()).toBe(false);
    await c.close();
  });

  it('refuses a key that is not a string and a partition out of range', async () => {
    const workDir = await tempDir();
    const c = new MapOutputCollector({ reducers: 2, partition: (k) => (k === 'bad' ? 2 : k === 'half' ? 0.5 : 0), sortBufferBytes: 100, workDir });
    throwsWith(() => c.collect(7 as unknown as string, 1), 'INVALID_ARGUMENT', /Expected emit's key to be a string, got 7/);
    throwsWith(() => c.collect('bad', 1), 'INVALID_ARGUMENT', /partition of key 'bad' to be an integer in \[0, 2\), got 2/);
    throwsWith(() => c.collect('half', 1), 'INVALID_ARGUMENT', /got 0\.5/);
    await c.close();
    throwsWith(() => c.collect('late', 1), 'FAILED_PRECONDITION');
  });

  describe('adaptive combining', () => {
    const sum: CombineFn = (key, values, emit) => emit(key, (values as number[]).reduce((a, b) => a + b, 0));
    const reducers = 3;
    const part = partitioner(reducers);
    const countOf = (recs: readonly Rec[]): Map<string, number> => {
      const m = new Map<string, number>();
      for (const r of recs) m.set(r.key, (m.get(r.key) ?? 0) + (r.value as number));
      return m;
    };
    async function run(recs: readonly Rec[], sortBufferBytes: number, adaptive: boolean): Promise<{ parts: Rec[][]; c: MapOutputCollector }> {
      const c = new MapOutputCollector({
        reducers, partition: part, combine: sum, sortBufferBytes, workDir: await tempDir(), mergeFactor: 3, minSpillsForCombine: 1000,
        adaptiveCombine: adaptive ? { minRecords: 500, maxDistinctRatio: 0.8 } : false,
      });
      for (const r of recs) {
        c.collect(r.key, r.value);
        await c.settle();
      }
      return { parts: await readPartitions(await c.close()), c };
    }

    it('stops combining when most keys are distinct: same totals, sorted partitions, MAP_OUTPUT_BYTES of every emitted record', async () => {
      const random = rng(48);
      // Mostly distinct keys, some seen twice or more early on (in the table when it is judged), values of every width.
      const recs = Array.from({ length: 4000 }, (_, i) => ({ key: i % 10 === 0 ? `dup${intBelow(random, 40)}` : `k${intBelow(random, 1_000_000)}`, value: intBelow(random, 3) === 0 ? 2 ** 40 : 1 + intBelow(random, 300) }));
      for (const sortBufferBytes of [1 << 24, 60_000]) {
        const adaptive = await run(recs, sortBufferBytes, true);
        const always = await run(recs, sortBufferBytes, false);
        const count = countOf(recs);
        for (const { parts } of [adaptive, always]) {
          expect(countOf(parts.flat())).toEqual(count);
          for (let p = 0; p < reducers; p++) {
            expect(parts[p]!.every((r) => part(r.key) === p)).toBe(true);
            const keys = parts[p]!.map((r) => r.key);
            expect(keys).toEqual(stableSortByKey(keys.map((key) => ({ key }))).map((r) => r.key));
          }
        }
        const a = adaptive.c.counters();
        // Combining stopped after the first 500 records: the keys met later twice are written twice.
        expect(a.combineInputRecords).toBe(500);
        expect(adaptive.parts.flat().length).toBeGreaterThan(always.parts.flat().length);
        expect(a.mapOutputRecords).toBe(recs.length);
        expect(a.mapOutputBytes).toBe(recs.reduce((n, r) => n + Buffer.byteLength(r.key) + encodedSize(r.value), 0));
        expect(a.mapOutputBytes).toBe(always.c.counters().mapOutputBytes);
        // Every record the table held at the switch was combined once: its output is what came out of the table.
        expect(a.combineOutputRecords).toBe(countOf(recs.slice(0, 500)).size);
      }
    });

    it('keeps combining when keys repeat', async () => {
      const random = rng(49);
      const recs = Array.from({ length: 4000 }, () => ({ key: pick(random, VOCABULARY), value: 1 }));
      const { parts, c } = await run(recs, 1 << 24, true);
      expect(countOf(parts.flat())).toEqual(countOf(recs));
      // One spill, every record combined: one record per key.
      expect(parts.flat().length).toBe(countOf(recs).size);
      expect(c.counters().combineInputRecords).toBe(recs.length);
    });

    it('refuses a ratio outside (0, 1] or no records', async () => {
      const workDir = await tempDir();
      for (const adaptiveCombine of [{ minRecords: 0, maxDistinctRatio: 0.5 }, { minRecords: 10, maxDistinctRatio: 0 }, { minRecords: 10, maxDistinctRatio: 1.5 }]) {
        throwsWith(() => new MapOutputCollector({ reducers: 1, partition: () => 0, combine: sum, sortBufferBytes: 1000, workDir, adaptiveCombine }), 'INVALID_ARGUMENT');
      }
    });
  });

  it('refuses a combiner that emits another key', async () => {
    const workDir = await tempDir();
    const c = new MapOutputCollector({ reducers: 1, partition: () => 0, combine: (_k, v, emit) => emit('other', v.length), sortBufferBytes: 1 << 20, workDir });
    c.collect('k', 1);
    await rejectsWith(c.close(), 'INVALID_ARGUMENT', /Expected combine to emit the key it was given \('k'\), got 'other'/);
  });
});

/** The number of runs of one repeated value in `values`. */
function runsOf(values: readonly unknown[]): number {
  let runs = 0;
  for (let i = 0; i < values.length; i++) if (i === 0 || values[i] !== values[i - 1]) runs++;
  return runs;
}

/** Value bytes as the framing spec defines them, computed plainly: tag byte plus payload. */
function encodedSize(value: unknown): number {
  if (typeof value === 'string') return 1 + Buffer.byteLength(value);
  if (typeof value === 'number' && Number.isInteger(value) && Math.abs(value) < 2 ** 31) {
    let z = value >= 0 ? value * 2 : -value * 2 - 1;
    let n = 1;
    while (z >= 128) { z = Math.floor(z / 128); n++; }
    return 1 + n;
  }
  if (typeof value === 'number') return 9;
  return 1 + pack(value).length;
}
