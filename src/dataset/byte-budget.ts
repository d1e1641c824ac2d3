/**
 * Back-pressure: a bound on the bytes of appends accepted but not yet
 * acknowledged. An append past it waits, first come first served, instead
 * of growing the heap; one larger than the whole bound is let in alone once
 * nothing else is in flight, so it waits rather than failing forever.
 * Counted in units of one, it is the store's limit on fsyncs in flight
 * (sync-limit.ts).
 */
import { LaminateError } from '../common/errors.js';

interface Waiter {
  readonly bytes: number;
  readonly resolve: () => void;
  readonly reject: (err: Error) => void;
}

export class ByteBudget {
  private used = 0;
  private readonly waiters: Waiter[] = [];
  private closedWith: Error | undefined;

  constructor(private readonly max: number) {}

  /** Bytes in flight now. */
  get inFlight(): number {
    return this.used;
  }

  /** Appends waiting for room now. */
  get waiting(): number {
    return this.waiters.length;
  }

  /** Resolves once `bytes` fit; pair every resolved acquire with one release. Rejects after close. */
  acquire(bytes: number): Promise<void> {
    if (this.closedWith !== undefined) return Promise.reject(this.closedWith);
    if (this.waiters.length === 0 && this.fits(bytes)) {
      this.used += bytes;
      return Promise.resolve();
    }
    return new Promise((resolve, reject) => this.waiters.push({ bytes, resolve, reject }));
  }

  release(bytes: number): void {
    this.used -= bytes;
    while (this.waiters.length > 0 && this.fits(this.waiters[0]!.bytes)) {
      const w = this.waiters.shift()!;
      this.used += w.bytes;
      w.resolve();
    }
  }

  /** Refuses every waiting and later acquire with UNAVAILABLE. */
  close(reason: string): void {
    this.closedWith = new LaminateError('UNAVAILABLE', reason);
    for (const w of this.waiters.splice(0)) w.reject(this.closedWith);
  }

  private fits(bytes: number): boolean {
    return this.used === 0 || this.used + bytes <= this.max;
  }
}
