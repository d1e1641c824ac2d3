import { describe, expect, it } from 'vitest';
import { Harness, commits, launches } from './harness.js';

const A = 'node-a:7337';
const B = 'node-b:7337';

const mapStates = (h: Harness): string[] => h.scheduler.job('job-0001')!.maps.map((m) => m.state);
const mapAttempts = (h: Harness): number[] => h.scheduler.job('job-0001')!.maps.map((m) => m.attempts.length);

describe('map outputs on a shuffle service', () => {
  it('stay registered when the worker that wrote them is lost: only its running attempt runs again', () => {
    const h = new Harness({ heartbeatTimeoutMs: 60_000 });
    h.addWorker('w1', 1, 1000, A);
    h.addWorker('w2', 1, 1000, B);
    h.submit({ maps: 2, reducers: 2 });
    h.succeed('job-0001-m-00000-a1');
    const reduces = launches(h.succeed('job-0001-m-00001-a1'));
    expect(reduces.map((d) => [d.attemptId, d.workerId])).toEqual([['job-0001-r-00000-a1', 'w1'], ['job-0001-r-00001-a1', 'w2']]);

    const ds = h.scheduler.workerDisconnected('w1', 'its command stream closed', h.now);
    expect(ds.map((d) => d.type)).toEqual(['workerLost']);
    expect(h.scheduler.job('job-0001')).toMatchObject({ mapsDone: 2 });
    expect(mapStates(h)).toEqual(['SUCCEEDED', 'SUCCEEDED']);
    expect(mapAttempts(h)).toEqual([1, 1]);
    // The reduce that ran there is lost as any attempt of a dead worker is.
    expect(h.scheduler.attempt('job-0001-r-00000-a1')).toMatchObject({ state: 'KILLED', cause: 'CRASHED_WORKER' });

    // It runs again on the survivor, fetching the dead worker's output from its service.
    const [again] = launches(h.commitAndSucceed('job-0001-r-00001-a1'));
    expect(again).toMatchObject({ attemptId: 'job-0001-r-00000-a2', workerId: 'w2' });
    expect(again?.sources?.map((s) => [s.attemptId, s.workerId, s.shuffleService])).toEqual([
      ['job-0001-m-00000-a1', 'w1', A], ['job-0001-m-00001-a1', 'w2', B],
    ]);
    expect(commits(h.commitAndSucceed('job-0001-r-00000-a2'))).toHaveLength(1);
  });

  it('are all re-run, and only they, when a reduce cannot fetch one of them from that service', () => {
    const h = new Harness();
    h.addWorker('w1', 1, 1000, A);
    h.addWorker('w2', 1, 1000, A);
    h.addWorker('w3', 1, 1000, B);
    h.submit({ maps: 3, reducers: 2 });
    for (let i = 0; i < 3; i++) h.succeed(`job-0001-m-0000${i}-a1`);
    expect(h.scheduler.job('job-0001')!.maps.map((m) => m.winner?.workerId)).toEqual(['w1', 'w2', 'w3']);

    // Service A died: a reduce cannot fetch m1 (written by w2, a live worker).
    const ds = h.scheduler.fetchFailed('job-0001-r-00000-a1', 1, 'job-0001-m-00001-a1', 'connection refused', h.now);
    expect(launches(ds).map((d) => d.attemptId).sort()).toEqual(['job-0001-m-00000-a2', 'job-0001-m-00001-a2']);
    expect(mapStates(h)).toEqual(['RUNNING', 'RUNNING', 'SUCCEEDED']);
    expect(h.scheduler.attempt('job-0001-r-00000-a1')).toMatchObject({ state: 'KILLED', cause: 'FETCH_FAILED' });
    // A second report naming an output already given up on re-runs nothing more.
    expect(launches(h.scheduler.fetchFailed('job-0001-r-00001-a1', 0, 'job-0001-m-00000-a1', 'refused', h.now))).toEqual([]);
    expect(mapAttempts(h)).toEqual([2, 2, 1]);
  });

  it('leave the outputs a worker serves itself to be re-run at its loss, as without a service', () => {
    const h = new Harness({ heartbeatTimeoutMs: 1000 });
    h.addWorker('w1', 2);
    h.addWorker('w2', 2, 1000, B);
    h.submit({ maps: 4, reducers: 2 });
    // m0 and m2 on w1 (served by w1), m1 and m3 on w2 (on service B).
    for (let i = 0; i < 4; i++) h.succeed(`job-0001-m-0000${i}-a1`);
    expect(h.scheduler.job('job-0001')!.maps.map((m) => m.winner?.workerId)).toEqual(['w1', 'w2', 'w1', 'w2']);

    h.silent.add('w1');
    const ds = h.advance(1001);
    expect(ds[0]).toMatchObject({ type: 'workerLost', workerId: 'w1' });
    // w2 has one slot left beside its reduce: m0 runs again there, m2 waits.
    expect(launches(ds).map((d) => [d.attemptId, d.workerId])).toEqual([['job-0001-m-00000-a2', 'w2']]);
    expect(mapStates(h)).toEqual(['RUNNING', 'SUCCEEDED', 'PENDING', 'SUCCEEDED']);

    // Losing w2 in turn re-runs what ran there, not the outputs it left on B.
    h.addWorker('w3', 2, 1000, B);
    h.silent.add('w2');
    h.advance(1001);
    expect(mapStates(h)).toEqual(['RUNNING', 'SUCCEEDED', 'RUNNING', 'SUCCEEDED']);
    expect(mapAttempts(h)).toEqual([3, 1, 2, 1]);
  });

  it('tells a worker restarted on the same node from its earlier self: the old id\'s outputs stay, its late reports are ignored', () => {
    const h = new Harness({ heartbeatTimeoutMs: 60_000 });
    h.addWorker('w1', 1, 1000, A);
    h.addWorker('w2', 1, 1000, B);
    h.submit({ maps: 3, reducers: 1 });
    // m0 on w1, m1 on w2; once m0 is done, m2 starts on w1, which then dies.
    expect(launches(h.succeed('job-0001-m-00000-a1')).map((d) => [d.attemptId, d.workerId])).toEqual([['job-0001-m-00002-a1', 'w1']]);
    h.scheduler.workerDisconnected('w1', 'its command stream closed', h.now);
    expect(mapStates(h)).toEqual(['SUCCEEDED', 'RUNNING', 'PENDING']);

    // The worker process starts again on node A, with a fresh folder and a new id.
    expect(launches(h.addWorker('w4', 1, 1000, A)).map((d) => [d.attemptId, d.workerId])).toEqual([['job-0001-m-00002-a2', 'w4']]);
    // Reports of the old id's attempt arrive late: ignored, whatever they say.
    expect(h.succeed('job-0001-m-00002-a1')).toEqual([]);
    expect(h.failAttempt('job-0001-m-00002-a1')).toEqual([]);
    expect(h.scheduler.job('job-0001')!.maps[2]).toMatchObject({ state: 'RUNNING', failures: 0 });

    h.succeed('job-0001-m-00001-a1');
    const [reduce] = launches(h.succeed('job-0001-m-00002-a2'));
    expect(reduce?.sources?.map((s) => [s.attemptId, s.workerId, s.shuffleService])).toEqual([
      ['job-0001-m-00000-a1', 'w1', A], ['job-0001-m-00001-a1', 'w2', B], ['job-0001-m-00002-a2', 'w4', A],
    ]);
    // Losing the new id takes no output along either...
    h.scheduler.workerDisconnected('w4', 'its command stream closed', h.now);
    expect(mapStates(h)).toEqual(['SUCCEEDED', 'SUCCEEDED', 'SUCCEEDED']);
    // ...but a failed fetch from node A's service takes both ids' outputs there.
    expect(reduce?.workerId).toBe('w2');
    const ds = h.scheduler.fetchFailed(reduce!.attemptId, 0, 'job-0001-m-00000-a1', 'connection refused', h.now);
    expect(launches(ds).map((d) => [d.attemptId, d.workerId])).toEqual([['job-0001-m-00000-a2', 'w2']]);
    expect(mapStates(h)).toEqual(['RUNNING', 'SUCCEEDED', 'PENDING']);
  });
});
