/**
 * The master process: wires the gRPC Master service to the scheduling core,
 * drives it with a timer, carries out its decisions (launch and kill on the
 * workers' command streams, commit of task and job output), and keeps the
 * job plans the scheduler does not need to know. Its workers' side is
 * worker-channels.ts, its start from the journal recovery.ts.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '../common/logger.js';
import { errorMessage, LaminateError } from '../common/errors.js';
import { formatAttemptDir, formatJobId, parseAttemptId } from '../common/ids.js';
import { systemClock, type Clock } from '../common/clock.js';
import type { JobStatus } from '../common/job-status.js';
import type { AttemptReport, OutputFileSummary } from '../common/task-attempt.js';
import { requirePositiveInt } from '../common/validate.js';
import { serveMaster, type BoundServer } from '../protocol/master-rpc.js';
import type * as M from '../protocol/messages.js';
import { isJobFinished } from '../scheduler/records.js';
import { Scheduler, type SchedulerOptions } from '../scheduler/scheduler.js';
import type { Decision, JobFinishedDecision } from '../scheduler/types.js';
import { LogDatasetStore } from '../dataset/log-dataset-store.js';
import { compareKeys } from '../storage/key-order.js';
import { outputCommitter } from '../storage/job-output.js';
import { isS3Path } from '../storage/object-store.js';
import { joinStorePath } from '../storage/store-path.js';
import { attemptLaunch } from './attempt-launch.js';
import { BundleStore } from './bundle-store.js';
import { createDatasetService, type DatasetService } from './dataset-service.js';
import { startDatasetArchive, type DatasetArchive, type DatasetArchiveOptions } from './dataset-archive.js';
import { JobJournal } from './job-journal.js';
import { planJobInputs } from './job-inputs.js';
import type { JobPlan } from './job-plan.js';
import { jobStatus } from './job-status.js';
import { resolveJobSpec } from './job-spec.js';
import { recoverJobs } from './recovery.js';
import { ShuffleCleanup } from './shuffle-cleanup.js';
import { WorkerChannels } from './worker-channels.js';
import { ServingRegistry } from './serving-registry.js';
import { createSpeedService } from './speed-service.js';
import { SPEED_NODE_TIMEOUT_MS, SpeedRegistry } from './speed-registry.js';
import { ViewCatalog } from './view-catalog.js';
import { loadServingNodes, saveServingNodes } from './serving-registry-store.js';
import { loadVersionCuts, saveVersionCuts } from './version-cuts-store.js';
import { createViewService, type ViewService } from './view-service.js';
import { viewsService } from '../protocol/view-rpc.js';
import { addMasterMetrics, attemptDurations } from './master-metrics.js';
import { addFunctionMetrics } from './function-metrics-export.js';
import type { InvocationOptions } from '../functions/invocation-service.js';
import { startFunctions, type FunctionsHost } from './functions-host.js';
import type { FunctionDirectory, FunctionInvoker } from '../functions/invoker.js';
import { consolePages } from '../console/pages.js';
import { startFunctionFront, type FunctionFront } from './function-front.js';
import { DEFAULT_HTTP_PORT } from './http-server.js';
import { ViewPublishes } from './view-publish-feed.js';
import { consoleApi } from '../console/api-routes.js';
import { consoleLogin } from '../console/console-login.js';
import { consoleState } from './console-state.js';

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
  /** A dataset segment rolls (is sealed) at this size. Default the store's (64 MiB). */
  datasetSegmentBytes?: number;
  /** Copy sealed dataset segments there, and let batch jobs read them from it (dataset-archive.ts). Default none. */
  archive?: DatasetArchiveOptions;
  /** The view store: published view versions, a folder or an object store (`s3://bucket/prefix`). Default <dataDir>/views. */
  viewDir?: string;
  /** Crash tests only: called after each durable step of a view publish (see ViewServiceDeps.onPublishStep). */
  onViewPublishStep?: (step: string) => void;
  /** A speed process not heard from this long loses its partitions. Default 3000 ms (SPEED_NODE_TIMEOUT_MS). */
  speedNodeTimeoutMs?: number;
  /** How long after its start the master waits for serving nodes before naming a speed handoff. Default 2500 ms. */
  speedStartGraceMs?: number;
  /**
   * Functions: where their sealed code is kept, a folder or `s3://bucket/prefix`. Default: beside the views
   * (`<viewDir>/_function-code`) when those are on an object store, else `<dataDir>/functions/code`.
   */
  functionCodeDir?: string;
  /** Functions: the file holding the key that encrypts their code at rest; default one generated in <dataDir>/functions/master.key. */
  functionKeyFile?: string;
  /** Functions: idle time before a container stops, async retry backoff, and the like (tests make them small). */
  functions?: InvocationOptions;
  /**
   * The HTTP port (functions' POST /functions/NAME/invoke, /metrics), on `host`; 0 picks a free one. Default 7080, or 0 when `port`
   * is 0 (a master on a picked port, as tests and benchmarks start, must not collide on a fixed HTTP port).
   */
  httpPort?: number;
  /** files: triggers' listing interval. Default 1000 ms. */
  filesPollMs?: number;
  /** Tests of the triggers alone: the function service the triggers and the HTTP port use instead of the master's own. */
  triggerFunctions?: FunctionDirectory & FunctionInvoker;
  logger: Logger;
  clock?: Clock;
}

export class Master {
  private readonly scheduler: Scheduler;
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly bundles: BundleStore;
  private readonly journal: JobJournal;
  private readonly channels: WorkerChannels;
  /** The nodes' shuffle services, told at each job's end which jobs live. */
  private readonly shuffleCleanup: ShuffleCleanup;
  private removeMetrics?: () => void;
  private readonly jobs = new Map<string, JobPlan>();
  private forgotten = 0;
  private readonly retainJobs: number;
  private nextJob = 1;
  private server?: BoundServer;
  private datasets?: DatasetService;
  /** The dataset store, set by start(): the service serves it, job submission plans splits over it. */
  private store?: LogDatasetStore;
  /** Set by start() with options.archive. */
  private archive?: DatasetArchive;
  private views?: ViewService;
  /** Functions (issue 10): catalog, code store, invocations; set by start(). */
  private functions?: FunctionsHost;
  /** The HTTP port and the function triggers (function-front.ts), set by start(). */
  private functionFront?: FunctionFront;
  private timer?: NodeJS.Timeout;
  /** Saves the registered serving nodes when they changed (serving-registry-store.ts). */
  private servingSaver?: NodeJS.Timeout;
  private saveServing?: () => Promise<void>;
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
    this.shuffleCleanup = new ShuffleCleanup(this.log);
    this.channels = new WorkerChannels({
      scheduler: this.scheduler, journal: this.journal, clock: this.clock, log: this.log, heartbeatIntervalMs: this.heartbeatIntervalMs,
      run: (decisions) => this.run(decisions), onShuffleService: (address) => this.shuffleCleanup.add(address),
    });
  }

  /** The port the master listens on; valid after start(). */
  get port(): number {
    if (!this.server) throw new LaminateError('FAILED_PRECONDITION', 'Master is not started');
    return this.server.port;
  }

  get address(): string {
    return `${this.options.host ?? '127.0.0.1'}:${this.port}`;
  }

  /** host:port of the HTTP server; valid after start(). */
  get httpAddress(): string {
    if (!this.functionFront) throw new LaminateError('FAILED_PRECONDITION', 'Master is not started');
    return this.functionFront.http.address;
  }

  /** The function triggers (for metrics: iterator ages); undefined before start() or without a function service. */
  get functionTriggers(): FunctionFront['triggers'] {
    return this.functionFront?.triggers;
  }

  async start(): Promise<void> {
    await mkdir(this.options.dataDir, { recursive: true });
    await this.recover();
    const host = this.options.host ?? '127.0.0.1';
    // The service owns the store (it closes it); the master plans jobs over it.
    const store = this.store = await LogDatasetStore.open({
      dir: this.options.datasetDir ?? join(this.options.dataDir, 'datasets'), logger: this.options.logger,
      ...(this.options.datasetSegmentBytes === undefined ? {} : { segmentBytes: this.options.datasetSegmentBytes }),
    });
    if (this.options.archive) this.archive = await startDatasetArchive(this.options.archive, store, this.options.logger).catch(async (err: unknown) => { await store.close(); throw err; });
    const datasets = this.datasets = createDatasetService(store, this.options.logger);
    const viewDir = this.options.viewDir ?? join(this.options.dataDir, 'views');
    // The catalog's small state (deployments, builds, serving nodes, cuts) stays with the master, on its
    // disk, when the versions go to an object store: Druid keeps segment metadata with its coordinator and
    // only segments in deep storage. The state is the master's alone, rewritten at each build and at each
    // change of the serving nodes, and wants an fsync'd rename, not a PUT per change.
    const catalogDir = isS3Path(viewDir) ? join(this.options.dataDir, 'views', '_catalog') : join(viewDir, '_catalog');
    const catalog = await ViewCatalog.open(catalogDir);
    const servingRegistry = new ServingRegistry();
    // Nodes registered before a restart, down until they heartbeat: a crashed one keeps holding the speed handoff.
    servingRegistry.restore(await loadServingNodes(catalogDir));
    let saving = Promise.resolve();
    const seenCuts = await loadVersionCuts(catalogDir);
    const speed = createSpeedService({
      catalog, root: viewDir, datasets: store, serving: servingRegistry, seenCuts, speed: new SpeedRegistry(this.options.speedNodeTimeoutMs ?? SPEED_NODE_TIMEOUT_MS),
      clock: this.clock, log: this.log, ...(this.options.speedStartGraceMs === undefined ? {} : { startGraceMs: this.options.speedStartGraceMs }),
    });
    this.saveServing = () => {
      const nodes = servingRegistry.takeChanges();
      // The cuts first: a node saved as serving a version is then never without its cut.
      const cuts = speed.takeCutChanges();
      if (nodes === undefined && cuts === undefined) return saving;
      saving = saving.then(async () => {
        if (cuts !== undefined) await saveVersionCuts(catalogDir, cuts);
        if (nodes !== undefined) await saveServingNodes(catalogDir, nodes);
      }).catch((err: unknown) => {
        this.log.error({ err }, 'could not save the registered serving nodes or the cuts of their versions');
      });
      return saving;
    };
    const publishes = new ViewPublishes(viewDir, this.options.logger);
    const views = this.views = createViewService({
      catalog, root: viewDir, datasets: store, bundles: this.bundles, speedLocations: (view) => speed.locations(view),
      jobs: {
        submit: async (r) => (await this.submitJob(r)).jobId,
        ended: (jobId) => this.jobEnded(jobId),
        byOutput: (dir) => [...this.jobs.values()].find((p) => p.spec.outputDir === dir)?.jobId,
        outputFile: (jobId, partition) => this.jobs.get(jobId)?.outputFiles?.get(partition),
      },
      registry: servingRegistry, clock: this.clock, log: this.log, onVersionPublished: (p) => publishes.published(p),
      ...(this.options.onViewPublishStep ? { onPublishStep: this.options.onViewPublishStep } : {}),
    });
    // Before any request: a build asked for now must see the builds the catalog says are running.
    await views.start();
    // Code beside the views when those are on an object store, so that no node needs the master's disk for either.
    const functionCodeDir = this.options.functionCodeDir ?? (isS3Path(viewDir) ? joinStorePath(viewDir, '_function-code') : undefined);
    const functions = this.functions = await startFunctions({
      dir: join(this.options.dataDir, 'functions'), ...(this.options.functionKeyFile === undefined ? {} : { keyFile: this.options.functionKeyFile }),
      ...(functionCodeDir === undefined ? {} : { codeDir: functionCodeDir }),
      scheduler: this.scheduler, run: (ds) => this.run(ds), send: (workerId, cmd) => this.channels.send(workerId, cmd), store,
      clock: this.clock, log: this.log, ...(this.options.functions ? { options: this.options.functions } : {}),
      // Bound late: the triggers start with the function front, after this host.
      triggersApplied: async () => { await this.functionFront?.triggers?.settled(); },
    });
    this.server = await serveMaster({
      registerWorker: (r) => this.channels.register(r),
      heartbeat: (r) => {
        const res = this.channels.heartbeat(r);
        if (!res.reregister) functions.service.heartbeat(r.workerId, r.functionContainerIds);
        return res;
      },
      leave: (r) => this.channels.leave(r),
      attach: (r, ch) => this.channels.attach(r, ch),
      reportAttempt: (r) => this.reportAttempt(r),
      getBundle: (r) => this.bundles.chunks(r.hash),
      submitJob: (r) => this.submitJob(r),
      getJob: (r) => this.status(r.jobId, true),
      waitJob: (r) => this.waitJob(r),
      listJobs: () => [...this.jobs.keys()].map((id) => this.status(id, false)),
      killJob: (r) => this.killJob(r.jobId),
      listWorkers: () => this.channels.statuses(),
      reportInvocation: (r) => functions.reportInvocation(r),
      getFunctionCode: (r) => functions.getFunctionCode(r),
    }, host, this.options.port ?? 7070, [datasets.registration, viewsService(views.handlers, speed.handlers), functions.registration]).catch(async (err: unknown) => { await datasets.close(); throw err; });
    const consoleSource = consoleState({
      address: this.address, httpAddress: () => this.httpAddress, startedAt: this.clock.now(), jobIds: () => [...this.jobs.keys()],
      status: (id, withTasks) => this.status(id, withTasks), killJob: (id) => this.killJob(id), workers: () => this.channels.statuses(),
      views, speed: speed.handlers, store, functions, now: () => this.clock.now(),
    });
    this.functionFront = await startFunctionFront({
      routes: [consoleLogin(this.options.logger), consoleApi({ source: consoleSource, logger: this.options.logger, now: () => this.clock.now() }), consolePages],
      host, httpPort: this.options.httpPort ?? (this.options.port === 0 ? 0 : DEFAULT_HTTP_PORT), functions: this.options.triggerFunctions ?? functions.service, datasets: store, views: publishes,
      dataDir: this.options.dataDir, clock: this.clock, logger: this.options.logger,
      ...(this.options.filesPollMs === undefined ? {} : { filesPollMs: this.options.filesPollMs }),
    }).catch(async (err: unknown) => { await views.stop(); await datasets.close(); await this.server?.close(); throw err; });
    // `function list` and the console ask the triggers at each snapshot, as /metrics does.
    functions.service.setIteratorAges((name) => (this.functionFront?.triggers?.iteratorAges(name) ?? []).map((a) => a.ageMs));
    this.timer = setInterval(() => {
      this.run(this.scheduler.tick(this.clock.now()));
      functions.service.tick();
    }, this.options.tickMs ?? 100);
    this.timer.unref();
    const save = this.saveServing;
    this.servingSaver = setInterval(() => void save(), 1000);
    this.servingSaver.unref();
    const removeMaster = addMasterMetrics({ jobs: () => [...this.jobs.keys()].map((id) => this.status(id, false)), workers: () => this.channels.statuses() });
    const removeFunctions = addFunctionMetrics(functions.service, () => this.functionFront?.triggers?.iteratorAges() ?? []);
    this.removeMetrics = () => { removeMaster(); removeFunctions(); };
    this.log.info({ address: this.address, http: this.httpAddress, dataDir: this.options.dataDir }, 'master listening');
  }

  /** Stops the timer, ends the workers' streams and the server. Safe to call twice. */
  async stop(): Promise<void> {
    this.removeMetrics?.();
    if (this.timer) clearInterval(this.timer);
    if (this.servingSaver) clearInterval(this.servingSaver);
    await this.saveServing?.();
    // Triggers first: they read the dataset store, closed below.
    await this.functionFront?.stop();
    // Before the dataset store closes and the folder is let go: a publish under way finishes (or, not begun, never starts).
    await this.views?.stop();
    this.functions?.service.stop();
    this.channels.close();
    for (const plan of this.jobs.values()) for (const wake of plan.waiters) wake();
    await this.archive?.stop();
    await this.datasets?.close();
    await this.server?.close();
    this.shuffleCleanup.close();
    this.log.info('master stopped');
  }

  /** Reads the journal: finished jobs keep their status, unfinished ones resume. */
  private async recover(): Promise<void> {
    const r = await recoverJobs(this.journal, { retainJobs: this.retainJobs, scheduler: this.scheduler, now: this.clock.now(), log: this.log });
    this.channels.skipIdsBelow(r.nextWorker);
    this.nextJob = Math.max(this.nextJob, r.nextJob);
    for (const plan of r.plans) this.jobs.set(plan.jobId, plan);
    // Before any attempt runs again: uploads of attempts from before the restart would never be committed, nor seen.
    for (const plan of r.plans) {
      if (plan.finalStatus !== undefined) continue;
      const dropped = await outputCommitter(plan.spec.outputDir).recoverJob()
        .catch((err: unknown) => { plan.log.warn({ err }, 'could not drop the uncommitted output of attempts before the restart'); return 0; });
      if (dropped > 0) plan.log.info({ dropped }, 'dropped uncommitted uploads of attempts before the restart');
    }
    this.run(r.decisions);
  }

  // ---- attempt reports -------------------------------------------------------

  /**
   * ReportAttempt: a worker tells how one of its attempts ended. The report
   * must come from the worker the attempt runs on.
   */
  private async reportAttempt(report: AttemptReport): Promise<void> {
    const { attemptId, workerId, result } = report;
    const ref = parseAttemptId(attemptId);
    const attempt = this.scheduler.attempt(attemptId);
    const plan = this.jobs.get(ref.jobId);
    if (!attempt || !plan) throw new LaminateError('NOT_FOUND', `Unknown attempt '${attemptId}'`);
    if (attempt.workerId !== workerId) {
      throw new LaminateError('INVALID_ARGUMENT', `Attempt ${attemptId} runs on ${attempt.workerId}, not on ${workerId}`);
    }
    const log = plan.log.child({ attemptId, workerId });
    const now = this.clock.now();
    attemptDurations().observe({ kind: ref.kind, outcome: result.outcome }, Math.max(0, now - attempt.start) / 1000);
    switch (result.outcome) {
      case 'SUCCEEDED': {
        const counters = { ...result.counters };
        if (ref.kind === 'map') {
          const partitions = result.partitions ?? [];
          if (partitions.length !== plan.spec.reducers) {
            throw new LaminateError('INVALID_ARGUMENT', `Expected ${plan.spec.reducers} partitions from map attempt ${attemptId}, got ${partitions.length}`);
          }
          log.info('map attempt succeeded');
          this.run(this.scheduler.attemptSucceeded(attemptId, { partitions, counters }, now));
        } else {
          await this.commitReduce(plan, attemptId, workerId, ref.index, counters, result.outputFile, log);
        }
        return;
      }
      case 'FETCH_FAILED':
        log.warn({ mapIndex: result.mapIndex, mapAttemptId: result.mapAttemptId, reason: result.message }, 'reduce could not fetch a map output: re-running the map');
        this.run(this.scheduler.fetchFailed(attemptId, result.mapIndex, result.mapAttemptId, result.message, now));
        return;
      case 'FAILED': {
        const failure = { code: result.code, message: result.message };
        log.warn({ failure }, 'attempt failed');
        this.run(this.scheduler.attemptFailed(attemptId, failure, now));
        if (ref.kind === 'reduce') await outputCommitter(plan.spec.outputDir).abortTask(formatAttemptDir(attemptId, workerId), ref.index).catch(() => {});
        return;
      }
    }
  }

  /** Commits a reduce attempt's part file: exactly one attempt per task gets to. */
  private async commitReduce(plan: JobPlan, attemptId: string, workerId: string, partition: number, counters: Record<string, number>,
    outputFile: OutputFileSummary | undefined, log: Logger): Promise<void> {
    const dir = formatAttemptDir(attemptId, workerId);
    if (!this.scheduler.requestCommit(attemptId)) {
      log.info('commit denied: another attempt owns the task');
      this.run(this.scheduler.attemptFailed(attemptId, { code: 'KILLED', message: 'commit denied: another attempt of the task committed' }, this.clock.now()));
      await outputCommitter(plan.spec.outputDir).abortTask(dir, partition).catch(() => {});
      return;
    }
    try {
      await outputCommitter(plan.spec.outputDir).commitTask(dir, partition);
    } catch (err) {
      log.error({ err }, 'task commit failed');
      this.run(this.scheduler.attemptFailed(attemptId, { code: 'INTERNAL', message: `commit failed: ${errorMessage(err)}` }, this.clock.now()));
      return;
    }
    log.info('reduce attempt committed');
    // The committed attempt's file alone: a losing attempt's summary never gets here (its commit is denied above).
    if (outputFile !== undefined) (plan.outputFiles ??= new Map()).set(partition, outputFile);
    await this.journal.append({ type: 'taskCommitted', jobId: plan.jobId, index: partition, attemptId, counters })
      .catch((err: unknown) => log.error({ err }, 'could not journal a task commit: a restarted master would run the task again'));
    this.run(this.scheduler.attemptSucceeded(attemptId, { counters }, this.clock.now()));
  }

  // ---- client-facing RPCs ----------------------------------------------------

  private async submitJob(req: M.SubmitJobRequest): Promise<M.SubmitJobResponse> {
    const requested = resolveJobSpec(req, compareKeys);
    const problem = this.scheduler.capacityProblem(requested);
    if (problem) throw new LaminateError('RESOURCE_EXHAUSTED', problem);
    if (!this.store) throw new LaminateError('UNAVAILABLE', 'The master is not started');
    // Dataset inputs get their cut here: every record durable now, or the one asked for.
    const { spec, splits } = await planJobInputs(requested, this.store, this.archive?.lookup);
    const bundleHash = await this.bundles.put(req.bundle);
    await outputCommitter(spec.outputDir).setupJob();
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
      await outputCommitter(spec.outputDir).abortJob().catch(() => {});
      throw err;
    }
    const plan: JobPlan = { jobId, spec, bundleHash, splits, log, waiters: new Set(), journaled: false, ended: false };
    this.jobs.set(jobId, plan);
    const journaled = this.journal.append({ type: 'submit', jobId, spec, bundleHash, splits, submitTime })
      .then(() => { plan.journaled = true; });
    log.info({ name: spec.name, maps: splits.length, reducers: spec.reducers, output: spec.outputDir, ...(spec.cuts.length > 0 ? { cuts: spec.cuts } : {}) }, 'job submitted');
    this.run(decisions);
    try {
      await journaled;
    } catch (err) {
      this.run(this.scheduler.killJob(jobId, 'the master could not journal the job', this.clock.now()));
      throw new LaminateError('UNAVAILABLE', `The master could not journal job ${jobId}: ${errorMessage(err)}`, { cause: err });
    }
    return { jobId };
  }

  private status(jobId: string, withTasks: boolean): JobStatus {
    const job = this.scheduler.job(jobId);
    const plan = this.jobs.get(jobId);
    if (plan?.finalStatus) return withTasks ? plan.finalStatus : { ...plan.finalStatus, tasks: [] };
    if (!job || !plan) throw new LaminateError('NOT_FOUND', `No job '${jobId}' (only the ${this.retainJobs} most recently finished jobs are kept)`);
    const s = jobStatus(job, plan.spec, withTasks);
    // Until its end is on disk, a finished job is still finishing.
    return !plan.ended && isJobFinished(job) ? { ...s, state: 'COMMITTING' } : s;
  }

  private async waitJob(req: M.WaitJobRequest): Promise<JobStatus> {
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

  /** Resolves with a job's final status once it has ended; NOT_FOUND for a job not known. */
  private async jobEnded(jobId: string): Promise<JobStatus> {
    for (;;) {
      const plan = this.jobs.get(jobId);
      if (!plan) throw new LaminateError('NOT_FOUND', `No job '${jobId}'`);
      if (plan.ended) return this.status(jobId, false);
      await new Promise<void>((resolve) => {
        const done = (): void => { plan.waiters.delete(done); resolve(); };
        plan.waiters.add(done);
      });
    }
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

  private run(decisions: readonly Decision[]): void {
    for (const d of decisions) {
      try {
        this.carryOut(d);
      } catch (err) {
        this.log.error({ err, decision: d.type }, 'could not carry out a decision');
      }
    }
  }

  private carryOut(d: Decision): void {
    switch (d.type) {
      case 'launch': {
        const plan = this.jobs.get(d.jobId)!;
        this.channels.send(d.workerId, { type: 'launch', launch: attemptLaunch(d, plan, (id) => this.channels.shuffleAddress(id)) });
        plan.log.info({ attemptId: d.attemptId, workerId: d.workerId, speculative: d.speculative }, 'attempt launched');
        return;
      }
      case 'kill':
        this.channels.send(d.workerId, { type: 'kill', attemptId: d.attemptId, reason: d.reason });
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
        this.channels.forget(d.workerId);
        this.functions?.service.workerLost(d.workerId);
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
      await outputCommitter(plan.spec.outputDir).abortJob().catch((err: unknown) => plan.log.warn({ err }, 'could not clean up output'));
    }
    this.channels.broadcast({ type: 'cleanup', jobId: d.jobId });
    // Map outputs on the nodes' shuffle services go too (shuffle-cleanup.ts).
    const live = [...this.jobs.values()].filter((p) => !p.ended).map((p) => p.jobId);
    this.shuffleCleanup.jobEnded(live, this.nextJob);
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
      await outputCommitter(plan.spec.outputDir).commitJob();
      this.run(this.scheduler.jobCommitted(jobId, this.clock.now()));
    } catch (err) {
      this.run(this.scheduler.jobCommitFailed(jobId, { code: 'INTERNAL', message: errorMessage(err) }, this.clock.now()));
    }
  }
}
