/**
 * What every trigger (event source) is and is given. A trigger watches one
 * source for one function (a dataset, a view, a folder, a clock) and hands
 * each event to the invoker's asynchronous policy (deliver: retries, then
 * dead letter); it keeps its own progress in a small state file so that a
 * restarted master goes on where it was. The manager (trigger-manager.ts)
 * starts one per (function, trigger spec) and stops it when the function is
 * deleted or redeployed with other triggers.
 */
import { mkdir, readFile, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Clock } from '../../common/clock.js';
import type { Logger } from '../../common/logger.js';
import { LaminateError } from '../../common/errors.js';
import { writeFileAtomic } from '../../storage/atomic-file.js';
import type { FunctionInvoker } from '../invoker.js';

export interface Trigger {
  /** Begins watching; resolves once the trigger's starting position is durable (so a crash after it misses nothing). Called once. */
  start(): Promise<void>;
  /**
   * Stops watching and abandons an event in flight (its delivery goes on in
   * the invoker, but its progress is not recorded: a restarted master
   * delivers it again, with the same event id). Safe to call twice.
   */
  stop(): Promise<void>;
}

export interface TriggerDeps {
  /** The function the trigger invokes (its live version at each event). */
  readonly functionName: string;
  readonly invoker: Pick<FunctionInvoker, 'deliver'>;
  /** The trigger's own state file (a JSON document); see TriggerState. */
  readonly state: TriggerState;
  readonly clock: Clock;
  readonly log: Logger;
}

/**
 * One JSON document persisted atomically (temporary file, fsync, rename):
 * after a crash it holds the last saved value or the one before, never a torn
 * one. Writes are serialised; save() resolves once the value is durable.
 */
export class TriggerState<T = unknown> {
  private chain: Promise<void> = Promise.resolve();
  /** The write waiting behind the one under way, if any, and the newest value it will write. */
  private next: Promise<void> | undefined;
  private queued: string | undefined;
  private made = false;

  constructor(readonly path: string) {}

  /** The saved value, or undefined when none was saved. DATA_LOSS for a file that is not JSON. */
  async load(): Promise<T | undefined> {
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
    try {
      return JSON.parse(text) as T;
    } catch (err) {
      throw new LaminateError('DATA_LOSS', `Expected trigger state ${this.path} to be JSON, got unreadable bytes`, { cause: err });
    }
  }

  /**
   * Saves `value` durably; calls are applied in the order made. A save asked
   * for while another is being written waits for it, and saves piling up
   * behind it are written once, with the newest value (each caller's promise
   * resolves once a value at least as new as its own is durable).
   */
  save(value: T): Promise<void> {
    this.queued = JSON.stringify(value);
    this.next ??= this.chain.then(async () => {
      this.next = undefined;
      const text = this.queued!;
      this.queued = undefined;
      if (!this.made) {
        await mkdir(dirname(this.path), { recursive: true });
        this.made = true;
      }
      await writeFileAtomic(this.path, text);
    });
    const p = this.next;
    this.chain = p.catch(() => {});
    return p;
  }

  /** Removes the file (the function was deleted). */
  async remove(): Promise<void> {
    await this.chain;
    await rm(this.path, { force: true });
  }
}

/** The state file of one trigger of one function, under the triggers' folder. */
export function triggerStatePath(root: string, functionName: string, key: string): string {
  // Function names are checked by the catalog ([a-z0-9-]); the key is made file-safe here.
  return join(root, functionName, `${key.replace(/[^A-Za-z0-9._-]/g, '_')}.json`);
}

/** Resolves after `ms` or when `signal` aborts (resolving false then). The timer is unref'd. */
export function sleep(ms: number, signal: AbortSignal): Promise<boolean> {
  return new Promise((resolve) => {
    if (signal.aborted) {
      resolve(false);
      return;
    }
    const done = (): void => {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve(!signal.aborted);
    };
    const t = setTimeout(done, Math.max(0, ms));
    t.unref();
    signal.addEventListener('abort', done, { once: true });
  });
}

/**
 * `p`, or undefined as soon as `signal` aborts: how a stopping trigger lets
 * go of a delivery in flight without waiting for it (a rejection of `p`
 * after the abort is dropped).
 */
export function unlessAborted<T>(p: Promise<T>, signal: AbortSignal): Promise<T | undefined> {
  if (signal.aborted) {
    p.catch(() => {});
    return Promise.resolve(undefined);
  }
  return new Promise<T | undefined>((resolve, reject) => {
    const onAbort = (): void => resolve(undefined);
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(
      (v) => { signal.removeEventListener('abort', onAbort); resolve(v); },
      (err: unknown) => { signal.removeEventListener('abort', onAbort); if (signal.aborted) resolve(undefined); else reject(err as Error); },
    );
  });
}
