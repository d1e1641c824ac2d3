import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { JobStatus } from '../../../src/common/job-status.js';
import { silentLogger } from '../../../src/common/logger.js';
import { JobJournal, type JournalEntry, type SubmitEntry } from '../../../src/master/job-journal.js';
import type { ResolvedJobSpec } from '../../../src/master/job-spec.js';
import { recoverJobs, replayJournal } from '../../../src/master/recovery.js';
import { Scheduler } from '../../../src/scheduler/scheduler.js';
import { useTempDirs } from '../storage/helpers.js';

const spec = { name: 'j' } as unknown as ResolvedJobSpec;
const submit = (jobId: string): SubmitEntry => ({ type: 'submit', jobId, spec, bundleHash: 'h', splits: [], submitTime: 0 });
const status = (jobId: string): JobStatus => ({ jobId, state: 'SUCCEEDED' } as unknown as JobStatus);

describe('replaying the master journal', () => {
  it('starts ids at 1 with an empty journal', () => {
    expect(replayJournal([])).toEqual({ nextWorker: 1, nextJob: 1, jobs: [] });
  });

  it('gives finished jobs their status, unfinished ones their committed reduces, and ids above every one it holds', () => {
    const entries: JournalEntry[] = [
      { type: 'worker', workerId: 'worker-0007' },
      submit('job-0002'),
      { type: 'taskCommitted', jobId: 'job-0002', index: 0, attemptId: 'job-0002-r-00000-a1', counters: { a: 1 } },
      { type: 'finish', jobId: 'job-0002', status: status('job-0002') },
      { type: 'worker', workerId: 'worker-0003' },
      submit('job-0003'),
      { type: 'taskCommitted', jobId: 'job-0003', index: 1, attemptId: 'job-0003-r-00001-a2', counters: { b: 2 } },
      // A finish whose submission was compacted away still keeps its id from being handed out again.
      { type: 'finish', jobId: 'job-0009', status: status('job-0009') },
    ];
    const r = replayJournal(entries);
    expect(r.nextWorker).toBe(8);
    expect(r.nextJob).toBe(10);
    expect(r.jobs.map((j) => [j.submit.jobId, j.finalStatus?.state, [...j.committed]])).toEqual([
      ['job-0002', 'SUCCEEDED', [[0, { a: 1 }]]],
      ['job-0003', undefined, [[1, { b: 2 }]]],
    ]);
  });
});

describe('recovering jobs from the journal', () => {
  const tempDir = useTempDirs();
  const base = {
    name: 'j', outputDir: '/out', reducers: 1, splitSize: 10, speculation: false, mapMemoryMb: 64, reduceMemoryMb: 64,
    taskTimeoutMs: 1000, sortBufferBytes: 1024, splitPoints: [],
  };

  it('resumes a dataset job with the cut and splits it was submitted with, and reads an older journal\'s file splits and statuses', async () => {
    const path = join(await tempDir(), 'journal.jsonl');
    const cuts = [{ dataset: 'clicks', offsets: [1200, 0, 310, 77] }];
    const datasetJob = {
      type: 'submit', jobId: 'job-0002', bundleHash: 'h', submitTime: 1,
      spec: { ...base, inputs: ['dataset:clicks@1200,0,310,77'], format: 'dataset', cuts },
      splits: [{ kind: 'dataset', dataset: 'clicks', partition: 0, startOffset: 0, endOffset: 1200 }],
    };
    // As a master before dataset inputs wrote them: no kind on splits, no cuts in spec or status.
    const olderJob = { type: 'submit', jobId: 'job-0001', bundleHash: 'h', submitTime: 0, spec: { ...base, inputs: ['/in'], format: 'text' }, splits: [{ path: '/in/a', start: 0, length: 10 }] };
    const olderFinish = { type: 'finish', jobId: 'job-0001', status: { jobId: 'job-0001', state: 'SUCCEEDED', finishMs: 5, tasks: [], counters: [], failures: [] } };
    await writeFile(path, [olderJob, olderFinish, datasetJob].map((e) => `${JSON.stringify(e)}\n`).join(''));
    const scheduler = new Scheduler();
    const r = await recoverJobs(new JobJournal(path, silentLogger()), { retainJobs: 10, scheduler, now: 10, log: silentLogger() });
    const [older, resumed] = r.plans;
    expect(older!.splits).toEqual([{ kind: 'file', path: '/in/a', start: 0, length: 10 }]);
    expect(older!.spec.cuts).toEqual([]);
    expect(older!.finalStatus!.cuts).toEqual([]);
    expect(resumed!.spec.cuts).toEqual(cuts);
    expect(resumed!.splits).toEqual(datasetJob.splits);
    expect(scheduler.job('job-0002')!.maps).toHaveLength(1);
  });
});
