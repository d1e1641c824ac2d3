/**
 * The `dataset` input format: jobs over `--input dataset:NAME[@CUT]`. Each
 * dataset's partitions are cut into offset ranges of about the split size,
 * at batch starts, so that every record before the job's cut is in exactly
 * one split and a reader never starts inside a batch. Each record is the
 * JSON value it was appended as; its ctx tells dataset, partition and offset.
 *
 * The format reaches the datasets through a DatasetAccess, given by the
 * process that uses it: the master's wraps its store (it plans splits from
 * the store's batch positions), a worker's reads over gRPC from the
 * master's Dataset service, the client's sampler reads the same way.
 */
import { describe, LaminateError } from '../../common/errors.js';
import type { DatasetSplit, InputSplit } from '../../common/input-split.js';
import { isThenable } from '../../common/thenable.js';
import { MAX_MAP_TASKS } from '../input-split.js';
import { datasetSplitOf, type InputFormatPort } from './input-format.js';

/** Offsets [startOffset, endOffset) of one partition. */
export interface OffsetRange {
  readonly startOffset: number;
  readonly endOffset: number;
}

/** Consecutive records of one partition, decoded. */
export interface DatasetRecordChunk {
  /** The offset of records[0]. */
  readonly firstOffset: number;
  readonly records: readonly unknown[];
}

/** What the dataset format needs of the dataset store, wherever it is. */
export interface DatasetAccess {
  /**
   * Ranges covering [0, endOffset) of a partition, in order and without gaps,
   * each about `targetBytes` of records, each starting at a batch start (or
   * 0). None when endOffset is 0. Called by the master once per partition of
   * each dataset input of a submitted job.
   */
  splitRanges(dataset: string, partition: number, endOffset: number, targetBytes: number): Promise<readonly OffsetRange[]>;
  /**
   * The records of `split` in chunks (tens of KB or more each, never one
   * record at a time), in offset order. Leaving the iteration early cancels
   * the read. Called once per map attempt over a dataset split.
   */
  readRange(split: DatasetSplit): AsyncIterable<DatasetRecordChunk>;
}

/** The dataset format over `access`. */
export function datasetFormat(access: DatasetAccess): InputFormatPort {
  return {
    name: 'dataset',

    async listSplits(inputs, splitSize) {
      if (inputs.kind !== 'datasets') {
        throw new LaminateError('INVALID_ARGUMENT', `Expected dataset inputs for the dataset input format, got files ${inputs.paths.map((p) => `'${p}'`).join(', ')}`);
      }
      if (!Number.isSafeInteger(splitSize) || splitSize <= 0) {
        throw new LaminateError('INVALID_ARGUMENT', `Expected the split size to be a positive integer, got ${describe(splitSize)}`);
      }
      const splits: InputSplit[] = [];
      for (const { dataset, offsets, from } of inputs.cuts) {
        for (let partition = 0; partition < offsets.length; partition++) {
          const end = offsets[partition]!;
          const start = from?.[partition] ?? 0;
          const ranges = await access.splitRanges(dataset, partition, end, splitSize);
          checkCover(dataset, partition, end, ranges);
          // A range input reads from `start`: the ranges of [0, end) clipped to [start, end), each record still in one.
          for (const r of ranges) {
            if (r.endOffset <= start) continue;
            splits.push({ kind: 'dataset', dataset, partition, startOffset: Math.max(r.startOffset, start), endOffset: r.endOffset });
          }
          if (splits.length > MAX_MAP_TASKS) {
            throw new LaminateError('INVALID_ARGUMENT', `Expected at most ${MAX_MAP_TASKS} map tasks, got more: raise --split-size (now ${splitSize} bytes)`);
          }
        }
      }
      return splits;
    },

    async read(split, context, onRecord) {
      const s = datasetSplitOf(split);
      const { dataset, partition, endOffset } = s;
      const ids = { dataset, partition };
      let next = s.startOffset;
      for await (const chunk of access.readRange(s)) {
        if (chunk.firstOffset !== next || next + chunk.records.length > endOffset) {
          throw new LaminateError('DATA_LOSS', `Expected records [${next}, ${endOffset}) of dataset '${dataset}' partition ${partition}, got ${chunk.records.length} from offset ${chunk.firstOffset}`, { ids: { ...ids, offset: next } });
        }
        const records = chunk.records;
        for (let i = 0; i < records.length; i++) {
          const r = onRecord(records[i], context({ kind: 'dataset', dataset, partition, offset: next + i }));
          if (r !== undefined && isThenable(r)) await r;
        }
        next += records.length;
      }
      if (next !== endOffset) {
        throw new LaminateError('DATA_LOSS', `Expected records [${s.startOffset}, ${endOffset}) of dataset '${dataset}' partition ${partition}, got a read that ended at offset ${next}`, { ids: { ...ids, offset: next } });
      }
    },
  };
}

/**
 * The ranges of a partition must tile [0, end): the guarantee that each
 * record before the cut is read exactly once rests on it, so a planner that
 * broke it is caught here, at submission, rather than as a wrong count.
 */
function checkCover(dataset: string, partition: number, end: number, ranges: readonly OffsetRange[]): void {
  let at = 0;
  for (const r of ranges) {
    if (r.startOffset !== at || r.endOffset <= r.startOffset) {
      throw new LaminateError('INTERNAL', `Expected split ranges of dataset '${dataset}' partition ${partition} to tile [0, ${end}), got [${r.startOffset}, ${r.endOffset}) after ${at}`);
    }
    at = r.endOffset;
  }
  if (at !== end) throw new LaminateError('INTERNAL', `Expected split ranges of dataset '${dataset}' partition ${partition} to end at ${end}, got ${at}`);
}
