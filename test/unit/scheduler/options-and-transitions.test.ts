import { describe, expect, it } from 'vitest';
import { isLive, transition, type AttemptEvent } from '../../../src/scheduler/attempt-transitions.js';
import { Scheduler, resolveSchedulerOptions } from '../../../src/scheduler/scheduler.js';
import type { AttemptState } from '../../../src/scheduler/types.js';

describe('scheduler options', () => {
  it('fills every default', () => {
    expect(resolveSchedulerOptions()).toEqual({
      heartbeatTimeoutMs: 10_000, reconcileGraceMs: 10_000, maxAttempts: 4, maxCrashes: 10, retryBackoffMs: 200, maxRetryBackoffMs: 5_000,
      maxFailuresPerWorker: 3, speculation: { quantile: 0.75, multiplier: 2, minRuntimeMs: 1_000 },
    });
  });

  it('keeps the values it is given', () => {
    const o = resolveSchedulerOptions({ maxAttempts: 2, speculation: { multiplier: 1.5 } });
    expect(o.maxAttempts).toBe(2);
    expect(o.speculation).toEqual({ quantile: 0.75, multiplier: 1.5, minRuntimeMs: 1_000 });
  });

  it('refuses an option that is not a positive number, naming it and the value', () => {
    expect(() => new Scheduler({ heartbeatTimeoutMs: 0 })).toThrowError(expect.objectContaining({
      code: 'INVALID_ARGUMENT', message: 'Expected scheduler option heartbeatTimeoutMs to be a positive number, got 0',
    }));
    expect(() => new Scheduler({ speculation: { quantile: Number.NaN } })).toThrowError(/speculation\.quantile/);
    expect(() => new Scheduler({ maxCrashes: -1 })).toThrowError(/maxCrashes/);
  });
});

describe('attempt transitions', () => {
  const events: AttemptEvent[] = ['commit', 'succeeded', 'failed', 'killed'];

  it('moves a running attempt on each event', () => {
    expect(events.map((e) => transition('RUNNING', e))).toEqual([
      { to: 'COMMITTING' }, { to: 'SUCCEEDED' }, { to: 'FAILED' }, { to: 'KILLED' },
    ]);
  });

  it('ends a committing attempt on success, failure or kill, and ignores a second commit', () => {
    expect(events.map((e) => transition('COMMITTING', e))).toEqual([
      { ignore: expect.any(String) }, { to: 'SUCCEEDED' }, { to: 'FAILED' }, { to: 'KILLED' },
    ]);
  });

  it('ignores every event once an attempt has ended, giving a reason', () => {
    for (const state of ['SUCCEEDED', 'FAILED', 'KILLED'] as AttemptState[]) {
      for (const e of events) {
        const t = transition(state, e);
        expect('ignore' in t && t.ignore.length > 0, `${state} ${e}`).toBe(true);
      }
    }
  });

  it('calls only RUNNING and COMMITTING live', () => {
    expect((['RUNNING', 'COMMITTING', 'SUCCEEDED', 'FAILED', 'KILLED'] as AttemptState[]).map(isLive))
      .toEqual([true, true, false, false, false]);
  });
});
