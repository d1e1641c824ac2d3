/**
 * Helpers shared by the scheduler's unit tests: a scheduler driven by a
 * ManualClock, job submissions with defaults, and filters over decisions.
 */
import { ManualClock } from '../../../src/common/clock.js';
import { Scheduler, type SchedulerOptions } from '../../../src/scheduler/scheduler.js';
import type {
  AttemptResult, Decision, Failure, JobFinishedDecision, JobSubmission, KillDecision, LaunchDecision,
} from '../../../src/scheduler/types.js';

export function submission(overrides: Partial<JobSubmission> = {}): JobSubmission {
  return {
    jobId: 'job-0001', name: 'test', maps: 2, reducers: 1,
    mapMemoryMb: 100, reduceMemoryMb: 100, speculation: false,
    ...overrides,
  };
}

export const launches = (ds: readonly Decision[]): LaunchDecision[] =>
  ds.filter((d): d is LaunchDecision => d.type === 'launch');

export const kills = (ds: readonly Decision[]): KillDecision[] =>
  ds.filter((d): d is KillDecision => d.type === 'kill');

export const finished = (ds: readonly Decision[]): JobFinishedDecision[] =>
  ds.filter((d): d is JobFinishedDecision => d.type === 'jobFinished');

export const commits = (ds: readonly Decision[]): Decision[] => ds.filter((d) => d.type === 'commitJob');

/** A map attempt's result: one partition per reducer. */
export function mapResult(reducers = 1, tag = 0): AttemptResult {
  return {
    partitions: Array.from({ length: reducers }, (_, p) => ({ offset: tag * 1000 + p * 10, length: 10, records: 1 })),
    counters: {},
  };
}

export const reduceResult: AttemptResult = { counters: {} };

export const fail = (message = 'boom', code: Failure['code'] = 'USER_CODE_ERROR'): Failure => ({ code, message });

/** A scheduler and the manual clock that drives it. */
export class Harness {
  readonly clock = new ManualClock(1_000_000);
  readonly scheduler: Scheduler;

  constructor(options: SchedulerOptions = {}) {
    this.scheduler = new Scheduler(options);
  }

  get now(): number {
    return this.clock.now();
  }

  /** A worker; with `shuffleService`, one that writes its map outputs to that node's shuffle service. */
  addWorker(id: string, slots = 2, memoryMb = 1000, shuffleService?: string): Decision[] {
    return this.scheduler.registerWorker(id, { slots, memoryMb }, this.now, shuffleService);
  }

  submit(overrides: Partial<JobSubmission> = {}): Decision[] {
    return this.scheduler.submitJob(submission(overrides), this.now);
  }

  /** Workers that stop heart-beating: advance() skips them. */
  readonly silent = new Set<string>();

  /**
   * Moves the clock on by `ms`, has every live worker not in `silent`
   * heart-beat at the new time (as a healthy cluster does), then ticks.
   */
  advance(ms: number): Decision[] {
    this.clock.advance(ms);
    for (const w of this.scheduler.allWorkers()) {
      if (w.alive && !this.silent.has(w.id)) this.scheduler.heartbeat(w.id, this.now);
    }
    return this.scheduler.tick(this.now);
  }

  /** Heartbeats from the given workers at the current time. */
  beat(...workerIds: string[]): void {
    for (const id of workerIds) this.scheduler.heartbeat(id, this.now);
  }

  succeed(attemptId: string, result?: AttemptResult): Decision[] {
    const a = this.scheduler.attempt(attemptId);
    const r = result ?? (a?.kind === 'map' ? mapResult(this.scheduler.job(a.jobId)?.reduces.length ?? 1) : reduceResult);
    return this.scheduler.attemptSucceeded(attemptId, r, this.now);
  }

  /** A reduce attempt asks to commit, then reports success, as a worker does. */
  commitAndSucceed(attemptId: string): Decision[] {
    if (!this.scheduler.requestCommit(attemptId)) throw new Error(`commit of ${attemptId} denied`);
    return this.succeed(attemptId);
  }

  failAttempt(attemptId: string, failure: Failure = fail()): Decision[] {
    return this.scheduler.attemptFailed(attemptId, failure, this.now);
  }

  /** Ids of the attempts running now on a worker. */
  runningOn(workerId: string): string[] {
    return [...(this.scheduler.worker(workerId)?.running ?? [])].sort();
  }

  /** Ids of every live attempt of a job. */
  live(jobId = 'job-0001'): string[] {
    const job = this.scheduler.job(jobId);
    if (!job) return [];
    return [...job.maps, ...job.reduces].flatMap((t) => t.attempts)
      .filter((a) => a.state === 'RUNNING' || a.state === 'COMMITTING').map((a) => a.id);
  }
}
