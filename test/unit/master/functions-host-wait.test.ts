import { afterEach, describe, expect, it, vi } from 'vitest';
import { TRIGGERS_WAIT_MS, waitBounded } from '../../../src/master/functions-host.js';

/** A promise the test settles by hand. */
function deferred(): { promise: Promise<void>; resolve: () => void; reject: (err: unknown) => void } {
  let resolve!: () => void;
  let reject!: (err: unknown) => void;
  const promise = new Promise<void>((res, rej) => { resolve = res; reject = rej; });
  return { promise, resolve, reject };
}

/** Lets pending promise callbacks run (no timers). */
const flush = async (): Promise<void> => { for (let i = 0; i < 5; i++) await Promise.resolve(); };

describe("deploy's wait for the triggers (functions-host.ts)", () => {
  afterEach(() => { vi.useRealTimers(); });

  it('answers only once the triggers have followed the catalog', async () => {
    vi.useFakeTimers();
    const applied = deferred();
    let done = false;
    const waiting = waitBounded(() => applied.promise, TRIGGERS_WAIT_MS).then(() => { done = true; });
    await flush();
    await vi.advanceTimersByTimeAsync(TRIGGERS_WAIT_MS - 1);
    expect(done).toBe(false);
    applied.resolve();
    await waiting;
    expect(done).toBe(true);
    // Its bound timer is gone: nothing keeps the process up.
    expect(vi.getTimerCount()).toBe(0);
  });

  it('answers after the bound when a trigger takes longer (a replaced one still delivering)', async () => {
    vi.useFakeTimers();
    let done = false;
    const waiting = waitBounded(() => new Promise<void>(() => {}), TRIGGERS_WAIT_MS).then(() => { done = true; });
    await vi.advanceTimersByTimeAsync(TRIGGERS_WAIT_MS - 1);
    expect(done).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    await waiting;
    expect(done).toBe(true);
  });

  it('never fails the deploy it follows: a trigger that could not start is the manager\'s to log', async () => {
    const applied = deferred();
    const waiting = waitBounded(() => applied.promise, TRIGGERS_WAIT_MS);
    applied.reject(new Error('could not start'));
    await expect(waiting).resolves.toBeUndefined();
  });
});
