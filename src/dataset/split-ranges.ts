/**
 * Split planning for batch jobs over a dataset: a partition's records before
 * a cut, cut into offset ranges of about a target size in bytes, each
 * starting at a batch start, so that each record is read by exactly one map
 * task and no reader starts inside a batch (Hadoop's FileInputFormat cuts
 * files by bytes the same way; Kafka's consumers read from batch starts).
 *
 * The byte positions come from the offset indexes (offset-index.ts): an
 * entry at least every index interval (64 KiB by default) and one per
 * segment start, so ranges are cut to that granularity. Pure.
 */
import { describe, LaminateError } from '../common/errors.js';
import type { OffsetRange } from '../storage/input-formats/dataset.js';

export type { OffsetRange };

/** A batch start: its first offset, and its byte position counted over the partition's segments in order. */
export interface BatchMark {
  readonly offset: number;
  readonly position: number;
}

/**
 * How much longer than the target the last range may be, so that a
 * partition slightly bigger than a range does not leave a tiny one behind
 * (the file splits' SPLIT_SLOP).
 */
export const RANGE_SLOP = 1.1;

/**
 * Ranges tiling [0, end): each starts at 0 or at one of `marks`, and a new
 * one starts at the first mark at least `targetBytes` past the current
 * one's start, unless what would be left before `endPosition` is within
 * the slop. `marks` are in offset order (positions non-decreasing);
 * `endPosition` is where record `end` starts, or a bound past it. None when
 * end is 0.
 *
 * @throws LaminateError INVALID_ARGUMENT for a target or end that is not a
 *   positive (non-negative for end) integer.
 */
export function splitRanges(marks: readonly BatchMark[], end: number, endPosition: number, targetBytes: number): OffsetRange[] {
  if (!Number.isSafeInteger(targetBytes) || targetBytes <= 0) {
    throw new LaminateError('INVALID_ARGUMENT', `Expected the split size to be a positive integer, got ${describe(targetBytes)}`);
  }
  if (!Number.isSafeInteger(end) || end < 0) {
    throw new LaminateError('INVALID_ARGUMENT', `Expected an end offset that is a non-negative integer, got ${describe(end)}`);
  }
  const ranges: OffsetRange[] = [];
  if (end === 0) return ranges;
  let startOffset = 0;
  let startPosition = 0;
  for (const m of marks) {
    if (m.offset >= end) break;
    if (m.offset <= startOffset) {
      // Marks at or before the current start (the partition's first batch, a
      // segment start repeated by its index) say where it is on disk.
      if (m.offset === startOffset) startPosition = m.position;
      continue;
    }
    if (m.position - startPosition < targetBytes) continue;
    if ((endPosition - startPosition) / targetBytes <= RANGE_SLOP) break;
    ranges.push({ startOffset, endOffset: m.offset });
    startOffset = m.offset;
    startPosition = m.position;
  }
  ranges.push({ startOffset, endOffset: end });
  return ranges;
}
