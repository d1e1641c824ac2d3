/**
 * The vocabulary of the scheduling core: what it is told (events, as method
 * calls on Scheduler) and what it answers (decisions). Nothing here does I/O.
 */
import type { ErrorCode } from '../common/errors.js';
import type { TaskKind } from '../common/ids.js';
import type { AttemptState, JobState, TaskState } from '../common/job-status.js';

/** The states are the ones clients see (common/job-status.ts): one word per concept. */
export type { AttemptState, JobState, TaskState };

export interface Resources {
  readonly slots: number;
  readonly memoryMb: number;
}

/** Why an attempt ended other than by success. */
export interface Failure {
  readonly code: ErrorCode;
  readonly message: string;
}

/** A failure with the attempt and worker it happened on, as reported to users. */
export interface AttemptFailure extends Failure {
  readonly attemptId: string;
  readonly workerId: string;
}

import type { PartitionInfo } from '../common/partition-info.js';

export type { PartitionInfo };

/** What a successful attempt hands back. */
export interface AttemptResult {
  /** Map attempts only: the index of the output file kept on the worker. */
  readonly partitions?: readonly PartitionInfo[];
  readonly counters: Readonly<Record<string, number>>;
}

export interface JobSubmission {
  readonly jobId: string;
  readonly name: string;
  readonly maps: number;
  readonly reducers: number;
  readonly mapMemoryMb: number;
  readonly reduceMemoryMb: number;
  readonly speculation: boolean;
}

/** Where a reduce attempt finds map task `mapIndex`'s output. */
export interface MapOutputSource {
  readonly mapIndex: number;
  readonly attemptId: string;
  readonly workerId: string;
  readonly partitions: readonly PartitionInfo[];
  /** The shuffle service that keeps the output, when the worker wrote it to one (its address); absent: the worker serves it. */
  readonly shuffleService?: string;
}

export interface LaunchDecision {
  readonly type: 'launch';
  readonly jobId: string;
  readonly taskId: string;
  readonly attemptId: string;
  readonly kind: TaskKind;
  readonly index: number;
  readonly workerId: string;
  readonly memoryMb: number;
  readonly speculative: boolean;
  /** Reduce attempts only: every map output, one per map task. */
  readonly sources?: readonly MapOutputSource[];
}

export interface KillDecision {
  readonly type: 'kill';
  readonly jobId: string;
  readonly attemptId: string;
  readonly workerId: string;
  readonly reason: string;
}

/** Every reduce has committed: the wiring commits the job's output, then calls jobCommitted. */
export interface CommitJobDecision {
  readonly type: 'commitJob';
  readonly jobId: string;
}

export interface JobFinishedDecision {
  readonly type: 'jobFinished';
  readonly jobId: string;
  readonly state: 'SUCCEEDED' | 'FAILED' | 'KILLED';
  /** Why the job failed: every failed attempt's cause, or the reason it was killed. */
  readonly failures: readonly AttemptFailure[];
  readonly message: string;
}

export interface WorkerLostDecision {
  readonly type: 'workerLost';
  readonly workerId: string;
  readonly reason: string;
  /** The worker left on its own (shutdown), rather than falling silent. */
  readonly left: boolean;
  /** Function containers it held, released with it (the invocation service's to handle). */
  readonly containers?: readonly string[];
}

export type Decision = LaunchDecision | KillDecision | CommitJobDecision | JobFinishedDecision | WorkerLostDecision;
