/**
 * The scheduling pass of the scheduler (scheduler.ts): which pending task
 * goes to which worker now, which straggler earns a backup, and the launch
 * that starts an attempt. Pure: it reads and writes the scheduler's records
 * and returns launch decisions; the Scheduler calls it after every event that
 * may free or need a container.
 */
import { formatAttemptId, type TaskKind } from '../common/ids.js';
import { mapSources } from './map-outputs.js';
import { chooseWorker } from './placement.js';
import { isJobFinished, liveAttempts, type AttemptRecord, type JobRecord, type TaskRecord, type WorkerRecord } from './records.js';
import type { ResolvedSchedulerOptions } from './scheduler-options.js';
import { findStragglers } from './speculation.js';
import type { Decision } from './types.js';

/** The scheduler's records, as the pass needs them: the pass adds attempts and fills workers' slots. */
export interface SchedulerState {
  readonly options: ResolvedSchedulerOptions;
  readonly workers: ReadonlyMap<string, WorkerRecord>;
  readonly jobs: ReadonlyMap<string, JobRecord>;
  readonly attempts: Map<string, AttemptRecord>;
}

/**
 * One scheduling pass: fair share between jobs (the job with the fewest
 * running attempts goes first, then the oldest), each job's pending tasks
 * in order, maps before reduces; reduces only once every map has succeeded.
 * Safe to call at any time; a pass with nothing to place decides nothing.
 */
export function schedule(s: SchedulerState, now: number): Decision[] {
  const out: Decision[] = [];
  const active = [...s.jobs.values()].filter((j) => !isJobFinished(j) && j.state !== 'COMMITTING' && j.pending.length > 0);
  const blocked = new Set<JobRecord>();
  for (;;) {
    const candidates = active.filter((j) => !blocked.has(j));
    if (candidates.length === 0) break;
    candidates.sort((a, b) => a.runningAttempts - b.runningAttempts || a.submitTime - b.submitTime
      || a.submission.jobId.localeCompare(b.submission.jobId));
    const job = candidates[0]!;
    const d = placeOne(s, job, now);
    if (d) out.push(d);
    else blocked.add(job);
  }
  return out;
}

/** Places the first placeable pending task of `job`, or notes why it waits. */
function placeOne(s: SchedulerState, job: JobRecord, now: number): Decision | undefined {
  job.pending = job.pending.filter((t) => t.queued && t.state === 'PENDING');
  const mapsDone = job.mapsDone === job.maps.length;
  let waitingFor = '';
  // Fresh tasks of one kind ask for the same resources: once one finds no
  // room, the others of its kind would not either. Retries differ, since
  // they avoid the workers they failed on.
  const noRoom = new Set<TaskKind>();
  for (let i = 0; i < job.pending.length; i++) {
    const task = job.pending[i]!;
    if (task.notBefore > now) continue;
    if (task.kind === 'reduce' && !mapsDone) continue;
    if (noRoom.has(task.kind) && task.failedOn.size === 0) continue;
    const memoryMb = task.kind === 'map' ? job.submission.mapMemoryMb : job.submission.reduceMemoryMb;
    const w = chooseWorker(s.workers.values(), job, task, memoryMb);
    if (!w) {
      waitingFor ||= `waiting for capacity: a ${task.kind} task needs a free slot and ${memoryMb} MB on a worker`;
      if (task.failedOn.size === 0) noRoom.add(task.kind);
      continue;
    }
    job.pending.splice(i, 1);
    task.queued = false;
    return launch(s, job, task, w, false, now);
  }
  job.message = job.runningAttempts === 0 ? waitingFor : '';
  return undefined;
}

/** Backup attempts for stragglers (speculation.ts), each on a worker other than the one it backs up. */
export function speculate(s: SchedulerState, now: number): Decision[] {
  const out: Decision[] = [];
  for (const job of s.jobs.values()) {
    if (job.state !== 'RUNNING') continue;
    // A reduce backup needs every map's output: none while a lost map re-runs.
    const kinds = job.mapsDone === job.maps.length ? [job.maps, job.reduces] : [job.maps];
    for (const tasks of kinds) {
      for (const task of findStragglers(job, tasks, now, s.options.speculation)) {
        const memoryMb = task.kind === 'map' ? job.submission.mapMemoryMb : job.submission.reduceMemoryMb;
        const running = liveAttempts(task)[0]!;
        const w = chooseWorker(s.workers.values(), job, task, memoryMb, running.workerId);
        if (w) out.push(launch(s, job, task, w, true, now));
      }
    }
  }
  return out;
}

/**
 * Starts a new attempt of `task` on worker `w`. A map attempt on a worker
 * attached to a shuffle service records that service: its output will be
 * kept there, whatever becomes of the worker (map-outputs.ts).
 */
function launch(s: SchedulerState, job: JobRecord, task: TaskRecord, w: WorkerRecord, speculative: boolean, now: number): Decision {
  const sub = job.submission;
  const memoryMb = task.kind === 'map' ? sub.mapMemoryMb : sub.reduceMemoryMb;
  const number = task.attempts.length + 1;
  const a: AttemptRecord = {
    id: formatAttemptId(task.id, number), jobId: sub.jobId, taskId: task.id, kind: task.kind, index: task.index,
    number, workerId: w.id, memoryMb, speculative, start: now, state: 'RUNNING',
    ...(task.kind === 'map' && w.shuffleService !== undefined ? { shuffleService: w.shuffleService } : {}),
  };
  task.attempts.push(a);
  task.state = 'RUNNING';
  if (speculative) task.speculated = true;
  s.attempts.set(a.id, a);
  w.running.add(a.id);
  w.usedSlots++;
  w.usedMemoryMb += memoryMb;
  job.runningAttempts++;
  if (job.state === 'PENDING') {
    job.state = 'RUNNING';
    job.startTime = now;
  }
  job.message = '';
  const decision: Decision = {
    type: 'launch', jobId: sub.jobId, taskId: task.id, attemptId: a.id, kind: task.kind, index: task.index,
    workerId: w.id, memoryMb, speculative,
  };
  if (task.kind === 'reduce') return { ...decision, sources: mapSources(job) };
  return decision;
}
