import { describe, expect, it } from 'vitest';
import { Harness, commits, finished, launches } from './harness.js';

const lost = (ds: readonly { type: string }[]) => ds.filter((d) => d.type === 'workerLost');

describe('liveness', () => {
  it('declares a worker lost only once it has been silent longer than heartbeatTimeoutMs', () => {
    const h = new Harness({ heartbeatTimeoutMs: 1000 });
    h.addWorker('w1');
    h.silent.add('w1');
    expect(lost(h.advance(1000))).toEqual([]);
    expect(h.scheduler.worker('w1')?.alive).toBe(true);
    expect(lost(h.advance(1))).toEqual([{ type: 'workerLost', workerId: 'w1', reason: 'no heartbeat for 1001 ms', left: false }]);
    expect(h.scheduler.worker('w1')?.alive).toBe(false);
    expect(lost(h.advance(5000))).toEqual([]);
  });

  it('keeps a worker alive as long as it heart-beats', () => {
    const h = new Harness({ heartbeatTimeoutMs: 1000 });
    h.addWorker('w1');
    for (let i = 0; i < 10; i++) expect(lost(h.advance(900))).toEqual([]);
    expect(h.scheduler.worker('w1')?.alive).toBe(true);
  });

  it('answers known:false to a heartbeat from a worker it never registered', () => {
    const h = new Harness();
    expect(h.scheduler.heartbeat('ghost', h.now)).toEqual({ known: false, decisions: [] });
    h.addWorker('w1');
    expect(h.scheduler.heartbeat('w1', h.now).known).toBe(true);
  });

  it('answers known:false to a late heartbeat from a worker it declared lost, and keeps it lost', () => {
    const h = new Harness({ heartbeatTimeoutMs: 1000 });
    h.addWorker('w1');
    h.submit({ maps: 1 });
    h.silent.add('w1');
    h.advance(1001);
    expect(h.scheduler.heartbeat('w1', h.now).known).toBe(false);
    expect(h.scheduler.worker('w1')?.alive).toBe(false);
    expect(launches(h.advance(10))).toEqual([]);
  });

  it('gives a lost worker\'s work to a worker that registers again under a new id', () => {
    const h = new Harness({ heartbeatTimeoutMs: 1000 });
    h.addWorker('w1', 2);
    h.submit({ maps: 2 });
    h.silent.add('w1');
    expect(launches(h.advance(1001))).toEqual([]);
    expect(h.scheduler.job('job-0001')?.message).toContain('waiting for capacity');
    const ds = launches(h.addWorker('w1-again', 2));
    expect(ds.map((d) => [d.attemptId, d.workerId])).toEqual([
      ['job-0001-m-00000-a2', 'w1-again'], ['job-0001-m-00001-a2', 'w1-again'],
    ]);
  });

  it('loses a worker at once when the wiring removes it, and only once', () => {
    const h = new Harness();
    h.addWorker('w1', 1);
    h.addWorker('w2', 1);
    h.submit({ maps: 1 });
    const ds = h.scheduler.removeWorker('w1', 'said goodbye', h.now);
    expect(lost(ds)).toEqual([{ type: 'workerLost', workerId: 'w1', reason: 'said goodbye', left: true }]);
    expect(launches(ds).map((d) => [d.attemptId, d.workerId])).toEqual([['job-0001-m-00000-a2', 'w2']]);
    expect(h.scheduler.removeWorker('w1', 'again', h.now)).toEqual([]);
    expect(h.scheduler.removeWorker('nobody', 'never here', h.now)).toEqual([]);
  });
});

describe('running attempts of a lost worker', () => {
  it('re-runs them on another worker at once, without counting a failure', () => {
    const h = new Harness({ heartbeatTimeoutMs: 1000 });
    h.addWorker('w1', 2);
    h.addWorker('w2', 2);
    h.submit({ maps: 2 });
    h.silent.add('w1');
    const ds = h.advance(1001);
    expect(ds.map((d) => d.type)).toEqual(['workerLost', 'launch']);
    expect(launches(ds)[0]).toMatchObject({ attemptId: 'job-0001-m-00000-a2', workerId: 'w2' });
    const job = h.scheduler.job('job-0001')!;
    expect(job.maps[0]).toMatchObject({ failures: 0, crashes: 1 });
    expect(job.failures).toEqual([]);
    expect(job.failuresByWorker.size).toBe(0);
    expect(h.scheduler.attempt('job-0001-m-00000-a1')).toMatchObject({ state: 'KILLED', cause: 'CRASHED_WORKER', failure: { code: 'WORKER_LOST' } });
    expect(h.scheduler.worker('w2')).toMatchObject({ usedSlots: 2, usedMemoryMb: 200 });
  });

  it('does not relaunch them on another worker lost in the same tick', () => {
    const h = new Harness({ heartbeatTimeoutMs: 1000 });
    h.addWorker('w1', 1);
    h.addWorker('w2', 1);
    h.addWorker('w3', 1);
    h.submit({ maps: 1 });
    h.silent.add('w1');
    h.silent.add('w2');
    const ds = h.advance(1001);
    expect(launches(ds).map((d) => d.workerId)).toEqual(['w3']);
    expect(h.scheduler.job('job-0001')?.maps[0]?.crashes).toBe(1);
  });

  it('keeps re-running a task lost with more workers than maxAttempts, below maxCrashes', () => {
    const h = new Harness({ heartbeatTimeoutMs: 1000, maxAttempts: 4, maxCrashes: 10 });
    h.addWorker('w1', 1);
    h.submit({ maps: 1, reducers: 0 });
    for (let n = 1; n <= 5; n++) {
      h.addWorker(`w${n + 1}`, 1);
      h.silent.add(`w${n}`);
      const ds = h.advance(1001);
      expect(launches(ds).map((d) => [d.attemptId, d.workerId])).toEqual([[`job-0001-m-00000-a${n + 1}`, `w${n + 1}`]]);
    }
    expect(h.scheduler.job('job-0001')?.maps[0]).toMatchObject({ failures: 0, crashes: 5 });
    expect(commits(h.succeed('job-0001-m-00000-a6'))).toHaveLength(1);
  });

  it('fails the job once one task was alone on maxCrashes workers when they died', () => {
    const h = new Harness({ heartbeatTimeoutMs: 1000, maxCrashes: 3 });
    h.addWorker('w1', 1);
    h.submit({ maps: 1, reducers: 0 });
    const done = [];
    for (let n = 1; n <= 3; n++) {
      h.addWorker(`w${n + 1}`, 1);
      h.silent.add(`w${n}`);
      done.push(...finished(h.advance(1001)));
      if (n < 3) expect(done).toEqual([]);
    }
    expect(done).toHaveLength(1);
    expect(done[0]?.state).toBe('FAILED');
    expect(done[0]?.message).toContain('job-0001-m-00000 was the only attempt running on 3 workers when they died (w1, w2, w3)');
    expect(h.scheduler.worker('w4')?.usedSlots).toBe(0);
  });

  it('ignores a success or failure reported late by an attempt of a lost worker', () => {
    const h = new Harness({ heartbeatTimeoutMs: 1000 });
    h.addWorker('w1', 1);
    h.addWorker('w2', 1);
    h.submit({ maps: 1, reducers: 1 });
    h.silent.add('w1');
    h.advance(1001);
    expect(h.succeed('job-0001-m-00000-a1')).toEqual([]);
    expect(h.failAttempt('job-0001-m-00000-a1')).toEqual([]);
    const job = h.scheduler.job('job-0001')!;
    expect(job.mapsDone).toBe(0);
    expect(job.maps[0]).toMatchObject({ state: 'RUNNING', failures: 0, crashes: 1 });
    expect(job.maps[0]?.winner).toBeUndefined();
    expect(h.scheduler.worker('w2')?.usedSlots).toBe(1);
  });
});

describe('finished map outputs of a lost worker', () => {
  it('re-runs a finished map whose output the reduces still need', () => {
    const h = new Harness({ heartbeatTimeoutMs: 1000 });
    h.addWorker('w1', 2);
    h.addWorker('w2', 2);
    h.submit({ maps: 2, reducers: 1 });
    h.succeed('job-0001-m-00000-a1'); // on w1
    h.silent.add('w1');
    const ds = launches(h.advance(1001));
    expect(ds.map((d) => [d.attemptId, d.workerId])).toEqual([['job-0001-m-00000-a2', 'w2']]);
    expect(h.scheduler.job('job-0001')?.mapsDone).toBe(0);
    expect(launches(h.succeed('job-0001-m-00001-a1'))).toEqual([]);
    const [reduce] = launches(h.succeed('job-0001-m-00000-a2'));
    expect(reduce?.sources?.map((s) => [s.attemptId, s.workerId])).toEqual([
      ['job-0001-m-00000-a2', 'w2'], ['job-0001-m-00001-a1', 'w2'],
    ]);
  });

  it('re-runs the lost reduce only after the lost map outputs are made again, pointing it at the new ones', () => {
    const h = new Harness({ heartbeatTimeoutMs: 1000 });
    h.addWorker('w1', 2);
    h.addWorker('w2', 2);
    h.submit({ maps: 2, reducers: 2 });
    h.succeed('job-0001-m-00000-a1');
    const reduces = launches(h.succeed('job-0001-m-00001-a1'));
    expect(reduces.map((d) => [d.attemptId, d.workerId])).toEqual([['job-0001-r-00000-a1', 'w1'], ['job-0001-r-00001-a1', 'w2']]);
    h.silent.add('w1');
    const ds = h.advance(1001);
    expect(launches(ds).map((d) => [d.attemptId, d.workerId])).toEqual([['job-0001-m-00000-a2', 'w2']]);
    expect(h.scheduler.attempt('job-0001-r-00001-a1')?.state).toBe('RUNNING');
    const [again] = launches(h.succeed('job-0001-m-00000-a2'));
    expect(again).toMatchObject({ attemptId: 'job-0001-r-00000-a2', workerId: 'w2' });
    expect(again?.sources?.map((s) => s.attemptId)).toEqual(['job-0001-m-00000-a2', 'job-0001-m-00001-a1']);
    expect(h.scheduler.job('job-0001')?.reduces[0]).toMatchObject({ failures: 0, crashes: 1 });
  });

  it('does not re-run the finished maps of a lost worker once every reduce is done', () => {
    const h = new Harness({ heartbeatTimeoutMs: 1000 });
    h.addWorker('w1', 2);
    h.addWorker('w2', 2);
    h.submit({ maps: 2, reducers: 1 });
    h.succeed('job-0001-m-00000-a1');
    h.succeed('job-0001-m-00001-a1');
    expect(commits(h.commitAndSucceed('job-0001-r-00000-a1'))).toHaveLength(1);
    h.silent.add('w1');
    const ds = h.advance(1001);
    expect(ds.map((d) => d.type)).toEqual(['workerLost']);
    expect(h.scheduler.job('job-0001')).toMatchObject({ state: 'COMMITTING', mapsDone: 2 });
    expect(h.scheduler.job('job-0001')?.maps[0]?.state).toBe('SUCCEEDED');
    expect(finished(h.scheduler.jobCommitted('job-0001', h.now))[0]?.state).toBe('SUCCEEDED');
  });

  it('does not re-run the maps of a job that has already finished', () => {
    const h = new Harness({ heartbeatTimeoutMs: 1000 });
    h.addWorker('w1', 2);
    h.addWorker('w2', 2);
    h.submit({ maps: 2, reducers: 1 });
    h.succeed('job-0001-m-00000-a1');
    h.succeed('job-0001-m-00001-a1');
    h.commitAndSucceed('job-0001-r-00000-a1');
    h.scheduler.jobCommitted('job-0001', h.now);
    h.silent.add('w1');
    expect(launches(h.advance(1001))).toEqual([]);
    expect(h.scheduler.job('job-0001')?.mapsDone).toBe(2);
  });
});

describe('fetch failures', () => {
  /** Two maps done (m0 on w1, m1 on w2); the one reduce runs on w1. */
  function reduceRunning(reducers = 1): Harness {
    const h = new Harness();
    h.addWorker('w1', 2);
    h.addWorker('w2', 2);
    h.submit({ maps: 2, reducers });
    h.succeed('job-0001-m-00000-a1');
    h.succeed('job-0001-m-00001-a1');
    return h;
  }

  it('re-runs the map whose output a reduce could not fetch, and re-queues the reduce until it is back', () => {
    const h = reduceRunning();
    const ds = h.scheduler.fetchFailed('job-0001-r-00000-a1', 1, 'job-0001-m-00001-a1', 'connection refused', h.now);
    expect(launches(ds).map((d) => d.attemptId)).toEqual(['job-0001-m-00001-a2']);
    const job = h.scheduler.job('job-0001')!;
    expect(job.mapsDone).toBe(1);
    expect(job.reduces[0]).toMatchObject({ state: 'PENDING', failures: 0, crashes: 0 });
    expect(h.scheduler.attempt('job-0001-r-00000-a1')).toMatchObject({
      state: 'KILLED', cause: 'FETCH_FAILED', failure: { code: 'FETCH_FAILED', message: 'fetch failed: connection refused' },
    });
    expect(launches(h.advance(10_000))).toEqual([]);
    const [reduce] = launches(h.succeed('job-0001-m-00001-a2'));
    expect(reduce?.attemptId).toBe('job-0001-r-00000-a2');
    expect(reduce?.sources?.[1]?.attemptId).toBe('job-0001-m-00001-a2');
  });

  it('does not re-run a map again for a fetch failure naming an output already replaced', () => {
    const h = reduceRunning(2);
    h.scheduler.fetchFailed('job-0001-r-00000-a1', 1, 'job-0001-m-00001-a1', 'refused', h.now);
    const ds = h.scheduler.fetchFailed('job-0001-r-00001-a1', 1, 'job-0001-m-00001-a1', 'refused', h.now);
    expect(launches(ds)).toEqual([]);
    expect(h.scheduler.job('job-0001')?.maps[1]?.attempts).toHaveLength(2);
    expect(h.scheduler.job('job-0001')?.reduces.map((r) => r.state)).toEqual(['PENDING', 'PENDING']);
  });

  it('takes every output on the worker of an unfetchable map as lost, and re-runs only those maps', () => {
    const h = new Harness();
    h.addWorker('w1', 2);
    h.addWorker('w2', 2);
    h.submit({ maps: 4, reducers: 2 });
    // m0 and m2 on w1, m1 and m3 on w2.
    for (let i = 0; i < 4; i++) h.succeed(`job-0001-m-0000${i}-a1`);
    expect(h.scheduler.job('job-0001')?.maps.map((m) => m.winner?.workerId)).toEqual(['w1', 'w2', 'w1', 'w2']);
    const ds = h.scheduler.fetchFailed('job-0001-r-00000-a1', 1, 'job-0001-m-00001-a1', 'connection refused', h.now);
    expect(launches(ds).map((d) => d.attemptId).sort()).toEqual(['job-0001-m-00001-a2', 'job-0001-m-00003-a2']);
    expect(h.scheduler.job('job-0001')?.maps.map((m) => m.state)).toEqual(['SUCCEEDED', 'RUNNING', 'SUCCEEDED', 'RUNNING']);
    // The other reduce, failing on the other output of w2, re-runs nothing more.
    expect(launches(h.scheduler.fetchFailed('job-0001-r-00001-a1', 3, 'job-0001-m-00003-a1', 'refused', h.now))).toEqual([]);
    expect(h.scheduler.job('job-0001')?.maps.map((m) => m.attempts.length)).toEqual([1, 2, 1, 2]);
  });

  it('ignores a fetch failure from an attempt it does not know', () => {
    const h = reduceRunning();
    expect(h.scheduler.fetchFailed('job-0001-r-00000-a9', 0, 'job-0001-m-00000-a1', 'x', h.now)).toEqual([]);
    expect(h.scheduler.job('job-0001')?.mapsDone).toBe(2);
  });
});
