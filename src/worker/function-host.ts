/**
 * The worker's function containers: runs the `invoke` commands the master
 * sends in the containers it names (starting one, a cold start, when the
 * worker has none by that id), stops them on `stopContainer`, and lists them
 * for heartbeats. The master decides which containers exist and reserves
 * their memory; this side only carries it out, and says in each report when
 * an attempt's end took its container with it (timeout, memory, exit).
 */
import type { FunctionInvocation, FunctionInvocationReport } from '../common/function-invocation.js';
import { FUNCTION_LIMITS, type InvocationErrorCode } from '../common/function-shapes.js';
import { errorMessage } from '../common/errors.js';
import type { Logger } from '../common/logger.js';
import { FunctionCodeCache, type FunctionCodeEnvelope } from './function-code-cache.js';
import { FunctionContainer, type ContainerRunResult } from './function-container.js';

/**
 * What the host needs of the master. The worker's wiring implements it with
 * the master's GetFunctionCode RPC and a dataset producer.
 */
export interface FunctionMasterLink {
  /** A version's code, still encrypted, with its key. Called once per version per worker (then cached by hash). */
  getFunctionCode(functionName: string, version: number): Promise<FunctionCodeEnvelope>;
  /** Appends one record (JSON-compatible) to a dataset, resolving once it is durable: `ctx.emit`. */
  appendToDataset(dataset: string, record: unknown): Promise<void>;
}

/** The master as the worker's wiring sees it for functions: the host's needs, and where reports go. */
export interface WorkerFunctionLink extends FunctionMasterLink {
  /** Sends an attempt's report (the master's ReportInvocation); the worker retries it while the master is unreachable. */
  reportInvocation(report: FunctionInvocationReport): Promise<void>;
}

export interface FunctionHostOptions {
  readonly link: FunctionMasterLink;
  readonly logger: Logger;
  /** The worker's id, put in reports (it changes when the worker registers again). */
  readonly workerId: () => string;
  /** Plain code kept in memory, bytes. Default 64 MiB. */
  readonly codeCacheBytes?: number;
  /** Resident memory a container may use beyond its memory limit before it is killed as out of memory, MB. Default 64. */
  readonly rssSlackMb?: number;
  /** How often a busy container's resident size is read, ms. Default 50. */
  readonly memoryPollMs?: number;
  /** Time a module may take to load on a cold start, ms. Default 10,000 (Lambda's init limit). */
  readonly initTimeoutMs?: number;
  /** Folder containers run in. Default the OS's temporary folder. */
  readonly cwd?: string;
  /**
   * Memory sizes for which a blank container process is kept started ahead
   * (a spare: runtime imported, no function yet), the sizes of the latest
   * cold starts first. A cold start of such a size takes the spare and
   * skips the process start and runtime import; a new spare is started
   * after it. Each spare holds ~40 MB of resident memory outside the
   * master's reservations. Default 1 (128 MB from startSpares() until a cold
   * start of another size); 0 starts none.
   */
  readonly spares?: number;
}

export const FUNCTION_HOST_DEFAULTS = { codeCacheBytes: 64 * 1024 * 1024, rssSlackMb: 64, memoryPollMs: 50, initTimeoutMs: 10_000, spares: 1 } as const;

/** The memory size of the first spare: deploy's default (as Lambda's), so the common cold start finds one. */
const FIRST_SPARE_MB = 128;

/** A container id whose code is still being fetched: stopping it cancels the start. */
interface Pending { stopped: boolean }

export class FunctionHost {
  private readonly containers = new Map<string, FunctionContainer>();
  private readonly pending = new Map<string, Pending>();
  /** Blank processes started ahead, by memory size; in order of use (the least recently used size first). */
  private readonly spares = new Map<number, FunctionContainer>();
  private readonly code: FunctionCodeCache;
  private readonly log: Logger;
  private closed = false;

  constructor(private readonly options: FunctionHostOptions) {
    this.code = new FunctionCodeCache(options.codeCacheBytes ?? FUNCTION_HOST_DEFAULTS.codeCacheBytes);
    this.log = options.logger.child({ component: 'function-host' });
  }

  /**
   * Starts the first spare (128 MB) if none waits: the worker calls it once
   * registered (again after registering anew). Not in the constructor, so
   * that a host that never runs starts no process. Safe to repeat.
   */
  startSpares(): void {
    if (this.spares.size === 0) this.refillSpare(FIRST_SPARE_MB);
  }

  /**
   * Runs one attempt and resolves with its report; never rejects. Called
   * once per `invoke` command; the master sends a container one invocation
   * at a time (a second one while it is busy is refused as THROTTLED).
   */
  async invoke(inv: FunctionInvocation): Promise<FunctionInvocationReport> {
    const existing = this.containers.get(inv.containerId);
    if (existing?.busy || this.pending.has(inv.containerId)) return this.failure(inv, 'THROTTLED', `The container ${inv.containerId} is starting or running another invocation`, false, false);
    if (existing && (!existing.alive || !existing.runs(inv.function, inv.version, inv.memoryMb))) {
      // Not the container the master means any more: replace it.
      existing.stop('replaced');
      this.containers.delete(inv.containerId);
    }
    let container = this.containers.get(inv.containerId);
    let initMs = 0;
    if (!container) {
      const started = await this.coldStart(inv);
      if ('report' in started) return started.report;
      container = started.container;
      initMs = started.initMs;
    }
    const result = await container.run(inv.requestId, inv.eventId, inv.payload, inv.timeoutMs, FUNCTION_LIMITS.maxLogBytesPerInvocation, FUNCTION_LIMITS.maxSyncPayloadBytes);
    if (!result.ok && result.gone) this.containers.delete(inv.containerId);
    // The next cold start's spare, once this report is on its way (a spawn holds this thread for a few ms).
    if (initMs > 0) setImmediate(() => this.refillSpare(inv.memoryMb));
    return this.report(inv, container, result, initMs > 0, initMs);
  }

  /** Stops a container (idle, its function deleted, memory wanted back). Safe to repeat; false for an unknown id. */
  stop(containerId: string, reason: string): boolean {
    const pending = this.pending.get(containerId);
    if (pending) pending.stopped = true;
    const container = this.containers.get(containerId);
    this.containers.delete(containerId);
    container?.stop(reason);
    if (container || pending) this.log.info({ containerId, reason }, 'function container stopped');
    return container !== undefined || pending !== undefined;
  }

  /** The containers alive here (starting, idle or running), for heartbeats. */
  containerIds(): string[] {
    return [...this.pending.keys(), ...[...this.containers].filter(([, c]) => c.alive).map(([id]) => id)];
  }

  /** The process id of a container, for tests and diagnostics. */
  pidOf(containerId: string): number | undefined {
    return this.containers.get(containerId)?.pid;
  }

  /** The nice value a container was given (cpu-share.ts). */
  niceOf(containerId: string): number | undefined {
    return this.containers.get(containerId)?.nice;
  }

  /** The process ids of the spares (blank processes started ahead), for tests. */
  sparePids(): number[] {
    return [...this.spares.values()].map((c) => c.pid).filter((pid): pid is number => pid !== undefined);
  }

  /** Stops every container and spare (the worker is stopping, or registering again). Safe to repeat. */
  close(reason = 'worker stopping'): void {
    this.closed = true;
    for (const id of [...this.containers.keys(), ...this.pending.keys()]) this.stop(id, reason);
    for (const spare of this.spares.values()) spare.stop(reason);
    this.spares.clear();
  }

  /** Reopens after close() (the worker registered again with the master; it calls startSpares() then). */
  reopen(): void {
    this.closed = false;
  }

  /** A new container process of `memoryMb`, blank until its start(). */
  private newContainer(memoryMb: number): FunctionContainer {
    return new FunctionContainer({
      memoryMb,
      rssSlackMb: this.options.rssSlackMb ?? FUNCTION_HOST_DEFAULTS.rssSlackMb,
      memoryPollMs: this.options.memoryPollMs ?? FUNCTION_HOST_DEFAULTS.memoryPollMs,
      ...(this.options.cwd !== undefined ? { cwd: this.options.cwd } : {}),
    }, (_requestId, dataset, record) => this.options.link.appendToDataset(dataset, record), this.log);
  }

  /** A spare of `memoryMb` if one is alive (taken: the next is started after the cold start), else a new process. */
  private takeOrSpawn(memoryMb: number): FunctionContainer {
    const spare = this.spares.get(memoryMb);
    this.spares.delete(memoryMb);
    if (spare?.alive && spare.blank) return spare;
    spare?.stop('a spare that had exited');
    return this.newContainer(memoryMb);
  }

  /** Makes sure a spare of `memoryMb` waits (most recently used now), stopping the least recently used size's past the limit. */
  private refillSpare(memoryMb: number): void {
    const limit = this.options.spares ?? FUNCTION_HOST_DEFAULTS.spares;
    if (this.closed || limit <= 0) return;
    const kept = this.spares.get(memoryMb);
    this.spares.delete(memoryMb);
    this.spares.set(memoryMb, kept?.alive ? kept : this.newContainer(memoryMb));
    if (kept && !kept.alive) kept.stop('a spare that had exited');
    for (const [size, spare] of this.spares) {
      if (this.spares.size <= limit) break;
      this.spares.delete(size);
      spare.stop(`no cold start of ${size} MB lately`);
    }
  }

  private async coldStart(inv: FunctionInvocation): Promise<{ container: FunctionContainer; initMs: number } | { report: FunctionInvocationReport }> {
    const what = `function ${inv.function} version ${inv.version}`;
    const pending: Pending = { stopped: false };
    this.pending.set(inv.containerId, pending);
    let code: string;
    const fetchStart = performance.now();
    try {
      code = await this.code.get(inv.codeSha256, what, () => this.options.link.getFunctionCode(inv.function, inv.version));
    } catch (err) {
      this.pending.delete(inv.containerId);
      this.log.warn({ err, function: inv.function, version: inv.version }, 'could not get the function\'s code');
      // Not the function's fault: WORKER_LOST lets the master try it elsewhere.
      return { report: this.failure(inv, 'WORKER_LOST', `The worker could not get the code of ${what}: ${errorMessage(err)}`, true, true) };
    }
    const fetchMs = performance.now() - fetchStart;
    this.pending.delete(inv.containerId);
    if (pending.stopped || this.closed) {
      return { report: this.failure(inv, 'PROCESS_EXITED', `The container ${inv.containerId} was stopped before it started`, true, true) };
    }
    const container = this.takeOrSpawn(inv.memoryMb);
    this.containers.set(inv.containerId, container);
    const identity = { containerId: inv.containerId, functionName: inv.function, version: inv.version, env: inv.env };
    const started = await container.start(identity, code, this.options.initTimeoutMs ?? FUNCTION_HOST_DEFAULTS.initTimeoutMs);
    // The code fetch is part of a cold start as a caller sees it.
    const initMs = started.initMs + fetchMs;
    if (!started.ok) {
      this.containers.delete(inv.containerId);
      setImmediate(() => this.refillSpare(inv.memoryMb));
      this.log.info({ containerId: inv.containerId, function: inv.function, code: started.code }, 'function container failed to start');
      return { report: { ...this.failure(inv, started.code, started.message, true, true), initMs, maxMemoryUsedMb: container.readMaxMemoryUsedMb() } };
    }
    this.log.info({ containerId: inv.containerId, function: inv.function, version: inv.version, initMs: Math.round(initMs), nice: container.nice }, 'function container started');
    return { container, initMs };
  }

  private report(inv: FunctionInvocation, container: FunctionContainer, r: ContainerRunResult, coldStart: boolean, initMs: number): FunctionInvocationReport {
    return {
      requestId: inv.requestId, workerId: this.options.workerId(), containerId: inv.containerId,
      ok: r.ok, result: r.ok ? r.result : new Uint8Array(0), errorCode: r.ok ? '' : r.code, errorMessage: r.ok ? '' : r.message,
      durationMs: r.durationMs, coldStart, initMs, containerGone: !r.ok && r.gone, logs: r.logs,
      // An answered invocation brought the child's own peak; a failed one may not have: read /proc.
      maxMemoryUsedMb: r.ok ? container.maxMemoryUsedMb : container.readMaxMemoryUsedMb(),
    };
  }

  private failure(inv: FunctionInvocation, code: InvocationErrorCode, message: string, gone: boolean, coldStart: boolean): FunctionInvocationReport {
    return {
      requestId: inv.requestId, workerId: this.options.workerId(), containerId: inv.containerId, ok: false, result: new Uint8Array(0),
      errorCode: code, errorMessage: message, durationMs: 0, coldStart, initMs: 0, containerGone: gone, logs: [], maxMemoryUsedMb: 0,
    };
  }
}
