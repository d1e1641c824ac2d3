/**
 * The pure scheduling core of the master. Events come in as method calls
 * (a worker registered, a heartbeat, an attempt finished, the clock ticked);
 * decisions come out (launch, kill, commit the job, job finished). It never
 * touches a socket, a timer or the disk: the master wires it to gRPC and
 * calls tick() on a timer; tests drive it with a manual clock.
 *
 * Every method is synchronous and returns the decisions the event caused,
 * including the assignments of a scheduling pass, in the order to carry
 * them out.
 */
import { LaminateError } from '../common/errors.js';
import { END_CAUSES, causeOfLoss, causeOfReport, type EndCause } from './attempt-end.js';
import { isLive, transition, type AttemptEvent } from './attempt-transitions.js';
import { outputsLostOnFetchFailure, outputsLostWithWorker } from './map-outputs.js';
import { chooseContainerWorker, freeContainer, holdContainer, type ContainerReservation } from './containers.js';
import { couldEverFit } from './placement.js';
import { isJobFinished, liveAttempts, newJobRecord, type AttemptRecord, type JobRecord, type TaskRecord, type WorkerRecord } from './records.js';
import { schedule, speculate, type SchedulerState } from './scheduling-pass.js';
import { resolveSchedulerOptions, type ResolvedSchedulerOptions, type SchedulerOptions } from './scheduler-options.js';

export { resolveSchedulerOptions, type ResolvedSchedulerOptions, type SchedulerOptions };
import type {
  AttemptResult, Decision, Failure, JobSubmission, Resources,
} from './types.js';

/** A note on an event the scheduler ignored, for the master's trace log. */
export type IgnoredListener = (attemptId: string, event: AttemptEvent, reason: string) => void;

/** Lost workers kept in the worker list. */
export const LOST_WORKERS_KEPT = 50;

export class Scheduler {
  readonly options: ResolvedSchedulerOptions;
  private readonly workers = new Map<string, WorkerRecord>();
  private readonly jobs = new Map<string, JobRecord>();
  private readonly attempts = new Map<string, AttemptRecord>();
  /** Function containers reserved (containers.ts), by id. */
  private readonly containers = new Map<string, ContainerReservation>();
  /** The records, as the scheduling pass (scheduling-pass.ts) reads and fills them. */
  private readonly state: SchedulerState;
  private onIgnored: IgnoredListener = () => {};

  constructor(options: SchedulerOptions = {}) {
    this.options = resolveSchedulerOptions(options);
    this.state = { options: this.options, workers: this.workers, jobs: this.jobs, attempts: this.attempts };
  }

  /** Called with every event the transition table ignores. */
  setIgnoredListener(listener: IgnoredListener): void {
    this.onIgnored = listener;
  }

  // ---- read side, for status ------------------------------------------------

  job(jobId: string): Readonly<JobRecord> | undefined {
    return this.jobs.get(jobId);
  }

  allJobs(): ReadonlyArray<Readonly<JobRecord>> {
    return [...this.jobs.values()];
  }

  worker(workerId: string): Readonly<WorkerRecord> | undefined {
    return this.workers.get(workerId);
  }

  allWorkers(): ReadonlyArray<Readonly<WorkerRecord>> {
    return [...this.workers.values()];
  }

  attempt(attemptId: string): Readonly<AttemptRecord> | undefined {
    return this.attempts.get(attemptId);
  }

  // ---- workers ---------------------------------------------------------------

  /**
   * A worker joined (or re-joined under a new id). `shuffleService` is the
   * address of its node's shuffle service when it writes its map outputs
   * there (they then outlive it: map-outputs.ts); absent, it serves them
   * itself. Safe to call once per id.
   */
  registerWorker(workerId: string, capacity: Resources, now: number, shuffleService?: string): Decision[] {
    if (this.workers.has(workerId)) {
      throw new LaminateError('ALREADY_EXISTS', `Worker ${workerId} is already registered`, { ids: { workerId } });
    }
    this.workers.set(workerId, {
      id: workerId, capacity, usedSlots: 0, usedMemoryMb: 0, lastHeartbeat: now, heartbeatGap: 0, alive: true, running: new Set(), containers: new Set(),
      ...(shuffleService !== undefined ? { shuffleService } : {}),
    });
    return this.schedule(now);
  }

  /**
   * A heartbeat from a worker. Returns known=false when the master does not
   * know the worker or has declared it lost: the worker must then drop its
   * state and register again, as a YARN NodeManager resyncs.
   */
  heartbeat(workerId: string, now: number, running?: readonly string[]): { known: boolean; decisions: Decision[] } {
    const w = this.workers.get(workerId);
    if (!w || !w.alive) return { known: false, decisions: [] };
    w.heartbeatGap = Math.max(w.heartbeatGap, now - w.lastHeartbeat);
    w.lastHeartbeat = now;
    return { known: true, decisions: running ? this.reconcile(w, running, now) : [] };
  }

  /**
   * Compares what a worker says it runs with what the master thinks it runs
   * (YARN's NodeManager status does this): an attempt the worker has not had
   * for reconcileGraceMs after its launch was lost on the way (a launch or a
   * report that never arrived) and runs again; one the master has given up
   * on but the worker still runs is killed again (the kill was lost).
   */
  private reconcile(w: WorkerRecord, running: readonly string[], now: number): Decision[] {
    const reported = new Set(running);
    const out: Decision[] = [];
    for (const id of [...w.running]) {
      const a = this.attempts.get(id);
      if (!a || a.state !== 'RUNNING' || reported.has(id) || now - a.start < this.options.reconcileGraceMs) continue;
      out.push(...this.attemptEnded(a, 'LAUNCH_LOST', { code: 'KILLED', message: `worker ${w.id} does not run it: its launch or its report was lost` }, now));
      // Should it be running there after all, under an earlier registration's bookkeeping, stop it.
      out.push({ type: 'kill', jobId: a.jobId, attemptId: id, workerId: w.id, reason: 'not listed by its worker' });
    }
    for (const id of reported) {
      const a = this.attempts.get(id);
      if (a && a.workerId === w.id && (a.state === 'KILLED' || a.state === 'FAILED')) {
        out.push({ type: 'kill', jobId: a.jobId, attemptId: id, workerId: w.id, reason: 'the master had already ended it' });
      }
    }
    return out.length > 0 ? out.concat(this.schedule(now)) : out;
  }

  /**
   * The wiring saw the worker's process go away: its command stream closed
   * without the master ending it (a process that dies closes its connection,
   * so this comes within milliseconds, as Spark marks an executor lost when
   * it disconnects). The worker is lost at once, exactly as at the heartbeat
   * timeout, which stays for workers that hang or are cut off silently; its
   * sole running attempt is a suspect as there. Safe to call twice, and for
   * a worker already lost or unknown (returns no decision).
   */
  workerDisconnected(workerId: string, reason: string, now: number): Decision[] {
    const w = this.workers.get(workerId);
    if (!w || !w.alive) return [];
    const out = this.loseWorker(w, reason, now);
    return out.concat(this.schedule(now));
  }

  /** A worker left or was declared lost by the wiring (e.g. it said goodbye). */
  removeWorker(workerId: string, reason: string, now: number): Decision[] {
    const w = this.workers.get(workerId);
    if (!w || !w.alive) return [];
    const out = this.loseWorker(w, reason, now, true);
    return out.concat(this.schedule(now));
  }

  // ---- function containers ----------------------------------------------------

  /**
   * Reserves one slot and `memoryMb` for function container `containerId` on
   * a worker with room now (the one with the most free slots, avoiding those
   * in `avoid` unless none other fits), as a task attempt's container holds
   * them. Undefined when no worker has room now: the invocation service
   * waits and asks again (after a release, or at its next tick). Called by
   * the invocation service for each cold start.
   * @throws LaminateError ALREADY_EXISTS for an id already reserved.
   */
  reserveContainer(containerId: string, memoryMb: number, avoid?: ReadonlySet<string>): ContainerReservation | undefined {
    const w = chooseContainerWorker(this.workers.values(), memoryMb, avoid);
    return w && holdContainer(this.containers, w, containerId, memoryMb);
  }

  /**
   * Gives back a container's slot and memory (it stopped, timed out, ran out
   * of memory, or its worker was lost), and places the tasks that fit now.
   * Safe to call twice and for unknown ids (no decision).
   */
  releaseContainer(containerId: string, now: number): Decision[] {
    return freeContainer(this.containers, this.workers, containerId) ? this.schedule(now) : [];
  }

  /** A reserved container, or undefined. */
  container(containerId: string): ContainerReservation | undefined {
    return this.containers.get(containerId);
  }

  /** Whether a live worker could ever hold a container of `memoryMb` (when idle); true when none is registered yet. */
  couldEverHostContainer(memoryMb: number): boolean {
    const alive = [...this.workers.values()].filter((w) => w.alive);
    return alive.length === 0 || alive.some((w) => couldEverFit(w, memoryMb));
  }

  // ---- jobs -----------------------------------------------------------------

  /**
   * Why a job's tasks could never be placed on the workers registered now, or
   * undefined if they could (or no worker is registered yet to judge by).
   */
  capacityProblem(sub: Pick<JobSubmission, 'mapMemoryMb' | 'reduceMemoryMb'>): string | undefined {
    const alive = [...this.workers.values()].filter((w) => w.alive);
    if (alive.length === 0) return undefined;
    const largest = Math.max(...alive.map((w) => w.capacity.memoryMb));
    for (const [kind, mb] of [['map', sub.mapMemoryMb], ['reduce', sub.reduceMemoryMb]] as const) {
      if (!alive.some((w) => couldEverFit(w, mb))) {
        return `Expected --${kind}-memory to fit on a worker: a ${kind} task asks for ${mb} MB, `
          + `but the largest worker has ${largest} MB (raise the worker's --memory or lower --${kind}-memory)`;
      }
    }
    return undefined;
  }

  submitJob(sub: JobSubmission, now: number): Decision[] {
    const problem = this.capacityProblem(sub);
    if (problem) throw new LaminateError('RESOURCE_EXHAUSTED', problem, { ids: { jobId: sub.jobId } });
    const job = this.createJob(sub, now, now);
    if (sub.maps === 0 && sub.reducers === 0) return this.maybeCommit(job);
    return this.schedule(now);
  }

  /**
   * Resumes a job that an earlier master accepted, from its journal. Reduce
   * tasks that had committed keep their output (and counters); every other
   * task runs again: the journal does not record where map outputs are (those
   * on shuffle services may still be there, but are not known to be).
   * If every reduce had committed, the job goes straight to its commit.
   */
  recoverJob(sub: JobSubmission, committed: ReadonlyMap<number, Readonly<Record<string, number>>>, submitTime: number, now: number): Decision[] {
    const job = this.createJob(sub, submitTime, now);
    for (const [index, counters] of committed) {
      const task = job.reduces[index];
      if (!task || task.state === 'SUCCEEDED') continue;
      task.state = 'SUCCEEDED';
      task.result = { counters };
      task.queued = false;
      job.reducesDone++;
    }
    job.pending = job.pending.filter((t) => t.queued);
    if (job.reducesDone > 0) job.state = 'RUNNING';
    const commit = this.maybeCommit(job);
    return commit.length > 0 ? commit : this.schedule(now);
  }

  private createJob(sub: JobSubmission, submitTime: number, now: number): JobRecord {
    if (this.jobs.has(sub.jobId)) {
      throw new LaminateError('ALREADY_EXISTS', `Job ${sub.jobId} already exists`, { ids: { jobId: sub.jobId } });
    }
    const job = newJobRecord(sub, submitTime, now);
    this.jobs.set(sub.jobId, job);
    return job;
  }

  /** Drops a finished job and its attempts from memory. Unknown or unfinished jobs are left alone. */
  forgetJob(jobId: string): void {
    const job = this.jobs.get(jobId);
    if (!job || !isJobFinished(job)) return;
    for (const t of [...job.maps, ...job.reduces]) for (const a of t.attempts) this.attempts.delete(a.id);
    this.jobs.delete(jobId);
  }

  /** Kills a job: its live attempts are killed and it ends KILLED. Safe to call twice. */
  killJob(jobId: string, reason: string, now: number): Decision[] {
    const job = this.requireJob(jobId);
    // A committing job has all its output: too late to kill (its _SUCCESS may be on disk).
    if (isJobFinished(job) || job.state === 'COMMITTING') return [];
    return this.finishJob(job, 'KILLED', reason, now).concat(this.schedule(now));
  }

  /** The wiring committed the job's output (after a commitJob decision). */
  jobCommitted(jobId: string, now: number): Decision[] {
    const job = this.requireJob(jobId);
    if (job.state !== 'COMMITTING') return [];
    return this.finishJob(job, 'SUCCEEDED', 'committed', now);
  }

  /** The wiring could not commit the job's output. */
  jobCommitFailed(jobId: string, failure: Failure, now: number): Decision[] {
    const job = this.requireJob(jobId);
    if (job.state !== 'COMMITTING') return [];
    return this.finishJob(job, 'FAILED', `job commit failed: ${failure.message}`, now);
  }

  // ---- attempts -------------------------------------------------------------

  /**
   * A reduce attempt asks to commit its output. Granted to exactly one live
   * attempt per task (Hadoop's canCommit); others are told no and will be
   * killed. Asking twice from the granted attempt answers true again.
   */
  requestCommit(attemptId: string): boolean {
    const a = this.attempts.get(attemptId);
    if (!a) return false;
    const task = this.taskOf(a);
    const job = this.requireJob(a.jobId);
    if (isJobFinished(job)) return false;
    if (a.state === 'COMMITTING') return true;
    if (a.state !== 'RUNNING' || task.state === 'SUCCEEDED') return false;
    if (task.attempts.some((o) => o.state === 'COMMITTING')) return false;
    return this.apply(a, 'commit');
  }

  attemptSucceeded(attemptId: string, result: AttemptResult, now: number): Decision[] {
    const a = this.attempts.get(attemptId);
    if (!a) return [];
    const task = this.taskOf(a);
    const job = this.requireJob(a.jobId);
    if (isJobFinished(job) || task.state === 'SUCCEEDED') {
      // Another attempt owns the task: this one's output is discarded.
      if (isLive(a.state)) this.end(a, 'SUPERSEDED', now, { code: 'KILLED', message: 'another attempt of the task succeeded first' });
      else this.onIgnored(attemptId, 'succeeded', 'task already succeeded or job finished');
      return this.schedule(now);
    }
    if (a.kind === 'reduce' && a.state === 'RUNNING' && !this.requestCommit(attemptId)) {
      this.end(a, 'SUPERSEDED', now, { code: 'KILLED', message: 'another attempt of the task is committing' });
      return this.schedule(now);
    }
    if (!this.end(a, 'SUCCEEDED', now)) return [];
    const out: Decision[] = [];
    task.state = 'SUCCEEDED';
    task.winner = a;
    task.result = result;
    // A task that just succeeded is not one that kills its workers every time.
    task.crashes = 0;
    if (a.kind === 'map') job.mapsDone++;
    else job.reducesDone++;
    for (const other of liveAttempts(task)) {
      this.end(other, 'SUPERSEDED', now, { code: 'KILLED', message: `attempt ${a.id} of the task succeeded first` });
      out.push({ type: 'kill', jobId: job.submission.jobId, attemptId: other.id, workerId: other.workerId, reason: 'superseded' });
    }
    out.push(...this.maybeCommit(job));
    return out.concat(this.schedule(now));
  }

  /**
   * An attempt ended without success, as its worker reported it (or the
   * wiring decided). KILLED counts nowhere (it is SUPERSEDED when another
   * attempt of the task already owns it), nor does WORKER_LOST: the death of a
   * worker comes through removeWorker or the heartbeat timeout, which judge
   * the blame. NON_RETRYABLE fails the job at once; any other code is a
   * failure of the task, retried after a backoff up to maxAttempts. A repeat
   * or a late report is ignored (see attempt-transitions.ts).
   */
  attemptFailed(attemptId: string, failure: Failure, now: number): Decision[] {
    const a = this.attempts.get(attemptId);
    if (!a) return [];
    const task = this.taskOf(a);
    const superseded = task.state === 'SUCCEEDED' || task.attempts.some((o) => o !== a && o.state === 'COMMITTING');
    return this.attemptEnded(a, causeOfReport(failure.code, superseded), failure, now);
  }

  /** Ends attempt `a` for `cause`, counts it where the cause says (attempt-end.ts), and retries its task. */
  private attemptEnded(a: AttemptRecord, cause: EndCause, failure: Failure, now: number): Decision[] {
    const { counts } = END_CAUSES[cause];
    if (!this.end(a, cause, now, failure)) return [];
    const task = this.taskOf(a);
    const job = this.requireJob(a.jobId);
    if (isJobFinished(job) || task.state === 'SUCCEEDED') return this.schedule(now);
    if (counts === 'failures') {
      job.failures.push({ ...failure, attemptId: a.id, workerId: a.workerId });
      task.failures++;
      task.failedOn.add(a.workerId);
      const n = (job.failuresByWorker.get(a.workerId) ?? 0) + 1;
      job.failuresByWorker.set(a.workerId, n);
      if (n >= this.options.maxFailuresPerWorker) job.excludedWorkers.add(a.workerId);
      if (failure.code === 'NON_RETRYABLE') {
        return this.finishJob(job, 'FAILED', `${a.id} failed with a non-retryable error: ${failure.message}`, now)
          .concat(this.schedule(now));
      }
      if (task.failures >= this.options.maxAttempts) {
        return this.finishJob(job, 'FAILED', `task ${task.id} failed ${task.failures} times`, now)
          .concat(this.schedule(now));
      }
    } else if (counts === 'crashes') {
      task.crashes++;
      if (task.crashes >= this.options.maxCrashes) return this.failForCrashes(job, task, now).concat(this.schedule(now));
    }
    if (liveAttempts(task).length === 0) this.requeue(job, task, counts === 'failures' ? now + this.backoff(task.failures) : now);
    return this.schedule(now);
  }

  /**
   * Fails a job whose task was alone on maxCrashes workers when they died.
   * Those attempts join the job's failures, so that the user sees each one.
   */
  private failForCrashes(job: JobRecord, task: TaskRecord, now: number): Decision[] {
    const crashed = task.attempts.filter((x) => x.cause === 'CRASHED_WORKER').slice(-task.crashes);
    for (const x of crashed) job.failures.push({ ...x.failure!, attemptId: x.id, workerId: x.workerId });
    const workers = crashed.map((x) => x.workerId).join(', ');
    return this.finishJob(job, 'FAILED', `task ${task.id} was the only attempt running on ${task.crashes} workers when they died `
      + `(${workers}): its ${task.kind} most likely kills its worker process (a crash, process.exit or a kill of its own process)`, now);
  }

  /**
   * A reduce attempt could not fetch map `mapIndex`'s output from attempt
   * `mapAttemptId`. The reduce attempt is killed, counting nowhere (the
   * output's host is at fault, not the reduce), and, if that output is still
   * the map task's, the map is re-run, with every other map of the job whose
   * output is on the same host (its worker, or the shuffle service it was
   * written to: map-outputs.ts): a fetch that fails after its retries almost
   * always means that host died, and waiting for each reduce to find each
   * lost output one at a time (a few seconds each) costs more than re-running
   * a few maps for nothing in the rare case of one lost file.
   */
  fetchFailed(reduceAttemptId: string, mapIndex: number, mapAttemptId: string, message: string, now: number): Decision[] {
    const a = this.attempts.get(reduceAttemptId);
    // A late report from an attempt already ended must not re-run a good map.
    if (!a || !isLive(a.state)) return [];
    const job = this.requireJob(a.jobId);
    const map = job.maps[mapIndex];
    if (map && map.state === 'SUCCEEDED' && map.winner?.id === mapAttemptId && !isJobFinished(job)) {
      for (const m of outputsLostOnFetchFailure(job, map.winner)) this.unsucceedMap(job, m, now);
    }
    return this.attemptEnded(a, 'FETCH_FAILED', { code: 'FETCH_FAILED', message: `fetch failed: ${message}` }, now);
  }

  // ---- time -----------------------------------------------------------------

  /** Called periodically: loses silent workers, starts backups, retries due tasks. */
  tick(now: number): Decision[] {
    const out: Decision[] = [];
    const silent = [...this.workers.values()]
      .filter((w) => w.alive && now - w.lastHeartbeat > this.options.heartbeatTimeoutMs);
    // Mark every silent worker dead before handling any: otherwise the work of
    // the first would be relaunched on the next, lost a moment later.
    for (const w of silent) w.alive = false;
    for (const w of silent) out.push(...this.loseWorker(w, `no heartbeat for ${now - w.lastHeartbeat} ms`, now));
    out.push(...this.schedule(now));
    out.push(...speculate(this.state, now));
    return out;
  }

  // ---- internals --------------------------------------------------------------

  private requireJob(jobId: string): JobRecord {
    const job = this.jobs.get(jobId);
    if (!job) throw new LaminateError('NOT_FOUND', `No job ${jobId}`, { ids: { jobId } });
    return job;
  }

  private taskOf(a: AttemptRecord): TaskRecord {
    const job = this.requireJob(a.jobId);
    return (a.kind === 'map' ? job.maps : job.reduces)[a.index]!;
  }

  private backoff(failures: number): number {
    return Math.min(this.options.maxRetryBackoffMs, this.options.retryBackoffMs * 2 ** Math.max(0, failures - 1));
  }

  /** Applies a table transition; false (and a note) when the event is ignored. */
  private apply(a: AttemptRecord, event: AttemptEvent): boolean {
    const t = transition(a.state, event);
    if ('ignore' in t) {
      this.onIgnored(a.id, event, t.ignore);
      return false;
    }
    a.state = t.to;
    return true;
  }

  /**
   * Ends a live attempt, on success or for `cause` (whose table entry gives
   * the state it ends in), and frees its container's resources. False if the
   * attempt had already ended.
   */
  private end(a: AttemptRecord, outcome: 'SUCCEEDED' | EndCause, now: number, failure?: Failure): boolean {
    const event = outcome === 'SUCCEEDED' ? 'succeeded' : END_CAUSES[outcome].state === 'FAILED' ? 'failed' : 'killed';
    if (!this.apply(a, event)) return false;
    a.finish = now;
    if (failure) a.failure = failure;
    if (outcome !== 'SUCCEEDED') a.cause = outcome;
    const w = this.workers.get(a.workerId);
    if (w && w.running.delete(a.id)) {
      w.usedSlots--;
      w.usedMemoryMb -= a.memoryMb;
    }
    const job = this.requireJob(a.jobId);
    job.runningAttempts--;
    const task = this.taskOf(a);
    if (task.state === 'RUNNING' && liveAttempts(task).length === 0 && outcome !== 'SUCCEEDED') task.state = 'PENDING';
    return true;
  }

  private requeue(job: JobRecord, task: TaskRecord, notBefore: number): void {
    task.state = 'PENDING';
    task.notBefore = notBefore;
    task.speculated = false;
    if (!task.queued) {
      task.queued = true;
      job.pending.push(task);
    }
  }

  /** A map task's output was lost: run it again if a reduce still needs it. */
  private unsucceedMap(job: JobRecord, map: TaskRecord, now: number): void {
    delete map.winner;
    delete map.result;
    job.mapsDone--;
    this.requeue(job, map, now);
  }

  private loseWorker(w: WorkerRecord, reason: string, now: number, left = false): Decision[] {
    w.alive = false;
    // Lost workers stay listed for operators, the most recent LOST_WORKERS_KEPT of them.
    const lost = [...this.workers.values()].filter((x) => !x.alive);
    for (const old of lost.slice(0, Math.max(0, lost.length - LOST_WORKERS_KEPT))) this.workers.delete(old.id);
    // Its function containers go with it; the invocation service hears of them in the decision.
    const containers = [...w.containers];
    for (const id of containers) freeContainer(this.containers, this.workers, id);
    const out: Decision[] = [{ type: 'workerLost', workerId: w.id, reason, left, ...(containers.length > 0 ? { containers } : {}) }];
    // Outputs first, so that no reduce relaunched below is sent to them. Those
    // the worker left on its node's shuffle service stay (map-outputs.ts).
    for (const job of this.jobs.values()) {
      if (isJobFinished(job) || job.reducesDone === job.reduces.length) continue;
      for (const map of outputsLostWithWorker(job, w.id)) this.unsucceedMap(job, map, now);
    }
    // A committing attempt's output is already written: the master, not the
    // worker, finishes its commit. Its user code is done, so it is no suspect either.
    const running = [...w.running].map((id) => this.attempts.get(id)).filter((a): a is AttemptRecord => a?.state === 'RUNNING');
    for (const a of running) {
      const heardAtLaunch = a.start - w.lastHeartbeat <= w.heartbeatGap;
      const cause = causeOfLoss(left, running.length, heardAtLaunch);
      out.push(...this.attemptEnded(a, cause, { code: 'WORKER_LOST', message: `worker ${w.id} lost: ${reason}` }, now));
    }
    return out;
  }

  private maybeCommit(job: JobRecord): Decision[] {
    if (job.state !== 'RUNNING' && job.state !== 'PENDING') return [];
    // Once every reduce has committed the maps are of no more use (a recovered
    // job may get here with its maps never re-run); a job without reduces
    // needs its maps.
    if (job.reducesDone < job.reduces.length) return [];
    if (job.reduces.length === 0 && job.mapsDone < job.maps.length) return [];
    job.state = 'COMMITTING';
    return [{ type: 'commitJob', jobId: job.submission.jobId }];
  }

  private finishJob(job: JobRecord, state: 'SUCCEEDED' | 'FAILED' | 'KILLED', message: string, now: number): Decision[] {
    const out: Decision[] = [];
    job.state = state;
    job.finishTime = now;
    job.message = message;
    for (const task of [...job.maps, ...job.reduces]) {
      for (const a of liveAttempts(task)) {
        this.end(a, 'KILLED', now, { code: 'KILLED', message: `job ${state.toLowerCase()}` });
        out.push({ type: 'kill', jobId: job.submission.jobId, attemptId: a.id, workerId: a.workerId, reason: `job ${state.toLowerCase()}` });
      }
      const failed = task.failures >= this.options.maxAttempts || task.crashes >= this.options.maxCrashes
        || state === 'FAILED' && task.failures > 0;
      if (task.state !== 'SUCCEEDED') task.state = failed ? 'FAILED' : 'KILLED';
      task.queued = false;
    }
    job.pending = [];
    out.push({ type: 'jobFinished', jobId: job.submission.jobId, state, failures: [...job.failures], message });
    return out;
  }

  /** A scheduling pass (scheduling-pass.ts). */
  private schedule(now: number): Decision[] {
    return schedule(this.state, now);
  }
}
