/**
 * The mutable records the scheduler keeps. They are read by the master to
 * answer status calls, and written only by Scheduler.
 */
import { formatTaskId, type TaskKind } from '../common/ids.js';
import type { EndCause } from './attempt-end.js';
import type {
  AttemptFailure, AttemptResult, AttemptState, Failure, JobState, JobSubmission, Resources, TaskState,
} from './types.js';

export interface WorkerRecord {
  readonly id: string;
  readonly capacity: Resources;
  usedSlots: number;
  usedMemoryMb: number;
  lastHeartbeat: number;
  /**
   * The longest silence seen between two of its heartbeats (0 before the
   * second): how long this worker may go unheard and still be alive.
   */
  heartbeatGap: number;
  alive: boolean;
  readonly running: Set<string>;
  /** Function containers reserved on it (containers.ts): each holds a slot and its memory. */
  readonly containers: Set<string>;
  /**
   * Set when the worker writes its map outputs to its node's shuffle service
   * (that service's address): they outlive the worker (map-outputs.ts).
   */
  readonly shuffleService?: string;
}

export interface AttemptRecord {
  readonly id: string;
  readonly jobId: string;
  readonly taskId: string;
  readonly kind: TaskKind;
  readonly index: number;
  readonly number: number;
  readonly workerId: string;
  readonly memoryMb: number;
  readonly speculative: boolean;
  readonly start: number;
  /** Map attempts on a worker attached to a shuffle service: that service, which keeps the output. */
  readonly shuffleService?: string;
  state: AttemptState;
  /** Set once the attempt is no longer live. */
  finish?: number;
  /** Set when the attempt failed or was killed. */
  failure?: Failure;
  /** Set when the attempt failed or was killed: why, and so what it counted toward (see attempt-end.ts). */
  cause?: EndCause;
}

export interface TaskRecord {
  readonly id: string;
  readonly jobId: string;
  readonly kind: TaskKind;
  readonly index: number;
  state: TaskState;
  readonly attempts: AttemptRecord[];
  /** Attempts that failed through their own fault; at maxAttempts the job fails. */
  failures: number;
  /**
   * Attempts that were alone on a worker when it died (cause CRASHED_WORKER),
   * since the task last succeeded; at maxCrashes the job fails.
   */
  crashes: number;
  /** A retry does not start before this time (backoff). */
  notBefore: number;
  /** Workers on which an attempt of this task failed. */
  readonly failedOn: Set<string>;
  /** The attempt whose output is the task's: set while SUCCEEDED. */
  winner?: AttemptRecord;
  /** The winner's result: set while SUCCEEDED. */
  result?: AttemptResult;
  /** Whether this task is in its job's pending queue. */
  queued: boolean;
  /** Whether a speculative attempt was started for the current run. */
  speculated: boolean;
}

export interface JobRecord {
  readonly submission: JobSubmission;
  state: JobState;
  readonly submitTime: number;
  startTime?: number;
  finishTime?: number;
  readonly maps: TaskRecord[];
  readonly reduces: TaskRecord[];
  /** Tasks waiting for a container, oldest first. */
  pending: TaskRecord[];
  runningAttempts: number;
  readonly failuresByWorker: Map<string, number>;
  readonly excludedWorkers: Set<string>;
  /** Every attempt that failed, in order. */
  readonly failures: AttemptFailure[];
  /** Why the job ended, or why it is waiting. */
  message: string;
  mapsDone: number;
  reducesDone: number;
}

export function liveAttempts(task: TaskRecord): AttemptRecord[] {
  return task.attempts.filter((a) => a.state === 'RUNNING' || a.state === 'COMMITTING');
}

export function isJobFinished(job: JobRecord): boolean {
  return job.state === 'SUCCEEDED' || job.state === 'FAILED' || job.state === 'KILLED';
}

/** A new job's record: every task PENDING and queued, maps first. */
export function newJobRecord(sub: JobSubmission, submitTime: number, now: number): JobRecord {
  const task = (kind: TaskKind, index: number): TaskRecord => ({
    id: formatTaskId(sub.jobId, kind, index), jobId: sub.jobId, kind, index, state: 'PENDING', attempts: [],
    failures: 0, crashes: 0, notBefore: now, failedOn: new Set(), queued: true, speculated: false,
  });
  const maps = Array.from({ length: sub.maps }, (_, i) => task('map', i));
  const reduces = Array.from({ length: sub.reducers }, (_, i) => task('reduce', i));
  return {
    submission: sub, state: 'PENDING', submitTime, maps, reduces, pending: [...maps, ...reduces],
    runningAttempts: 0, failuresByWorker: new Map(), excludedWorkers: new Set(), failures: [],
    message: '', mapsDone: 0, reducesDone: 0,
  };
}
