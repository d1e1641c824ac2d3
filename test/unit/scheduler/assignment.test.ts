import { describe, expect, it } from 'vitest';
import { LaminateError } from '../../../src/common/errors.js';
import { Scheduler } from '../../../src/scheduler/scheduler.js';
import { Harness, commits, finished, launches, mapResult, submission } from './harness.js';

describe('assignment of attempts to workers', () => {
  it('launches no more attempts on a worker than it has slots', () => {
    const h = new Harness();
    h.addWorker('w1', 2, 10_000);
    const ds = h.submit({ maps: 5 });
    expect(launches(ds).map((d) => d.attemptId)).toEqual(['job-0001-m-00000-a1', 'job-0001-m-00001-a1']);
    expect(h.scheduler.worker('w1')).toMatchObject({ usedSlots: 2, usedMemoryMb: 200 });
    expect(launches(h.advance(1000))).toEqual([]);
  });

  it('launches the next pending task as soon as an attempt frees its slot', () => {
    const h = new Harness();
    h.addWorker('w1', 2, 10_000);
    h.submit({ maps: 3 });
    const ds = h.succeed('job-0001-m-00000-a1');
    expect(launches(ds).map((d) => [d.attemptId, d.workerId])).toEqual([['job-0001-m-00002-a1', 'w1']]);
  });

  it('launches an attempt only where its memory is free, even with slots to spare', () => {
    const h = new Harness();
    h.addWorker('w1', 8, 250);
    const ds = h.submit({ maps: 4, mapMemoryMb: 100 });
    expect(launches(ds)).toHaveLength(2);
    expect(h.scheduler.worker('w1')).toMatchObject({ usedSlots: 2, usedMemoryMb: 200 });
  });

  it('spreads attempts across workers by their share of free slots', () => {
    const h = new Harness();
    h.addWorker('w1', 2);
    h.addWorker('w2', 2);
    const ds = h.submit({ maps: 4 });
    expect(launches(ds).map((d) => d.workerId)).toEqual(['w1', 'w2', 'w1', 'w2']);
  });

  it('weighs a larger worker by its share of free slots, not its count', () => {
    const h = new Harness();
    h.addWorker('w1', 4);
    h.addWorker('w2', 2);
    const ds = h.submit({ maps: 6 });
    // w1 4/4 ties w2 2/2 (the first registered wins), then w2 2/2 beats w1 3/4, w1 3/4 beats w2 1/2, ...
    expect(launches(ds).map((d) => d.workerId)).toEqual(['w1', 'w2', 'w1', 'w1', 'w2', 'w1']);
  });

  it('frees the slot and memory of an attempt that ends, whether it succeeded or failed', () => {
    const h = new Harness();
    h.addWorker('w1', 2, 1000);
    h.submit({ maps: 2, reducers: 0, mapMemoryMb: 300 });
    h.succeed('job-0001-m-00000-a1');
    expect(h.scheduler.worker('w1')).toMatchObject({ usedSlots: 1, usedMemoryMb: 300 });
    h.failAttempt('job-0001-m-00001-a1');
    expect(h.scheduler.worker('w1')).toMatchObject({ usedSlots: 0, usedMemoryMb: 0 });
    expect(h.runningOn('w1')).toEqual([]);
  });

  it('marks a job RUNNING at its first launch and records when', () => {
    const h = new Harness();
    h.submit({ maps: 1 });
    expect(h.scheduler.job('job-0001')?.state).toBe('PENDING');
    h.clock.advance(50);
    h.addWorker('w1');
    expect(h.scheduler.job('job-0001')).toMatchObject({ state: 'RUNNING', startTime: h.now });
  });

  it('launches a map attempt with its ids, kind, index and memory', () => {
    const h = new Harness();
    h.addWorker('w1');
    const [d] = launches(h.submit({ maps: 1, mapMemoryMb: 123 }));
    expect(d).toEqual({
      type: 'launch', jobId: 'job-0001', taskId: 'job-0001-m-00000', attemptId: 'job-0001-m-00000-a1',
      kind: 'map', index: 0, workerId: 'w1', memoryMb: 123, speculative: false,
    });
  });

  it('refuses to register the same worker id twice', () => {
    const h = new Harness();
    h.addWorker('w1');
    expect(() => h.addWorker('w1')).toThrowError(expect.objectContaining({ code: 'ALREADY_EXISTS' }));
  });

  it('refuses to submit the same job id twice', () => {
    const h = new Harness();
    h.submit();
    expect(() => h.submit()).toThrowError(expect.objectContaining({ code: 'ALREADY_EXISTS' }));
  });
});

describe('reduces', () => {
  it('starts no reduce until every map has succeeded', () => {
    const h = new Harness();
    h.addWorker('w1', 8);
    const first = h.submit({ maps: 2, reducers: 2 });
    expect(launches(first).map((d) => d.kind)).toEqual(['map', 'map']);
    expect(launches(h.succeed('job-0001-m-00000-a1'))).toEqual([]);
    expect(launches(h.advance(10_000))).toEqual([]);
    const ds = launches(h.succeed('job-0001-m-00001-a1'));
    expect(ds.map((d) => d.taskId)).toEqual(['job-0001-r-00000', 'job-0001-r-00001']);
  });

  it('gives every reduce attempt the output of every map, from the attempt and worker that made it', () => {
    const h = new Harness();
    h.addWorker('w1', 1);
    h.addWorker('w2', 1);
    h.submit({ maps: 2, reducers: 1 });
    h.succeed('job-0001-m-00001-a1', mapResult(1, 7));
    const [reduce] = launches(h.succeed('job-0001-m-00000-a1', mapResult(1, 3)));
    expect(reduce?.sources).toEqual([
      { mapIndex: 0, attemptId: 'job-0001-m-00000-a1', workerId: 'w1', partitions: [{ offset: 3000, length: 10, records: 1 }] },
      { mapIndex: 1, attemptId: 'job-0001-m-00001-a1', workerId: 'w2', partitions: [{ offset: 7000, length: 10, records: 1 }] },
    ]);
  });

  it('asks the wiring to commit the job once every reduce has succeeded, and finishes it when told it did', () => {
    const h = new Harness();
    h.addWorker('w1', 4);
    h.submit({ maps: 1, reducers: 2 });
    h.succeed('job-0001-m-00000-a1');
    expect(commits(h.commitAndSucceed('job-0001-r-00000-a1'))).toEqual([]);
    expect(commits(h.commitAndSucceed('job-0001-r-00001-a1'))).toEqual([{ type: 'commitJob', jobId: 'job-0001' }]);
    expect(h.scheduler.job('job-0001')?.state).toBe('COMMITTING');
    expect(launches(h.advance(10))).toEqual([]);
    const done = finished(h.scheduler.jobCommitted('job-0001', h.now));
    expect(done).toEqual([{ type: 'jobFinished', jobId: 'job-0001', state: 'SUCCEEDED', failures: [], message: 'committed' }]);
    expect(h.scheduler.job('job-0001')).toMatchObject({ state: 'SUCCEEDED', finishTime: h.now });
    expect(h.scheduler.jobCommitted('job-0001', h.now)).toEqual([]);
  });

  it('fails the job when the wiring cannot commit its output', () => {
    const h = new Harness();
    h.addWorker('w1', 4);
    h.submit({ maps: 1, reducers: 1 });
    h.succeed('job-0001-m-00000-a1');
    h.commitAndSucceed('job-0001-r-00000-a1');
    const [done] = finished(h.scheduler.jobCommitFailed('job-0001', { code: 'UNAVAILABLE', message: 'disk full' }, h.now));
    expect(done).toMatchObject({ state: 'FAILED', message: 'job commit failed: disk full' });
  });

  it('commits at once a job with neither maps nor reduces', () => {
    const h = new Harness();
    expect(commits(h.submit({ maps: 0, reducers: 0 }))).toHaveLength(1);
  });

  it('starts reduces at once, with no sources, for a job with no maps', () => {
    const h = new Harness();
    h.addWorker('w1');
    const ds = launches(h.submit({ maps: 0, reducers: 1 }));
    expect(ds.map((d) => [d.kind, d.sources])).toEqual([['reduce', []]]);
  });
});

describe('placement by memory', () => {
  it('keeps a task asking for more memory than is free waiting until memory is freed', () => {
    const h = new Harness();
    h.addWorker('w1', 4, 300);
    const ds = h.submit({ maps: 2, mapMemoryMb: 200 });
    expect(launches(ds)).toHaveLength(1);
    expect(launches(h.advance(1000))).toEqual([]);
    const next = launches(h.succeed('job-0001-m-00000-a1'));
    expect(next.map((d) => d.taskId)).toEqual(['job-0001-m-00001']);
  });

  it('places a task on the one worker with enough memory when the others are too small', () => {
    const h = new Harness();
    h.addWorker('small', 4, 100);
    h.addWorker('big', 4, 1000);
    const ds = launches(h.submit({ maps: 3, mapMemoryMb: 400 }));
    expect(ds.map((d) => d.workerId)).toEqual(['big', 'big']);
  });

  it('uses reduce memory for reduces and map memory for maps', () => {
    const h = new Harness();
    h.addWorker('w1', 4, 1000);
    h.submit({ maps: 1, reducers: 1, mapMemoryMb: 100, reduceMemoryMb: 700 });
    const [reduce] = launches(h.succeed('job-0001-m-00000-a1'));
    expect(reduce?.memoryMb).toBe(700);
    expect(h.scheduler.worker('w1')?.usedMemoryMb).toBe(700);
  });

  it('refuses at submit, with RESOURCE_EXHAUSTED, a job whose map can never fit on any worker', () => {
    const h = new Harness();
    h.addWorker('w1', 4, 512);
    h.addWorker('w2', 4, 1024);
    let error: unknown;
    try {
      h.submit({ mapMemoryMb: 2048 });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(LaminateError);
    expect(error).toMatchObject({ code: 'RESOURCE_EXHAUSTED', ids: { jobId: 'job-0001' } });
    expect((error as Error).message).toContain('2048 MB');
    expect((error as Error).message).toContain('1024 MB');
    expect(h.scheduler.job('job-0001')).toBeUndefined();
  });

  it('refuses at submit a job whose reduce can never fit on any worker', () => {
    const h = new Harness();
    h.addWorker('w1', 4, 512);
    expect(() => h.submit({ reduceMemoryMb: 513 }))
      .toThrowError(expect.objectContaining({ code: 'RESOURCE_EXHAUSTED', message: expect.stringContaining('--reduce-memory') }));
  });

  it('judges a submission only by the workers alive now', () => {
    const h = new Harness({ heartbeatTimeoutMs: 100 });
    h.addWorker('big', 4, 4096);
    h.addWorker('small', 4, 512);
    h.silent.add('big');
    h.advance(101);
    expect(h.scheduler.worker('big')?.alive).toBe(false);
    expect(() => h.submit({ mapMemoryMb: 1024 })).toThrowError(expect.objectContaining({ code: 'RESOURCE_EXHAUSTED' }));
  });

  it('accepts a job while no worker is registered, and says it waits for capacity', () => {
    const h = new Harness();
    expect(h.submit({ mapMemoryMb: 99_999 })).toEqual([]);
    expect(h.scheduler.job('job-0001')?.message).toMatch(/^waiting for capacity: a map task needs a free slot and 99999 MB/);
  });

  it('says a job waits for capacity while its tasks cannot be placed, and stops saying so once they are', () => {
    const h = new Harness();
    h.addWorker('w1', 1);
    h.submit({ jobId: 'job-0001', maps: 1, reducers: 0 });
    h.submit({ jobId: 'job-0002', maps: 1, reducers: 0, mapMemoryMb: 250 });
    expect(h.scheduler.job('job-0001')?.message).toBe('');
    expect(h.scheduler.job('job-0002')?.message).toContain('waiting for capacity');
    expect(h.scheduler.job('job-0002')?.message).toContain('250 MB');
    h.succeed('job-0001-m-00000-a1');
    expect(h.scheduler.job('job-0002')).toMatchObject({ state: 'RUNNING', message: '' });
  });

  it('describes why a job could never fit without submitting it', () => {
    const s = new Scheduler();
    expect(s.capacityProblem({ mapMemoryMb: 10, reduceMemoryMb: 10 })).toBeUndefined();
    s.registerWorker('w1', { slots: 1, memoryMb: 100 }, 0);
    expect(s.capacityProblem({ mapMemoryMb: 100, reduceMemoryMb: 100 })).toBeUndefined();
    expect(s.capacityProblem({ mapMemoryMb: 101, reduceMemoryMb: 100 })).toContain('--map-memory');
    expect(s.allJobs()).toEqual([]);
  });

  it('does not count a worker with no slots as able to host a task', () => {
    const s = new Scheduler();
    s.registerWorker('w1', { slots: 0, memoryMb: 10_000 }, 0);
    expect(() => s.submitJob(submission(), 0)).toThrowError(expect.objectContaining({ code: 'RESOURCE_EXHAUSTED' }));
  });
});

describe('workers joining', () => {
  it('gives pending work to a worker that registers after the job was submitted', () => {
    const h = new Harness();
    h.submit({ maps: 2 });
    const ds = launches(h.addWorker('late', 2));
    expect(ds.map((d) => [d.taskId, d.workerId])).toEqual([['job-0001-m-00000', 'late'], ['job-0001-m-00001', 'late']]);
  });

  it('spreads pending work onto a worker that joins while others are full', () => {
    const h = new Harness();
    h.addWorker('w1', 1);
    h.submit({ maps: 3 });
    const ds = launches(h.addWorker('w2', 2));
    expect(ds.map((d) => d.workerId)).toEqual(['w2', 'w2']);
  });
});
