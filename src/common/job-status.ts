/**
 * What a client sees of jobs and workers: built by the master from the
 * scheduler's records (master/job-status.ts), kept in the master's journal
 * for finished jobs, shown by the client. Field names and shapes match the
 * wire messages (src/protocol/wire-mapping.ts maps them), so the journal's
 * JSON reads the same either way.
 */
import type { DatasetCut } from './dataset-input.js';
import type { ErrorCode } from './errors.js';
import type { TaskKind } from './ids.js';

export type JobState = 'PENDING' | 'RUNNING' | 'COMMITTING' | 'SUCCEEDED' | 'FAILED' | 'KILLED';
export type TaskState = 'PENDING' | 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'KILLED';
export type AttemptState = 'RUNNING' | 'COMMITTING' | 'SUCCEEDED' | 'FAILED' | 'KILLED';

export const JOB_STATES: readonly JobState[] = ['PENDING', 'RUNNING', 'COMMITTING', 'SUCCEEDED', 'FAILED', 'KILLED'];
export const TASK_STATES: readonly TaskState[] = ['PENDING', 'RUNNING', 'SUCCEEDED', 'FAILED', 'KILLED'];
export const ATTEMPT_STATES: readonly AttemptState[] = ['RUNNING', 'COMMITTING', 'SUCCEEDED', 'FAILED', 'KILLED'];

/** Why an attempt failed, or was killed, with where it ran. */
export interface StatusFailure {
  readonly code: ErrorCode;
  readonly message: string;
  readonly attemptId: string;
  readonly workerId: string;
}

export interface Counter {
  readonly name: string;
  readonly value: number;
}

export interface TaskCounts {
  readonly total: number;
  readonly pending: number;
  readonly running: number;
  readonly succeeded: number;
  readonly failed: number;
  readonly killed: number;
}

export interface AttemptStatus {
  readonly attemptId: string;
  readonly workerId: string;
  readonly state: AttemptState;
  readonly startMs: number;
  /** 0 while running. */
  readonly finishMs: number;
  readonly speculative: boolean;
  readonly failure: StatusFailure | null;
}

export interface TaskStatus {
  readonly taskId: string;
  readonly kind: TaskKind;
  readonly state: TaskState;
  readonly attempts: readonly AttemptStatus[];
}

export interface JobStatus {
  readonly jobId: string;
  readonly name: string;
  readonly state: JobState;
  /** Why it failed or was killed, or what it waits for; '' otherwise. */
  readonly message: string;
  readonly submitMs: number;
  /** 0 until it starts. */
  readonly startMs: number;
  /** 0 until it finishes. */
  readonly finishMs: number;
  readonly outputDir: string;
  readonly maps: TaskCounts | null;
  readonly reduces: TaskCounts | null;
  /** Sorted by name. */
  readonly counters: readonly Counter[];
  readonly failures: readonly StatusFailure[];
  /** Empty unless asked for (a job's detail, not a list). */
  readonly tasks: readonly TaskStatus[];
  /** A job over datasets: the cut it reads of each, fixed at submission. Empty for file inputs. */
  readonly cuts: readonly DatasetCut[];
}

export interface WorkerStatus {
  readonly workerId: string;
  readonly shuffleAddress: string;
  readonly alive: boolean;
  readonly slots: number;
  readonly usedSlots: number;
  readonly memoryMb: number;
  readonly usedMemoryMb: number;
  readonly lastHeartbeatMs: number;
  readonly runningAttemptIds: readonly string[];
  /** shuffleAddress is the worker's node's shuffle service, which keeps its map outputs after it is gone. */
  readonly externalShuffle: boolean;
}
