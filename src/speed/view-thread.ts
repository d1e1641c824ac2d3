/**
 * The engine's handle on one view's thread: a worker_thread with a heap
 * limit (as batch containers have: src/worker/container.ts) running
 * view-thread-main. The handle keeps the view's latest assignment and the
 * thread's latest report, forwards reads and matches their answers.
 *
 * A thread that dies (out of memory, a crash, a bundle that does not load)
 * takes its unsaved state with it and nothing else: the handle reports every
 * partition busy with the reason, answers reads with every partition
 * uncovered for that reason, and starts a new thread after a backoff (1 s,
 * doubling to 30 s; back to 1 s after a minute alive), which restores from
 * the checkpoints and refolds the rest from the log.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { isErrorCode, LaminateError } from '../common/errors.js';
import type { Logger } from '../common/logger.js';
import { packageRoot } from '../common/package-root.js';
import type { SpeedAnswer, SpeedGetQuery, SpeedScanQuery, SpeedViewReport } from '../common/speed-shapes.js';
import { cutOffset } from './speed-read.js';
import type { FromViewThread, ToViewThread, ViewThreadAssignment, ViewThreadInit } from './view-thread-messages.js';
import { threadSecurity } from '../protocol/security.js';

/**
 * The thread entry, compiled: beside this file under dist/, and taken from
 * dist/ when this file runs from source (vitest, tsx), since a worker thread
 * cannot load TypeScript (`npm run build` first).
 */
function entry(): string {
  const beside = fileURLToPath(new URL('./view-thread-main.js', import.meta.url));
  return existsSync(beside) ? beside : join(packageRoot(), 'dist', 'src', 'speed', 'view-thread-main.js');
}

const MIN_RESTART_MS = 1000;
const MAX_RESTART_MS = 30_000;
const HEALTHY_MS = 60_000;

type Reply = { resolve: (a: SpeedAnswer) => void; reject: (e: unknown) => void; down: () => SpeedAnswer };

export class ViewThread {
  private thread: Worker | undefined;
  private assignment: ViewThreadAssignment;
  private lastReport: SpeedViewReport | undefined;
  /** Why the thread is down; undefined while it runs. */
  private down: string | undefined;
  private readonly pending = new Map<number, Reply>();
  private closing: Promise<void> | undefined;
  private nextId = 1;
  private restartMs = MIN_RESTART_MS;
  private startedAt = 0;
  private restartTimer: NodeJS.Timeout | undefined;
  /** Reads waiting (waitMs) for the thread to be back. */
  private upWaiters: Array<() => void> = [];
  private readonly log: Logger;

  constructor(readonly init: ViewThreadInit, assignment: ViewThreadAssignment, private readonly memoryMb: number, log: Logger) {
    this.log = log.child({ view: init.view });
    this.assignment = assignment;
    this.spawn();
  }

  get definitionHash(): string {
    return this.init.definitionHash;
  }

  private spawn(): void {
    this.down = undefined;
    this.startedAt = Date.now();
    const thread = new Worker(entry(), {
      // The thread's gRPC clients call with the process's token and TLS (security.ts).
      workerData: { security: threadSecurity() },
      resourceLimits: {
        maxOldGenerationSizeMb: this.memoryMb,
        maxYoungGenerationSizeMb: Math.max(8, Math.min(64, Math.floor(this.memoryMb / 8))),
      },
      stdout: false,
      stderr: false,
    });
    this.thread = thread;
    thread.on('message', (m: FromViewThread) => this.onMessage(m));
    thread.on('error', (err: Error & { code?: string }) => {
      const reason = err.code === 'ERR_WORKER_OUT_OF_MEMORY'
        ? `the view's thread ran out of its ${this.memoryMb} MB heap`
        : `the view's thread crashed: ${err.message}`;
      this.died(thread, reason);
    });
    thread.on('exit', (code) => this.died(thread, `the view's thread exited with code ${code}`));
    this.post({ type: 'init', init: this.init });
    this.post({ type: 'assign', assignment: this.assignment });
    const waiters = this.upWaiters;
    this.upWaiters = [];
    for (const w of waiters) w();
  }

  private post(m: ToViewThread): void {
    this.thread?.postMessage(m);
  }

  private onMessage(m: FromViewThread): void {
    switch (m.type) {
      case 'report':
        this.lastReport = m.report;
        return;
      case 'answer': {
        const r = this.pending.get(m.id);
        this.pending.delete(m.id);
        // Unknown id: an answer of a thread already counted as dead, whose reads were answered uncovered.
        if (r === undefined) return;
        if (m.answer !== undefined) r.resolve(m.answer);
        else r.reject(new LaminateError(isErrorCode(m.error?.code ?? '') ? (m.error!.code as never) : 'INTERNAL', m.error?.message ?? 'no answer'));
        return;
      }
      case 'closed': {
        const r = this.pending.get(m.id);
        this.pending.delete(m.id);
        r?.resolve({ view: this.init.view, partitions: [], entries: [] });
        return;
      }
      case 'log':
        this.log[m.level](m.fields, m.msg);
        return;
      case 'fatal':
        this.log.error({ reason: m.message }, 'view thread cannot run');
        if (this.thread !== undefined) {
          const t = this.thread;
          this.died(t, m.message);
          void t.terminate();
        }
        return;
    }
  }

  /** The thread `thread` ended or failed: answer what waited on it, and restart after the backoff unless closing. */
  private died(thread: Worker, reason: string): void {
    // 'error' is followed by 'exit': the first one tells the reason.
    if (this.thread !== thread) return;
    this.thread = undefined;
    if (this.closing !== undefined) {
      for (const r of this.pending.values()) r.resolve({ view: this.init.view, partitions: [], entries: [] });
      this.pending.clear();
      return;
    }
    this.down = reason;
    this.log.error({ reason, restartInMs: this.restartMs }, 'view thread down: every partition uncovered until it restarts from its checkpoints');
    for (const r of this.pending.values()) {
      // down() throws for a cut that does not name an assigned partition (bad input, or a partition
      // assigned since the read was posted): thrown here, out of the thread's event handler, it would
      // end the speed process and leave the other reads unanswered.
      try {
        r.resolve(r.down());
      } catch (err) {
        r.reject(err);
      }
    }
    this.pending.clear();
    if (Date.now() - this.startedAt > HEALTHY_MS) this.restartMs = MIN_RESTART_MS;
    this.restartTimer = setTimeout(() => {
      this.restartTimer = undefined;
      if (this.closing === undefined) this.spawn();
    }, this.restartMs);
    this.restartTimer.unref();
    this.restartMs = Math.min(this.restartMs * 2, MAX_RESTART_MS);
  }

  /** Hands the view's latest assignment to the thread (kept for a restart). Safe to repeat. */
  assign(a: ViewThreadAssignment): void {
    this.assignment = a;
    this.post({ type: 'assign', assignment: a });
  }

  /** The view's report: the thread's last one, or every partition busy while it is down. */
  report(): SpeedViewReport {
    const busy = this.down === undefined ? undefined : `busy: ${this.down}; restarting`;
    const last = this.lastReport;
    const partitions = this.assignment.partitions.map((p) => {
      const r = last?.partitions.find((x) => x.partition === p);
      const h = this.assignment.handoffCut[p] ?? 0;
      const base = r ?? { partition: p, applied: h, start: h, end: h, caughtUpAt: 0, busy: 'busy: starting' };
      if (busy === undefined) return base;
      const { stopped: _s, ...rest } = base;
      return { ...rest, busy };
    });
    return { view: this.init.view, definitionHash: this.init.definitionHash, partitions, ...(last?.watermark !== undefined ? { watermark: last.watermark } : {}) };
  }

  /** The answer while the thread is down: every assigned partition uncovered with the reason. */
  private downAnswer(cut: readonly number[]): SpeedAnswer {
    const reason = `busy: ${this.down ?? "the view's thread stopped"}; restarting`;
    return {
      view: this.init.view,
      entries: [],
      partitions: this.assignment.partitions.map((p) => {
        const c = cutOffset(cut, p);
        const r = this.lastReport?.partitions.find((x) => x.partition === p);
        return { partition: p, applied: c, lag: Math.max(0, (r?.end ?? c) - c), caughtUpAt: r?.caughtUpAt ?? 0, uncovered: reason };
      }),
    };
  }

  private request(m: ToViewThread & { id: number }, cut: readonly number[]): Promise<SpeedAnswer> {
    if (this.thread === undefined || this.closing !== undefined) return Promise.resolve(this.downAnswer(cut));
    return new Promise((resolve, reject) => {
      this.pending.set(m.id, { resolve, reject, down: () => this.downAnswer(cut) });
      this.post(m);
    });
  }

  /**
   * A Get; while the thread is down, one with waitMs waits for its restart
   * (then the thread waits the rest), else answers every partition uncovered.
   */
  async get(q: SpeedGetQuery): Promise<SpeedAnswer> {
    const waitMs = q.waitMs ?? 0;
    if (this.thread === undefined && this.closing === undefined && waitMs > 0) {
      const started = Date.now();
      await new Promise<void>((resolve) => {
        const t = setTimeout(done, waitMs);
        function done(): void {
          clearTimeout(t);
          resolve();
        }
        this.upWaiters.push(done);
      });
      const left = waitMs - (Date.now() - started);
      if (this.thread === undefined || left <= 0) return this.downAnswer(q.cut);
      q = { ...q, waitMs: left };
    }
    return this.request({
      type: 'get', id: this.nextId++, cut: q.cut, keys: q.keys,
      ...(q.base !== undefined ? { base: q.base } : {}),
      ...(q.atLeast !== undefined ? { atLeast: q.atLeast } : {}),
      ...(q.waitMs !== undefined ? { waitMs: q.waitMs } : {}),
    }, q.cut);
  }

  scan(q: SpeedScanQuery): Promise<SpeedAnswer> {
    return this.request({
      type: 'scan', id: this.nextId++, cut: q.cut,
      ...(q.prefix !== undefined ? { prefix: q.prefix } : {}),
      ...(q.from !== undefined ? { from: q.from } : {}),
      ...(q.to !== undefined ? { to: q.to } : {}),
      ...(q.limit !== undefined ? { limit: q.limit } : {}),
    }, q.cut);
  }

  /** Last checkpoints, then the thread ends. Safe to repeat (the same promise). */
  close(): Promise<void> {
    this.closing ??= this.doClose();
    return this.closing;
  }

  private async doClose(): Promise<void> {
    if (this.restartTimer !== undefined) clearTimeout(this.restartTimer);
    const thread = this.thread;
    if (thread === undefined) return;
    const id = this.nextId++;
    await new Promise<void>((resolve) => {
      this.pending.set(id, { resolve: () => resolve(), reject: () => resolve(), down: () => ({ view: this.init.view, partitions: [], entries: [] }) });
      thread.postMessage({ type: 'close', id } satisfies ToViewThread);
    });
    this.thread = undefined;
    await thread.terminate();
  }
}
