/**
 * Writing one partition of the map-side sort buffer into a spill: sorted by
 * key, combined per key when the job has a combiner.
 */
import type { BufferedFileWriter } from './buffered-file-writer.js';
import { CombinedValues, type CombinedPartition } from './combining-buffer.js';
import { sortedOrder } from './key-sort.js';
import { sortedByKeyBytes } from './record-key-sort.js';
import type { EncodedRecords, RecordRange } from './encoded-records.js';
import { appendKeyBytes, appendValue } from './record-codec.js';

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
 * Writes the records at `locations` in `encoded` sorted by key (their key
 * bytes), copying their bytes; equal keys keep their emit order. Called once
 * per partition per spill when there is no combiner.
 */
export async function writeSorted(locations: readonly number[], encoded: EncodedRecords, w: BufferedFileWriter): Promise<void> {
  const n = locations.length;
  const order = sortedByKeyBytes(locations, encoded);
  const range: RecordRange = { chunk: encoded.buf, start: 0, end: 0 };
  for (let i = 0; i < n; i++) {
    encoded.recordAt(locations[order[i]!]!, range);
    w.writeBytes(range.chunk, range.start, range.end);
    if (w.needsFlush()) await w.flush();
  }
}

/**
 * Writes one combined partition (what the combiner emitted per key) sorted
 * by key, a key's values in the order the combiner emitted them. Called
 * once per partition per spill when there is a combiner; returns the
 * records written.
 */
export async function writeCombined(part: CombinedPartition, w: BufferedFileWriter): Promise<number> {
  const { keys, values, keyEnds } = part;
  const src = part.keyBytes.buf;
  const n = keys.length;
  const order = sortedOrder(keys);
  let records = 0;
  for (let i = 0; i < n; i++) {
    const at = order[i]!;
    const start = at === 0 ? 0 : keyEnds[at - 1]!;
    const end = keyEnds[at]!;
    const v = values[at];
    if (v instanceof CombinedValues) {
      for (const each of v.values) {
        appendKeyBytes(w, src, start, end);
        appendValue(w, each);
      }
      records += v.values.length;
    } else {
      appendKeyBytes(w, src, start, end);
      appendValue(w, v);
      records++;
    }
    if (w.needsFlush()) await w.flush();
  }
  return records;
}
