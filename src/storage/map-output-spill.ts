/**
 * Writing one partition of the map-side sort buffer into a spill: sorted by
 * key, combined per key when the job has a combiner.
 */
import type { BufferedFileWriter } from './buffered-file-writer.js';
import type { CombineEmitter } from './combine-emitter.js';
import { sortedOrder } from './key-sort.js';
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
  let valueBytes = 0;
  for (let i = skip; i < values.length; i++) valueBytes += encodedValueSize(values[i]);
  return Buffer.byteLength(key) * (values.length - skip) + valueBytes;
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
 * Runs the combiner over each key group (values in emit order), in key
 * order, writing what it emits. Called once per partition per spill when
 * there is a combiner.
 */
export async function writeCombined(
  groups: Map<string, unknown[]>,
  w: BufferedFileWriter,
  emitter: CombineEmitter,
  counts: SpillCounts,
  combinedBefore?: ReadonlyMap<string, number>,
): Promise<void> {
  const distinct = [...groups.keys()];
  const keys = sortedOrder(distinct).map((i) => distinct[i]!);
  emitter.setSink(w);
  const before = emitter.emitted;
  for (const key of keys) {
    const values = groups.get(key)!;
    counts.outputBytes += emittedBytes(key, values, combinedBefore?.get(key) ?? 0);
    counts.combineInput += values.length;
    const done = emitter.run(key, unpackValues(values));
    if (done !== undefined) await done;
    if (w.needsFlush()) await w.flush();
  }
  counts.records += emitter.emitted - before;
}
