/** Builds the status a client sees from the scheduler's records. */
import type { Counter, JobStatus, StatusFailure, TaskCounts } from '../common/job-status.js';
import type { JobRecord, TaskRecord } from '../scheduler/records.js';
import type { Failure } from '../scheduler/types.js';
import type { ResolvedJobSpec } from './job-spec.js';

function counts(tasks: readonly TaskRecord[]): TaskCounts {
  const c = { total: tasks.length, pending: 0, running: 0, succeeded: 0, failed: 0, killed: 0 };
  for (const t of tasks) {
    if (t.state === 'PENDING') c.pending++;
    else if (t.state === 'RUNNING') c.running++;
    else if (t.state === 'SUCCEEDED') c.succeeded++;
    else if (t.state === 'FAILED') c.failed++;
    else c.killed++;
  }
  return c;
}

/**
 * Counters summed over the attempts whose output the job uses (one per
 * succeeded task), plus the number of failed and killed attempts.
 */
export function jobCounters(job: Readonly<JobRecord>): Map<string, number> {
  const sums = new Map<string, number>();
  const add = (name: string, n: number): void => { sums.set(name, (sums.get(name) ?? 0) + n); };
  let failed = 0;
  let killed = 0;
  for (const t of [...job.maps, ...job.reduces]) {
    if (t.state === 'SUCCEEDED' && t.result) for (const [k, v] of Object.entries(t.result.counters)) add(k, v);
    for (const a of t.attempts) {
      if (a.state === 'FAILED') failed++;
      else if (a.state === 'KILLED') killed++;
    }
  }
  sums.set('FAILED_ATTEMPTS', failed);
  sums.set('KILLED_ATTEMPTS', killed);
  return sums;
}

const statusFailure = (f: Failure | undefined, attemptId = '', workerId = ''): StatusFailure | null =>
  f ? { code: f.code, message: f.message, attemptId, workerId } : null;

export function jobStatus(job: Readonly<JobRecord>, spec: ResolvedJobSpec, withTasks: boolean): JobStatus {
  const counters: Counter[] = [...jobCounters(job)].map(([name, value]) => ({ name, value }))
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return {
    jobId: job.submission.jobId,
    name: job.submission.name,
    state: job.state,
    message: job.message,
    submitMs: job.submitTime,
    startMs: job.startTime ?? 0,
    finishMs: job.finishTime ?? 0,
    outputDir: spec.outputDir,
    maps: counts(job.maps),
    reduces: counts(job.reduces),
    counters,
    failures: job.failures.map((f) => ({ code: f.code, message: f.message, attemptId: f.attemptId, workerId: f.workerId })),
    cuts: spec.cuts,
    tasks: !withTasks ? [] : [...job.maps, ...job.reduces].map((t) => ({
      taskId: t.id,
      kind: t.kind,
      state: t.state,
      attempts: t.attempts.map((a) => ({
        attemptId: a.id, workerId: a.workerId, state: a.state, startMs: a.start, finishMs: a.finish ?? 0,
        speculative: a.speculative, failure: statusFailure(a.failure, a.id, a.workerId),
      })),
    })),
  };
}
