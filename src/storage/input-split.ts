/**
 * Input splits: the byte ranges of input files that map tasks read, one map
 * task per split, cut as Hadoop's FileInputFormat cuts them.
 */
import { describe, LaminateError } from '../common/errors.js';
import type { InputFormat } from '../api/job.js';
import type { InputFile } from './input-files.js';

/**
 * A byte range [start, start + length) of one file. Its records are the lines
 * whose first byte lies in the range (see line-reader.ts), so a split boundary
 * never cuts a record in two.
 */
export interface InputSplit {
  readonly path: string;
  readonly start: number;
  readonly length: number;
}

/**
 * How much longer than the split size the last split of a file may be, so a
 * file slightly bigger than a split does not leave a tiny split behind
 * (Hadoop's SPLIT_SLOP).
 */
export const SPLIT_SLOP = 1.1;

const FORMATS: readonly InputFormat[] = ['text', 'whole', 'jsonl'];

/**
 * Cuts files into splits. For `whole`, one split per file (including an empty
 * file: its one record is the empty string). For `text` and `jsonl`, splits
 * of `splitSize` bytes, the last one of a file up to SPLIT_SLOP times that;
 * empty files yield no split, so the result is empty when all files are.
 *
 * Called by the master once per job. Pure; calling twice gives equal splits.
 *
 * @throws LaminateError INVALID_ARGUMENT when splitSize is not a positive
 *   integer or format is unknown.
 */
export function computeSplits(files: readonly InputFile[], splitSize: number, format: InputFormat): InputSplit[] {
  if (!Number.isSafeInteger(splitSize) || splitSize <= 0) {
    throw new LaminateError('INVALID_ARGUMENT', `Expected the split size to be a positive integer, got ${describe(splitSize)}`);
  }
  if (!FORMATS.includes(format)) {
    throw new LaminateError('INVALID_ARGUMENT', `Expected the input format to be one of ${FORMATS.join(', ')}, got ${describe(format)}`);
  }
  const splits: InputSplit[] = [];
  for (const file of files) {
    if (format === 'whole') {
      splits.push({ path: file.path, start: 0, length: file.size });
      continue;
    }
    let remaining = file.size;
    while (remaining / splitSize > SPLIT_SLOP) {
      splits.push({ path: file.path, start: file.size - remaining, length: splitSize });
      remaining -= splitSize;
    }
    if (remaining > 0) splits.push({ path: file.path, start: file.size - remaining, length: remaining });
  }
  return splits;
}
