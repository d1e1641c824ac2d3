/**
 * The containers of one worker. A container that ran an attempt of a job
 * successfully is kept idle for the job's next attempt (Hadoop's JVM reuse,
 * Spark's executor), so short tasks do not pay a thread start and a bundle
 * load each. After a failure, a timeout or a kill the thread is discarded.
 *
 * Every thread may grow to its heap limit, idle or not, so the pool keeps the
 * threads it holds (running, idle and blank) within the worker's slots and
 * memory: it stops idle and blank ones to make room, and prestarts only into
 * room that is free.
 */
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import type { Logger } from '../common/logger.js';
import { Container } from './container.js';
import type { ContainerOutcome, ContainerTask } from './container-messages.js';
import { attemptsRun, containerStarts, type ContainerStartKind } from './worker-metrics.js';

export interface ContainerPoolOptions {
  /**
   * Threads held, running, idle and blank together: the worker's slots. A
   * target, not a hard limit: idle and blank threads are stopped to keep to
   * it, but a launch is never refused, and a killed thread still terminating
   * is not counted.
   */
  readonly maxThreads: number;
  /** Their heap limits added up: the worker's memory, in MB; a target like maxThreads. */
  readonly memoryMb: number;
  /**
   * Blank containers kept started, with no job yet, so that a new job's first
   * attempt does not wait for a thread to start and load the runtime. 0 for none.
   */
  readonly prestart?: number;
  /** Memory of prestarted containers, in MB: the default task memory. */
  readonly prestartMemoryMb?: number;
  /** Blank containers warm up while they wait for a job (container-warm-up.ts), each in a folder of its own under this one; unset: no warm-up. */
  readonly warmUpDir?: string;
  /** An idle container unused this long is stopped. Default 30 000 ms. */
  readonly idleMs?: number;
}

export class ContainerPool {
  private readonly idle: Container[] = [];
  private readonly blank: Container[] = [];
  private readonly running = new Map<string, Container>();
  private readonly sweeper: NodeJS.Timeout;
  /** Threads started so far; for tests and status. */
  started = 0;
  private closed = false;

  constructor(private readonly options: ContainerPoolOptions, private readonly log: Logger) {
    const idleMs = options.idleMs ?? 30_000;
    this.sweeper = setInterval(() => {
      const cutoff = Date.now() - idleMs;
      for (const c of this.idle.filter((x) => x.lastUsed < cutoff)) this.discard(c);
      this.topUp();
    }, Math.min(idleMs, 5_000));
    this.sweeper.unref();
    this.topUp();
  }

  /** Starts blank containers until `prestart` are waiting, into free room only. */
  private topUp(): void {
    const mb = this.options.prestartMemoryMb;
    if (mb === undefined || this.closed) return;
    while (this.blank.filter((c) => c.alive).length < (this.options.prestart ?? 0) && this.fits(mb)) {
      this.started++;
      // A folder of its own, by an id no other pool of the worker (one per registration) gives again.
      const warmUpDir = this.options.warmUpDir === undefined ? undefined : join(this.options.warmUpDir, randomUUID());
      this.blank.push(new Container('', mb, this.log, warmUpDir));
    }
  }

  private held(): Container[] {
    return [...this.running.values(), ...this.idle, ...this.blank].filter((c) => c.alive);
  }

  private fits(memoryMb: number): boolean {
    const held = this.held();
    return held.length + 1 <= this.options.maxThreads
      && held.reduce((sum, c) => sum + c.memoryMb, 0) + memoryMb <= this.options.memoryMb;
  }

  /** Stops blank, then the oldest idle, containers until a new one of memoryMb fits. */
  private makeRoom(memoryMb: number): void {
    while (!this.fits(memoryMb)) {
      const victim = this.blank[0] ?? this.idle[0];
      if (!victim) {
        this.log.warn({ held: this.held().length, maxThreads: this.options.maxThreads }, 'more container threads than slots: the master freed a slot before its thread ended');
        return;
      }
      if (this.blank[0] === victim) this.blank.shift();
      this.discard(victim);
    }
  }

  get runningAttempts(): string[] {
    return [...this.running.keys()];
  }

  /** Runs an attempt in a reused or new container; resolves with its outcome, never rejects. */
  async run(task: ContainerTask): Promise<ContainerOutcome> {
    if (this.closed) return { outcome: 'FAILED', code: 'KILLED', message: 'the worker is stopping' };
    const { attemptId, jobId, memoryMb } = task.launch;
    let c = this.idle.find((x) => x.jobId === jobId && x.memoryMb === memoryMb && x.alive);
    let kind: ContainerStartKind = 'reused';
    if (c) this.idle.splice(this.idle.indexOf(c), 1);
    else {
      c = this.blank.find((x) => x.memoryMb === memoryMb && x.alive);
      if (c) {
        this.blank.splice(this.blank.indexOf(c), 1);
        c.jobId = jobId;
        kind = 'prestarted';
      } else {
        this.makeRoom(memoryMb);
        c = new Container(jobId, memoryMb, this.log);
        this.started++;
        kind = 'cold';
      }
    }
    containerStarts().inc({ kind });
    this.running.set(attemptId, c);
    this.topUp();
    const result = await c.run(task);
    this.running.delete(attemptId);
    attemptsRun().inc({ kind: task.launch.kind, outcome: result.outcome });
    if (result.outcome === 'SUCCEEDED' && c.alive) {
      this.idle.push(c);
    } else {
      void c.destroy();
    }
    return result;
  }

  /** Kills a running attempt by terminating its container. Safe for unknown ids. */
  kill(attemptId: string): boolean {
    const c = this.running.get(attemptId);
    if (!c) return false;
    void c.destroy();
    return true;
  }

  /** Stops the idle containers of a finished job. */
  retireJob(jobId: string): void {
    for (const c of this.idle.filter((x) => x.jobId === jobId)) this.discard(c);
    // Room freed: have a blank container ready for the next job.
    this.topUp();
  }

  /** Stops every container; resolves once their threads have stopped. */
  close(): Promise<void> {
    this.closed = true;
    clearInterval(this.sweeper);
    const stopping = [...this.blank.splice(0), ...this.idle.splice(0), ...this.running.values()].map((c) => c.destroy());
    return Promise.all(stopping).then(() => {});
  }

  private discard(c: Container): void {
    const i = this.idle.indexOf(c);
    if (i >= 0) this.idle.splice(i, 1);
    void c.destroy();
  }
}
