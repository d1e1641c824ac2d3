/**
 * A master's start: its journal read back (as Hadoop's MapReduce application
 * master recovers from its job history). Finished jobs keep the status they
 * ended with; unfinished ones are handed to the scheduler again with the
 * reduce tasks they had committed, so only the rest run again; ids already
 * handed out are never handed out again.
 */
import { parseJobId, parseWorkerId } from '../common/ids.js';
import { normalizeSplit } from '../common/input-split.js';
import type { JobStatus } from '../common/job-status.js';
import type { Logger } from '../common/logger.js';
import type { Scheduler } from '../scheduler/scheduler.js';
import type { Decision } from '../scheduler/types.js';
import type { JobJournal, JournalEntry, SubmitEntry } from './job-journal.js';
import type { JobPlan } from './job-plan.js';

/** A submitted job as the journal tells it. */
export interface ReplayedJob {
  readonly submit: SubmitEntry;
  /** Set when the job finished: its status then. */
  readonly finalStatus?: JobStatus;
  /** Each committed reduce task's counters, by partition (an unfinished job's only). */
  readonly committed: ReadonlyMap<number, Record<string, number>>;
}

export interface JournalReplay {
  /** Above every worker id's number in the journal. */
  readonly nextWorker: number;
  /** Above every job id's number in the journal. */
  readonly nextJob: number;
  /** In submission order. */
  readonly jobs: readonly ReplayedJob[];
}

/** What the journal's entries say, in order. Pure. */
export function replayJournal(entries: readonly JournalEntry[]): JournalReplay {
  let nextWorker = 1;
  let nextJob = 1;
  const committed = new Map<string, Map<number, Record<string, number>>>();
  const finished = new Map<string, JobStatus>();
  for (const e of entries) {
    if (e.type === 'worker') nextWorker = Math.max(nextWorker, parseWorkerId(e.workerId) + 1);
    else if (e.type === 'finish') nextJob = Math.max(nextJob, parseJobId(e.jobId) + 1);
    if (e.type === 'taskCommitted') {
      let m = committed.get(e.jobId);
      if (!m) committed.set(e.jobId, (m = new Map()));
      m.set(e.index, e.counters);
    } else if (e.type === 'finish') finished.set(e.jobId, e.status);
  }
  const jobs: ReplayedJob[] = [];
  for (const e of entries) {
    if (e.type !== 'submit') continue;
    nextJob = Math.max(nextJob, parseJobId(e.jobId) + 1);
    const status = finished.get(e.jobId);
    jobs.push({ submit: e, ...(status ? { finalStatus: status } : {}), committed: committed.get(e.jobId) ?? new Map() });
  }
  return { nextWorker, nextJob, jobs };
}

export interface Recovered {
  readonly nextWorker: number;
  readonly nextJob: number;
  /** Every job of the journal, finished or not, in submission order. */
  readonly plans: readonly JobPlan[];
  /** The scheduler's answers to the unfinished jobs, to carry out once the plans are in place. */
  readonly decisions: readonly Decision[];
}

/**
 * Compacts the journal (keeping `retainJobs` finished jobs), reads it back,
 * and resumes its unfinished jobs in `scheduler`. Called once by Master.start,
 * before the server listens; not for calling twice on one scheduler.
 */
export async function recoverJobs(journal: JobJournal, o: { retainJobs: number; scheduler: Scheduler; now: number; log: Logger }): Promise<Recovered> {
  await journal.compact(o.retainJobs);
  const replay = replayJournal(await journal.read());
  const plans: JobPlan[] = [];
  const decisions: Decision[] = [];
  let resumed = 0;
  for (const job of replay.jobs) {
    const e = job.submit;
    // Journals written before dataset inputs have file splits without a kind, and no cuts.
    const plan: JobPlan = {
      jobId: e.jobId, spec: { ...e.spec, cuts: e.spec.cuts ?? [] }, bundleHash: e.bundleHash, splits: e.splits.map(normalizeSplit),
      log: o.log.child({ jobId: e.jobId }), waiters: new Set(), journaled: true, ended: false,
    };
    plans.push(plan);
    if (job.finalStatus) {
      plan.finalStatus = { ...job.finalStatus, cuts: job.finalStatus.cuts ?? [] };
      plan.ended = true;
      continue;
    }
    plan.log.info({ committedReduces: job.committed.size }, 'resuming job from the journal');
    resumed++;
    decisions.push(...o.scheduler.recoverJob({
      jobId: e.jobId, name: e.spec.name, maps: e.splits.length, reducers: e.spec.reducers, mapMemoryMb: e.spec.mapMemoryMb,
      reduceMemoryMb: e.spec.reduceMemoryMb, speculation: e.spec.speculation,
    }, job.committed, e.submitTime, o.now));
  }
  if (plans.length > 0) o.log.info({ jobs: plans.length, resumed }, 'recovered jobs from the journal');
  return { nextWorker: replay.nextWorker, nextJob: replay.nextJob, plans, decisions };
}
