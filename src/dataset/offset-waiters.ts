/**
 * Readers waiting for a partition's durable end to pass an offset: woken by
 * the commit that makes it durable (no polling), or rejected on abort or
 * close. One per partition.
 */
import { LaminateError } from '../common/errors.js';

interface Waiter {
  readonly offset: number;
  readonly resolve: () => void;
  readonly reject: (err: Error) => void;
  readonly cleanup: () => void;
}

export class OffsetWaiters {
  private readonly waiters = new Set<Waiter>();
  private closedWith: Error | undefined;

  /** Resolves once `advance(end)` has been called with end > offset (at once when `durableEnd` already is). */
  wait(offset: number, durableEnd: number, signal?: AbortSignal): Promise<void> {
    if (this.closedWith !== undefined) return Promise.reject(this.closedWith);
    if (durableEnd > offset) return Promise.resolve();
    if (signal?.aborted === true) return Promise.reject(cancelled());
    return new Promise<void>((resolve, reject) => {
      const onAbort = (): void => {
        this.waiters.delete(waiter);
        reject(cancelled());
      };
      const waiter: Waiter = {
        offset,
        resolve,
        reject,
        cleanup: () => signal?.removeEventListener('abort', onAbort),
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiters.add(waiter);
    });
  }

  /** Wakes every waiter whose offset is now below the durable end. Called after each commit. */
  advance(durableEnd: number): void {
    for (const w of this.waiters) {
      if (durableEnd > w.offset) {
        this.waiters.delete(w);
        w.cleanup();
        w.resolve();
      }
    }
  }

  /** Rejects every waiter, and every later wait, with `err`. */
  close(err: Error): void {
    this.closedWith = err;
    for (const w of this.waiters) {
      w.cleanup();
      w.reject(err);
    }
    this.waiters.clear();
  }

  get size(): number {
    return this.waiters.size;
  }
}

function cancelled(): LaminateError {
  return new LaminateError('CANCELLED', 'Stopped waiting for records: the wait was aborted');
}
