/**
 * What counts toward the limit that stops a task that keeps killing its
 * workers (maxCrashes), and what counts toward none (attempt-end.ts). Where an
 * ending must count nowhere, the limits are set to 1, so that counting it
 * anywhere would fail the job at once.
 */
import { describe, expect, it } from 'vitest';
import { Harness, commits, fail, finished, launches } from './harness.js';
import type { Decision } from '../../../src/scheduler/types.js';

const TIMEOUT = 1000;

/** Limits of 1: any ending counted toward either of them fails the job. */
const STRICT = { heartbeatTimeoutMs: TIMEOUT, maxAttempts: 1, maxCrashes: 1 };

/** Worker `dead` dies (falls silent past the timeout) and `fresh` registers in its place first. */
function crash(h: Harness, dead: string, fresh: string, slots = 1): Decision[] {
  h.addWorker(fresh, slots);
  h.silent.add(dead);
  return h.advance(TIMEOUT + 1);
}

const job = (h: Harness) => h.scheduler.job('job-0001')!;

describe('the crash limit (maxCrashes)', () => {
  it('fails the job once a task was the only attempt running on 10 workers that died, naming each', () => {
    const h = new Harness({ heartbeatTimeoutMs: TIMEOUT });
    h.addWorker('w1', 1);
    h.submit({ maps: 1, reducers: 0 });
    for (let n = 1; n < 10; n++) {
      const ds = crash(h, `w${n}`, `w${n + 1}`);
      expect(finished(ds)).toEqual([]);
      expect(launches(ds).map((d) => [d.attemptId, d.workerId])).toEqual([[`job-0001-m-00000-a${n + 1}`, `w${n + 1}`]]);
    }
    expect(job(h).maps[0]).toMatchObject({ crashes: 9, failures: 0 });
    const [done] = finished(crash(h, 'w10', 'w11'));
    expect(done?.state).toBe('FAILED');
    expect(done?.message).toBe('task job-0001-m-00000 was the only attempt running on 10 workers when they died '
      + '(w1, w2, w3, w4, w5, w6, w7, w8, w9, w10): its map most likely kills its worker process '
      + '(a crash, process.exit or a kill of its own process)');
    expect(done?.failures.map((f) => [f.attemptId, f.workerId, f.code])).toEqual(
      Array.from({ length: 10 }, (_, i) => [`job-0001-m-00000-a${i + 1}`, `w${i + 1}`, 'WORKER_LOST']));
    expect(job(h).maps[0]?.state).toBe('FAILED');
    expect(h.scheduler.attempt('job-0001-m-00000-a10')).toMatchObject({ state: 'KILLED', cause: 'CRASHED_WORKER' });
    expect(launches(h.advance(10_000))).toEqual([]);
  });

  it('blames none of several attempts that die with their worker, however often it happens', () => {
    const h = new Harness(STRICT);
    h.addWorker('w1', 2);
    h.submit({ maps: 2, reducers: 0 });
    for (let n = 1; n <= 12; n++) {
      const ds = crash(h, `w${n}`, `w${n + 1}`, 2);
      expect(finished(ds)).toEqual([]);
      expect(launches(ds).map((d) => d.workerId)).toEqual([`w${n + 1}`, `w${n + 1}`]);
    }
    expect(job(h).maps.map((t) => [t.crashes, t.failures])).toEqual([[0, 0], [0, 0]]);
    expect(h.scheduler.attempt('job-0001-m-00000-a12')).toMatchObject({ state: 'KILLED', cause: 'WORKER_LOST' });
    h.succeed('job-0001-m-00000-a13');
    expect(commits(h.succeed('job-0001-m-00001-a13'))).toHaveLength(1);
  });

  it('blames a running attempt that shared its worker only with a committing one, whose code had finished', () => {
    const h = new Harness({ heartbeatTimeoutMs: TIMEOUT });
    h.addWorker('w1', 2);
    h.submit({ maps: 1, reducers: 2 });
    expect(launches(h.succeed('job-0001-m-00000-a1')).map((d) => d.workerId)).toEqual(['w1', 'w1']);
    expect(h.scheduler.requestCommit('job-0001-r-00000-a1')).toBe(true);
    crash(h, 'w1', 'w2', 2);
    expect(h.scheduler.attempt('job-0001-r-00000-a1')?.state).toBe('COMMITTING');
    expect(h.scheduler.attempt('job-0001-r-00001-a1')).toMatchObject({ state: 'KILLED', cause: 'CRASHED_WORKER' });
    expect(job(h).reduces[1]?.crashes).toBe(1);
  });

  it('does not blame an attempt launched onto a worker that had already fallen silent', () => {
    const h = new Harness({ heartbeatTimeoutMs: 5000, maxCrashes: 1 });
    for (const w of ['w1', 'w2', 'w3']) h.addWorker(w, 2);
    // m0 w1, m1 w2, m2 w3, m3 w1; heartbeats every 250 ms.
    h.submit({ maps: 4, reducers: 1, speculation: true });
    for (let t = 0; t < 1000; t += 250) h.advance(250);
    for (const i of [0, 1, 2]) h.succeed(`job-0001-m-0000${i}-a1`);
    // w1 dies unnoticed under m3, which gets a backup elsewhere once it lags.
    h.silent.add('w1');
    let backup;
    while (!backup) backup = launches(h.advance(250)).find((d) => d.speculative);
    h.clock.advance(100);
    // The backup wins: the master kills m3-a1 and, w1's slots being free as far
    // as it knows, sends the reduce there, where it will never run.
    const [reduce] = launches(h.succeed(backup.attemptId));
    expect(reduce).toMatchObject({ attemptId: 'job-0001-r-00000-a1', workerId: 'w1' });
    let ds: Decision[] = [];
    while (!ds.some((d) => d.type === 'workerLost')) ds = h.advance(250);
    expect(h.scheduler.attempt('job-0001-r-00000-a1')).toMatchObject({ state: 'KILLED', cause: 'WORKER_LOST' });
    expect(finished(ds)).toEqual([]);
    expect(launches(ds).map((d) => d.attemptId)).toContain('job-0001-m-00000-a2');
    expect(job(h).reduces[0]?.crashes).toBe(0);
  });

  it('blames nobody for a worker that left on its own', () => {
    const h = new Harness(STRICT);
    h.addWorker('w1', 1);
    h.addWorker('w2', 1);
    h.submit({ maps: 1, reducers: 0 });
    const ds = h.scheduler.removeWorker('w1', 'the worker left', h.now);
    expect(launches(ds).map((d) => d.workerId)).toEqual(['w2']);
    expect(h.scheduler.attempt('job-0001-m-00000-a1')?.cause).toBe('WORKER_LOST');
    expect(job(h).state).toBe('RUNNING');
  });

  it('counts crashes since the task last succeeded, so a map re-run after its output was lost starts from zero', () => {
    const h = new Harness({ heartbeatTimeoutMs: TIMEOUT, maxCrashes: 3 });
    h.addWorker('w1', 1);
    h.submit({ maps: 1, reducers: 1 });
    crash(h, 'w1', 'w2');
    crash(h, 'w2', 'w3');
    expect(job(h).maps[0]?.crashes).toBe(2);
    expect(launches(h.succeed('job-0001-m-00000-a3')).map((d) => [d.attemptId, d.workerId])).toEqual([['job-0001-r-00000-a1', 'w3']]);
    expect(job(h).maps[0]?.crashes).toBe(0);
    // w3 dies under the reduce, taking the map's output with it: the map runs again.
    expect(launches(crash(h, 'w3', 'w4')).map((d) => d.attemptId)).toEqual(['job-0001-m-00000-a4']);
    expect(job(h).reduces[0]?.crashes).toBe(1);
    crash(h, 'w4', 'w5');
    expect(finished(crash(h, 'w5', 'w6'))).toEqual([]);
    expect(job(h).maps[0]?.crashes).toBe(2);
    expect(finished(crash(h, 'w6', 'w7'))[0]?.message).toContain('job-0001-m-00000 was the only attempt running on 3 workers when they died (w4, w5, w6)');
  });
});

describe('endings that count toward no limit', () => {
  it('a speculative loser, whichever attempt wins, and its late report', () => {
    const h = new Harness(STRICT);
    for (const w of ['w1', 'w2', 'w3']) h.addWorker(w, 2);
    h.submit({ maps: 4, reducers: 1, speculation: true });
    h.clock.advance(1000);
    for (const i of [0, 1, 2]) h.succeed(`job-0001-m-0000${i}-a1`);
    const [backup] = launches(h.advance(1500));
    expect(backup).toMatchObject({ attemptId: 'job-0001-m-00003-a2', speculative: true });
    h.succeed('job-0001-m-00003-a2');
    expect(h.scheduler.attempt('job-0001-m-00003-a1')).toMatchObject({ state: 'KILLED', cause: 'SUPERSEDED' });
    // The loser's worker reports the kill it carried out: nothing changes.
    expect(h.failAttempt('job-0001-m-00003-a1', fail('container terminated', 'KILLED'))).toEqual([]);
    expect(job(h).maps[3]).toMatchObject({ state: 'SUCCEEDED', failures: 0, crashes: 0 });
    expect(job(h).state).toBe('RUNNING');
  });

  it('a reduce attempt denied its commit because its backup is committing', () => {
    const h = new Harness(STRICT);
    for (const w of ['w1', 'w2', 'w3']) h.addWorker(w, 2);
    h.submit({ maps: 1, reducers: 4, speculation: true });
    h.succeed('job-0001-m-00000-a1');
    h.clock.advance(100);
    for (const r of [0, 1, 2]) h.commitAndSucceed(`job-0001-r-0000${r}-a1`);
    expect(launches(h.advance(1000)).map((d) => d.attemptId)).toEqual(['job-0001-r-00003-a2']);
    expect(h.scheduler.requestCommit('job-0001-r-00003-a2')).toBe(true);
    expect(h.scheduler.requestCommit('job-0001-r-00003-a1')).toBe(false);
    // What the master does with a denied commit.
    h.failAttempt('job-0001-r-00003-a1', fail('commit denied: another attempt of the task committed', 'KILLED'));
    expect(h.scheduler.attempt('job-0001-r-00003-a1')?.cause).toBe('SUPERSEDED');
    expect(job(h).state).toBe('RUNNING');
    expect(commits(h.succeed('job-0001-r-00003-a2'))).toHaveLength(1);
  });

  it('a kill by the user: the job ends KILLED, not FAILED, with no failures', () => {
    const h = new Harness(STRICT);
    h.addWorker('w1', 2);
    h.submit({ maps: 2, reducers: 1 });
    const [done] = finished(h.scheduler.killJob('job-0001', 'killed by a client', h.now));
    expect(done).toMatchObject({ state: 'KILLED', failures: [] });
    expect(h.scheduler.attempt('job-0001-m-00000-a1')?.cause).toBe('KILLED');
    expect(job(h).maps.map((t) => [t.state, t.failures, t.crashes])).toEqual([['KILLED', 0, 0], ['KILLED', 0, 0]]);
  });

  it('an attempt its worker stopped, retried at once as often as it happens', () => {
    const h = new Harness(STRICT);
    h.addWorker('w1', 1);
    h.submit({ maps: 1, reducers: 0 });
    for (let n = 1; n <= 5; n++) {
      const ds = h.failAttempt(`job-0001-m-00000-a${n}`, fail('container terminated', 'KILLED'));
      expect(launches(ds).map((d) => d.attemptId)).toEqual([`job-0001-m-00000-a${n + 1}`]);
    }
    expect(h.scheduler.attempt('job-0001-m-00000-a5')?.cause).toBe('KILLED');
    expect(job(h).state).toBe('RUNNING');
  });

  it('an attempt whose launch its worker never got', () => {
    const h = new Harness({ ...STRICT, heartbeatTimeoutMs: 60_000, reconcileGraceMs: 1000 });
    h.addWorker('w1', 1);
    h.submit({ maps: 1, reducers: 0 });
    for (let n = 1; n <= 3; n++) {
      h.clock.advance(1001);
      expect(launches(h.scheduler.heartbeat('w1', h.now, []).decisions).map((d) => d.attemptId)).toEqual([`job-0001-m-00000-a${n + 1}`]);
      expect(h.scheduler.attempt(`job-0001-m-00000-a${n}`)?.cause).toBe('LAUNCH_LOST');
    }
    expect(job(h).state).toBe('RUNNING');
  });

  it('a reduce whose fetch failed because a map\'s worker died, again and again', () => {
    const h = new Harness(STRICT);
    h.addWorker('w1', 2);
    h.addWorker('w2', 2);
    h.submit({ maps: 2, reducers: 1 });
    h.succeed('job-0001-m-00000-a1');
    let reduce = launches(h.succeed('job-0001-m-00001-a1'))[0]!.attemptId;
    for (let n = 1; n <= 3; n++) {
      const lostMap = job(h).maps[1]!.winner!.id;
      const ds = h.scheduler.fetchFailed(reduce, 1, lostMap, 'connection refused', h.now);
      expect(finished(ds)).toEqual([]);
      expect(h.scheduler.attempt(reduce)).toMatchObject({ state: 'KILLED', cause: 'FETCH_FAILED' });
      const reruns = launches(ds);
      expect(reruns.map((d) => d.taskId)).toContain('job-0001-m-00001');
      const next = reruns.flatMap((d) => launches(h.succeed(d.attemptId)));
      expect(next.map((d) => d.taskId)).toEqual(['job-0001-r-00000']);
      reduce = next[0]!.attemptId;
    }
    expect(reduce).toBe('job-0001-r-00000-a4');
    expect(job(h).reduces[0]).toMatchObject({ failures: 0, crashes: 0 });
    expect(commits(h.commitAndSucceed(reduce))).toHaveLength(1);
  });
});

describe('the ordinary retry limit (maxAttempts)', () => {
  it('counts only failures of the attempt\'s own, not crashes, kills or lost launches', () => {
    const h = new Harness({ heartbeatTimeoutMs: TIMEOUT, maxAttempts: 2, retryBackoffMs: 100 });
    h.addWorker('w1', 1);
    h.submit({ maps: 1, reducers: 0 });
    crash(h, 'w1', 'w2');
    crash(h, 'w2', 'w3');
    h.failAttempt('job-0001-m-00000-a3', fail('container terminated', 'KILLED'));
    expect(finished(h.failAttempt('job-0001-m-00000-a4', fail('Cannot read x', 'USER_CODE_ERROR')))).toEqual([]);
    expect(job(h).maps[0]).toMatchObject({ failures: 1, crashes: 2 });
    expect(launches(h.advance(100)).map((d) => d.attemptId)).toEqual(['job-0001-m-00000-a5']);
    const [done] = finished(h.failAttempt('job-0001-m-00000-a5', fail('took too long', 'TIMEOUT')));
    expect(done?.message).toContain('task job-0001-m-00000 failed 2 times');
    // The failures reported are the task's own two, not the crashes or the kill.
    expect(done?.failures.map((f) => [f.attemptId, f.code])).toEqual([
      ['job-0001-m-00000-a4', 'USER_CODE_ERROR'], ['job-0001-m-00000-a5', 'TIMEOUT'],
    ]);
  });
});
