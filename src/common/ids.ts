/**
 * Ids have one formatter and one parser each; nothing else builds or takes
 * apart an id by hand.
 *
 *   job-0007                 a job
 *   job-0007-m-00012         map task 12 of job 7
 *   job-0007-r-00003         reduce task 3 of job 7
 *   job-0007-m-00012-a2      attempt 2 of that map task
 *   worker-0003              a worker, numbered by the master at registration
 */
import { LaminateError } from './errors.js';

/**
 * A producer id (idempotent appends to a dataset) is at most this many UTF-8
 * bytes: the batch format stores its length in one byte. The client checks
 * it when a producer is made, the store on every append.
 */
export const MAX_PRODUCER_ID_BYTES = 255;

export type TaskKind = 'map' | 'reduce';

export interface TaskRef {
  readonly jobId: string;
  readonly kind: TaskKind;
  readonly index: number;
}

export interface AttemptRef extends TaskRef {
  readonly attempt: number;
}

const pad = (n: number, width: number): string => String(n).padStart(width, '0');

export function formatJobId(seq: number): string {
  return `job-${pad(seq, 4)}`;
}

export function formatTaskId(jobId: string, kind: TaskKind, index: number): string {
  return `${jobId}-${kind === 'map' ? 'm' : 'r'}-${pad(index, 5)}`;
}

export function formatAttemptId(taskId: string, attempt: number): string {
  return `${taskId}-a${attempt}`;
}

export function formatWorkerId(seq: number): string {
  return `worker-${pad(seq, 4)}`;
}

/**
 * The name of an attempt's temporary output folder: qualified by its worker,
 * so that an attempt left running by an earlier master cannot share a folder
 * with the attempt of the same id a restarted master launches.
 */
export function formatAttemptDir(attemptId: string, workerId: string): string {
  return `${attemptId}.${workerId}`;
}

export function parseWorkerId(id: string): number {
  const m = WORKER_RE.exec(id);
  if (!m) throw new LaminateError('INVALID_ARGUMENT', `Expected a worker id like worker-0003, got '${id}'`);
  return Number(m[1]);
}

export function formatPartFile(partition: number): string {
  return `part-${pad(partition, 5)}`;
}

const JOB_RE = /^job-(\d{4,})$/;
const WORKER_RE = /^worker-(\d{4,})$/;
const TASK_RE = /^(job-\d{4,})-([mr])-(\d{5,})$/;
const ATTEMPT_RE = /^(job-\d{4,})-([mr])-(\d{5,})-a(\d+)$/;

export function parseJobId(id: string): number {
  const m = JOB_RE.exec(id);
  if (!m) throw new LaminateError('INVALID_ARGUMENT', `Expected a job id like job-0007, got '${id}'`);
  return Number(m[1]);
}

export function parseTaskId(id: string): TaskRef {
  const m = TASK_RE.exec(id);
  if (!m) throw new LaminateError('INVALID_ARGUMENT', `Expected a task id like job-0007-m-00012, got '${id}'`);
  return { jobId: m[1]!, kind: m[2] === 'm' ? 'map' : 'reduce', index: Number(m[3]) };
}

export function parseAttemptId(id: string): AttemptRef & { taskId: string } {
  const m = ATTEMPT_RE.exec(id);
  if (!m) throw new LaminateError('INVALID_ARGUMENT', `Expected an attempt id like job-0007-m-00012-a2, got '${id}'`);
  const jobId = m[1]!;
  const kind: TaskKind = m[2] === 'm' ? 'map' : 'reduce';
  const index = Number(m[3]);
  return { jobId, kind, index, attempt: Number(m[4]), taskId: formatTaskId(jobId, kind, index) };
}
