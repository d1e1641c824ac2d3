/**
 * The worker process: registers with the master, heart-beats, runs the
 * attempts the master launches in containers, reports their outcomes, and
 * serves the map outputs it holds to reducers. If the master stops knowing
 * it (it was declared lost, or the master restarted), it drops its state and
 * registers again.
 *
 * With a shuffle service (WorkerOptions.shuffleService), it writes its map
 * outputs into the service's folder instead, and registers the service as
 * their location: they outlive this process. While the service is away the
 * worker is away too (it leaves the master, and registers again once the
 * service is back), since its outputs could not be served meanwhile.
 */
import { mkdir, readdir, rm } from 'node:fs/promises';
import { randomUUID } from 'node:crypto';
import { basename, dirname, join } from 'node:path';
import { errorMessage, LaminateError } from '../common/errors.js';
import type { Logger } from '../common/logger.js';
import { MasterClient, parseAddress } from '../protocol/master-rpc.js';
import type { BoundServer } from '../protocol/master-rpc.js';
import type { FetchPartitionRequest, PartitionFile } from '../protocol/messages.js';
import { serveShuffle } from '../protocol/shuffle-rpc.js';
import { readPartitionChunks } from '../storage/map-output-file.js';
import { JOB_DEFAULTS } from '../common/defaults.js';
import type { AttemptLaunch, WorkerCommand } from '../common/task-attempt.js';
import { requirePositiveInt } from '../common/validate.js';
import { BundleCache } from '../protocol/bundle-cache.js';
import { partitionFile } from './host-local.js';
import type { ContainerOutcome } from './container-messages.js';
import { ContainerPool } from './container-pool.js';
import { FunctionHost, type WorkerFunctionLink } from './function-host.js';
import type { FunctionInvocation } from '../common/function-invocation.js';
import { MapOutputRegistry, removeAttemptFiles, removeDir } from './map-output-registry.js';
import { mapOutputDir } from './shuffle-layout.js';
import { ShuffleServiceLink } from './shuffle-service-link.js';
import { countShuffleBytes } from './worker-metrics.js';
import { DatasetClient } from '../protocol/dataset-rpc.js';
import { masterFunctionLink } from './master-function-link.js';

export interface WorkerOptions {
  /** The master's HOST:PORT. */
  master: string;
  /** Concurrent task attempts. Default 2. */
  slots?: number;
  /** Memory for containers, in MB. Default 2048. */
  memoryMb?: number;
  dataDir: string;
  /** Host the shuffle server binds and advertises. Default 127.0.0.1. */
  host?: string;
  /** Port of the shuffle server; 0 picks one. Default 0. */
  shufflePort?: number;
  /**
   * HOST:PORT of the node's shuffle service (`laminate shuffle-service`), on
   * the same disk: map outputs are written into its folder and served by it,
   * so that they outlive this process. Absent: the worker serves its own.
   */
  shuffleService?: string;
  /**
   * Files on this host are read in place: reducers read map outputs from
   * their files instead of having them streamed (host-local.ts; Spark's
   * spark.shuffle.readHostLocalDisk), and maps read dataset segments on the
   * master's host from the files (dataset-reader.ts; HDFS's short-circuit
   * local reads). Default true; `--no-host-local-reads`.
   */
  hostLocalReads?: boolean;
  /**
   * Blank containers (started ahead for the next job) warm up when they have
   * waited a second for one: they run the engine's map and reduce over
   * synthetic records, so that a job's first attempts run the engine's code
   * as later ones do (container-warm-up.ts). About 1 s of a core per blank
   * container, on a free slot. Default true; `--no-warm-up`.
   */
  warmUp?: boolean;
  name?: string;
  /**
   * The master's function calls (code, dataset appends, invocation reports).
   * Absent: `invoke` commands are refused (logged), as a worker without
   * functions would.
   */
  functionLink?: WorkerFunctionLink;
  logger: Logger;
}

export const WORKER_DEFAULTS = { slots: 2, memoryMb: 2048 } as const;

export class WorkerNode {
  private readonly log: Logger;
  private readonly client: MasterClient;
  private pool: ContainerPool;
  /** This worker's warm-up folders, `<data>/warm-up/<random id>/<container id>`: a restart removes its predecessors' by their other ids. */
  private readonly warmUpRoot: string;
  private reregistering: Promise<void> | undefined;
  private readonly outputs = new MapOutputRegistry();
  private readonly bundles: BundleCache;
  private shuffle?: BoundServer;
  private workerId = '';
  private generation = 0;
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private detach?: () => void;
  private stopped = false;
  private paused = false;
  /** Attempts launched here whose report the master has not yet taken, with their registration. */
  private readonly active = new Map<string, number>();
  /** Active attempts the master killed (honoured if they have not reached a container yet). */
  private readonly killed = new Set<string>();
  private readonly slots: number;
  private readonly memoryMb: number;
  /** Set with a shuffle service. */
  private readonly link?: ShuffleServiceLink;
  /** The link's epoch the current registration was made under (shuffle-service-link.ts). */
  private registeredEpoch = 0;
  /** Function containers (child processes); set with options.functionLink. */
  private readonly functions: FunctionHost;
  private readonly functionLink: WorkerFunctionLink;
  /** For functions' ctx.emit, made at the first. */
  private datasets?: DatasetClient;

  constructor(private readonly options: WorkerOptions) {
    this.slots = options.slots ?? WORKER_DEFAULTS.slots;
    this.memoryMb = options.memoryMb ?? WORKER_DEFAULTS.memoryMb;
    requirePositiveInt('--slots', this.slots);
    requirePositiveInt('--memory', this.memoryMb);
    this.log = options.logger.child({ component: 'worker' });
    this.warmUpRoot = join(options.dataDir, 'warm-up', randomUUID());
    if (options.shuffleService !== undefined) {
      parseAddress(options.shuffleService, '--shuffle-service');
      this.link = new ShuffleServiceLink(options.shuffleService, `${options.name || 'worker'} (pid ${process.pid})`, this.log, () => this.checkService());
    }
    this.client = new MasterClient(options.master);
    this.pool = this.newPool();
    this.bundles = new BundleCache(join(options.dataDir, 'bundles'), () => this.client);
    // Functions reach the master through its own services unless a test gives another link.
    this.functionLink = options.functionLink ?? masterFunctionLink(() => this.client, () => (this.datasets ??= new DatasetClient(options.master)), () => this.workerId);
    this.functions = new FunctionHost({ link: this.functionLink, logger: this.log, workerId: () => this.workerId });
  }

  private newPool(): ContainerPool {
    // One blank container per slot, of the default task memory, hides a thread
    // start from each new job's first attempts (Spark keeps executors warm so).
    return new ContainerPool({
      maxThreads: this.slots, memoryMb: this.memoryMb, prestart: this.slots, prestartMemoryMb: JOB_DEFAULTS.mapMemoryMb,
      ...(this.options.warmUp === false ? {} : { warmUpDir: this.warmUpRoot }),
    }, this.log);
  }

  /** The id the master gave this worker; '' until registered. */
  get id(): string {
    return this.workerId;
  }

  /** Threads started for containers so far. */
  get containersStarted(): number {
    return this.pool.started;
  }

  /** Where reducers fetch this worker's map outputs: its shuffle service, or its own shuffle server. */
  get shuffleAddress(): string {
    if (this.link) return this.link.address;
    return `${this.options.host ?? '127.0.0.1'}:${this.shuffle?.port ?? 0}`;
  }

  /**
   * Attaches to the shuffle service (if any; it must share this worker's
   * disk) or starts the worker's own shuffle server, then registers,
   * retrying until the service and the master answer.
   * @throws LaminateError FAILED_PRECONDITION when the shuffle service's folder cannot be written from here.
   */
  async start(): Promise<void> {
    await rm(join(this.options.dataDir, 'jobs'), { recursive: true, force: true });
    await mkdir(join(this.options.dataDir, 'jobs'), { recursive: true });
    // Warm-up folders of earlier processes (a worker killed during a warm-up); this one's containers remove their own.
    const warmUps = dirname(this.warmUpRoot);
    for (const id of await readdir(warmUps).catch(() => [])) {
      if (id !== basename(this.warmUpRoot)) await rm(join(warmUps, id), { recursive: true, force: true }).catch(() => {});
    }
    if (this.link) await this.link.attach(() => this.stopped, true);
    else this.shuffle = await serveShuffle({ fetchPartition: (req) => this.serveFetch(req), locatePartition: (req) => this.serveLocate(req) }, this.options.host ?? '127.0.0.1', this.options.shufflePort ?? 0);
    await this.register();
    this.checkService();
  }

  /** Stops heartbeats, containers and the shuffle server. Safe to call twice. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.heartbeatTimer) clearInterval(this.heartbeatTimer);
    // Say goodbye, so the master reschedules this worker's work at once.
    if (this.workerId && !this.paused) await this.client.leave(this.workerId, 1_000).catch(() => {});
    this.detach?.();
    await this.pool.close();
    await rm(this.warmUpRoot, { recursive: true, force: true }).catch(() => {});
    this.functions?.close();
    this.client.close();
    this.datasets?.close();
    this.link?.close();
    await this.shuffle?.close(200);
    this.log.info({ workerId: this.workerId }, 'worker stopped');
  }

  /**
   * Stops heart-beating (and registering again) while everything else goes
   * on, as a hung or partitioned node would look to the master. For fault tests.
   */
  pauseHeartbeats(): void {
    this.paused = true;
    if (this.heartbeatTimer) clearInterval(this.heartbeatTimer);
    this.heartbeatTimer = undefined;
  }

  private async register(): Promise<void> {
    let delay = 200;
    for (;;) {
      if (this.stopped) return;
      // Registered as the place of this worker's outputs, the service must be there.
      if (this.link && !this.link.attached) await this.link.attach(() => this.stopped, false);
      const epoch = this.link?.epoch ?? 0;
      try {
        const res = await this.client.registerWorker({
          shuffleAddress: this.shuffleAddress, slots: this.slots, memoryMb: this.memoryMb, name: this.options.name ?? '',
          externalShuffle: this.link !== undefined,
        });
        if (this.stopped) return;
        this.workerId = res.workerId;
        this.registeredEpoch = epoch;
        const gen = ++this.generation;
        this.log.info({ workerId: res.workerId, master: this.options.master, slots: this.slots, memoryMb: this.memoryMb }, 'registered');
        this.attach(gen);
        // The first cold start's spare process, now that this worker takes invocations.
        this.functions?.startSpares();
        if (this.heartbeatTimer) clearInterval(this.heartbeatTimer);
        this.heartbeatTimer = setInterval(() => void this.heartbeat(gen), res.heartbeatIntervalMs);
        this.heartbeatTimer.unref();
        return;
      } catch (err) {
        // A refused token does not pass with time: say so and stop, rather than knock forever.
        if (err instanceof LaminateError && err.code === 'UNAUTHENTICATED') {
          throw new LaminateError('UNAUTHENTICATED', `The master at ${this.options.master} refused this worker's registration: ${err.message}`, { cause: err });
        }
        this.log.warn({ err: errorMessage(err), retryInMs: delay }, 'could not register with the master');
        await new Promise((r) => setTimeout(r, delay).unref());
        delay = Math.min(delay * 2, 5_000);
      }
    }
  }

  /**
   * Drops everything tied to the old registration and registers anew; with
   * `leave`, first tells the master the old registration is over (the master
   * still knows it). Map outputs on the shuffle service stay: the master
   * keeps them registered under the old id.
   */
  private reregister(leave = false): Promise<void> {
    if (this.paused) return Promise.resolve();
    // The heartbeat, the command stream and the shuffle service may all find out; register once.
    this.reregistering ??= (async () => {
      this.generation++;
      if (this.heartbeatTimer) clearInterval(this.heartbeatTimer);
      this.detach?.();
      void this.pool.close();
      this.pool = this.newPool();
      // The master released this registration's containers with it.
      this.functions?.close('worker registering again');
      this.functions?.reopen();
      this.outputs.clear();
      this.active.clear();
      this.killed.clear();
      if (leave && this.workerId) await this.client.leave(this.workerId, 1_000).catch(() => {});
      await rm(join(this.options.dataDir, 'jobs'), { recursive: true, force: true });
      await this.register();
    })().finally(() => {
      this.reregistering = undefined;
      this.checkService();
    });
    return this.reregistering;
  }

  /**
   * Called when the shuffle service's attachment ends, and after each
   * registration: a registration made under an attachment that has ended
   * advertises a service that may have lost this worker's outputs or may not
   * take new ones, so the worker leaves the master and registers again once
   * the service is back (register() waits for it). Its running attempts are
   * rescheduled by the master at once; its earlier outputs stay registered
   * there, and are re-run if a reducer cannot fetch them.
   */
  private checkService(): void {
    const link = this.link;
    if (!link || this.stopped || this.paused || this.reregistering || !this.workerId) return;
    if (link.attached && link.epoch === this.registeredEpoch) return;
    this.log.warn({ workerId: this.workerId, shuffleService: link.address }, 'the shuffle service went away: leaving the master until it is back');
    void this.reregister(true);
  }

  private attach(gen: number): void {
    this.detach?.();
    this.detach = this.client.attach(this.workerId, (cmd) => this.onCommand(cmd, gen), (err) => {
      if (this.stopped || gen !== this.generation) return;
      if (err?.code === 'NOT_FOUND') {
        // The master no longer knows this worker (declared lost, or restarted).
        this.log.warn('the master does not know this worker: registering again');
        void this.reregister();
        return;
      }
      this.log.warn({ err: err?.message }, 'command stream ended; re-attaching');
      setTimeout(() => {
        if (!this.stopped && gen === this.generation) this.attach(gen);
      }, 500).unref();
    });
  }

  private async heartbeat(gen: number): Promise<void> {
    try {
      const res = await this.client.heartbeat({ workerId: this.workerId, runningAttemptIds: [...this.active.keys()], functionContainerIds: this.functions?.containerIds() ?? [] }, 5_000);
      if (res.reregister && gen === this.generation && !this.stopped) {
        this.log.warn({ workerId: this.workerId }, 'the master does not know this worker: registering again');
        await this.reregister();
      }
    } catch (err) {
      this.log.warn({ err: errorMessage(err) }, 'heartbeat failed');
    }
  }

  private onCommand(cmd: WorkerCommand, gen: number): void {
    switch (cmd.type) {
      case 'launch':
        void this.launch(cmd.launch, gen);
        return;
      case 'kill': {
        // An attempt still fetching its bundle is not in the pool yet: remember the kill.
        if (this.active.has(cmd.attemptId)) this.killed.add(cmd.attemptId);
        const killed = this.pool.kill(cmd.attemptId);
        this.log.info({ attemptId: cmd.attemptId, reason: cmd.reason, wasRunning: killed }, 'kill');
        return;
      }
      case 'cleanup':
        void this.cleanup(cmd.jobId);
        return;
      case 'invoke':
        void this.invokeFunction(cmd.invoke, gen);
        return;
      case 'stopContainer':
        this.functions?.stop(cmd.containerId, cmd.reason);
        return;
    }
  }

  /**
   * Runs one attempt and reports it. The attempt counts as active, and is
   * listed in heartbeats, from its launch until the master has its report, so
   * the master can tell a lost launch or report from a slow attempt.
   */
  private async launch(launch: AttemptLaunch, gen: number): Promise<void> {
    const { attemptId } = launch;
    this.active.set(attemptId, gen);
    try {
      await this.runAttempt(launch, gen);
    } finally {
      // A restarted master may launch an attempt of the same id under a new
      // registration: leave that one's entries alone.
      if (this.active.get(attemptId) === gen) {
        this.active.delete(attemptId);
        this.killed.delete(attemptId);
      }
    }
  }

  private async runAttempt(launch: AttemptLaunch, gen: number): Promise<void> {
    const log = this.log.child({ jobId: launch.jobId, attemptId: launch.attemptId, workerId: this.workerId });
    log.info({ kind: launch.kind, index: launch.index }, 'attempt starting');
    // Map outputs go to the shuffle service's folder, if any; everything else stays here.
    const workDir = this.link && launch.kind === 'map'
      ? mapOutputDir(this.link.jobsDir, launch.jobId, launch.workerId)
      : join(this.options.dataDir, 'jobs', launch.jobId);
    let result: ContainerOutcome;
    try {
      const bundlePath = await this.bundles.path(launch.bundleHash);
      if (gen !== this.generation || this.stopped) return;
      result = this.killed.has(launch.attemptId)
        ? { outcome: 'FAILED', code: 'KILLED', message: 'killed before it started' }
        : await this.pool.run({ launch, workerId: this.workerId, bundlePath, workDir, masterAddress: this.options.master, hostLocalReads: this.options.hostLocalReads ?? true });
    } catch (err) {
      result = { outcome: 'FAILED', code: err instanceof LaminateError ? err.code : 'INTERNAL', message: errorMessage(err) };
    }
    if (gen !== this.generation || this.stopped) return;
    if (result.outcome === 'FAILED' && result.code === 'KILLED') {
      log.info('attempt killed');
      await removeAttemptFiles(workDir, launch.attemptId).catch(() => {});
      return;
    }
    if (result.outcome === 'SUCCEEDED' && launch.kind === 'map' && result.dataPath && result.partitions) {
      // Served from here, unless the shuffle service serves it.
      if (!this.link) this.outputs.add(launch.attemptId, { dataPath: result.dataPath, partitions: result.partitions });
    } else if (launch.kind === 'reduce' || result.outcome !== 'SUCCEEDED') {
      await removeAttemptFiles(workDir, launch.attemptId).catch(() => {});
    }
    log.info({ outcome: result.outcome, ...(result.outcome === 'FAILED' ? { code: result.code, cause: result.message } : {}) }, 'attempt finished');
    const report = { attemptId: launch.attemptId, workerId: this.workerId, result };
    await this.report(() => this.client.reportAttempt(report), () => log, gen);
  }

  /** Runs one function invocation in its container (function-host.ts) and reports it. */
  private async invokeFunction(inv: FunctionInvocation, gen: number): Promise<void> {
    const link = this.functionLink;
    const report = await this.functions.invoke(inv);
    if (gen !== this.generation || this.stopped) return;
    // No child logger unless one is needed: making one costs a few µs, on every warm invocation's path.
    const log = (): Logger => this.log.child({ function: inv.function, requestId: inv.requestId, containerId: inv.containerId });
    if (this.log.isLevelEnabled('debug')) log().debug({ ok: report.ok, code: report.errorCode, coldStart: report.coldStart, durationMs: report.durationMs }, 'invocation finished');
    await this.report(() => link.reportInvocation(report), log, gen);
  }

  /**
   * Reports an attempt's outcome (`send`), retrying with backoff while the
   * master is unreachable, for as long as this registration lasts: an
   * outcome is never dropped for a passing outage.
   */
  private async report(send: () => Promise<void>, logger: () => Logger, gen: number): Promise<void> {
    for (let delay = 200; gen === this.generation && !this.stopped; delay = Math.min(delay * 2, 5_000)) {
      try {
        await send();
        return;
      } catch (err) {
        const code = err instanceof LaminateError ? err.code : 'INTERNAL';
        if (code !== 'UNAVAILABLE' && code !== 'TIMEOUT') {
          logger().warn({ err: errorMessage(err) }, 'master refused the report');
          return;
        }
        logger().warn({ err: errorMessage(err), retryInMs: delay }, 'could not report the attempt: retrying');
        await new Promise((r) => setTimeout(r, delay).unref());
      }
    }
  }

  private async cleanup(jobId: string): Promise<void> {
    this.pool.retireJob(jobId);
    this.outputs.removeJob(jobId);
    await removeDir(join(this.options.dataDir, 'jobs', jobId)).catch(() => {});
  }

  private serveFetch(req: FetchPartitionRequest): AsyncIterable<Buffer> {
    const { dataPath, info } = this.outputs.locate(req.mapAttemptId, req.partition, req.offset, req.length);
    return countShuffleBytes(readPartitionChunks(dataPath, info));
  }

  /** LocatePartition: checked as a fetch is, answered with the file for a reducer on this host. */
  private serveLocate(req: FetchPartitionRequest): Promise<PartitionFile> {
    return partitionFile(this.outputs.locate(req.mapAttemptId, req.partition, req.offset, req.length).dataPath);
  }
}
