/**
 * A container: one worker thread with a heap limit, running one task attempt
 * at a time, reusable for later attempts of the same job. The thread is
 * terminated when an attempt outgrows its memory (cause OUT_OF_MEMORY), runs
 * past its timeout (cause TIMEOUT) or is killed; none of these harms the
 * worker process or other containers.
 */
import { setFlagsFromString } from 'node:v8';
import { Worker } from 'node:worker_threads';
import type { Logger } from '../common/logger.js';
import type { ContainerData, ContainerOutcome, ContainerTask, FromContainer, ToContainer } from './container-messages.js';

import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { packageRoot } from '../common/package-root.js';
import { threadSecurity } from '../protocol/security.js';
import { sizeContainerHeaps } from './container-heap.js';

/**
 * The thread entry, compiled: beside this file under dist/, and taken from
 * dist/ when this file runs from source (vitest, tsx), since a worker thread
 * cannot load TypeScript.
 */
function entry(): string {
  const beside = fileURLToPath(new URL('./container-main.js', import.meta.url));
  return existsSync(beside) ? beside : join(packageRoot(), 'dist', 'src', 'worker', 'container-main.js');
}
const ENTRY = entry();

export class Container {
  private readonly thread: Worker;
  private current: { attemptId: string; resolve: (r: ContainerOutcome) => void; timer: NodeJS.Timeout; memoryMb: number; kind: string } | undefined;
  private dead = false;
  /** The job whose bundle this container has loaded; '' while blank (pre-started, no job yet). */
  jobId: string;
  readonly memoryMb: number;
  lastUsed = Date.now();

  /**
   * `warmUpDir`: a blank container that warms up while it waits for a job
   * (container-warm-up.ts) writes there, a folder of its own; removed here
   * once the thread has exited (a warm-up cut short by a terminate cannot).
   */
  constructor(jobId: string, memoryMb: number, private readonly log: Logger, warmUpDir?: string) {
    this.jobId = jobId;
    this.memoryMb = memoryMb;
    // The thread's gRPC clients call with the process's token and TLS (security.ts).
    const data: ContainerData = { security: threadSecurity(), ...(warmUpDir === undefined ? {} : { warmUpDir }) };
    sizeContainerHeaps(setFlagsFromString);
    this.thread = new Worker(ENTRY, {
      workerData: data,
      resourceLimits: {
        maxOldGenerationSizeMb: memoryMb,
        maxYoungGenerationSizeMb: Math.max(8, Math.min(64, Math.floor(memoryMb / 8))),
      },
      stdout: false,
      stderr: false,
    });
    this.thread.on('message', (m: FromContainer) => {
      if (m.type === 'result' && this.current?.attemptId === m.attemptId) this.finish(m.result);
      else if (m.type === 'warmed-up') {
        const { outcome, ms, records, message } = m.report;
        if (outcome === 'failed') this.log.warn({ ms, records, err: new Error(message) }, 'container warm-up failed (the container runs attempts as usual)');
        else this.log.info({ outcome, ms, records }, 'container warm-up ended');
      }
    });
    this.thread.on('error', (err: Error & { code?: string }) => {
      this.dead = true;
      if (err.code === 'ERR_WORKER_OUT_OF_MEMORY') {
        this.finish({
          outcome: 'FAILED', code: 'OUT_OF_MEMORY',
          message: `attempt exceeded its memory limit of ${this.memoryMb} MB; raise --${this.current?.kind ?? 'map'}-memory`,
        });
      } else {
        this.finish({ outcome: 'FAILED', code: 'INTERNAL', message: `container crashed: ${err.message}` });
      }
    });
    this.thread.on('exit', (code) => {
      if (warmUpDir !== undefined) void rm(warmUpDir, { recursive: true, force: true }).catch(() => {});
      this.dead = true;
      this.finish({ outcome: 'FAILED', code: 'INTERNAL', message: `container exited with code ${code}` });
    });
  }

  get alive(): boolean {
    return !this.dead;
  }

  /** Runs one attempt; resolves with its outcome, never rejects. Not to be called while busy. */
  run(task: ContainerTask): Promise<ContainerOutcome> {
    const { attemptId, timeoutMs, memoryMb, kind } = task.launch;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.log.warn({ attemptId, timeoutMs }, 'attempt timed out: terminating its container');
        this.finish({ outcome: 'FAILED', code: 'TIMEOUT', message: `attempt ran longer than its timeout of ${timeoutMs} ms (--task-timeout)` });
        void this.destroy();
      }, timeoutMs);
      timer.unref();
      this.current = { attemptId, resolve, timer, memoryMb, kind };
      const msg: ToContainer = { type: 'run', task };
      this.thread.postMessage(msg);
    });
  }

  /**
   * Terminates the thread; a running attempt resolves as killed. Safe to
   * call twice. Resolves once the thread has stopped (callers that do not
   * need to wait ignore it).
   */
  destroy(): Promise<void> {
    this.dead = true;
    this.finish({ outcome: 'FAILED', code: 'KILLED', message: 'container terminated' });
    return this.thread.terminate().then(() => {}, () => {});
  }

  private finish(result: ContainerOutcome): void {
    const cur = this.current;
    if (!cur) return;
    this.current = undefined;
    clearTimeout(cur.timer);
    this.lastUsed = Date.now();
    cur.resolve(result);
  }
}
