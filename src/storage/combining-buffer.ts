/**
 * The map-side buffer of a job with a combiner: hash aggregation (Spark's
 * map-side combine, Hadoop's combiner run on the fly) instead of a buffer of
 * every emitted pair. Each distinct key gets a slot the first time it is
 * emitted; its values wait there, in emit order, until the combiner runs on
 * them (as soon as EAGER_COMBINE_VALUES pile up, and at the spill).
 */
import { unpack } from 'msgpackr';
import { describe, LaminateError } from '../common/errors.js';
import { isThenable } from '../common/thenable.js';
import { utf8Length } from './byte-sink.js';
import type { CombineFn } from './combine-emitter.js';
import { encodedValueSize, packValue, PackedValue } from './record-codec.js';

/**
 * A key's values are combined as soon as this many pile up (Spark's map-side
 * combine), so a frequent key holds a handful of values rather than one per
 * emit. Values an earlier combine produced count too.
 */
export const EAGER_COMBINE_VALUES = 64;

// Rough heap costs, to keep memory near the sort buffer's size. Strings are
// counted at a byte a character: V8 keeps Latin-1 strings so, and the sort
// buffer is a fraction of the heap, leaving room for the rest.
/** A distinct key: its Map entry, its slot in the per-key arrays, its string's header. */
const KEY_OVERHEAD = 96;
/** One value held in a key's array of values. */
const VALUE_SLOT = 8;

/**
 * Estimated bytes of one value object: a number or a string as emitted, a
 * PackedValue as its bytes. Called on the slow paths only (a new key, a
 * value other than the key's last one, a combine's output).
 */
export function valueSize(v: unknown): number {
  if (typeof v === 'number') return 16;
  if (typeof v === 'string') return 16 + v.length;
  return 96 + (v as PackedValue).bytes.length;
}

/** Whether two values are the same value (0 and -0 differ: they encode differently; NaN never repeats). */
function sameValue(a: unknown, b: unknown): boolean {
  return a === b && (a !== 0 || 1 / a === 1 / (b as number));
}

/** The encoded bytes (tag and payload) of a value as emitted; small counts are the common case. */
function valueBytes(v: unknown): number {
  return typeof v === 'number' && v >>> 0 === v && v < 64 && (v !== 0 || 1 / v > 0) ? 2 : encodedValueSize(v);
}

/** Two or more values a combiner emitted for one key, in emit order (one value is kept as itself). */
export class CombinedValues {
  constructor(readonly values: readonly unknown[]) {}
}

/**
 * One partition of a spill, combined: `keys[i]` (distinct, in no order)
 * with what the combiner emitted for it, `values[i]`: the value itself, or a
 * CombinedValues when it emitted several. Keys it emitted nothing for are left out.
 */
export interface CombinedPartition {
  readonly keys: string[];
  readonly values: unknown[];
}

/** What CombiningBuffer adds to its owner's counters. */
export interface CombiningCounts {
  /** Key and value bytes of the values map emitted (before combining), counted as they leave a run. */
  outputBytes: number;
  /** Records handed to the combiner. */
  combineInput: number;
}

/**
 * The values of every distinct key since the last spill. Use: `add` for every
 * record map emits (sync, the hot path), `combineDue()` between map() calls
 * when `hasDue()`, and at the spill `combineAll`, then `reset()`. Not for
 * concurrent use.
 *
 * A key's values are kept as `heads[slot]` (values moved out of earlier runs,
 * and what an eager combine produced), then `runCount[slot]` repeats of
 * `runValue[slot]`: a map that emits one value again and again (a word
 * count's 1s) costs one Map lookup and a counter increment per emit, and the
 * Map's values are small integers, as in a hand-written count.
 *
 * At a spill the combiner runs once more on every key, in slot order (the
 * order the keys were first emitted: the per-key arrays are read in
 * sequence, not in the random order of a sort), and only what it emitted is
 * sorted and written. Hadoop's contract allows this: a combiner may run any
 * number of times, on any keys, in any order.
 */
export class CombiningBuffer {
  /** Estimated heap bytes held; the owner spills when it passes the sort buffer. */
  bytes = 0;
  /** Records the combiner emitted, eagerly and at spills (COMBINE_OUTPUT_RECORDS, with the final merge's). */
  combineOutput = 0;
  /** Whether a buffered value may be a PackedValue (to unpack before combining). */
  packed = false;

  private index = new Map<string, number>();
  private keys: string[] = [];
  private heads: (unknown[] | undefined)[] = [];
  private runValue: unknown[] = [];
  private runCount = new Int32Array(1024);
  /** Values a slot may take before its eager combine is due: EAGER_COMBINE_VALUES minus those it holds. */
  private room = new Int32Array(1024);
  /** Estimated bytes of each slot's values (its key's overhead excluded). */
  private slotBytes = new Float64Array(1024);
  private due: number[] = [];
  // The eager combine's output, gathered by one emit function made once.
  private out: unknown[] = [];
  private outCount = 0;
  private outKey = '';
  private readonly eagerEmit: (key: string, value: unknown) => void;

  constructor(
    private readonly combine: CombineFn,
    private readonly counts: CombiningCounts,
  ) {
    this.eagerEmit = (key, value) => {
      if (key !== this.outKey) {
        throw new LaminateError('INVALID_ARGUMENT', `Expected combine to emit the key it was given ('${this.outKey}'), got ${describe(key)}`);
      }
      if (typeof value !== 'string' && typeof value !== 'number') {
        this.packed = true;
        value = packValue(value);
      }
      this.out[this.outCount++] = value;
    };
  }

  /** Distinct keys held. */
  get keyCount(): number {
    return this.keys.length;
  }

  /**
   * Buffers one record; `value` is a number, a string or a PackedValue (the
   * caller packs anything else at emit time). Called by the collector once
   * per emitted record: the hot path.
   */
  add(key: string, value: unknown): void {
    const s = this.index.get(key);
    if (s === undefined) this.addKey(key, value);
    else if (this.runCount[s]! !== 0 && sameValue(value, this.runValue[s])) {
      this.runCount[s]!++;
      if (--this.room[s]! === 0) this.due.push(s);
    } else this.addValue(s, value);
  }

  private addKey(key: string, value: unknown): void {
    const s = this.keys.length;
    if (s === this.runCount.length) this.grow();
    this.index.set(key, s);
    this.keys.push(key);
    this.heads.push(undefined);
    this.runValue.push(value);
    this.runCount[s] = 1;
    this.room[s] = EAGER_COMBINE_VALUES - 1;
    if (value instanceof PackedValue) this.packed = true;
    const size = valueSize(value);
    this.slotBytes[s] = size;
    this.bytes += key.length + KEY_OVERHEAD + size;
  }

  /** A value other than the slot's last one (or the first after a combine): starts a new run. */
  private addValue(s: number, value: unknown): void {
    this.flushRun(s);
    this.runValue[s] = value;
    this.runCount[s] = 1;
    if (value instanceof PackedValue) this.packed = true;
    const size = valueSize(value);
    this.slotBytes[s]! += size;
    this.bytes += size;
    if (--this.room[s]! === 0) this.due.push(s);
  }

  /** Moves the slot's run into its head, counting the run's emitted bytes. */
  private flushRun(s: number): void {
    const n = this.runCount[s]!;
    if (n === 0) return;
    const v = this.runValue[s];
    const head = this.heads[s] ?? (this.heads[s] = []);
    for (let i = 0; i < n; i++) head.push(v);
    this.counts.outputBytes += n * (utf8Length(this.keys[s]!) + valueBytes(v));
    this.runValue[s] = undefined;
    this.runCount[s] = 0;
    const slots = n * VALUE_SLOT;
    this.slotBytes[s]! += slots;
    this.bytes += slots;
  }

  private grow(): void {
    const n = this.runCount.length * 2;
    const runCount = new Int32Array(n);
    runCount.set(this.runCount);
    this.runCount = runCount;
    const room = new Int32Array(n);
    room.set(this.room);
    this.room = room;
    const slotBytes = new Float64Array(n);
    slotBytes.set(this.slotBytes);
    this.slotBytes = slotBytes;
  }

  /** Whether some key holds EAGER_COMBINE_VALUES values or more. Cheap. */
  hasDue(): boolean {
    return this.due.length > 0;
  }

  /**
   * Runs the combiner on every key that is due, replacing its values by what
   * the combiner emits. Returns a promise only when a combiner did. Called by
   * the collector between map() calls.
   */
  combineDue(): Promise<void> | undefined {
    while (this.due.length > 0) {
      const s = this.due.pop()!;
      const pending = this.combineSlot(s);
      if (pending !== undefined) return pending.then(() => this.combineDue());
    }
    return undefined;
  }

  private combineSlot(s: number): Promise<void> | undefined {
    const key = this.keys[s]!;
    const values = this.takeValues(s);
    const out: unknown[] = [];
    this.out = out;
    this.outCount = 0;
    this.outKey = key;
    const replace = (): void => {
      this.heads[s] = out;
      this.room[s] = EAGER_COMBINE_VALUES - out.length;
      let size = out.length * VALUE_SLOT;
      for (const v of out) size += valueSize(v);
      this.bytes += size - this.slotBytes[s]!;
      this.slotBytes[s] = size;
      // A combiner that gave back EAGER_COMBINE_VALUES values or more leaves
      // no room: the count goes negative and the key is not due again before the spill.
      this.combineOutput += out.length;
    };
    const done = this.combine(key, this.packed ? unpackValues(values) : values, this.eagerEmit);
    if (isThenable(done)) return Promise.resolve(done).then(replace);
    replace();
    return undefined;
  }

  /**
   * The slot's values in emit order, as an array the caller may keep; counts
   * them as combine input. The slot is left empty. Called once per key at a
   * spill (then the combiner runs on them) and by the eager combine.
   */
  private takeValues(s: number): unknown[] {
    this.flushRun(s);
    const values = this.heads[s] ?? [];
    this.heads[s] = undefined;
    this.counts.combineInput += values.length;
    return values;
  }

  /**
   * Runs the combiner on every key's values, in slot order, and returns what
   * it emitted, split by `partition` (which the caller checks). Called once
   * per spill, then `reset()`; awaits only combiners that return a promise.
   *
   * @throws LaminateError INVALID_ARGUMENT when the combiner emits another
   *   key; whatever `partition` or the combiner throw.
   */
  async combineAll(reducers: number, partition: (key: string) => number): Promise<CombinedPartition[]> {
    const parts: CombinedPartition[] = [];
    for (let p = 0; p < reducers; p++) parts.push({ keys: [], values: [] });
    const keys = this.keys;
    // One scratch array for every key's output (emptied by its count, not its length).
    const out: unknown[] = [];
    this.out = out;
    for (let s = 0; s < keys.length; s++) {
      const key = keys[s]!;
      const part = parts[partition(key)]!;
      const values = this.takeValues(s);
      this.outCount = 0;
      this.outKey = key;
      const done = this.combine(key, this.packed ? unpackValues(values) : values, this.eagerEmit);
      if (isThenable(done)) await done;
      const n = this.outCount;
      if (n === 0) continue;
      part.keys.push(key);
      part.values.push(n === 1 ? out[0] : new CombinedValues(out.slice(0, n)));
      this.combineOutput += n;
    }
    out.length = 0;
    return parts;
  }

  /** Drops every key and value (after a spill). */
  reset(): void {
    this.index = new Map();
    this.keys = [];
    this.heads = [];
    this.runValue = [];
    this.runCount.fill(0);
    this.due = [];
    this.bytes = 0;
    this.packed = false;
  }
}

/** Unpacks values the collector packed at emit time, in place. */
export function unpackValues(values: unknown[]): unknown[] {
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v instanceof PackedValue) values[i] = unpack(v.bytes);
  }
  return values;
}
