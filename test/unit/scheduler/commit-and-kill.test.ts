import { describe, expect, it } from 'vitest';
import { Harness, commits, fail, finished, kills, launches } from './harness.js';
import type { Decision, LaunchDecision } from '../../../src/scheduler/types.js';

/**
 * One map, four reduces on three workers of two slots, speculation on.
 * Three reduces finish in 100 ms; r3 (on w1) lags and gets a backup on w2.
 */
function reduceWithBackup(): Harness {
  const h = new Harness();
  h.addWorker('w1', 2);
  h.addWorker('w2', 2);
  h.addWorker('w3', 2);
  h.submit({ maps: 1, reducers: 4, speculation: true });
  const reduces = launches(h.succeed('job-0001-m-00000-a1'));
  expect(reduces.map((d) => d.workerId)).toEqual(['w1', 'w2', 'w3', 'w1']);
  h.clock.advance(100);
  for (const r of [0, 1, 2]) h.commitAndSucceed(`job-0001-r-0000${r}-a1`);
  const [backup] = launches(h.advance(1000));
  expect(backup).toMatchObject({ attemptId: 'job-0001-r-00003-a2', workerId: 'w2', speculative: true });
  expect(backup?.sources?.map((s) => s.attemptId)).toEqual(['job-0001-m-00000-a1']);
  return h;
}

describe('commit of reduce output', () => {
  it('grants the commit of a reduce task to exactly one of its attempts', () => {
    const h = reduceWithBackup();
    expect(h.scheduler.requestCommit('job-0001-r-00003-a1')).toBe(true);
    expect(h.scheduler.requestCommit('job-0001-r-00003-a2')).toBe(false);
    // Asking twice from the granted attempt is safe.
    expect(h.scheduler.requestCommit('job-0001-r-00003-a1')).toBe(true);
    expect(h.scheduler.attempt('job-0001-r-00003-a1')?.state).toBe('COMMITTING');
  });

  it('does not let a denied attempt win the task by reporting success', () => {
    const h = reduceWithBackup();
    h.scheduler.requestCommit('job-0001-r-00003-a1');
    const ds = h.succeed('job-0001-r-00003-a2');
    expect(commits(ds)).toEqual([]);
    expect(h.scheduler.attempt('job-0001-r-00003-a2')?.state).toBe('KILLED');
    expect(h.scheduler.job('job-0001')?.reduces[3]?.state).toBe('RUNNING');
    expect(commits(h.succeed('job-0001-r-00003-a1'))).toHaveLength(1);
    expect(h.scheduler.job('job-0001')?.reduces[3]?.winner?.id).toBe('job-0001-r-00003-a1');
    expect(h.scheduler.job('job-0001')?.reducesDone).toBe(4);
  });

  it('kills the other attempt when the committed one succeeds', () => {
    const h = reduceWithBackup();
    expect(h.scheduler.requestCommit('job-0001-r-00003-a2')).toBe(true);
    const ds = h.succeed('job-0001-r-00003-a2');
    expect(kills(ds)).toEqual([{
      type: 'kill', jobId: 'job-0001', attemptId: 'job-0001-r-00003-a1', workerId: 'w1', reason: 'superseded',
    }]);
    expect(commits(ds)).toHaveLength(1);
    expect(h.scheduler.requestCommit('job-0001-r-00003-a1')).toBe(false);
  });

  it('lets another attempt commit once the committing one has failed', () => {
    const h = reduceWithBackup();
    h.scheduler.requestCommit('job-0001-r-00003-a1');
    h.failAttempt('job-0001-r-00003-a1', fail('rename failed', 'UNAVAILABLE'));
    expect(h.scheduler.requestCommit('job-0001-r-00003-a2')).toBe(true);
  });

  it('denies commit to an attempt it does not know or of a killed job', () => {
    const h = reduceWithBackup();
    expect(h.scheduler.requestCommit('job-0001-r-00003-a9')).toBe(false);
    h.scheduler.killJob('job-0001', 'user asked', h.now);
    expect(h.scheduler.requestCommit('job-0001-r-00003-a1')).toBe(false);
  });

  it('commits a reduce that reports success without asking first, when no other attempt is committing', () => {
    const h = new Harness();
    h.addWorker('w1');
    h.submit({ maps: 1, reducers: 1 });
    h.succeed('job-0001-m-00000-a1');
    expect(commits(h.succeed('job-0001-r-00000-a1'))).toHaveLength(1);
  });
});

/** A seeded generator (mulberry32), so a run repeats exactly. */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('without faults', () => {
  it('runs each map and reduce task of two concurrent jobs exactly once when speculation is off', () => {
    const h = new Harness();
    const rand = random(42);
    const finishAt = new Map<string, number>();
    const launched: LaunchDecision[] = [];
    const done = new Set<string>();
    const take = (ds: Decision[]): void => {
      for (const d of ds) {
        if (d.type === 'launch') {
          launched.push(d);
          finishAt.set(d.attemptId, h.now + 100 + Math.floor(rand() * 4900));
        } else if (d.type === 'kill') {
          finishAt.delete(d.attemptId);
        } else if (d.type === 'commitJob') {
          take(h.scheduler.jobCommitted(d.jobId, h.now));
        } else if (d.type === 'jobFinished') {
          expect(d.state).toBe('SUCCEEDED');
          done.add(d.jobId);
        }
      }
    };
    take(h.addWorker('w1', 2));
    take(h.addWorker('w2', 3));
    take(h.submit({ jobId: 'job-0001', maps: 30, reducers: 4 }));
    take(h.addWorker('w3', 1));
    take(h.submit({ jobId: 'job-0002', maps: 7, reducers: 2 }));
    for (let steps = 0; done.size < 2; steps++) {
      expect(steps).toBeLessThan(1000);
      const [next, at] = [...finishAt].reduce((a, b) => (b[1] < a[1] ? b : a));
      take(h.advance(at - h.now));
      finishAt.delete(next);
      take(h.scheduler.attempt(next)?.kind === 'reduce' ? h.commitAndSucceed(next) : h.succeed(next));
    }
    const perTask = new Map<string, number>();
    for (const d of launched) perTask.set(d.taskId, (perTask.get(d.taskId) ?? 0) + 1);
    expect(perTask.size).toBe(30 + 4 + 7 + 2);
    expect([...perTask.values()].every((n) => n === 1)).toBe(true);
    expect(launched.every((d) => !d.speculative && d.attemptId.endsWith('-a1'))).toBe(true);
    // Every worker got work.
    expect(new Set(launched.map((d) => d.workerId))).toEqual(new Set(['w1', 'w2', 'w3']));
  });
});

describe('kill of a job', () => {
  it('kills a job\'s live attempts, ends it KILLED, and runs nothing of it again', () => {
    const h = new Harness();
    h.addWorker('w1', 2);
    h.submit({ maps: 3, reducers: 1 });
    h.succeed('job-0001-m-00000-a1');
    const ds = h.scheduler.killJob('job-0001', 'cancelled by user', h.now);
    expect(kills(ds).map((k) => [k.attemptId, k.workerId])).toEqual([['job-0001-m-00001-a1', 'w1'], ['job-0001-m-00002-a1', 'w1']]);
    expect(finished(ds)).toEqual([{ type: 'jobFinished', jobId: 'job-0001', state: 'KILLED', failures: [], message: 'cancelled by user' }]);
    expect(h.scheduler.job('job-0001')).toMatchObject({ state: 'KILLED', finishTime: h.now, runningAttempts: 0 });
    expect(h.scheduler.job('job-0001')?.maps.map((t) => t.state)).toEqual(['SUCCEEDED', 'KILLED', 'KILLED']);
    expect(h.scheduler.worker('w1')).toMatchObject({ usedSlots: 0, usedMemoryMb: 0 });
    expect(launches(h.advance(10_000))).toEqual([]);
    expect(h.scheduler.killJob('job-0001', 'again', h.now)).toEqual([]);
  });

  it('gives a killed job\'s slots to the next job at once', () => {
    const h = new Harness();
    h.addWorker('w1', 2);
    h.submit({ jobId: 'job-0001', maps: 2 });
    h.submit({ jobId: 'job-0002', maps: 2 });
    const ds = launches(h.scheduler.killJob('job-0001', 'stop', h.now));
    expect(ds.map((d) => d.jobId)).toEqual(['job-0002', 'job-0002']);
  });

  it('does not kill a job that is committing: its output is complete, and the commit ends it SUCCEEDED', () => {
    const h = new Harness();
    h.addWorker('w1', 2);
    h.submit({ maps: 1, reducers: 1 });
    h.succeed('job-0001-m-00000-a1');
    h.commitAndSucceed('job-0001-r-00000-a1');
    expect(h.scheduler.job('job-0001')?.state).toBe('COMMITTING');
    expect(h.scheduler.killJob('job-0001', 'stop', h.now)).toEqual([]);
    expect(finished(h.scheduler.jobCommitted('job-0001', h.now))[0]?.state).toBe('SUCCEEDED');
    expect(h.scheduler.job('job-0001')?.state).toBe('SUCCEEDED');
  });

  it('refuses to kill a job it does not know', () => {
    const h = new Harness();
    expect(() => h.scheduler.killJob('job-0042', 'x', h.now)).toThrowError(expect.objectContaining({ code: 'NOT_FOUND' }));
  });
});

describe('late and duplicate events', () => {
  it('ignores a success reported after the job was killed', () => {
    const h = new Harness();
    h.addWorker('w1', 2);
    h.submit({ maps: 2, reducers: 1 });
    h.scheduler.killJob('job-0001', 'stop', h.now);
    h.succeed('job-0001-m-00000-a1');
    const ds = h.succeed('job-0001-m-00001-a1');
    expect(launches(ds)).toEqual([]);
    expect(commits(ds)).toEqual([]);
    expect(h.scheduler.job('job-0001')).toMatchObject({ state: 'KILLED', mapsDone: 0 });
    expect(h.scheduler.attempt('job-0001-m-00001-a1')?.state).toBe('KILLED');
  });

  it('counts a duplicate failure report once', () => {
    const h = new Harness();
    h.addWorker('w1', 2);
    h.submit({ maps: 1 });
    h.failAttempt('job-0001-m-00000-a1', fail('first'));
    expect(h.failAttempt('job-0001-m-00000-a1', fail('again'))).toEqual([]);
    const job = h.scheduler.job('job-0001')!;
    expect(job.maps[0]?.failures).toBe(1);
    expect(job.failures.map((f) => f.message)).toEqual(['first']);
    expect(job.failuresByWorker.get('w1')).toBe(1);
    expect(h.scheduler.attempt('job-0001-m-00000-a1')?.failure?.message).toBe('first');
    expect(launches(h.advance(10_000))).toHaveLength(1);
    expect(h.scheduler.worker('w1')?.usedSlots).toBe(1);
  });

  it('counts a duplicate success report once', () => {
    const h = new Harness();
    h.addWorker('w1', 2);
    h.submit({ maps: 2 });
    h.succeed('job-0001-m-00000-a1');
    expect(h.succeed('job-0001-m-00000-a1')).toEqual([]);
    expect(h.scheduler.job('job-0001')?.mapsDone).toBe(1);
    expect(h.scheduler.worker('w1')?.usedSlots).toBe(1);
  });

  it('ignores a success reported by an attempt it counted as failed', () => {
    const h = new Harness();
    h.addWorker('w1', 2);
    h.submit({ maps: 1 });
    h.failAttempt('job-0001-m-00000-a1');
    expect(h.succeed('job-0001-m-00000-a1')).toEqual([]);
    expect(h.scheduler.job('job-0001')?.mapsDone).toBe(0);
    expect(h.scheduler.job('job-0001')?.maps[0]?.state).toBe('PENDING');
  });

  it('ignores reports about attempts it never launched', () => {
    const h = new Harness();
    h.addWorker('w1', 2);
    h.submit({ maps: 1 });
    expect(h.succeed('job-0001-m-00000-a7')).toEqual([]);
    expect(h.failAttempt('job-0001-m-00000-a7')).toEqual([]);
    expect(h.scheduler.job('job-0001')?.maps[0]?.state).toBe('RUNNING');
  });

  it('tells the ignored listener about each ignored event and why', () => {
    const h = new Harness();
    const notes: string[] = [];
    h.scheduler.setIgnoredListener((id, event, reason) => notes.push(`${id} ${event}: ${reason}`));
    h.addWorker('w1', 2);
    h.submit({ maps: 1 });
    h.failAttempt('job-0001-m-00000-a1');
    h.failAttempt('job-0001-m-00000-a1');
    expect(notes).toEqual(['job-0001-m-00000-a1 failed: duplicate failure report']);
  });
});
