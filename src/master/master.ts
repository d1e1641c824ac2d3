/**
 * The master process: wires the gRPC Master service to the scheduling core,
 * drives it with a timer, carries out its decisions (launch and kill on the
 * workers' command streams, commit of task and job output), and keeps the
 * job plans the scheduler does not need to know.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '../common/logger.js';
import { errorMessage, isErrorCode, LaminateError } from '../common/errors.js';
import { formatAttemptDir, formatJobId, formatWorkerId, parseAttemptId, parseJobId, parseWorkerId } from '../common/ids.js';
import { systemClock, type Clock } from '../common/clock.js';
import { requirePositiveInt } from '../common/validate.js';
import { serveMaster, type BoundServer, type CommandChannel } from '../protocol/master-rpc.js';
import type * as M from '../protocol/messages.js';
import { isJobFinished } from '../scheduler/records.js';
import { Scheduler, type SchedulerOptions } from '../scheduler/scheduler.js';
import type { Decision, JobFinishedDecision, LaunchDecision } from '../scheduler/types.js';
import { computeSplits, type InputSplit } from '../storage/input-split.js';
import { listInputFiles } from '../storage/input-files.js';
import { compareKeys } from '../storage/key-order.js';
import { FileOutputCommitter } from '../storage/output-committer.js';
import { BundleStore } from './bundle-store.js';
import { openDatasetService, type DatasetService } from './dataset-service.js';
import { JobJournal } from './job-journal.js';
import { jobStatus } from './job-status.js';
import { resolveJobSpec, type ResolvedJobSpec } from './job-spec.js';

export interface MasterOptions {
  host?: string;
  /** 0 picks a free port. Default 7070. */
  port?: number;
  dataDir: string;
  /** How often workers heartbeat. Default 1000 ms. */
  heartbeatIntervalMs?: number;
  /** How often the scheduler's clock ticks. Default 100 ms. */
  tickMs?: number;
  scheduler?: SchedulerOptions;
  /** Finished jobs kept (status and journal); older ones are forgotten. Default 100. */
  retainJobs?: number;
  /** Where the dataset store keeps its datasets. Default <dataDir>/datasets. */
  datasetDir?: string;
  logger: Logger;
  clock?: Clock;
}

interface WorkerConn {
  readonly id: string;
  readonly shuffleAddress: string;
  channel?: CommandChannel;
  /** Commands decided before the worker attached. */
  readonly backlog: M.WorkerCommand[];
}

interface JobPlan {
  readonly jobId: string;
  readonly spec: ResolvedJobSpec;
  readonly bundleHash: string;
  readonly splits: readonly InputSplit[];
  readonly log: Logger;
  readonly waiters: Set<() => void>;
  /** Set for jobs that finished before this master started: their status from the journal. */
  finalStatus?: M.JobStatus;
  /** The submission is on disk (false only until its journal append returns, or if it failed). */
  journaled: boolean;
  /** The job's end is on disk: only then do clients hear of it. */
  ended: boolean;
}


export class Master {
  private readonly scheduler: Scheduler;
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly bundles: BundleStore;
  private readonly journal: JobJournal;
  private readonly workers = new Map<string, WorkerConn>();
  private readonly jobs = new Map<string, JobPlan>();
  private nextWorker = 1;
  private forgotten = 0;
  private readonly retainJobs: number;
  private nextJob = 1;
  private server?: BoundServer;
  private datasets?: DatasetService;
  private timer?: NodeJS.Timeout;
  readonly heartbeatIntervalMs: number;

  constructor(private readonly options: MasterOptions) {
    this.clock = options.clock ?? systemClock;
    this.log = options.logger.child({ component: 'master' });
    this.scheduler = new Scheduler(options.scheduler);
    this.scheduler.setIgnoredListener((attemptId, event, reason) => this.log.debug({ attemptId, event, reason }, 'ignored event'));
    this.bundles = new BundleStore(join(options.dataDir, 'bundles'));
    this.journal = new JobJournal(join(options.dataDir, 'journal.jsonl'), this.log);
    this.heartbeatIntervalMs = options.heartbeatIntervalMs ?? 1000;
    this.retainJobs = requirePositiveInt('--retain-jobs', options.retainJobs ?? 100);
  }

  /** The port the master listens on; valid after start(). */
  get port(): number {
    if (!this.server) throw new LaminateError('FAILED_PRECONDITION', 'Master is not started');
    return this.server.port;
  }

  get address(): string {
    return `${this.options.host ?? '127.0.0.1'}:${this.port}`;
  }

  async start(): Promise<void> {
    await mkdir(this.options.dataDir, { recursive: true });
    await this.recover();
    const host = this.options.host ?? '127.0.0.1';
    const datasets = this.datasets = await openDatasetService(this.options.datasetDir ?? join(this.options.dataDir, 'datasets'), this.options.logger);
    this.server = await serveMaster({
      registerWorker: (r) => this.registerWorker(r),
      heartbeat: (r) => this.heartbeat(r),
      leave: (r) => {
        if (!this.workers.has(r.workerId)) return;
        this.log.info({ workerId: r.workerId }, 'worker leaving: rescheduling its work');
        this.run(this.scheduler.removeWorker(r.workerId, 'the worker left', this.clock.now()));
      },
      attach: (r, ch) => this.attach(r, ch),
      reportAttempt: (r) => this.reportAttempt(r),
      getBundle: (r) => this.bundles.chunks(r.hash),
      submitJob: (r) => this.submitJob(r),
      getJob: (r) => this.status(r.jobId, true),
      waitJob: (r) => this.waitJob(r),
      listJobs: () => ({ jobs: [...this.jobs.keys()].map((id) => this.status(id, false)) }),
      killJob: (r) => this.killJob(r.jobId),
      listWorkers: () => ({
        workers: this.scheduler.allWorkers().map((w) => ({
          workerId: w.id, shuffleAddress: this.workers.get(w.id)?.shuffleAddress ?? '', alive: w.alive,
          slots: w.capacity.slots, usedSlots: w.usedSlots, memoryMb: w.capacity.memoryMb, usedMemoryMb: w.usedMemoryMb,
          lastHeartbeatMs: w.lastHeartbeat, runningAttemptIds: [...w.running],
        })),
      }),
    }, host, this.options.port ?? 7070, [datasets.registration]).catch(async (err: unknown) => { await datasets.close(); throw err; });
    this.timer = setInterval(() => this.run(this.scheduler.tick(this.clock.now())), this.options.tickMs ?? 100);
    this.timer.unref();
    this.log.info({ address: this.address, dataDir: this.options.dataDir }, 'master listening');
  }

  /** Stops the timer, ends the workers' streams and the server. Safe to call twice. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    for (const w of this.workers.values()) w.channel?.end();
    for (const plan of this.jobs.values()) for (const wake of plan.waiters) wake();
    await this.datasets?.close();
    await this.server?.close();
    this.log.info('master stopped');
  }

  /** Reads the journal: finished jobs keep their status, unfinished ones resume. */
  private async recover(): Promise<void> {
    await this.journal.compact(this.retainJobs);
    const entries = await this.journal.read();
    const committed = new Map<string, Map<number, Record<string, number>>>();
    const finished = new Map<string, M.JobStatus>();
    for (const e of entries) {
      if (e.type === 'worker') this.nextWorker = Math.max(this.nextWorker, parseWorkerId(e.workerId) + 1);
      else if (e.type === 'finish') this.nextJob = Math.max(this.nextJob, parseJobId(e.jobId) + 1);
      if (e.type === 'taskCommitted') {
        let m = committed.get(e.jobId);
        if (!m) committed.set(e.jobId, (m = new Map()));
        m.set(e.index, e.counters);
      } else if (e.type === 'finish') finished.set(e.jobId, e.status);
    }
    let resumed = 0;
    for (const e of entries) {
      if (e.type !== 'submit') continue;
      this.nextJob = Math.max(this.nextJob, parseJobId(e.jobId) + 1);
      const plan: JobPlan = {
        jobId: e.jobId, spec: e.spec, bundleHash: e.bundleHash, splits: e.splits, log: this.log.child({ jobId: e.jobId }),
        waiters: new Set(), journaled: true, ended: false,
      };
      this.jobs.set(e.jobId, plan);
      const status = finished.get(e.jobId);
      if (status) {
        plan.finalStatus = status;
        plan.ended = true;
        continue;
      }
      const done = committed.get(e.jobId) ?? new Map<number, Record<string, number>>();
      plan.log.info({ committedReduces: done.size }, 'resuming job from the journal');
      resumed++;
      this.run(this.scheduler.recoverJob({
        jobId: e.jobId, name: e.spec.name, maps: e.splits.length, reducers: e.spec.reducers, mapMemoryMb: e.spec.mapMemoryMb,
        reduceMemoryMb: e.spec.reduceMemoryMb, speculation: e.spec.speculation,
      }, done, e.submitTime, this.clock.now()));
    }
    if (this.jobs.size > 0) this.log.info({ jobs: this.jobs.size, resumed }, 'recovered jobs from the journal');
  }

  // ---- worker-facing RPCs ----------------------------------------------------

  private async registerWorker(req: M.RegisterWorkerRequest): Promise<M.RegisterWorkerResponse> {
    if (!Number.isInteger(req.slots) || req.slots <= 0 || !Number.isInteger(req.memoryMb) || req.memoryMb <= 0) {
      throw new LaminateError('INVALID_ARGUMENT', `Expected a worker with positive slots and memory, got slots=${req.slots} memoryMb=${req.memoryMb}`);
    }
    if (!/^[^:\s]+:\d+$/.test(req.shuffleAddress)) {
      throw new LaminateError('INVALID_ARGUMENT', `Expected the worker's shuffle address as HOST:PORT, got '${req.shuffleAddress}'`);
    }
    const id = formatWorkerId(this.nextWorker++);
    // Journaled so that a restarted master never hands out an id a live worker still holds.
    await this.journal.append({ type: 'worker', workerId: id });
    this.workers.set(id, { id, shuffleAddress: req.shuffleAddress, backlog: [] });
    this.log.info({ workerId: id, slots: req.slots, memoryMb: req.memoryMb, shuffle: req.shuffleAddress, name: req.name }, 'worker registered');
    this.run(this.scheduler.registerWorker(id, { slots: req.slots, memoryMb: req.memoryMb }, this.clock.now()));
    return { workerId: id, heartbeatIntervalMs: this.heartbeatIntervalMs };
  }

  private heartbeat(req: M.HeartbeatRequest): M.HeartbeatResponse {
    const { known, decisions } = this.scheduler.heartbeat(req.workerId, this.clock.now(), req.runningAttemptIds);
    this.run(decisions);
    if (!known) this.log.info({ workerId: req.workerId }, 'heartbeat from an unknown or lost worker: told to register again');
    return { reregister: !known };
  }

  private attach(req: M.AttachRequest, channel: CommandChannel): void {
    const w = this.workers.get(req.workerId);
    if (!w || !this.scheduler.worker(req.workerId)?.alive) {
      throw new LaminateError('NOT_FOUND', `Unknown worker '${req.workerId}': register first`);
    }
    w.channel?.end();
    w.channel = channel;
    for (const cmd of w.backlog.splice(0)) channel.send(cmd);
    channel.onClose(() => {
      if (w.channel === channel) delete w.channel;
      this.log.debug({ workerId: w.id }, 'command stream closed');
    });
  }

  private async reportAttempt(req: M.AttemptReport): Promise<void> {
    const ref = parseAttemptId(req.attemptId);
    const attempt = this.scheduler.attempt(req.attemptId);
    const plan = this.jobs.get(ref.jobId);
    if (!attempt || !plan) throw new LaminateError('NOT_FOUND', `Unknown attempt '${req.attemptId}'`);
    if (attempt.workerId !== req.workerId) {
      throw new LaminateError('INVALID_ARGUMENT', `Attempt ${req.attemptId} runs on ${attempt.workerId}, not on ${req.workerId}`);
    }
    const log = plan.log.child({ attemptId: req.attemptId, workerId: req.workerId });
    const now = this.clock.now();
    const counters = Object.fromEntries((req.counters ?? []).map((c) => [c.name, c.value]));
    switch (req.outcome) {
      case 'SUCCEEDED':
        if (ref.kind === 'map') {
          if (req.partitions.length !== plan.spec.reducers) {
            throw new LaminateError('INVALID_ARGUMENT', `Expected ${plan.spec.reducers} partitions from map attempt ${req.attemptId}, got ${req.partitions.length}`);
          }
          log.info('map attempt succeeded');
          this.run(this.scheduler.attemptSucceeded(req.attemptId, { partitions: req.partitions, counters }, now));
        } else {
          await this.commitReduce(plan, req.attemptId, req.workerId, ref.index, counters, log);
        }
        return;
      case 'FETCH_FAILED':
        log.warn({ mapIndex: req.failedMapIndex, mapAttemptId: req.failedMapAttemptId, reason: req.failure?.message }, 'reduce could not fetch a map output: re-running the map');
        this.run(this.scheduler.fetchFailed(req.attemptId, req.failedMapIndex, req.failedMapAttemptId, req.failure?.message ?? 'fetch failed', now));
        return;
      case 'FAILED': {
        const code = req.failure && isErrorCode(req.failure.code) ? req.failure.code : 'INTERNAL';
        const failure = { code, message: req.failure?.message ?? 'no cause reported' };
        log.warn({ failure }, 'attempt failed');
        this.run(this.scheduler.attemptFailed(req.attemptId, failure, now));
        if (ref.kind === 'reduce') await FileOutputCommitter.abortTask(plan.spec.outputDir, formatAttemptDir(req.attemptId, req.workerId)).catch(() => {});
        return;
      }
      default:
        throw new LaminateError('INVALID_ARGUMENT', `Expected outcome SUCCEEDED, FAILED or FETCH_FAILED, got '${req.outcome}'`);
    }
  }

  /** Commits a reduce attempt's part file: exactly one attempt per task gets to. */
  private async commitReduce(plan: JobPlan, attemptId: string, workerId: string, partition: number, counters: Record<string, number>, log: Logger): Promise<void> {
    const dir = formatAttemptDir(attemptId, workerId);
    if (!this.scheduler.requestCommit(attemptId)) {
      log.info('commit denied: another attempt owns the task');
      this.run(this.scheduler.attemptFailed(attemptId, { code: 'KILLED', message: 'commit denied: another attempt of the task committed' }, this.clock.now()));
      await FileOutputCommitter.abortTask(plan.spec.outputDir, dir).catch(() => {});
      return;
    }
    try {
      await FileOutputCommitter.commitTask(plan.spec.outputDir, dir, partition);
    } catch (err) {
      log.error({ err }, 'task commit failed');
      this.run(this.scheduler.attemptFailed(attemptId, { code: 'INTERNAL', message: `commit failed: ${errorMessage(err)}` }, this.clock.now()));
      return;
    }
    log.info('reduce attempt committed');
    await this.journal.append({ type: 'taskCommitted', jobId: plan.jobId, index: partition, attemptId, counters })
      .catch((err: unknown) => log.error({ err }, 'could not journal a task commit: a restarted master would run the task again'));
    this.run(this.scheduler.attemptSucceeded(attemptId, { counters }, this.clock.now()));
  }

  // ---- client-facing RPCs ----------------------------------------------------

  private async submitJob(req: M.SubmitJobRequest): Promise<M.SubmitJobResponse> {
    const spec = resolveJobSpec(req, compareKeys);
    const problem = this.scheduler.capacityProblem(spec);
    if (problem) throw new LaminateError('RESOURCE_EXHAUSTED', problem);
    const files = await listInputFiles([...spec.inputs]);
    const splits = computeSplits(files, spec.splitSize, spec.format);
    const bundleHash = await this.bundles.put(req.bundle);
    await FileOutputCommitter.setupJob(spec.outputDir);
    const jobId = formatJobId(this.nextJob++);
    const log = this.log.child({ jobId });
    const submitTime = this.clock.now();
    // The scheduler takes the job (or refuses it) in this same turn, so no
    // worker lost during the awaits above can leave it half accepted.
    let decisions: Decision[];
    try {
      decisions = this.scheduler.submitJob({
        jobId, name: spec.name, maps: splits.length, reducers: spec.reducers, mapMemoryMb: spec.mapMemoryMb,
        reduceMemoryMb: spec.reduceMemoryMb, speculation: spec.speculation,
      }, submitTime);
    } catch (err) {
      await FileOutputCommitter.abortJob(spec.outputDir).catch(() => {});
      throw err;
    }
    const plan: JobPlan = { jobId, spec, bundleHash, splits, log, waiters: new Set(), journaled: false, ended: false };
    this.jobs.set(jobId, plan);
    const journaled = this.journal.append({ type: 'submit', jobId, spec, bundleHash, splits, submitTime })
      .then(() => { plan.journaled = true; });
    log.info({ name: spec.name, maps: splits.length, reducers: spec.reducers, output: spec.outputDir }, 'job submitted');
    this.run(decisions);
    try {
      await journaled;
    } catch (err) {
      this.run(this.scheduler.killJob(jobId, 'the master could not journal the job', this.clock.now()));
      throw new LaminateError('UNAVAILABLE', `The master could not journal job ${jobId}: ${errorMessage(err)}`, { cause: err });
    }
    return { jobId };
  }

  private status(jobId: string, withTasks: boolean): M.JobStatus {
    const job = this.scheduler.job(jobId);
    const plan = this.jobs.get(jobId);
    if (plan?.finalStatus) return withTasks ? plan.finalStatus : { ...plan.finalStatus, tasks: [] };
    if (!job || !plan) throw new LaminateError('NOT_FOUND', `No job '${jobId}' (only the ${this.retainJobs} most recently finished jobs are kept)`);
    const s = jobStatus(job, plan.spec, withTasks);
    // Until its end is on disk, a finished job is still finishing.
    return !plan.ended && isJobFinished(job) ? { ...s, state: 'COMMITTING' } : s;
  }

  private async waitJob(req: M.WaitJobRequest): Promise<M.JobStatus> {
    const plan = this.jobs.get(req.jobId);
    const job = this.scheduler.job(req.jobId);
    if (!plan || (!job && !plan.finalStatus)) throw new LaminateError('NOT_FOUND', `No job '${req.jobId}'`);
    if (!plan.ended) {
      const timeout = Math.min(Math.max(req.timeoutMs, 0), 60_000);
      await new Promise<void>((resolve) => {
        const done = (): void => { clearTimeout(t); plan.waiters.delete(done); resolve(); };
        const t = setTimeout(done, timeout);
        t.unref();
        plan.waiters.add(done);
      });
    }
    return this.status(req.jobId, false);
  }

  private killJob(jobId: string): M.KillJobResponse {
    const job = this.scheduler.job(jobId);
    if (!job && this.jobs.get(jobId)?.finalStatus) return { killed: false };
    if (!job) throw new LaminateError('NOT_FOUND', `No job '${jobId}'`);
    const before = job.state;
    this.run(this.scheduler.killJob(jobId, 'killed by a client', this.clock.now()));
    return { killed: before !== job.state };
  }

  // ---- decisions -------------------------------------------------------------

  private run(decisions: Decision[]): void {
    for (const d of decisions) {
      try {
        this.carryOut(d);
      } catch (err) {
        this.log.error({ err, decision: d.type }, 'could not carry out a decision');
      }
    }
  }

  private send(workerId: string, cmd: M.WorkerCommand): void {
    const w = this.workers.get(workerId);
    if (!w) return;
    if (w.channel) w.channel.send(cmd);
    else w.backlog.push(cmd);
  }

  private carryOut(d: Decision): void {
    switch (d.type) {
      case 'launch':
        this.send(d.workerId, { launch: this.launchMessage(d) });
        this.jobs.get(d.jobId)?.log.info({ attemptId: d.attemptId, workerId: d.workerId, speculative: d.speculative }, 'attempt launched');
        return;
      case 'kill':
        this.send(d.workerId, { kill: { attemptId: d.attemptId, reason: d.reason } });
        this.jobs.get(d.jobId)?.log.info({ attemptId: d.attemptId, workerId: d.workerId, reason: d.reason }, 'attempt killed');
        return;
      case 'commitJob':
        void this.commitJob(d.jobId);
        return;
      case 'jobFinished':
        void this.finishJob(d);
        return;
      case 'workerLost': {
        if (d.left) this.log.info({ workerId: d.workerId }, 'worker left');
        else this.log.warn({ workerId: d.workerId, reason: d.reason }, 'worker lost');
        const w = this.workers.get(d.workerId);
        w?.channel?.end();
        this.workers.delete(d.workerId);
        return;
      }
    }
  }

  /** Journals a job's end, then cleans up after it and answers whoever waits. */
  private async finishJob(d: JobFinishedDecision): Promise<void> {
    const plan = this.jobs.get(d.jobId);
    const job = this.scheduler.job(d.jobId);
    if (!plan || !job) return;
    const level = d.state === 'SUCCEEDED' ? 'info' : 'warn';
    plan.log[level]({ state: d.state, message: d.message, failures: d.failures.length }, `job ${d.state.toLowerCase()}`);
    // A job whose submission never reached the journal has nothing there to end.
    if (plan.journaled) {
      await this.journal.append({ type: 'finish', jobId: d.jobId, status: jobStatus(job, plan.spec, true) })
        .catch((err: unknown) => plan.log.error({ err }, 'could not journal the end of the job: a restarted master would resume it'));
    }
    plan.ended = true;
    if (d.state !== 'SUCCEEDED') {
      await FileOutputCommitter.abortJob(plan.spec.outputDir).catch((err: unknown) => plan.log.warn({ err }, 'could not clean up output'));
    }
    for (const w of this.workers.values()) this.send(w.id, { cleanup: { jobId: d.jobId } });
    for (const wake of plan.waiters) wake();
    this.forgetOldJobs();
  }

  /**
   * Keeps the retainJobs most recently finished jobs (by finish time), and
   * compacts the journal each time that many more have gone.
   */
  private forgetOldJobs(): void {
    const finishedAt = (p: JobPlan): number => p.finalStatus?.finishMs ?? this.scheduler.job(p.jobId)?.finishTime ?? 0;
    const finished = [...this.jobs.values()].filter((p) => p.ended).sort((a, b) => finishedAt(a) - finishedAt(b));
    for (const plan of finished.slice(0, Math.max(0, finished.length - this.retainJobs))) {
      this.jobs.delete(plan.jobId);
      this.scheduler.forgetJob(plan.jobId);
      if (++this.forgotten % this.retainJobs === 0) {
        this.journal.compact(this.retainJobs).catch((err: unknown) => this.log.warn({ err }, 'could not compact the journal'));
      }
    }
  }

  private async commitJob(jobId: string): Promise<void> {
    const plan = this.jobs.get(jobId)!;
    try {
      await FileOutputCommitter.commitJob(plan.spec.outputDir);
      this.run(this.scheduler.jobCommitted(jobId, this.clock.now()));
    } catch (err) {
      this.run(this.scheduler.jobCommitFailed(jobId, { code: 'INTERNAL', message: errorMessage(err) }, this.clock.now()));
    }
  }

  private launchMessage(d: LaunchDecision): M.LaunchAttempt {
    const plan = this.jobs.get(d.jobId)!;
    const split = d.kind === 'map' ? plan.splits[d.index]! : null;
    return {
      attemptId: d.attemptId,
      jobId: d.jobId,
      bundleHash: plan.bundleHash,
      kind: d.kind,
      index: d.index,
      memoryMb: d.memoryMb,
      timeoutMs: plan.spec.taskTimeoutMs,
      reducers: plan.spec.reducers,
      format: plan.spec.format,
      outputDir: plan.spec.outputDir,
      split: split && { path: split.path, start: split.start, length: split.length },
      sources: (d.sources ?? []).map((s) => ({
        mapIndex: s.mapIndex,
        attemptId: s.attemptId,
        workerId: s.workerId,
        shuffleAddress: this.workers.get(s.workerId)?.shuffleAddress ?? '',
        partition: s.partitions[d.index] ?? { offset: 0, length: 0, records: 0 },
      })),
      splitPoints: [...plan.spec.splitPoints],
      sortBufferBytes: plan.spec.sortBufferBytes,
      workerId: d.workerId,
    };
  }
}
