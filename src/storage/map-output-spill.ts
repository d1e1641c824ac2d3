/**
 * Writing one partition of the map-side sort buffer into a spill: sorted by
 * key, combined per key when the job has a combiner.
 */
import type { BufferedFileWriter } from './buffered-file-writer.js';
import type { CombineEmitter } from './combine-emitter.js';
import { unpackValues, type CombiningBuffer } from './combining-buffer.js';
import { sortedOrder } from './key-sort.js';
import { appendRecord } from './record-codec.js';

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
 * Runs the combiner over each key of one partition of `buffer` (`keys[i]`
 * is the key of slot `slots[i]`), in key order, writing what it emits.
 * Called once per partition per spill when there is a combiner; takes the
 * values out of the buffer.
 */
export async function writeCombined(
  keys: readonly string[],
  slots: readonly number[],
  buffer: CombiningBuffer,
  w: BufferedFileWriter,
  emitter: CombineEmitter,
  counts: SpillCounts,
): Promise<void> {
  const n = keys.length;
  const order = sortedOrder(keys);
  emitter.setSink(w);
  const before = emitter.emitted;
  const packed = buffer.packed;
  for (let i = 0; i < n; i++) {
    const at = order[i]!;
    const values = buffer.takeValues(slots[at]!);
    const done = emitter.run(keys[at]!, packed ? unpackValues(values) : values);
    if (done !== undefined) await done;
    if (w.needsFlush()) await w.flush();
  }
  counts.records += emitter.emitted - before;
}
