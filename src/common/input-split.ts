/**
 * The input of one map task. Computed by the master once per job (by the
 * job's input format, src/storage/input-formats/), kept in its job plan and
 * journal, sent to the worker in the map attempt's launch, and read there by
 * the same format.
 */

/**
 * A byte range [start, start + length) of one file. Its records are the
 * lines whose first byte lies in the range (see storage/line-reader.ts), so
 * a split boundary never cuts a record in two; a `whole` split is a whole file.
 */
export interface FileSplit {
  readonly kind: 'file';
  readonly path: string;
  readonly start: number;
  readonly length: number;
}

/**
 * The records [startOffset, endOffset) of one partition of a dataset.
 * Boundaries lie at batch starts (or at the job's cut), so a split's reader
 * starts on a whole batch; the splits of a job cover every record before
 * its cut exactly once.
 */
export interface DatasetSplit {
  readonly kind: 'dataset';
  readonly dataset: string;
  readonly partition: number;
  readonly startOffset: number;
  readonly endOffset: number;
  /**
   * Set when the split's records lie in one archived (sealed, copied)
   * segment: the map reads them from the archive, not through the master.
   */
  readonly archive?: ArchivedRange;
}

/**
 * Bytes [start, end) of an archived segment object holding a split's
 * records: `start` is a batch start at or before the split's first record,
 * `end` a batch start at or after its end (or the object's end).
 */
export interface ArchivedRange {
  /** The object, as a user writes its path: `s3://bucket/key`, or an absolute local path. */
  readonly path: string;
  readonly start: number;
  readonly end: number;
}

export type InputSplit = FileSplit | DatasetSplit;

/** A split for logs and error messages: `/in/a.txt@0+1048576`, `dataset clicks partition 2 offsets [0, 1200)`. */
export function describeSplit(split: InputSplit): string {
  return split.kind === 'file'
    ? `${split.path}@${split.start}+${split.length}`
    : `dataset '${split.dataset}' partition ${split.partition} offsets [${split.startOffset}, ${split.endOffset})${split.archive ? ` from ${split.archive.path}` : ''}`;
}

/**
 * A split as an older journal may hold it: file splits were written without
 * `kind`. Called on the splits read back from the master's journal.
 */
export function normalizeSplit(split: InputSplit | Omit<FileSplit, 'kind'>): InputSplit {
  return 'kind' in split ? split : { kind: 'file', path: split.path, start: split.start, length: split.length };
}
