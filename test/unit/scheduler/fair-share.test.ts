import { describe, expect, it } from 'vitest';
import { Harness, commits, launches } from './harness.js';

describe('fair share between jobs', () => {
  it('gives the next freed slots to a small job submitted while a large one holds every slot', () => {
    const h = new Harness();
    h.addWorker('w1', 2);
    h.addWorker('w2', 2);
    expect(launches(h.submit({ jobId: 'job-0001', maps: 10, reducers: 1 }))).toHaveLength(4);
    h.clock.advance(10);
    expect(h.submit({ jobId: 'job-0002', maps: 2, reducers: 1 })).toEqual([]);
    expect(h.scheduler.job('job-0002')?.message).toContain('waiting for capacity');

    expect(launches(h.succeed('job-0001-m-00000-a1')).map((d) => d.taskId)).toEqual(['job-0002-m-00000']);
    expect(launches(h.succeed('job-0001-m-00001-a1')).map((d) => d.taskId)).toEqual(['job-0002-m-00001']);
    // The small job cannot use the next slot (its reduce waits for its maps): the large one gets it.
    expect(launches(h.succeed('job-0002-m-00000-a1')).map((d) => d.taskId)).toEqual(['job-0001-m-00004']);
    expect(launches(h.succeed('job-0002-m-00001-a1')).map((d) => d.taskId)).toEqual(['job-0002-r-00000']);
    expect(commits(h.commitAndSucceed('job-0002-r-00000-a1'))).toEqual([{ type: 'commitJob', jobId: 'job-0002' }]);
    const large = h.scheduler.job('job-0001')!;
    expect(large.mapsDone).toBe(2);
    expect(large.state).toBe('RUNNING');
  });

  it('alternates launches between two jobs waiting for a worker, the older first', () => {
    const h = new Harness();
    h.submit({ jobId: 'job-0001', maps: 4 });
    h.clock.advance(1);
    h.submit({ jobId: 'job-0002', maps: 4 });
    const ds = launches(h.addWorker('w1', 4));
    expect(ds.map((d) => d.jobId)).toEqual(['job-0001', 'job-0002', 'job-0001', 'job-0002']);
  });

  it('lets a job use every free slot when the other job has nothing to place', () => {
    const h = new Harness();
    h.addWorker('w1', 4);
    h.submit({ jobId: 'job-0001', maps: 1, reducers: 1 });
    const ds = launches(h.submit({ jobId: 'job-0002', maps: 5 }));
    expect(ds.map((d) => d.jobId)).toEqual(['job-0002', 'job-0002', 'job-0002']);
  });

  it('does not let a job that cannot fit block a job that can', () => {
    const h = new Harness();
    h.addWorker('w1', 4, 500);
    h.submit({ jobId: 'job-0001', maps: 2, mapMemoryMb: 300 });
    const ds = launches(h.submit({ jobId: 'job-0002', maps: 2, mapMemoryMb: 100 }));
    expect(ds.map((d) => d.jobId)).toEqual(['job-0002', 'job-0002']);
    expect(h.scheduler.job('job-0001')?.maps[1]?.attempts).toEqual([]);
  });
});
