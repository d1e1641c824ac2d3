/**
 * Writing one partition of the map-side sort buffer into a spill: sorted by
 * key, combined per key when the job has a combiner.
 */
import type { BufferedFileWriter } from './buffered-file-writer.js';
import type { CombineEmitter } from './combine-emitter.js';
import { sortedOrder } from './key-sort.js';
import { utf8Length } from './byte-sink.js';
import { appendRecord, encodedValueSize, PackedValue } from './record-codec.js';
import { unpack } from 'msgpackr';

/** Counts a spill adds to the collector's counters. */
export interface SpillCounts {
  /** Records written. */
  records: number;
  /** Key and value bytes of the records collected (before combining). */
  outputBytes: number;
  /** Records handed to the combiner. */
  combineInput: number;
}

/**
 * The buffered values of one key (with a combiner) once it has more than
 * one: in emit order, `head` then `count` repeats of `last`. A map that
 * emits the same value again and again (a word count's 1s) costs a counter
 * increment per emit rather than an array slot; the values are made into an
 * array only for the combiner. A plain object made by object literals, so
 * V8 can allocate the long-lived ones straight in old space.
 */
export interface ValueGroup {
  /** Values before the run of `last`, in emit order; null when none. */
  head: unknown[] | null;
  headLength: number;
  last: unknown;
  count: number;
  /** How many values at the start of the group an earlier (eager) combine produced. */
  combined: number;
}

/** A group of two values, `first` then `second`. */
export function newGroup(first: unknown, second: unknown): ValueGroup {
  return sameValue(first, second)
    ? { head: null, headLength: 0, last: first, count: 2, combined: 0 }
    : { head: [first], headLength: 1, last: second, count: 1, combined: 0 };
}

/**
 * Whether a buffered entry of the collector's groups is a ValueGroup rather
 * than a single value (a string, a number or a PackedValue).
 */
export function isGroup(g: unknown): g is ValueGroup {
  return typeof g === 'object' && !(g instanceof PackedValue);
}

/** Adds a value at the end of a group; returns how many the group holds. */
export function addToGroup(g: ValueGroup, v: unknown): number {
  if (g.count > 0 && sameValue(v, g.last)) g.count++;
  else {
    if (g.count > 0) flushRun(g);
    g.last = v;
    g.count = 1;
  }
  return g.headLength + g.count;
}

/** A group's values, in emit order, as an array the group keeps (later adds go after them). */
export function groupValues(g: ValueGroup): unknown[] {
  if (g.count > 0) flushRun(g);
  return (g.head ??= []);
}

/** Makes `values` (what a combine produced) a group's values. */
export function replaceGroup(g: ValueGroup, values: unknown[]): void {
  g.head = values;
  g.headLength = values.length;
  g.last = undefined;
  g.count = 0;
  g.combined = values.length;
}

function flushRun(g: ValueGroup): void {
  const head = (g.head ??= []);
  const v = g.last;
  for (let i = g.count; i > 0; i--) head.push(v);
  g.headLength = head.length;
  g.last = undefined;
  g.count = 0;
}

/** Whether two buffered values are the same value (0 and -0 differ: they encode differently). */
function sameValue(a: unknown, b: unknown): boolean {
  return a === b && (a !== 0 || 1 / a === 1 / (b as number));
}

/**
 * Writes `keys[i] -> values[i]` sorted by key; equal keys keep their emit
 * order. Called once per partition per spill when there is no combiner.
 */
export async function writeSorted(keys: readonly string[], values: readonly unknown[], w: BufferedFileWriter, counts: SpillCounts): Promise<void> {
  const n = keys.length;
  const order = sortedOrder(keys);
  let bytes = 0;
  for (let i = 0; i < n; i++) {
    const at = order[i]!;
    bytes += appendRecord(w, keys[at]!, values[at]);
    if (w.needsFlush()) await w.flush();
  }
  counts.records += n;
  counts.outputBytes += bytes;
}

/**
 * Key and value bytes of the values map emitted for one key, skipping the
 * first `skip`, which an earlier combine produced (MAP_OUTPUT_BYTES counts
 * what map emitted, before any combining).
 */
export function emittedBytes(key: string, values: readonly unknown[], skip: number): number {
  const n = values.length;
  let valueBytes = 0;
  for (let i = skip; i < n; i++) {
    const v = values[i];
    // Small non-negative integers (counts) are the common value: 1 tag + 1 varint byte.
    valueBytes += typeof v === 'number' && v >>> 0 === v && v < 64 && (v !== 0 || 1 / v > 0) ? 2 : encodedValueSize(v);
  }
  return utf8Length(key) * (n - skip) + valueBytes;
}

/** Unpacks values the collector packed at emit time, in place. */
export function unpackValues(values: unknown[]): unknown[] {
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v instanceof PackedValue) values[i] = unpack(v.bytes);
  }
  return values;
}

/**
 * Runs the combiner over each key group (`groups[i]` holds the values of the
 * distinct key `keys[i]`, in emit order: a ValueGroup, or the one value
 * itself), in key order, writing what it emits. `packed` says whether any
 * value may be a PackedValue. Called once per partition per spill when
 * there is a combiner.
 */
export async function writeCombined(
  keys: readonly string[],
  groups: readonly unknown[],
  w: BufferedFileWriter,
  emitter: CombineEmitter,
  counts: SpillCounts,
  packed = true,
): Promise<void> {
  const n = keys.length;
  const order = sortedOrder(keys);
  emitter.setSink(w);
  const before = emitter.emitted;
  for (let i = 0; i < n; i++) {
    const at = order[i]!;
    const key = keys[at]!;
    const group = groups[at];
    let values: unknown[];
    if (isGroup(group)) {
      values = groupValues(group);
      counts.outputBytes += emittedBytes(key, values, group.combined);
    } else {
      values = [group];
      counts.outputBytes += emittedBytes(key, values, 0);
    }
    counts.combineInput += values.length;
    const done = emitter.run(key, packed ? unpackValues(values) : values);
    if (done !== undefined) await done;
    if (w.needsFlush()) await w.flush();
  }
  counts.records += emitter.emitted - before;
}
