import { describe, expect, it } from 'vitest';
import { Harness, launches } from './harness.js';

describe('function container reservations', () => {
  it('hold a slot and memory, so that batch tasks and functions share a worker', () => {
    const h = new Harness();
    h.addWorker('w1', 2, 1000);
    expect(h.scheduler.reserveContainer('c1', 128)).toEqual({ containerId: 'c1', workerId: 'w1', memoryMb: 128 });
    expect(h.scheduler.worker('w1')).toMatchObject({ usedSlots: 1, usedMemoryMb: 128 });
    // Two maps asked for, one slot left: one runs, one waits for the container.
    expect(launches(h.submit({ maps: 2 }))).toHaveLength(1);
    expect(h.scheduler.reserveContainer('c2', 128)).toBeUndefined();
    const ds = h.scheduler.releaseContainer('c1', h.now);
    expect(launches(ds).map((d) => d.attemptId)).toEqual(['job-0001-m-00001-a1']);
    expect(h.scheduler.worker('w1')).toMatchObject({ usedSlots: 2, usedMemoryMb: 200 });
    // A second release is a repeat: nothing freed twice.
    expect(h.scheduler.releaseContainer('c1', h.now)).toEqual([]);
    expect(h.scheduler.worker('w1')).toMatchObject({ usedSlots: 2, usedMemoryMb: 200 });
  });

  it('go where the memory is free and slots are most free, avoiding workers asked to be avoided', () => {
    const h = new Harness();
    h.addWorker('w1', 4, 300);
    h.addWorker('w2', 4, 2000);
    expect(h.scheduler.reserveContainer('big', 1024)?.workerId).toBe('w2');
    expect(h.scheduler.reserveContainer('a', 128)?.workerId).toBe('w1');
    expect(h.scheduler.reserveContainer('b', 128, new Set(['w1']))?.workerId).toBe('w2');
    // w1 has 172 MB free, too little: avoiding w2 still lands there, the only worker with room.
    expect(h.scheduler.reserveContainer('c', 256, new Set(['w2']))?.workerId).toBe('w2');
    expect(() => h.scheduler.reserveContainer('a', 128)).toThrow(/already reserved/);
    expect(h.scheduler.couldEverHostContainer(2000)).toBe(true);
    expect(h.scheduler.couldEverHostContainer(2001)).toBe(false);
  });

  it('are released with a lost worker, which the decision names', () => {
    const h = new Harness({ heartbeatTimeoutMs: 1000 });
    h.addWorker('w1', 2, 1000);
    h.addWorker('w2', 2, 1000);
    const r = h.scheduler.reserveContainer('c1', 128)!;
    h.silent.add(r.workerId);
    const ds = h.advance(1001);
    expect(ds.filter((d) => d.type === 'workerLost')).toEqual([
      { type: 'workerLost', workerId: r.workerId, reason: 'no heartbeat for 1001 ms', left: false, containers: ['c1'] },
    ]);
    expect(h.scheduler.container('c1')).toBeUndefined();
    expect(h.scheduler.worker(r.workerId)).toMatchObject({ usedSlots: 0, usedMemoryMb: 0 });
  });
});
