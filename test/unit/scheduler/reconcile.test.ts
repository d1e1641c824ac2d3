import { describe, expect, it } from 'vitest';
import { Harness, kills, launches } from './harness.js';

describe('reconciling heartbeats with what the master thinks runs', () => {
  it('re-runs an attempt the worker never listed once the grace period is over, without counting a failure', () => {
    const h = new Harness({ reconcileGraceMs: 3000, heartbeatTimeoutMs: 60_000 });
    h.addWorker('worker-0001', 1);
    const [first] = launches(h.submit({ maps: 1 }));
    // Within the grace period an unlisted attempt may simply not have arrived yet.
    h.clock.advance(2000);
    expect(launches(h.scheduler.heartbeat('worker-0001', h.now, []).decisions)).toEqual([]);
    expect(h.scheduler.attempt(first!.attemptId)!.state).toBe('RUNNING');
    h.clock.advance(1500);
    const again = launches(h.scheduler.heartbeat('worker-0001', h.now, []).decisions);
    expect(again.map((l) => l.attemptId)).toEqual(['job-0001-m-00000-a2']);
    const lost = h.scheduler.attempt(first!.attemptId)!;
    expect(lost.state).toBe('KILLED');
    expect(lost.failure?.message).toMatch(/launch or its report was lost/);
    expect(h.scheduler.job('job-0001')!.maps[0]!.failures).toBe(0);
  });

  it('leaves alone an attempt the worker lists, however long it runs', () => {
    const h = new Harness({ reconcileGraceMs: 1000, heartbeatTimeoutMs: 60_000 });
    h.addWorker('worker-0001', 1);
    const [first] = launches(h.submit({ maps: 1 }));
    h.clock.advance(30_000);
    expect(h.scheduler.heartbeat('worker-0001', h.now, [first!.attemptId]).decisions).toEqual([]);
    expect(h.scheduler.attempt(first!.attemptId)!.state).toBe('RUNNING');
  });

  it('kills again an attempt the master ended but the worker still runs', () => {
    const h = new Harness({ heartbeatTimeoutMs: 60_000 });
    h.addWorker('worker-0001', 1);
    const [first] = launches(h.submit({ maps: 1 }));
    h.scheduler.killJob('job-0001', 'test', h.now);
    const ds = kills(h.scheduler.heartbeat('worker-0001', h.now, [first!.attemptId]).decisions);
    expect(ds).toEqual([{ type: 'kill', jobId: 'job-0001', attemptId: first!.attemptId, workerId: 'worker-0001', reason: 'the master had already ended it' }]);
  });

  it('ignores a late fetch failure from a reduce attempt already ended, keeping the map', () => {
    const h = new Harness();
    h.addWorker('worker-0001', 4);
    const maps = launches(h.submit({ maps: 1, reducers: 1 }));
    const [reduce] = launches(h.succeed(maps[0]!.attemptId));
    h.scheduler.killJob('job-0001', 'test', h.now);
    expect(h.scheduler.fetchFailed(reduce!.attemptId, 0, maps[0]!.attemptId, 'late', h.now)).toEqual([]);
    expect(h.scheduler.job('job-0001')!.maps[0]!.state).toBe('SUCCEEDED');
  });

  it('does not kill a committing reduce when its worker is lost: the master finishes the commit', () => {
    const h = new Harness({ heartbeatTimeoutMs: 1000 });
    h.addWorker('worker-0001', 4);
    h.addWorker('worker-0002', 4);
    const maps = launches(h.submit({ maps: 1, reducers: 1 }));
    const [reduce] = launches(h.succeed(maps[0]!.attemptId));
    expect(h.scheduler.requestCommit(reduce!.attemptId)).toBe(true);
    h.silent.add(reduce!.workerId);
    h.advance(1500);
    expect(h.scheduler.worker(reduce!.workerId)!.alive).toBe(false);
    expect(h.scheduler.attempt(reduce!.attemptId)!.state).toBe('COMMITTING');
    h.succeed(reduce!.attemptId);
    expect(h.scheduler.job('job-0001')!.reduces[0]!.state).toBe('SUCCEEDED');
  });
});
