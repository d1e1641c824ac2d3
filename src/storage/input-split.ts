/**
 * File splits: the byte ranges of input files that map tasks read, one map
 * task per split, cut as Hadoop's FileInputFormat cuts them. The file
 * formats (input-formats/) list their splits with this.
 */
import { describe, LaminateError } from '../common/errors.js';
import { FILE_INPUT_FORMATS, type FileInputFormat } from '../common/input-format.js';
import type { FileSplit } from '../common/input-split.js';
import type { InputFile } from './input-files.js';

export type { FileSplit };

/**
 * How much longer than the split size the last split of a file may be, so a
 * file slightly bigger than a split does not leave a tiny split behind
 * (Hadoop's SPLIT_SLOP).
 */
export const SPLIT_SLOP = 1.1;

/**
 * The most map tasks (splits) a job may have. Each split is an object in the
 * master's memory and a task in the scheduler, so a tiny split size on a big
 * input would otherwise exhaust the master's heap before the job starts.
 */
export const MAX_MAP_TASKS = 100_000;

function checkArguments(splitSize: number, format: FileInputFormat): void {
  if (!Number.isSafeInteger(splitSize) || splitSize <= 0) {
    throw new LaminateError('INVALID_ARGUMENT', `Expected the split size to be a positive integer, got ${describe(splitSize)}`);
  }
  if (!FILE_INPUT_FORMATS.includes(format)) {
    throw new LaminateError('INVALID_ARGUMENT', `Expected the input format to be one of ${FILE_INPUT_FORMATS.join(', ')}, got ${describe(format)}`);
  }
}

/**
 * Whether computeSplits takes one more full split off a file whose
 * `remaining` bytes are not yet cut: the very test of its loop, so that
 * countSplits agrees with it to the last floating-point rounding.
 */
function cutsAnother(remaining: number, splitSize: number): boolean {
  return remaining / splitSize > SPLIT_SLOP;
}

/** Splits of one text or jsonl file, as computeSplits cuts it, in O(1). */
function splitsOfFile(size: number, splitSize: number): number {
  if (size <= 0) return 0;
  // computeSplits cuts k full splits, k the least with !cutsAnother(size - k * splitSize):
  // start from the real-number answer and step to the exact one (a step or two at most).
  let k = Math.max(0, Math.ceil(size / splitSize - SPLIT_SLOP));
  while (cutsAnother(size - k * splitSize, splitSize)) k++;
  while (k > 0 && !cutsAnother(size - (k - 1) * splitSize, splitSize)) k--;
  // The rest, never empty (it is the whole file, or more than a tenth of a split), is the last split.
  return k + 1;
}

/**
 * How many splits computeSplits would return, without building them: one
 * per file for `whole`, and for `text` and `jsonl` the same count of
 * `splitSize` pieces, the last up to SPLIT_SLOP times longer, none for an
 * empty file. Pure; O(number of files).
 *
 * @throws LaminateError INVALID_ARGUMENT when splitSize is not a positive
 *   integer or format is unknown.
 */
export function countSplits(files: readonly InputFile[], splitSize: number, format: FileInputFormat): number {
  checkArguments(splitSize, format);
  if (format === 'whole') return files.length;
  let n = 0;
  for (const file of files) n += splitsOfFile(file.size, splitSize);
  return n;
}

/**
 * Cuts files into splits. For `whole`, one split per file (including an empty
 * file: its one record is the empty string). For `text` and `jsonl`, splits
 * of `splitSize` bytes, the last one of a file up to SPLIT_SLOP times that;
 * empty files yield no split, so the result is empty when all files are.
 *
 * Called by the master once per job. Pure; calling twice gives equal splits.
 * Counts the splits first (countSplits) and refuses more than MAX_MAP_TASKS
 * before building any.
 *
 * @throws LaminateError INVALID_ARGUMENT when splitSize is not a positive
 *   integer, format is unknown, or the files make more than MAX_MAP_TASKS
 *   splits.
 */
export function computeSplits(files: readonly InputFile[], splitSize: number, format: FileInputFormat): FileSplit[] {
  const count = countSplits(files, splitSize, format);
  if (count > MAX_MAP_TASKS) {
    const hint = format === 'whole'
      ? 'whole input makes one map task per file, so use fewer input files'
      : `raise --split-size (now ${splitSize} bytes)`;
    throw new LaminateError('INVALID_ARGUMENT', `Expected at most ${MAX_MAP_TASKS} map tasks, got ${count}: ${hint}`);
  }
  const splits: FileSplit[] = [];
  for (const file of files) {
    if (format === 'whole') {
      splits.push({ kind: 'file', path: file.path, start: 0, length: file.size });
      continue;
    }
    let remaining = file.size;
    while (cutsAnother(remaining, splitSize)) {
      splits.push({ kind: 'file', path: file.path, start: file.size - remaining, length: splitSize });
      remaining -= splitSize;
    }
    if (remaining > 0) splits.push({ kind: 'file', path: file.path, start: file.size - remaining, length: remaining });
  }
  return splits;
}
