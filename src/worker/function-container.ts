/**
 * A function container: one child process running one function version's
 * handler, one invocation at a time, kept warm between invocations until it
 * is stopped. A child process rather than a worker thread, because a handler
 * may call process.exit, block its event loop, allocate outside the V8 heap
 * or read process.env: here each of those stays in the child (its own heap
 * limit, its own environment, killable at once with SIGKILL).
 *
 * The worker watches it from outside: a timer SIGKILLs it at the timeout
 * (TIMEOUT), V8's fatal "heap out of memory" on stderr or a resident size
 * past the memory limit plus a slack (Buffers live outside the heap limit)
 * makes OUT_OF_MEMORY, and any other end mid-invocation PROCESS_EXITED.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { getPriority, setPriority, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { InvocationLogLine } from '../common/function-invocation.js';
import type { InvocationErrorCode } from '../common/function-shapes.js';
import type { Logger } from '../common/logger.js';
import { packageRoot } from '../common/package-root.js';
import { niceForMemory } from './cpu-share.js';
import type { FromFunctionContainer, ToFunctionContainer } from './function-messages.js';

/**
 * The child's entry, compiled: beside this file under dist/, and taken from
 * dist/ when this file runs from source (vitest, tsx), as container.ts does.
 */
function entry(): string {
  const beside = fileURLToPath(new URL('./function-main.js', import.meta.url));
  return existsSync(beside) ? beside : join(packageRoot(), 'dist', 'src', 'worker', 'function-main.js');
}
const ENTRY = entry();
/** util-linux's setpriv: with --pdeathsig, the kernel kills the child when the worker dies, even if its event loop is blocked. */
const SETPRIV = ['/usr/bin/setpriv', '/bin/setpriv'].find((p) => existsSync(p));
/** Bytes of the child's stderr kept, to tell a heap overflow or a crash's message. */
const STDERR_TAIL_BYTES = 8 * 1024;
/** How long the end of stderr is awaited after the process exits, ms. */
const STDERR_GRACE_MS = 200;
const OOM_PATTERN = /heap out of memory|Allocation failed|Reached heap limit|memory limit exceeded/i;

/** What a container's process is started with: its memory (heap limits are fixed at a process's start). */
export interface ContainerProcessOptions {
  readonly memoryMb: number;
  /** Resident memory allowed above memoryMb (the runtime itself, code, young generation, Buffers), MB. */
  readonly rssSlackMb: number;
  /** How often the resident size is read while an invocation runs, ms. */
  readonly memoryPollMs: number;
  /** Folder the child runs in. */
  readonly cwd?: string;
}

/** Which function a container runs: given when its code is loaded (a process may be started blank, ahead of it). */
export interface ContainerIdentity {
  readonly containerId: string;
  readonly functionName: string;
  readonly version: number;
  /** The function's environment; the only variables the handler sees, with LAMINATE_FUNCTION_NAME, _VERSION and _MEMORY_MB. */
  readonly env: Readonly<Record<string, string>>;
}

export type FunctionContainerOptions = ContainerProcessOptions & ContainerIdentity;

export type ContainerRunResult =
  | { readonly ok: true; readonly result: Uint8Array; readonly durationMs: number; readonly logs: readonly InvocationLogLine[] }
  | {
    readonly ok: false; readonly code: InvocationErrorCode; readonly message: string; readonly durationMs: number;
    readonly logs: readonly InvocationLogLine[];
    /** The process is gone (or being killed): the container cannot be used again. */
    readonly gone: boolean;
  };

export type ContainerStartResult =
  | { readonly ok: true; readonly initMs: number }
  | { readonly ok: false; readonly code: InvocationErrorCode; readonly message: string; readonly initMs: number };

interface Running {
  readonly requestId: string;
  readonly started: number;
  readonly resolve: (r: ContainerRunResult) => void;
  readonly timer: NodeJS.Timeout;
  readonly timeoutMs: number;
  /** Lines the child sent before its result. */
  readonly logs: InvocationLogLine[];
}

export type EmitSink = (requestId: string, dataset: string, record: unknown) => Promise<void>;

/** Emits of one container waiting for their append; more are refused (a handler cannot fill the worker's memory so). */
const MAX_EMITS_IN_FLIGHT = 1_000;

/** Before start(): a blank process, no function yet. */
const BLANK: ContainerIdentity = { containerId: '', functionName: '', version: 0, env: {} };

export class FunctionContainer {
  private readonly child: ChildProcess;
  private readonly spawnedAt = performance.now();
  /** When the child had imported its runtime and was ready for code (undefined until then). */
  private bootedAt: number | undefined;
  /** Whence this container's init time counts: its spawn, or start() for a process started ahead (a spare). */
  private initFrom = this.spawnedAt;
  private identity: ContainerIdentity = BLANK;
  private stderrTail = '';
  private running: Running | undefined;
  private starting: ((r: ContainerStartResult) => void) | undefined;
  private exited = false;
  /** The process has exited; its end is being told (afterExit). */
  private exitSeen = false;
  /** Why this side killed the child, if it did. */
  private killCause: 'TIMEOUT' | 'OUT_OF_MEMORY' | 'STOPPED' | undefined;
  private stopReason = '';
  private poller: NodeJS.Timeout | undefined;
  private peakRssKb = 0;
  private emitsInFlight = 0;
  private idleTicks = 0;
  readonly nice: number;

  /**
   * Starts the process, blank: it imports its runtime and waits for start()
   * to send it a function's code and environment. So the worker can start
   * one ahead of the invocation that will need it (a spare, function-host.ts).
   */
  constructor(private readonly processOptions: ContainerProcessOptions, private readonly emitSink: EmitSink, private readonly log: Logger) {
    const options = processOptions;
    const { memoryMb } = options;
    const nodeArgs = [
      `--max-old-space-size=${memoryMb}`,
      // The young generation is outside max-old-space-size: keep it small for small functions.
      `--max-semi-space-size=${Math.max(1, Math.min(16, Math.floor(memoryMb / 64)))}`,
      ENTRY,
    ];
    const [command, args] = SETPRIV ? [SETPRIV, ['--pdeathsig', 'KILL', '--', process.execPath, ...nodeArgs]] : [process.execPath, nodeArgs];
    this.child = spawn(command, args, {
      // Nothing of the worker's environment: the function's own arrives with its code (start()).
      env: {},
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      serialization: 'advanced',
      cwd: options.cwd ?? tmpdir(),
      // Not detached: a new session would be a new scheduler autogroup, where nice values no longer compare (cpu-share.ts).
    });
    this.nice = niceForMemory(memoryMb, getPriority());
    // The handler's console is captured inside the child; only raw writes to fd 1 and 2 (and crashes) arrive here.
    this.child.stdout?.resume();
    this.child.stderr?.on('data', (chunk: Buffer) => {
      this.stderrTail = (this.stderrTail + chunk.toString('utf8')).slice(-STDERR_TAIL_BYTES);
    });
    this.child.on('message', (msg: FromFunctionContainer) => this.onMessage(msg));
    this.child.on('error', (err) => {
      this.stderrTail += `\n${err.message}`;
      this.onExit(null, null);
    });
    this.child.on('exit', (code, signal) => this.afterExit(code, signal));
    this.poller = setInterval(() => this.checkMemory(), options.memoryPollMs);
    this.poller.unref();
  }

  /** The process's options and, once start() was called, the function it runs. */
  get options(): FunctionContainerOptions {
    return { ...this.processOptions, ...this.identity };
  }

  get id(): string {
    return this.identity.containerId;
  }

  /**
   * Whether this is the container the master means by an `invoke` (same
   * function, version and memory): checked on every invocation, so read
   * straight from the fields, not through `options` (which builds an object).
   */
  runs(functionName: string, version: number, memoryMb: number): boolean {
    return this.identity.functionName === functionName && this.identity.version === version && this.processOptions.memoryMb === memoryMb;
  }

  /** Not yet given a function (start() not called). */
  get blank(): boolean {
    return this.identity === BLANK;
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  /** False once the process has exited or is being killed. */
  get alive(): boolean {
    return !this.exited && !this.exitSeen && this.killCause === undefined;
  }

  /** Starting (its module loading) or running an invocation. */
  get busy(): boolean {
    return this.running !== undefined || this.starting !== undefined;
  }

  /**
   * Peak resident size of the process so far, MB: the larger of what the
   * memory poller read from /proc and what the child said with its last
   * result. Reads nothing itself, so that a warm invocation's return path
   * holds no file read; readMaxMemoryUsedMb() reads /proc now.
   */
  get maxMemoryUsedMb(): number {
    return Math.ceil(this.peakRssKb / 1024);
  }

  /** As maxMemoryUsedMb, reading /proc first (for an attempt that failed: the child told nothing). */
  readMaxMemoryUsedMb(): number {
    this.readMemory();
    return this.maxMemoryUsedMb;
  }

  /**
   * Makes the container `identity`'s and loads its code; resolves when the
   * handler is ready or the load failed (the container is then stopped).
   * initMs counts from the spawn, or from this call for a process that had
   * already booted (started ahead, as a spare). Called once, first; never
   * rejects. `initTimeoutMs` bounds a module that never finishes loading.
   */
  start(identity: ContainerIdentity, code: string, initTimeoutMs: number): Promise<ContainerStartResult> {
    this.identity = identity;
    if (this.bootedAt !== undefined) this.initFrom = performance.now();
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.kill('TIMEOUT');
        finish({ ok: false, code: 'TIMEOUT', message: `The function's module did not load within ${initTimeoutMs} ms`, initMs: this.sinceSpawn() });
      }, initTimeoutMs);
      timer.unref();
      const finish = (r: ContainerStartResult): void => {
        clearTimeout(timer);
        this.starting = undefined;
        if (!r.ok) this.kill('STOPPED');
        resolve(r);
      };
      this.starting = finish;
      const env = {
        ...identity.env, LAMINATE_FUNCTION_NAME: identity.functionName, LAMINATE_FUNCTION_VERSION: String(identity.version),
        LAMINATE_FUNCTION_MEMORY_MB: String(this.processOptions.memoryMb),
      };
      this.send({ type: 'load', code, env });
    });
  }

  /** Runs one invocation; resolves with its end, never rejects. Not to be called while busy or before start resolved ok. */
  run(requestId: string, eventId: string, payload: Uint8Array, timeoutMs: number, maxLogBytes: number, maxResultBytes: number): Promise<ContainerRunResult> {
    return new Promise((resolve) => {
      if (!this.alive) {
        resolve({ ok: false, code: 'PROCESS_EXITED', message: 'The container had already stopped', durationMs: 0, logs: [], gone: true });
        return;
      }
      const timer = setTimeout(() => {
        this.log.warn({ containerId: this.id, requestId, timeoutMs }, 'invocation timed out: killing its container');
        this.kill('TIMEOUT');
        this.finish({ ok: false, code: 'TIMEOUT', message: `The invocation ran past its timeout of ${timeoutMs} ms and was stopped`, durationMs: timeoutMs, logs: [], gone: true });
      }, timeoutMs);
      timer.unref();
      this.running = { requestId, started: performance.now(), resolve, timer, timeoutMs, logs: [] };
      this.send({ type: 'invoke', requestId, eventId, payload, timeoutMs, maxLogBytes, maxResultBytes });
    });
  }

  /** SIGKILLs the process; a running invocation ends PROCESS_EXITED (`reason` in its message). Safe to repeat. */
  stop(reason: string): void {
    this.stopReason = reason;
    this.kill('STOPPED');
  }

  private kill(cause: NonNullable<FunctionContainer['killCause']>): void {
    if (this.exited || this.killCause !== undefined) return;
    this.killCause = cause;
    this.child.kill('SIGKILL');
  }

  /**
   * Sets the child's nice value from its memory (cpu-share.ts) once its
   * module has loaded: the cold start itself runs at the worker's priority,
   * as Lambda lets a function's init phase burst above its memory's share.
   */
  private lowerPriority(): void {
    try {
      if (this.child.pid !== undefined) setPriority(this.child.pid, this.nice);
    } catch (err) {
      this.log.warn({ err, containerId: this.id }, 'could not set the container\'s nice value: its CPU share is not proportional to its memory');
    }
  }

  private send(msg: ToFunctionContainer): void {
    if (!this.child.connected) return;
    // The callback form: a channel closed under us is an 'exit' to come, not an 'error' to throw.
    this.child.send(msg, (err) => {
      if (err) this.log.debug({ containerId: this.id, err: err.message }, 'could not message the container');
    });
  }

  private sinceSpawn(): number {
    return performance.now() - this.initFrom;
  }

  private onMessage(msg: FromFunctionContainer): void {
    switch (msg.type) {
      case 'booted':
        this.bootedAt = performance.now();
        return;
      case 'loaded':
        this.lowerPriority();
        this.starting?.({ ok: true, initMs: this.sinceSpawn() });
        return;
      case 'loadFailed':
        this.starting?.({ ok: false, code: msg.code, message: msg.message, initMs: this.sinceSpawn() });
        return;
      case 'emit':
        void this.emit(msg);
        return;
      case 'logs':
        if (this.running?.requestId === msg.requestId) this.running.logs.push(...msg.lines);
        return;
      case 'result': {
        if (this.running?.requestId !== msg.requestId) return;
        this.peakRssKb = Math.max(this.peakRssKb, msg.maxRssKb);
        const { outcome, durationMs } = msg;
        const logs = [...this.running.logs, ...msg.logs];
        this.finish(outcome.ok ? { ok: true, result: outcome.result, durationMs, logs } : { ...outcome, durationMs, logs, gone: false });
        return;
      }
    }
  }

  private async emit(msg: Extract<FromFunctionContainer, { type: 'emit' }>): Promise<void> {
    let error = '';
    if (this.running?.requestId !== msg.requestId) {
      error = `The invocation ${msg.requestId} has ended: its emits are refused`;
    } else if (this.emitsInFlight >= MAX_EMITS_IN_FLIGHT) {
      error = `More than ${MAX_EMITS_IN_FLIGHT} emits are waiting: await ctx.emit before emitting more`;
    } else {
      this.emitsInFlight++;
      try {
        await this.emitSink(msg.requestId, msg.dataset, msg.record);
      } catch (err) {
        error = err instanceof Error ? err.message : String(err);
      } finally {
        this.emitsInFlight--;
      }
    }
    this.send({ type: 'emitted', id: msg.id, error });
  }

  private finish(result: ContainerRunResult): void {
    const run = this.running;
    if (!run) return;
    this.running = undefined;
    clearTimeout(run.timer);
    // An invocation that ended with its process keeps the lines that had arrived.
    run.resolve(result.ok || result.logs.length > 0 ? result : { ...result, logs: run.logs });
  }

  /**
   * The process has exited, but its last stderr (V8's "heap out of memory",
   * a crash's message) may still be in the pipe: wait for the pipe's end,
   * though not for long, since a process the handler spawned may hold it open.
   */
  private afterExit(code: number | null, signal: NodeJS.Signals | null): void {
    this.exitSeen = true;
    const stderr = this.child.stderr;
    if (!stderr || stderr.readableEnded || stderr.destroyed) {
      this.onExit(code, signal);
      return;
    }
    const done = (): void => {
      clearTimeout(timer);
      this.onExit(code, signal);
    };
    const timer = setTimeout(done, STDERR_GRACE_MS);
    stderr.once('end', done);
    stderr.once('close', done);
  }

  private onExit(code: number | null, signal: NodeJS.Signals | null): void {
    if (this.exited) return;
    this.exited = true;
    if (this.poller) clearInterval(this.poller);
    const oom = this.killCause === 'OUT_OF_MEMORY' || OOM_PATTERN.test(this.stderrTail);
    const how = signal ? `was killed by ${signal}` : `exited with code ${code ?? 'unknown'}`;
    const tail = this.stderrTail.trim().split('\n').slice(-6).join('\n');
    const memory = `The function outgrew its memory limit of ${this.processOptions.memoryMb} MB`;
    if (this.starting) {
      this.starting(oom
        ? { ok: false, code: 'OUT_OF_MEMORY', message: `${memory} while its module loaded`, initMs: this.sinceSpawn() }
        : { ok: false, code: 'PROCESS_EXITED', message: `The function's process ${how} while its module loaded${tail ? `: ${tail}` : ''}`, initMs: this.sinceSpawn() });
    }
    const run = this.running;
    if (!run) {
      if (this.killCause === undefined) this.log.info({ containerId: this.id, code, signal }, 'idle function container exited');
      return;
    }
    const durationMs = performance.now() - run.started;
    if (oom) {
      this.finish({ ok: false, code: 'OUT_OF_MEMORY', message: `${memory} and was stopped`, durationMs, logs: [], gone: true });
    } else if (this.killCause === 'STOPPED') {
      this.finish({ ok: false, code: 'PROCESS_EXITED', message: `The container was stopped mid-invocation (${this.stopReason || 'stopped'})`, durationMs, logs: [], gone: true });
    } else {
      this.finish({ ok: false, code: 'PROCESS_EXITED', message: `The function's process ${how} before answering${tail ? `: ${tail}` : ''}`, durationMs, logs: [], gone: true });
    }
  }

  /** Reads the resident size; past the limit (the heap limit does not bound Buffers), kills the process as out of memory. */
  private checkMemory(): void {
    // Idle, a container runs only stray timers: read it ten times less often.
    if (!this.running && !this.starting && ++this.idleTicks % 10 !== 0) return;
    const rssKb = this.readMemory();
    const { memoryMb, rssSlackMb } = this.processOptions;
    if (rssKb > (memoryMb + rssSlackMb) * 1024) {
      this.log.warn({ containerId: this.id, rssMb: Math.round(rssKb / 1024), memoryMb }, 'function container over its memory: killing it');
      this.kill('OUT_OF_MEMORY');
    }
  }

  /** The current resident size in kB (0 once gone), updating the peak. */
  private readMemory(): number {
    if (this.exited || this.child.pid === undefined) return 0;
    try {
      const status = readFileSync(`/proc/${this.child.pid}/status`, 'latin1');
      const rss = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
      const hwm = Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0);
      this.peakRssKb = Math.max(this.peakRssKb, hwm, rss);
      return rss;
    } catch {
      return 0; // gone between the exit and its event, or no /proc (not Linux): the heap limit still holds
    }
  }
}
