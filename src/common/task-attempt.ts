/**
 * A task attempt as the master and a worker speak of it, in domain terms: the
 * launch the master sends, the commands on a worker's command stream, and the
 * outcome the worker reports. src/protocol/wire-mapping.ts maps these to and
 * from the wire messages; nothing else sees those.
 */
import type { ErrorCode } from './errors.js';
import type { InvokeCommand } from './function-shapes.js';
import type { TaskKind } from './ids.js';
import type { InputFormat } from './input-format.js';
import type { InputSplit } from './input-split.js';
import type { PartitionInfo } from './partition-info.js';

/** Where a reduce attempt finds its partition of map task `mapIndex`'s output. */
export interface MapOutputLocation {
  readonly mapIndex: number;
  /** The map attempt whose output it is. */
  readonly attemptId: string;
  /** The worker holding it. */
  readonly workerId: string;
  /**
   * Where to fetch it: the worker's own shuffle server ('' when the worker is
   * gone: the fetch then fails at once), or its node's shuffle service.
   */
  readonly shuffleAddress: string;
  /** The reducer's partition in that output (length 0: nothing to fetch). */
  readonly partition: PartitionInfo;
}

/** Everything a worker needs to run one task attempt. */
export interface AttemptLaunch {
  readonly attemptId: string;
  readonly jobId: string;
  /** The worker the attempt was placed on. */
  readonly workerId: string;
  /** The job module's bundle, by content hash (fetched from the master once per worker). */
  readonly bundleHash: string;
  readonly kind: TaskKind;
  /** The map task's split index, or the reduce task's partition. */
  readonly index: number;
  /** The container's heap limit. */
  readonly memoryMb: number;
  readonly timeoutMs: number;
  readonly reducers: number;
  readonly format: InputFormat;
  readonly outputDir: string;
  /** Map attempts only: the input split. */
  readonly split?: InputSplit;
  /** Reduce attempts only: every map task's output, one per map task, in map order. */
  readonly sources: readonly MapOutputLocation[];
  /** Total order only: reducers - 1 sorted keys; empty for hash partitioning. */
  readonly splitPoints: readonly string[];
  /** Map attempts: bytes of map output buffered before a spill. */
  readonly sortBufferBytes: number;
  /** Reduce attempts of a job with view output only: the folder of the view files to merge with (ResolvedJobSpec.mergeBase). */
  readonly mergeBase?: string;
}

/** A command on a worker's command stream, from the master. */
export type WorkerCommand =
  | { readonly type: 'launch'; readonly launch: AttemptLaunch }
  | { readonly type: 'kill'; readonly attemptId: string; readonly reason: string }
  /** The job has ended: drop its map outputs, containers and files. */
  | { readonly type: 'cleanup'; readonly jobId: string }
  /** Run one attempt of a function invocation (issue 10), cold-starting its container if need be. */
  | { readonly type: 'invoke'; readonly invoke: InvokeCommand }
  /** Stop a function container (idle, its function deleted, or unknown to the master). Safe to repeat. */
  | { readonly type: 'stopContainer'; readonly containerId: string; readonly reason: string };

/**
 * A view file a reduce attempt wrote, as its writer summed it up while
 * writing (src/view/view-file-writer.ts): what a build's manifest records of
 * the file, so that the master publishing the build need not read every
 * byte of it again (src/master/view-service.ts).
 */
export interface OutputFileSummary {
  /** Entries (keys) in the file. */
  readonly records: number;
  /** The file's size. */
  readonly bytes: number;
  /** CRC-32 of the whole file, as zlib.crc32 computes it over its bytes. */
  readonly checksum: number;
  /** Both undefined when records is 0. */
  readonly firstKey: string | undefined;
  readonly lastKey: string | undefined;
}

/** How an attempt ended, as its worker reports it. */
export type AttemptOutcome =
  | {
    readonly outcome: 'SUCCEEDED';
    readonly counters: Readonly<Record<string, number>>;
    /** Map attempts only: the index of the output file kept on the worker, one entry per reducer. */
    readonly partitions?: readonly PartitionInfo[];
    /** Reduce attempts writing a view file (a view's build) only: that file's summary. */
    readonly outputFile?: OutputFileSummary;
  }
  | { readonly outcome: 'FAILED'; readonly code: ErrorCode; readonly message: string }
  /** A reduce attempt could not fetch map task `mapIndex`'s output (attempt `mapAttemptId`). */
  | { readonly outcome: 'FETCH_FAILED'; readonly message: string; readonly mapIndex: number; readonly mapAttemptId: string };

/** A worker's report of one attempt's end. */
export interface AttemptReport {
  readonly attemptId: string;
  readonly workerId: string;
  readonly result: AttemptOutcome;
}
