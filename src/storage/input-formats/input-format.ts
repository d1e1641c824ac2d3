/**
 * The input format port: how a job's inputs become splits (one map task
 * each) and a split becomes records, as Hadoop's InputFormat does with
 * getSplits and createRecordReader. One interface, one implementation per
 * format (text.ts, whole.ts, jsonl.ts, dataset.ts), picked by formats.ts;
 * the master lists splits with it, the worker's map runner and the client's
 * sampler read them with it, and none of them switches on the format.
 */
import type { DatasetCut } from '../../common/dataset-input.js';
import { LaminateError, type ErrorIds } from '../../common/errors.js';
import type { InputFormat } from '../../common/input-format.js';
import { describeSplit, type DatasetSplit, type FileSplit, type InputSplit } from '../../common/input-split.js';

/** A job's inputs, resolved: file paths (absolute), or datasets with the cut read of each. */
export type JobInputs =
  | { readonly kind: 'files'; readonly paths: readonly string[] }
  | { readonly kind: 'datasets'; readonly cuts: readonly DatasetCut[] };

/** Where a record comes from: its file, or its dataset, partition and offset. */
export type RecordOrigin =
  | { readonly kind: 'file'; readonly path: string }
  | { readonly kind: 'dataset'; readonly dataset: string; readonly partition: number; readonly offset: number };

/**
 * Takes one record with its context. A returned thenable is awaited before
 * the next record is read; anything else is not, so a synchronous map runs
 * in a tight loop. A throw stops the read (and closes what it opened).
 */
export type RecordSink<C> = (record: unknown, ctx: C) => void | Promise<void>;

export interface InputFormatPort {
  readonly name: InputFormat;
  /**
   * The splits of a job's inputs, in order, about `splitSize` bytes each;
   * together they hold every record of the inputs exactly once. Called by
   * the master once per submitted job (and by the client's sampler); reads
   * only metadata, so calling twice gives the same splits while the inputs
   * do not change.
   *
   * @throws LaminateError INVALID_ARGUMENT for inputs of another kind, a bad
   *   split size or too many splits; NOT_FOUND for a missing input.
   */
  listSplits(inputs: JobInputs, splitSize: number): Promise<InputSplit[]>;
  /**
   * Calls `onRecord` for every record of `split`, in order. `context` makes
   * the ctx handed with each record from its origin: once per split for
   * files (every record shares it), once per record for datasets (the
   * offset differs). Called by the map runner once per map attempt, and by
   * the sampler; reads only, so a retry reads the same records.
   *
   * @throws MalformedInputError for input the format cannot parse; a
   *   LaminateError for input it cannot reach; whatever onRecord throws.
   */
  read<C>(split: InputSplit, context: (origin: RecordOrigin) => C, onRecord: RecordSink<C>): Promise<void>;
}

/**
 * Input a job can never read as it is (a malformed jsonl line): no retry
 * reads other bytes, so the job fails at once (NON_RETRYABLE). The message
 * names the file and line. The sampler turns it into INVALID_ARGUMENT, since
 * there it refuses a submission rather than fails a job.
 */
export class MalformedInputError extends LaminateError {
  constructor(message: string, ids?: ErrorIds) {
    super('NON_RETRYABLE', message, ids ? { ids } : {});
    this.name = 'MalformedInputError';
  }
}

/** `split` as a file split, for the file formats; INVALID_ARGUMENT for a dataset split. */
export function fileSplitOf(split: InputSplit, format: InputFormat): FileSplit {
  if (split.kind === 'file') return split;
  throw new LaminateError('INVALID_ARGUMENT', `Expected a file split for the ${format} input format, got ${describeSplit(split)}`);
}

/** `split` as a dataset split; INVALID_ARGUMENT for a file split. */
export function datasetSplitOf(split: InputSplit): DatasetSplit {
  if (split.kind === 'dataset') return split;
  throw new LaminateError('INVALID_ARGUMENT', `Expected a dataset split for the dataset input format, got the file split ${describeSplit(split)}`);
}
