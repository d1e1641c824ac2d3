import { describe, expect, it } from 'vitest';
import { commits, finished, Harness, launches, mapResult, reduceResult, submission } from './harness.js';

describe('recovering a job from the journal', () => {
  it('re-runs every map and only the reduces that had not committed', () => {
    const h = new Harness();
    h.addWorker('worker-0001', 8);
    const ds = h.scheduler.recoverJob(submission({ maps: 3, reducers: 3 }), new Map([[1, { REDUCE_OUTPUT_RECORDS: 7 }]]), 500, h.now);
    expect(launches(ds).map((l) => l.taskId)).toEqual(['job-0001-m-00000', 'job-0001-m-00001', 'job-0001-m-00002']);
    const job = h.scheduler.job('job-0001')!;
    expect(job.submitTime).toBe(500);
    expect(job.reduces[1]!.state).toBe('SUCCEEDED');
    expect(job.reduces[1]!.attempts).toEqual([]);
    let reduces: string[] = [];
    for (const l of launches(ds)) reduces = reduces.concat(launches(h.scheduler.attemptSucceeded(l.attemptId, mapResult(3), h.now)).map((r) => r.taskId));
    expect(reduces).toEqual(['job-0001-r-00000', 'job-0001-r-00002']);
    const attempts = [...job.reduces[0]!.attempts, ...job.reduces[2]!.attempts];
    let last: ReturnType<typeof h.scheduler.attemptSucceeded> = [];
    for (const a of attempts) {
      expect(h.scheduler.requestCommit(a.id)).toBe(true);
      last = h.scheduler.attemptSucceeded(a.id, reduceResult, h.now);
    }
    expect(commits(last)).toHaveLength(1);
    expect(finished(h.scheduler.jobCommitted('job-0001', h.now))[0]!.state).toBe('SUCCEEDED');
  });

  it('goes straight to the job commit when every reduce had committed', () => {
    const h = new Harness();
    h.addWorker('worker-0001', 8);
    const ds = h.scheduler.recoverJob(submission({ maps: 2, reducers: 2 }), new Map([[0, {}], [1, {}]]), 0, h.now);
    expect(launches(ds)).toEqual([]);
    expect(commits(ds)).toEqual([{ type: 'commitJob', jobId: 'job-0001' }]);
  });
});
