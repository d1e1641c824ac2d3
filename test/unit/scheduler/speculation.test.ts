import { describe, expect, it } from 'vitest';
import { median } from '../../../src/scheduler/speculation.js';
import { Harness, kills, launches } from './harness.js';

/**
 * Three workers of two slots; four maps, placed m0 w1, m1 w2, m2 w3, m3 w1.
 * m0..m2 succeed after `fastMs`; m3 keeps running, started at `start`.
 */
function threeOfFourDone(fastMs: number, speculation = true): { h: Harness; start: number } {
  const h = new Harness();
  h.addWorker('w1', 2);
  h.addWorker('w2', 2);
  h.addWorker('w3', 2);
  const start = h.now;
  const ds = launches(h.submit({ maps: 4, reducers: 1, speculation }));
  expect(ds.map((d) => d.workerId)).toEqual(['w1', 'w2', 'w3', 'w1']);
  h.clock.advance(fastMs);
  for (const i of [0, 1, 2]) h.succeed(`job-0001-m-0000${i}-a1`);
  return { h, start };
}

const speculative = (ds: ReturnType<Harness['advance']>) => launches(ds).filter((d) => d.speculative);

describe('speculative execution', () => {
  it('backs up an attempt running longer than twice the median once 75% of the maps finished', () => {
    const { h, start } = threeOfFourDone(1000);
    expect(speculative(h.advance(start + 2000 - h.now))).toEqual([]);
    const ds = launches(h.advance(1));
    expect(ds).toHaveLength(1);
    expect(ds[0]).toMatchObject({ attemptId: 'job-0001-m-00003-a2', taskId: 'job-0001-m-00003', speculative: true });
    expect(ds[0]?.workerId).not.toBe('w1');
  });

  it('starts at most one backup per task', () => {
    const { h } = threeOfFourDone(1000);
    expect(launches(h.advance(1500))).toHaveLength(1);
    expect(launches(h.advance(5000))).toEqual([]);
    expect(launches(h.advance(50_000))).toEqual([]);
    expect(h.scheduler.job('job-0001')?.maps[3]?.attempts).toHaveLength(2);
  });

  it('starts no second backup when the first backup fails while the original still runs', () => {
    const { h } = threeOfFourDone(1000);
    h.advance(1500);
    expect(launches(h.failAttempt('job-0001-m-00003-a2'))).toEqual([]);
    expect(launches(h.advance(60_000))).toEqual([]);
    expect(h.scheduler.attempt('job-0001-m-00003-a1')?.state).toBe('RUNNING');
    expect(h.scheduler.job('job-0001')?.maps[3]?.attempts).toHaveLength(2);
  });

  it('keeps both attempts on record, the backup marked speculative', () => {
    const { h } = threeOfFourDone(1000);
    h.advance(1500);
    expect(h.scheduler.job('job-0001')?.maps[3]?.attempts.map((a) => [a.id, a.speculative, a.state])).toEqual([
      ['job-0001-m-00003-a1', false, 'RUNNING'], ['job-0001-m-00003-a2', true, 'RUNNING'],
    ]);
  });

  it('kills the backup when the original succeeds first', () => {
    const { h } = threeOfFourDone(1000);
    const [backup] = launches(h.advance(1500));
    const ds = h.succeed('job-0001-m-00003-a1');
    expect(kills(ds)).toEqual([{
      type: 'kill', jobId: 'job-0001', attemptId: 'job-0001-m-00003-a2', workerId: backup?.workerId, reason: 'superseded',
    }]);
    expect(launches(ds).map((d) => d.kind)).toEqual(['reduce']);
    expect(h.scheduler.job('job-0001')?.maps[3]?.winner?.id).toBe('job-0001-m-00003-a1');
  });

  it('kills the original when the backup succeeds first, and the reduce reads the backup\'s output', () => {
    const { h } = threeOfFourDone(1000);
    const [backup] = launches(h.advance(1500));
    const ds = h.succeed('job-0001-m-00003-a2');
    expect(kills(ds).map((k) => [k.attemptId, k.workerId])).toEqual([['job-0001-m-00003-a1', 'w1']]);
    const [reduce] = launches(ds);
    expect(reduce?.sources?.[3]).toMatchObject({ attemptId: 'job-0001-m-00003-a2', workerId: backup?.workerId });
  });

  it('ignores the late success of the attempt that lost', () => {
    const { h } = threeOfFourDone(1000);
    h.advance(1500);
    h.succeed('job-0001-m-00003-a2');
    expect(h.succeed('job-0001-m-00003-a1')).toEqual([]);
    const job = h.scheduler.job('job-0001')!;
    expect(job.mapsDone).toBe(4);
    expect(job.reduces[0]?.attempts).toHaveLength(1);
    expect(job.maps[3]?.winner?.id).toBe('job-0001-m-00003-a2');
  });

  it('does not speculate before 75% of the maps have finished', () => {
    const h = new Harness();
    h.addWorker('w1', 4);
    h.addWorker('w2', 4);
    h.submit({ maps: 4, reducers: 1, speculation: true });
    h.clock.advance(100);
    h.succeed('job-0001-m-00000-a1');
    h.succeed('job-0001-m-00001-a1');
    expect(speculative(h.advance(9000))).toEqual([]);
    h.succeed('job-0001-m-00002-a1');
    expect(speculative(h.advance(1)).map((d) => d.taskId)).toEqual(['job-0001-m-00003']);
  });

  it('never backs up an attempt that has run less than minRuntimeMs, however fast the others were', () => {
    const { h, start } = threeOfFourDone(100);
    expect(speculative(h.advance(start + 1000 - h.now))).toEqual([]);
    expect(speculative(h.advance(1))).toHaveLength(1);
  });

  it('honours the configured multiplier and minimum runtime', () => {
    const h = new Harness({ speculation: { multiplier: 3, minRuntimeMs: 10 } });
    h.addWorker('w1', 2);
    h.addWorker('w2', 2);
    h.submit({ maps: 4, reducers: 0, speculation: true });
    const start = h.now;
    h.clock.advance(100);
    for (const i of [0, 1, 2]) h.succeed(`job-0001-m-0000${i}-a1`);
    expect(speculative(h.advance(start + 300 - h.now))).toEqual([]);
    expect(speculative(h.advance(1))).toHaveLength(1);
  });

  it('does not speculate when the job\'s speculation is off', () => {
    const { h } = threeOfFourDone(1000, false);
    expect(launches(h.advance(60_000))).toEqual([]);
    expect(h.scheduler.job('job-0001')?.maps[3]?.attempts).toHaveLength(1);
  });

  it('never places a backup on the worker of the attempt it backs up', () => {
    const h = new Harness();
    h.addWorker('w1', 8);
    h.submit({ maps: 4, reducers: 1, speculation: true });
    h.clock.advance(100);
    for (const i of [0, 1, 2]) h.succeed(`job-0001-m-0000${i}-a1`);
    expect(launches(h.advance(60_000))).toEqual([]);
    const late = launches(h.addWorker('w2', 1));
    expect(late).toEqual([]);
    expect(launches(h.advance(1)).map((d) => [d.workerId, d.speculative])).toEqual([['w2', true]]);
  });

  it('keeps the backup running when the original\'s worker is lost, without starting a third attempt', () => {
    const { h } = threeOfFourDone(1000);
    const [backup] = launches(h.advance(1500));
    expect(backup?.workerId).toBe('w2');
    h.silent.add('w1');
    const ds = launches(h.advance(10_001));
    // Only m0, whose output lived on w1, runs again; m3 keeps its backup.
    expect(ds.map((d) => d.taskId)).toEqual(['job-0001-m-00000']);
    expect(h.scheduler.attempt('job-0001-m-00003-a1')?.state).toBe('KILLED');
    expect(h.scheduler.attempt('job-0001-m-00003-a2')?.state).toBe('RUNNING');
    expect(h.scheduler.job('job-0001')?.maps[3]?.attempts).toHaveLength(2);
  });

  it('backs up a slow reduce once 75% of the reduces finished', () => {
    const h = new Harness();
    h.addWorker('w1', 2);
    h.addWorker('w2', 2);
    h.submit({ maps: 1, reducers: 4, speculation: true });
    h.succeed('job-0001-m-00000-a1');
    h.clock.advance(100);
    for (const r of [0, 1, 2]) h.commitAndSucceed(`job-0001-r-0000${r}-a1`);
    const ds = speculative(h.advance(1000));
    expect(ds.map((d) => [d.taskId, d.kind])).toEqual([['job-0001-r-00003', 'reduce']]);
  });

  it('does not back up a reduce while a lost map output is being made again', () => {
    const h = new Harness({ heartbeatTimeoutMs: 1000 });
    h.addWorker('w1', 1);
    h.addWorker('w2', 4);
    h.addWorker('w3', 4);
    h.submit({ maps: 1, reducers: 4, speculation: true });
    const reduces = launches(h.succeed('job-0001-m-00000-a1'));
    expect(reduces.map((d) => d.workerId)).toEqual(['w1', 'w2', 'w3', 'w2']);
    h.clock.advance(100);
    for (const r of [0, 2, 3]) h.commitAndSucceed(`job-0001-r-0000${r}-a1`);
    // w1 held the map output; r1 on w2 is a straggler by now.
    h.silent.add('w1');
    const ds = h.advance(1001);
    expect(launches(ds).map((d) => [d.taskId, d.speculative])).toEqual([['job-0001-m-00000', false]]);
    expect(h.scheduler.job('job-0001')?.reduces[1]?.attempts).toHaveLength(1);
    h.succeed('job-0001-m-00000-a2');
    const backup = speculative(h.advance(1));
    expect(backup.map((d) => d.taskId)).toEqual(['job-0001-r-00001']);
    expect(backup[0]?.sources?.[0]?.attemptId).toBe('job-0001-m-00000-a2');
  });

  it('takes the median of an odd and of an even number of durations', () => {
    expect(median([30, 10, 20])).toBe(20);
    expect(median([4, 1, 3, 2])).toBe(2.5);
  });
});
