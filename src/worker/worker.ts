/**
 * The worker process: registers with the master, heart-beats, runs the
 * attempts the master launches in containers, reports their outcomes, and
 * serves the map outputs it holds to reducers. If the master stops knowing
 * it (it was declared lost, or the master restarted), it drops its state and
 * registers again.
 */
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { errorMessage, LaminateError } from '../common/errors.js';
import type { Logger } from '../common/logger.js';
import { MasterClient } from '../protocol/master-rpc.js';
import type { BoundServer } from '../protocol/master-rpc.js';
import type { FetchPartitionRequest } from '../protocol/messages.js';
import { serveShuffle } from '../protocol/shuffle-rpc.js';
import { readPartitionChunks } from '../storage/map-output-file.js';
import { JOB_DEFAULTS } from '../common/defaults.js';
import type { AttemptLaunch, WorkerCommand } from '../common/task-attempt.js';
import { requirePositiveInt } from '../common/validate.js';
import { BundleCache } from './bundle-cache.js';
import type { ContainerOutcome } from './container-messages.js';
import { ContainerPool } from './container-pool.js';
import { MapOutputRegistry, removeAttemptFiles, removeDir } from './map-output-registry.js';

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
  name?: string;
  logger: Logger;
}

export const WORKER_DEFAULTS = { slots: 2, memoryMb: 2048 } as const;

export class WorkerNode {
  private readonly log: Logger;
  private readonly client: MasterClient;
  private pool: ContainerPool;
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

  constructor(private readonly options: WorkerOptions) {
    this.slots = options.slots ?? WORKER_DEFAULTS.slots;
    this.memoryMb = options.memoryMb ?? WORKER_DEFAULTS.memoryMb;
    requirePositiveInt('--slots', this.slots);
    requirePositiveInt('--memory', this.memoryMb);
    this.log = options.logger.child({ component: 'worker' });
    this.client = new MasterClient(options.master);
    this.pool = this.newPool();
    this.bundles = new BundleCache(join(options.dataDir, 'bundles'), () => this.client);
  }

  private newPool(): ContainerPool {
    // One blank container per slot, of the default task memory, hides a thread
    // start from each new job's first attempts (Spark keeps executors warm so).
    return new ContainerPool({
      maxThreads: this.slots, memoryMb: this.memoryMb, prestart: this.slots, prestartMemoryMb: JOB_DEFAULTS.mapMemoryMb,
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

  get shuffleAddress(): string {
    return `${this.options.host ?? '127.0.0.1'}:${this.shuffle?.port ?? 0}`;
  }

  /** Starts the shuffle server and registers, retrying until the master answers. */
  async start(): Promise<void> {
    await rm(join(this.options.dataDir, 'jobs'), { recursive: true, force: true });
    await mkdir(join(this.options.dataDir, 'jobs'), { recursive: true });
    this.shuffle = await serveShuffle({ fetchPartition: (req) => this.serveFetch(req) }, this.options.host ?? '127.0.0.1', this.options.shufflePort ?? 0);
    await this.register();
  }

  /** Stops heartbeats, containers and the shuffle server. Safe to call twice. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.heartbeatTimer) clearInterval(this.heartbeatTimer);
    // Say goodbye, so the master reschedules this worker's work at once.
    if (this.workerId && !this.paused) await this.client.leave(this.workerId, 1_000).catch(() => {});
    this.detach?.();
    this.pool.close();
    this.client.close();
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
      try {
        const res = await this.client.registerWorker({
          shuffleAddress: this.shuffleAddress, slots: this.slots, memoryMb: this.memoryMb, name: this.options.name ?? '',
        });
        if (this.stopped) return;
        this.workerId = res.workerId;
        const gen = ++this.generation;
        this.log.info({ workerId: res.workerId, master: this.options.master, slots: this.slots, memoryMb: this.memoryMb }, 'registered');
        this.attach(gen);
        if (this.heartbeatTimer) clearInterval(this.heartbeatTimer);
        this.heartbeatTimer = setInterval(() => void this.heartbeat(gen), res.heartbeatIntervalMs);
        this.heartbeatTimer.unref();
        return;
      } catch (err) {
        this.log.warn({ err: errorMessage(err), retryInMs: delay }, 'could not register with the master');
        await new Promise((r) => setTimeout(r, delay).unref());
        delay = Math.min(delay * 2, 5_000);
      }
    }
  }

  /** Drops everything tied to the old registration and registers anew. */
  private reregister(): Promise<void> {
    if (this.paused) return Promise.resolve();
    // The heartbeat and the command stream may both find out; register once.
    this.reregistering ??= (async () => {
      this.generation++;
      if (this.heartbeatTimer) clearInterval(this.heartbeatTimer);
      this.detach?.();
      this.pool.close();
      this.pool = this.newPool();
      this.outputs.clear();
      this.active.clear();
      this.killed.clear();
      await rm(join(this.options.dataDir, 'jobs'), { recursive: true, force: true });
      await this.register();
    })().finally(() => { this.reregistering = undefined; });
    return this.reregistering;
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
      const res = await this.client.heartbeat({ workerId: this.workerId, runningAttemptIds: [...this.active.keys()] }, 5_000);
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
    const workDir = join(this.options.dataDir, 'jobs', launch.jobId);
    let result: ContainerOutcome;
    try {
      const bundlePath = await this.bundles.path(launch.bundleHash);
      if (gen !== this.generation || this.stopped) return;
      result = this.killed.has(launch.attemptId)
        ? { outcome: 'FAILED', code: 'KILLED', message: 'killed before it started' }
        : await this.pool.run({ launch, workerId: this.workerId, bundlePath, workDir, masterAddress: this.options.master });
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
      this.outputs.add(launch.attemptId, { dataPath: result.dataPath, partitions: result.partitions });
    } else if (launch.kind === 'reduce' || result.outcome !== 'SUCCEEDED') {
      await removeAttemptFiles(workDir, launch.attemptId).catch(() => {});
    }
    log.info({ outcome: result.outcome, ...(result.outcome === 'FAILED' ? { code: result.code, cause: result.message } : {}) }, 'attempt finished');
    await this.report(launch.attemptId, result, log, gen);
  }

  /**
   * Reports an attempt's outcome, retrying with backoff while the master is
   * unreachable, for as long as this registration lasts: an outcome is never
   * dropped for a passing outage.
   */
  private async report(attemptId: string, result: ContainerOutcome, log: Logger, gen: number): Promise<void> {
    const report = { attemptId, workerId: this.workerId, result };
    for (let delay = 200; gen === this.generation && !this.stopped; delay = Math.min(delay * 2, 5_000)) {
      try {
        await this.client.reportAttempt(report);
        return;
      } catch (err) {
        const code = err instanceof LaminateError ? err.code : 'INTERNAL';
        if (code !== 'UNAVAILABLE' && code !== 'TIMEOUT') {
          log.warn({ err: errorMessage(err) }, 'master refused the report');
          return;
        }
        log.warn({ err: errorMessage(err), retryInMs: delay }, 'could not report the attempt: retrying');
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
    return readPartitionChunks(dataPath, info);
  }
}
