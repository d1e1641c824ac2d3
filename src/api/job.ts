/**
 * The job a user writes: the default export of a job module. Everything here
 * is what user code sees; the engine's own types live elsewhere.
 */

/** Emits one key/value pair. Keys are strings; values anything msgpack encodes. */
export type Emit = (key: string, value: unknown) => void;

export interface TaskContext {
  /** The input file of the record (map over files only; '' for dataset records and in reduce). */
  readonly path: string;
  /** Map over a dataset input only: the record's dataset. */
  readonly dataset?: string;
  /** Map over a dataset input only: the record's partition. */
  readonly partition?: number;
  /** Map over a dataset input only: the record's offset within its partition. */
  readonly offset?: number;
  /** The id of the running attempt, e.g. job-0007-m-00012-a1. */
  readonly attemptId: string;
  /** Adds n (default 1) to a user counter; summed over committed attempts. */
  counter(name: string, n?: number): void;
}

export type { InputFormat } from '../common/input-format.js';

export interface Job<R = unknown> {
  /**
   * Called once per record: for `text` a line without its line ending, for
   * `whole` a whole file's contents, for `jsonl` the parsed value of a line,
   * for a dataset input the JSON value the record was appended as (with
   * ctx.dataset, ctx.partition and ctx.offset telling where it is).
   */
  map(record: R, emit: Emit, ctx: TaskContext): void | Promise<void>;
  /** Called once per distinct key of a partition, in ascending UTF-8 byte order of keys. */
  reduce(key: string, values: unknown[], emit: Emit, ctx: TaskContext): void | Promise<void>;
  /** Optional: runs on map output before it is spilled; same shape as reduce. */
  combine?(key: string, values: unknown[], emit: Emit): void | Promise<void>;
  /** Optional: the reducer a key goes to, in [0, reducers). Default: a hash of the key. */
  partition?(key: string, reducers: number): number;
  /** Optional: sample the keys so that part files read in order are globally sorted. */
  totalOrder?: boolean;
  /**
   * What reducers write: 'text' (default), a part file of `key<TAB>value`
   * lines; or 'view', a view file (src/view/view-file-writer.ts: keys in
   * order, values as msgpack, checksummed blocks, an index), where reduce
   * must emit each key once, in the order it is called. A view's build job
   * (viewBuildJob) sets it; a user's job rarely needs to.
   */
  output?: 'text' | 'view';
  /**
   * View output only: merges the value a key had in the earlier version a
   * build starts from with the value reduce emitted for it (an incremental
   * build). viewBuildJob sets it to the view's monoid.
   */
  mergeOutput?(key: string, base: unknown, fresh: unknown): unknown;
}

/** Adds types to a job object; returns it unchanged. */
export function defineJob<R = string>(job: Job<R>): Job<R> {
  return job;
}
