import { describe, expect, it } from 'vitest';
import { Harness, fail, finished, kills, launches } from './harness.js';

describe('retry of failed attempts', () => {
  it('retries a failed attempt only once its backoff has passed', () => {
    const h = new Harness({ retryBackoffMs: 200 });
    h.addWorker('w1', 2);
    h.submit({ maps: 1 });
    expect(launches(h.failAttempt('job-0001-m-00000-a1'))).toEqual([]);
    expect(h.scheduler.job('job-0001')?.maps[0]?.state).toBe('PENDING');
    expect(launches(h.advance(199))).toEqual([]);
    const ds = launches(h.advance(1));
    expect(ds.map((d) => d.attemptId)).toEqual(['job-0001-m-00000-a2']);
  });

  it('doubles the backoff with each failure of the task, up to its cap', () => {
    const h = new Harness({ retryBackoffMs: 100, maxRetryBackoffMs: 300, maxAttempts: 10 });
    h.addWorker('w1', 1);
    h.submit({ maps: 1 });
    const waits: number[] = [];
    for (let n = 1; n <= 4; n++) {
      h.failAttempt(`job-0001-m-00000-a${n}`);
      let waited = 0;
      while (waited < 10_000) {
        waited += 10;
        if (launches(h.advance(10)).length > 0) break;
      }
      waits.push(waited);
    }
    expect(waits).toEqual([100, 200, 300, 300]);
  });

  it('retries a failed attempt on another worker when one exists', () => {
    const h = new Harness();
    h.addWorker('w1', 2);
    h.addWorker('w2', 2);
    const [first] = launches(h.submit({ maps: 1 }));
    expect(first?.workerId).toBe('w1');
    h.failAttempt('job-0001-m-00000-a1');
    // Both workers are idle; without the failure w1 would win the tie.
    const [retry] = launches(h.advance(10_000));
    expect(retry).toMatchObject({ attemptId: 'job-0001-m-00000-a2', workerId: 'w2' });
  });

  it('waits for the other worker rather than repeat a failure on the same one', () => {
    const h = new Harness();
    h.addWorker('w1', 1);
    h.addWorker('w2', 1);
    h.submit({ maps: 2 });
    // m0 on w1, m1 on w2.
    h.failAttempt('job-0001-m-00000-a1');
    expect(launches(h.advance(10_000))).toEqual([]);
    expect(h.scheduler.worker('w1')?.usedSlots).toBe(0);
    const ds = launches(h.succeed('job-0001-m-00001-a1'));
    expect(ds.map((d) => [d.attemptId, d.workerId])).toEqual([['job-0001-m-00000-a2', 'w2']]);
  });

  it('retries on the same worker when it is the only one', () => {
    const h = new Harness();
    h.addWorker('w1', 1);
    h.submit({ maps: 1 });
    h.failAttempt('job-0001-m-00000-a1');
    expect(launches(h.advance(10_000)).map((d) => d.workerId)).toEqual(['w1']);
  });

  it('fails the job at the 4th failure of one task, reporting every attempt\'s cause', () => {
    const h = new Harness();
    h.addWorker('w1', 2);
    h.addWorker('w2', 2);
    h.submit({ maps: 2 });
    const causes = [
      fail('Cannot read x', 'USER_CODE_ERROR'),
      fail('out of memory', 'OUT_OF_MEMORY'),
      fail('took too long', 'TIMEOUT'),
      fail('Cannot read x again', 'USER_CODE_ERROR'),
    ];
    const workers: string[] = [];
    for (let n = 1; n <= 3; n++) {
      const id = `job-0001-m-00000-a${n}`;
      workers.push(h.scheduler.attempt(id)!.workerId);
      expect(finished(h.failAttempt(id, causes[n - 1]))).toEqual([]);
      expect(h.scheduler.job('job-0001')?.state).toBe('RUNNING');
      expect(launches(h.advance(10_000)).map((d) => d.attemptId)).toEqual([`job-0001-m-00000-a${n + 1}`]);
    }
    workers.push(h.scheduler.attempt('job-0001-m-00000-a4')!.workerId);
    const ds = h.failAttempt('job-0001-m-00000-a4', causes[3]);
    const [done] = finished(ds);
    expect(done?.state).toBe('FAILED');
    expect(done?.message).toContain('job-0001-m-00000 failed 4 times');
    expect(done?.failures).toEqual(causes.map((c, i) => ({ ...c, attemptId: `job-0001-m-00000-a${i + 1}`, workerId: workers[i] })));
    // The other map's attempt is killed with the job.
    expect(kills(ds).map((k) => k.attemptId)).toEqual(['job-0001-m-00001-a1']);
    expect(h.scheduler.job('job-0001')).toMatchObject({ state: 'FAILED', finishTime: h.now });
    expect(h.scheduler.job('job-0001')?.maps.map((t) => t.state)).toEqual(['FAILED', 'KILLED']);
    expect(launches(h.advance(10_000))).toEqual([]);
  });

  it('counts failures per task, so four tasks failing once each do not fail the job', () => {
    const h = new Harness();
    h.addWorker('w1', 4);
    h.addWorker('w2', 4);
    h.submit({ maps: 4 });
    for (let i = 0; i < 4; i++) h.failAttempt(`job-0001-m-0000${i}-a1`);
    expect(h.scheduler.job('job-0001')?.state).toBe('RUNNING');
    expect(launches(h.advance(10_000))).toHaveLength(4);
  });

  it('fails the job at once on a NON_RETRYABLE failure and kills its other attempts', () => {
    const h = new Harness();
    h.addWorker('w1', 4);
    h.submit({ maps: 3 });
    const ds = h.failAttempt('job-0001-m-00001-a1', fail('bad record at line 3', 'NON_RETRYABLE'));
    const [done] = finished(ds);
    expect(done).toMatchObject({
      state: 'FAILED',
      failures: [{ code: 'NON_RETRYABLE', message: 'bad record at line 3', attemptId: 'job-0001-m-00001-a1', workerId: 'w1' }],
    });
    expect(done?.message).toContain('non-retryable');
    expect(kills(ds).map((k) => [k.attemptId, k.workerId])).toEqual([['job-0001-m-00000-a1', 'w1'], ['job-0001-m-00002-a1', 'w1']]);
    expect(h.scheduler.worker('w1')).toMatchObject({ usedSlots: 0, usedMemoryMb: 0 });
    expect(launches(h.advance(10_000))).toEqual([]);
  });

  it('retries an attempt that was killed at once, without backoff and without counting a failure', () => {
    const h = new Harness();
    h.addWorker('w1', 1);
    h.submit({ maps: 1 });
    const ds = launches(h.failAttempt('job-0001-m-00000-a1', fail('container stopped', 'KILLED')));
    expect(ds.map((d) => d.attemptId)).toEqual(['job-0001-m-00000-a2']);
    expect(h.scheduler.job('job-0001')?.maps[0]).toMatchObject({ failures: 0, crashes: 0 });
    expect(h.scheduler.job('job-0001')?.failures).toEqual([]);
  });
});

describe('exclusion of a failing worker', () => {
  /**
   * w1 and w2 have 4 slots each; 8 maps alternate between them. Three maps
   * fail on w1, which excludes w1 for the job; the maps then finish on w2.
   */
  function excludeW1(reducers: number): Harness {
    const h = new Harness();
    h.addWorker('w1', 4);
    h.addWorker('w2', 4);
    const first = launches(h.submit({ maps: 8, reducers }));
    expect(first.map((d) => d.workerId)).toEqual(['w1', 'w2', 'w1', 'w2', 'w1', 'w2', 'w1', 'w2']);
    for (const i of [0, 2, 4]) h.failAttempt(`job-0001-m-0000${i}-a1`);
    for (const i of [1, 3, 5, 6, 7]) h.succeed(`job-0001-m-0000${i}-a1`);
    const retries = launches(h.advance(10_000));
    expect(retries.map((d) => d.workerId)).toEqual(['w2', 'w2', 'w2']);
    return h;
  }

  it('gives no more of a job\'s tasks to a worker on which 3 of its attempts failed, while another can take them', () => {
    const h = excludeW1(5);
    expect(h.scheduler.job('job-0001')?.excludedWorkers.has('w1')).toBe(true);
    h.succeed('job-0001-m-00000-a2');
    h.succeed('job-0001-m-00002-a2');
    const ds = launches(h.succeed('job-0001-m-00004-a2'));
    // w1 is idle and w2 empty too; without exclusion reduces would alternate.
    expect(ds.map((d) => d.workerId)).toEqual(['w2', 'w2', 'w2', 'w2']);
    expect(h.scheduler.worker('w1')?.usedSlots).toBe(0);
    // The fifth reduce waits for w2 rather than go to w1.
    expect(launches(h.advance(10_000))).toEqual([]);
    expect(launches(h.commitAndSucceed('job-0001-r-00000-a1')).map((d) => [d.taskId, d.workerId]))
      .toEqual([['job-0001-r-00004', 'w2']]);
  });

  it('still gives an excluded worker the job\'s tasks when it is the only worker', () => {
    const h = new Harness();
    h.addWorker('w1', 4);
    h.submit({ maps: 3, reducers: 1 });
    for (const i of [0, 1, 2]) h.failAttempt(`job-0001-m-0000${i}-a1`);
    expect(h.scheduler.job('job-0001')?.excludedWorkers.has('w1')).toBe(true);
    expect(launches(h.advance(10_000)).map((d) => d.workerId)).toEqual(['w1', 'w1', 'w1']);
    for (const i of [0, 1]) h.succeed(`job-0001-m-0000${i}-a2`);
    expect(launches(h.succeed('job-0001-m-00002-a2')).map((d) => [d.kind, d.workerId])).toEqual([['reduce', 'w1']]);
  });

  it('excludes a worker for the failing job only', () => {
    const h = excludeW1(1);
    h.submit({ jobId: 'job-0002', maps: 1, reducers: 0 });
    expect(h.scheduler.job('job-0002')?.maps[0]?.attempts[0]?.workerId).toBe('w1');
  });

  it('does not exclude a worker after two failures', () => {
    const h = new Harness();
    h.addWorker('w1', 2);
    h.addWorker('w2', 2);
    h.submit({ maps: 4, reducers: 1 });
    // m0, m2 on w1; m1, m3 on w2.
    h.failAttempt('job-0001-m-00000-a1');
    h.failAttempt('job-0001-m-00002-a1');
    expect(h.scheduler.job('job-0001')?.excludedWorkers.size).toBe(0);
    h.succeed('job-0001-m-00001-a1');
    h.succeed('job-0001-m-00003-a1');
    h.advance(10_000);
    h.succeed('job-0001-m-00000-a2');
    const ds = launches(h.succeed('job-0001-m-00002-a2'));
    expect(ds.map((d) => d.workerId)).toEqual(['w1']);
  });
});
