/**
 * The map-side buffer of a job with a combiner: hash aggregation (Spark's
 * map-side combine, Hadoop's combiner run on the fly) instead of a buffer of
 * every emitted pair. Each distinct key gets a slot the first time it is
 * emitted; its values wait there, in emit order, as runs of one repeated
 * value, until the combiner runs on them (as soon as a key holds
 * EAGER_COMBINE_RUNS runs or a run reaches EAGER_COMBINE_RUN_LENGTH values,
 * and at the spill).
 */
import { unpack } from 'msgpackr';
import { describe, LaminateError } from '../common/errors.js';
import { isThenable } from '../common/thenable.js';
import { GrowableBuffer, utf8Length, writeUtf8 } from './byte-sink.js';
import type { CombineFn } from './combine-emitter.js';
import { KeyTable } from './key-table.js';
import { encodedValueSize, packValue, PackedValue } from './record-codec.js';

/**
 * A key's values are combined as soon as they make this many runs (a run:
 * one value emitted again and again; values an earlier combine produced
 * count too), as Spark combines on the map side, so a key holds a handful
 * of values rather than one per emit.
 */
export const EAGER_COMBINE_RUNS = 64;

/**
 * ... or as soon as one run reaches this many values. A run costs the same
 * whatever its length, so a word count's 1s are combined once per 4,096
 * emits rather than every few dozen; the cap bounds the array the combiner
 * is handed (32 KiB a run).
 */
export const EAGER_COMBINE_RUN_LENGTH = 4096;

// Rough heap costs, to keep memory near the sort buffer's size. Strings are
// counted at a byte a character: V8 keeps Latin-1 strings so, and the sort
// buffer is a fraction of the heap, leaving room for the rest.
/** A distinct key: its KeyTable entry, its slot in the per-key arrays, its string's header. */
const KEY_OVERHEAD = 96;
/** One run held in a key's array of runs: its value's slot and its count's. */
const RUN_SLOTS = 16;

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

/**
 * `s`, or a copy of it that holds no other string alive. V8 makes a slice of
 * 13 or more characters (a word a tokenizer cut from a line) a view of the
 * string it was cut from, and a key kept for the whole spill would keep that
 * whole chunk of the input alive with it, unseen by the buffer's estimate.
 * Concatenating and slicing again flattens the string into a new one of the
 * key's own size (the usual idiom; there is no direct API).
 */
function ownString(s: string): string {
  return s.length < 13 ? s : (' ' + s).slice(1);
}

/** Two or more values a combiner emitted for one key, in emit order (one value is kept as itself). */
export class CombinedValues {
  constructor(readonly values: readonly unknown[]) {}
}

/**
 * One partition of a spill, combined: `keys[i]` (distinct, in no order)
 * with what the combiner emitted for it, `values[i]`: the value itself, or a
 * CombinedValues when it emitted several. Keys it emitted nothing for are
 * left out. `keyBytes.buf[keyEnds[i - 1] (0 for i = 0), keyEnds[i])` is
 * `keys[i]` as UTF-8: encoded in one pass in key order of arrival, so that
 * writing in sorted order copies bytes from one compact buffer rather than
 * visiting strings all over the heap.
 */
export interface CombinedPartition {
  readonly keys: string[];
  readonly values: unknown[];
  readonly keyBytes: GrowableBuffer;
  readonly keyEnds: number[];
}

function newPartition(): CombinedPartition {
  return { keys: [], values: [], keyBytes: new GrowableBuffer(4096), keyEnds: [] };
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
 * A key's values are kept as `heads[slot]`, the runs before the current one
 * as (value, count) pairs, then the current run: `runCount[slot]` repeats of
 * `runValue[slot]`. A map that emits one value again and again (a word
 * count's 1s) costs one KeyTable lookup and a counter increment per emit,
 * less than a hand-written count in a Map (a get and a set). The values
 * are spelled out into an array only for the combiner.
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

  /** Each distinct key's slot; `table.keys` holds the keys by slot. */
  private readonly table = new KeyTable();
  /** Per slot: the runs before the current one, as value, count, value, count...; undefined when none. */
  private heads: (unknown[] | undefined)[] = [];
  private runValue: unknown[] = [];
  /** Per slot: the length of the current run, 0 when there is none (then runValue is stale). */
  private runCount = new Int32Array(1024);
  /** Per slot: runs it may start before its eager combine is due (EAGER_COMBINE_RUNS minus those it holds). */
  private room = new Int32Array(1024);
  /** Per slot: estimated bytes of its values (its key's overhead excluded). */
  private slotBytes = new Float64Array(1024);
  private due: number[] = [];
  // What the combiner emits for one key, gathered by one emit function made
  // once, into one scratch array (emptied by its count, not its length).
  private readonly out: unknown[] = [];
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
    return this.table.size;
  }

  /**
   * Buffers one record; `value` is a number, a string or a PackedValue (the
   * caller packs anything else at emit time). Called by the collector once
   * per emitted record: the hot path.
   */
  add(key: string, value: unknown): void {
    const s = this.table.lookup(key);
    if (s < 0) this.addKey(key, value);
    else if (this.runCount[s]! !== 0 && sameValue(value, this.runValue[s])) {
      if (++this.runCount[s]! === EAGER_COMBINE_RUN_LENGTH) this.due.push(s);
    } else this.addValue(s, value);
  }

  private addKey(key: string, value: unknown): void {
    const s = this.table.insertMissed(ownString(key));
    if (s === this.runCount.length) this.grow();
    this.heads.push(undefined);
    this.runValue.push(value);
    this.runCount[s] = 1;
    this.room[s] = EAGER_COMBINE_RUNS - 1;
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

  /** Moves the slot's current run into its head, counting the run's emitted bytes. */
  private flushRun(s: number): void {
    const n = this.runCount[s]!;
    if (n === 0) return;
    const v = this.runValue[s];
    const head = this.heads[s];
    if (head === undefined) this.heads[s] = [v, n];
    else head.push(v, n);
    this.counts.outputBytes += n * (utf8Length(this.table.keys[s]!) + valueBytes(v));
    // 0, not undefined: a Smi keeps the array (and the compare in add) on the
    // small-integer fast path when values are counts; with no run, runValue is never read.
    this.runValue[s] = 0;
    this.runCount[s] = 0;
    this.slotBytes[s]! += RUN_SLOTS;
    this.bytes += RUN_SLOTS;
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

  /** Whether some key's eager combine is due. Cheap. */
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
    const key = this.table.keys[s]!;
    const values = this.takeValues(s);
    const out = this.out;
    this.outCount = 0;
    this.outKey = key;
    const replace = (): void => {
      // What the combiner emitted becomes the key's first runs (equal neighbours make one).
      const n = this.outCount;
      let head: unknown[] | undefined;
      let size = 0;
      for (let i = 0; i < n; i++) {
        const v = out[i];
        if (head !== undefined && sameValue(v, head[head.length - 2])) head[head.length - 1] = (head[head.length - 1] as number) + 1;
        else {
          if (head === undefined) head = [v, 1];
          else head.push(v, 1);
          size += RUN_SLOTS + valueSize(v);
        }
      }
      this.heads[s] = head;
      // A combiner that gave back EAGER_COMBINE_RUNS runs or more leaves no
      // room: the count goes negative and the key is not due again for runs before the spill.
      this.room[s] = EAGER_COMBINE_RUNS - (head === undefined ? 0 : head.length / 2);
      this.bytes += size - this.slotBytes[s]!;
      this.slotBytes[s] = size;
      this.combineOutput += n;
    };
    const done = this.combine(key, this.packed ? unpackValues(values) : values, this.eagerEmit);
    if (isThenable(done)) return Promise.resolve(done).then(replace);
    replace();
    return undefined;
  }

  /**
   * The slot's values in emit order, spelled out into an array the caller
   * may keep; counts them as combine input. The slot is left empty. Called
   * once per key at a spill (then the combiner runs on them) and by the
   * eager combine.
   */
  private takeValues(s: number): unknown[] {
    const n = this.runCount[s]!;
    const head = this.heads[s];
    let values: unknown[];
    if (head === undefined) {
      // One run, the common case: fill is a native loop.
      values = n === 1 ? [this.runValue[s]] : new Array<unknown>(n).fill(this.runValue[s]);
    } else {
      let total = n;
      for (let i = 1; i < head.length; i += 2) total += head[i] as number;
      values = new Array<unknown>(total);
      let at = 0;
      for (let i = 0; i < head.length; i += 2) {
        const count = head[i + 1] as number;
        values.fill(head[i], at, at + count);
        at += count;
      }
      if (n > 0) values.fill(this.runValue[s], at, at + n);
      this.heads[s] = undefined;
    }
    if (n > 0) {
      this.counts.outputBytes += n * (utf8Length(this.table.keys[s]!) + valueBytes(this.runValue[s]));
      this.runValue[s] = 0;
      this.runCount[s] = 0;
    }
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
    for (let p = 0; p < reducers; p++) parts.push(newPartition());
    const keys = this.table.keys;
    const out = this.out;
    for (let s = 0; s < keys.length; s++) {
      const key = keys[s]!;
      const part = parts[partition(key)]!;
      const values = this.takeValues(s);
      // An eager combine may have emitted nothing for the key: no values, no call.
      if (values.length === 0) continue;
      this.outCount = 0;
      this.outKey = key;
      const done = this.combine(key, this.packed ? unpackValues(values) : values, this.eagerEmit);
      if (isThenable(done)) await done;
      const n = this.outCount;
      if (n === 0) continue;
      part.keys.push(key);
      part.values.push(n === 1 ? out[0] : new CombinedValues(out.slice(0, n)));
      const bytes = part.keyBytes;
      const buf = bytes.reserve(3 * key.length);
      bytes.pos += writeUtf8(buf, key, bytes.pos);
      part.keyEnds.push(bytes.pos);
      this.combineOutput += n;
    }
    out.length = 0;
    return parts;
  }

  /** Drops every key and value (after a spill). */
  reset(): void {
    this.table.clear();
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
