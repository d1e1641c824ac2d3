/**
 * A byte range [start, start + length) of one file: the input of one map
 * task. Its records are the lines whose first byte lies in the range (see
 * storage/line-reader.ts), so a split boundary never cuts a record in two.
 * Computed by storage/input-split.ts, kept in the master's job plan and
 * journal, sent to the worker in the map attempt's launch.
 */
export interface InputSplit {
  readonly path: string;
  readonly start: number;
  readonly length: number;
}
